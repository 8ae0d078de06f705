"""Request shapes of the accounts routes."""
from marshmallow import fields, validate

from gateway.schemas import Strict, Text


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


class NoticeQuery(Strict):
    unread_only = fields.Boolean(load_default=False)
    before_id = fields.Integer()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
