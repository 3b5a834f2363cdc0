"""Admin use cases that need AWS APIs directly: locating a stack, the domain services over its table,
inspecting, redriving and discarding queued messages, re-reading the table's stream.

The admin CLI (`referrals_local.cli`) is their only caller. On AWS the operator's IAM credentials are
the admin authentication; on the local stack they are dummy credentials against the moto endpoint.
"""
