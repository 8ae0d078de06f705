"""Events of the auth service (exchange ``auth.events``)."""
from marshmallow import Schema, fields, validate

from shared.events import contract

ROLES = ("customer", "operator", "admin")


@contract("auth", "user_registered")
class UserRegistered(Schema):
    """A user account was created (by phone, by e-mail after its link, or by an admin)."""

    user_id = fields.String(required=True)
    phone = fields.String(allow_none=True, load_default=None)
    email = fields.Email(allow_none=True, load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    method = fields.String(required=True, validate=validate.OneOf(("phone", "email", "admin")))
    consent_version = fields.String(allow_none=True, load_default=None)


@contract("auth", "contact_confirmed")
class ContactConfirmed(Schema):
    """The user proved they own a phone number (SMS code) or an e-mail address (link)."""

    user_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(("phone", "email")))
    value = fields.String(required=True)


@contract("auth", "password_changed")
class PasswordChanged(Schema):
    """The password was changed by the user or reset through recovery; sessions ended."""

    user_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(("change", "reset")))


@contract("auth", "phone_changed")
class PhoneChanged(Schema):
    """The login phone number was replaced after an SMS code to the new number."""

    user_id = fields.String(required=True)
    old_phone = fields.String(allow_none=True, load_default=None)
    new_phone = fields.String(required=True)


@contract("auth", "login_email_changed")
class LoginEmailChanged(Schema):
    """The login e-mail was replaced after the link sent to the new address (a notice went to
    the old one); ``old_email`` is null when the user had none (registered by phone)."""

    user_id = fields.String(required=True)
    old_email = fields.Email(allow_none=True, load_default=None)
    new_email = fields.Email(required=True)


@contract("auth", "user_deleted")
class UserDeleted(Schema):
    """The user asked to delete the account (152-ФЗ): other services erase their data."""

    user_id = fields.String(required=True)


@contract("auth", "sessions_revoked")
class SessionsRevoked(Schema):
    """Login sessions ended (logout, password change or reset, a reused refresh token,
    deletion): every service refuses their access tokens at once, not at their expiry. On
    deletion every token of the user is refused."""

    user_id = fields.String(required=True)
    session_ids = fields.List(fields.String(), required=True)
    reason = fields.String(required=True, validate=validate.OneOf(
        ("logout", "password_change", "password_reset", "refresh_reuse", "user_deleted")))
    user_deleted = fields.Boolean(required=True)
    revoked_at = fields.AwareDateTime(required=True)
