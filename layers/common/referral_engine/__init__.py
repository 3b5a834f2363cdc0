"""Referral engine: domain, services and AWS adapters shared by every function (the Lambda layer)."""
