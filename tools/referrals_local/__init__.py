"""The local stack (`make run`) and the admin CLI (`referrals`). Development tooling, never deployed."""
