"""Request shapes of the auth routes."""
from marshmallow import fields, validate

from gateway.schemas import Secret, Strict, Text


class Captcha(Strict):
    captcha_id = Text(required=True, metadata={"description": "From POST /auth/captcha"})
    captcha_answer = Text(required=True, metadata={"description": "The word on the picture"})


class RegisterPhone(Captcha):
    phone = Text(required=True, metadata={"example": "+7 (918) 123-45-67"})


class VerificationCode(Strict):
    verification_id = Text(required=True)
    code = Text(required=True, metadata={"example": "123456"})


class Resend(Strict):
    verification_id = Text(required=True)


class NewPassword(Strict):
    password = Secret(required=True)
    password_confirmation = Secret(required=True)


class CompletePhoneRegistration(NewPassword):
    registration_token = Text(required=True)
    consent_version = Text(required=True, metadata={
        "description": "Version of the personal-data consent the user accepted "
                       "(GET /auth/consent)"})


class RegisterEmail(Captcha, NewPassword):
    email = Text(required=True, metadata={"example": "name@yandex.ru"})
    consent_version = Text(required=True)


class Token(Strict):
    token = Text(required=True, metadata={"description": "The token from the e-mail link"})


class Login(Strict):
    phone = Text(metadata={"example": "+7 918 123-45-67"})
    email = Text(metadata={"example": "name@yandex.ru"})
    password = Secret(required=True)


class Refresh(Strict):
    refresh_token = Text(required=True)


class ForgotPhone(Captcha):
    phone = Text(required=True)


class ForgotEmail(Captcha):
    email = Text(required=True)


class ResetPhone(VerificationCode, NewPassword):
    pass


class ResetEmail(Token, NewPassword):
    pass


class ChangePassword(Strict):
    old_password = Secret(required=True)
    new_password = Secret(required=True)
    new_password_confirmation = Secret(required=True)


class ChangePhone(Strict):
    new_phone = Text(required=True)


class ChangeLoginEmail(Strict):
    password = Secret(required=True, metadata={"description": "The current password"})
    new_email = Text(required=True, metadata={"example": "name@yandex.ru"})


class Password(Strict):
    password = Secret(required=True)


class CreateUser(Strict):
    role = fields.String(required=True, validate=validate.OneOf(["customer", "operator", "admin"]))
    password = Secret(required=True)
    phone = Text()
    email = Text()
