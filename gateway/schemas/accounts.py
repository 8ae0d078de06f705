"""Request shapes of the accounts routes."""
from marshmallow import fields, validate

from gateway.schemas import Paged, Strict, Text


class LinkAccount(Strict):
    number = Text(required=True, metadata={"example": "123456789",
                                           "description": "Номер лицевого счёта из квитанции"})
    branch = Text(required=True, metadata={"example": "mostovskoy",
                                           "description": "Код филиала (GET /accounts/branches)"})
    proof = Text(required=True, metadata={
        "example": "2333", "description": "Последние 4 цифры заводского номера счётчика из "
                                          "квитанции (без счётчика: ГИС ЖКХ идентификатора)"})
    paperless = fields.Boolean(metadata={"description": "Получать счета по e-mail"})


class Paperless(Strict):
    paperless = fields.Boolean(required=True)


class Grant(Strict):
    phone = Text()
    email = Text()
    access = fields.String(load_default="read", validate=validate.OneOf(["read", "full"]))


class ContractRequest(Strict):
    branch = Text(required=True)
    full_name = Text(required=True)
    address = Text(required=True)
    phone = Text()
    comment = fields.String(validate=validate.Length(max=2000))


class Contacts(Strict):
    email = Text(metadata={"description": "New e-mail: used after its confirmation link"})
    extra_phones = fields.List(Text(), validate=validate.Length(max=5))
    postal_address = Text()


class Photo(Strict):
    image_base64 = fields.String(required=True, metadata={"description": "JPEG or PNG, ≤ 5 MB"})


class EmailToken(Strict):
    token = Text(required=True)


class NoticeQuery(Paged):
    unread_only = fields.Boolean(load_default=False)


# PUT /profile/{tab}: the tab's fields (the service checks the values); null clears a field.
class ProfileBasic(Strict):
    """tab = basic: Основная анкета."""
    last_name = Text(allow_none=True, metadata={"example": "Иванов"})
    first_name = Text(allow_none=True)
    middle_name = Text(allow_none=True)
    last_name_latin = Text(allow_none=True, metadata={"example": "Ivanov"})
    first_name_latin = Text(allow_none=True)
    gender = fields.String(allow_none=True, validate=validate.OneOf(["male", "female"]))
    nickname = Text(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    citizenship = Text(allow_none=True, metadata={"example": "RU"})


class ProfileExtended(Strict):
    """tab = extended: Расширенная анкета."""
    birth_place = Text(allow_none=True)
    snils = Text(allow_none=True, metadata={"example": "112-233-445 95"})
    inn = Text(allow_none=True)
    household_size = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=30))


class ProfilePreferences(Strict):
    """tab = preferences: Личные предпочтения."""
    notify_sms = fields.Boolean()
    notify_email = fields.Boolean()
    reading_reminders = fields.Boolean()


PROFILE_TABS = (ProfileBasic, ProfileExtended, ProfilePreferences)
