"""Replies of the auth routes."""
from marshmallow import fields

from gateway.schemas.answers import Answer, Day, Message, Moment, Opt, Req


class Consent(Answer):
    document = Req()
    version = Req(metadata={"example": "2025-09-01"})
    date = Day()
    title = Req()
    text = Req()


class Captcha(Answer):
    captcha_id = Req()
    image_png_base64 = Req()
    expires_in = Req(fields.Integer, metadata={"description": "Секунд до истечения"})


class Challenge(Answer):
    """A code sent by SMS."""
    verification_id = Req()
    phone = Req(metadata={"description": "Номер, скрытый звёздочками",
                          "example": "+7 918 ***-**-67"})
    expires_in = Req(fields.Integer)
    resend_in = Req(fields.Integer, metadata={"description": "Через сколько секунд можно "
                                                            "отправить код повторно"})


class RegistrationToken(Answer):
    registration_token = Req()
    expires_in = Req(fields.Integer)


class User(Answer):
    id = Req()
    phone = Opt()
    email = Opt()
    role = Req(metadata={"example": "customer"})
    created_at = Moment()
    phone_confirmed = Req(fields.Boolean)
    email_confirmed = Req(fields.Boolean)


class Tokens(Answer):
    access_token = Req()
    token_type = Req(metadata={"example": "Bearer"})
    expires_in = Req(fields.Integer)
    refresh_token = Req()
    refresh_expires_in = Req(fields.Integer)


class SignedIn(Tokens):
    user = fields.Nested(User, required=True)
    message = fields.String()


class EmailSent(Message):
    email = Req()


class UserChanged(Message):
    user = fields.Nested(User, required=True)


class LoginEmailChanged(UserChanged):
    email = Req()


class ExportedUser(User):
    password_changed_at = Moment(nullable=True)


class ConsentGiven(Answer):
    document = Req()
    version = Req()
    accepted_at = Moment()
    client_ip = Opt()
    withdrawn_at = Moment(nullable=True)


class LoginSession(Answer):
    created_at = Moment()
    client_ip = Opt()
    last_used_at = Moment()
    ended_at = Moment(nullable=True)


class Export(Answer):
    user = fields.Nested(ExportedUser, required=True)
    consents = fields.List(fields.Nested(ConsentGiven), required=True)
    sessions = fields.List(fields.Nested(LoginSession), required=True)
    exported_at = Moment()


LOGIN_EXAMPLE = {
    "access_token": "eyJhbGciOiJSUzI1NiIs…", "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "q3Vv…", "refresh_expires_in": 2592000,
    "user": {"id": "01J9Z…", "phone": "+79181234567", "email": None, "role": "customer",
             "created_at": "2026-09-01T10:00:00+00:00", "phone_confirmed": True,
             "email_confirmed": False}}
