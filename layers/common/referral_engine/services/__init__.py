"""Use cases. Each service receives its ports; none of them imports boto3."""
