"""Pure domain: models, rules and the referral state machine. No I/O, no boto3."""
