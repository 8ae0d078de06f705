"""Auth service: users, credentials, sessions, captchas and one-time codes."""
