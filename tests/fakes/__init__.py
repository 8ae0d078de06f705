"""Local stand-ins for the outside services the portal talks to (Twilio, SMTP)."""
