"""Adapters from the ports to AWS services (DynamoDB, EventBridge, SQS)."""
