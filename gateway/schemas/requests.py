"""Request shapes of the requests routes (РАЗДЕЛ «УСЛУГИ», the operators' queue, the
catalogue). Dates and money travel as strings: the service parses and checks them."""
from marshmallow import fields, validate

from gateway.schemas import Paged, Strict, Text


class Attachment(Strict):
    filename = Text(required=True, metadata={"example": "счётчик.jpg"})
    content_base64 = fields.String(required=True, metadata={
        "description": "JPEG, PNG or PDF (checked by content), base64"})


def Attachments() -> fields.List:  # noqa: N802 (reads like a field class)
    return fields.List(fields.Nested(Attachment), metadata={
        "description": "Файлы («скрепка»): REQUEST_ATTACHMENTS_MAX штук, каждый до "
                       "REQUEST_ATTACHMENT_MAX_BYTES"})


def Message(required: bool = False) -> fields.String:  # noqa: N802
    return fields.String(required=required, validate=validate.Length(max=4000), metadata={
        "description": "«Введите текст сообщения»"})


class Order(Strict):
    work = Text(required=True, metadata={"example": "meter_replacement",
                                         "description": "Код услуги (GET /requests/catalogue)"})
    message = Message(required=True)
    contact_phone = Text(required=True, metadata={"example": "+7 918 123-45-67"})
    account_id = fields.Integer(allow_none=True, metadata={
        "description": "Лицевой счёт (обязателен, если услуга оказывается по счёту)"})
    branch = Text(allow_none=True, metadata={"description": "Филиал, если нет лицевого счёта"})
    address = Text(allow_none=True, metadata={"description": "Адрес работ, если нет счёта"})
    preferred_time = Text(allow_none=True, metadata={"example": "будни после 17:00"})
    attachments = Attachments()


class Note(Strict):
    text = Message()
    attachments = Attachments()


class Cancel(Strict):
    reason = Text(allow_none=True)


class Reason(Strict):
    reason = Text(required=True, metadata={"example": "Работы не входят в зону обслуживания"})


class Schedule(Strict):
    scheduled_at = Text(required=True, metadata={
        "example": "2026-12-15T10:00:00+03:00",
        "description": "Дата и время работ, ISO 8601 со смещением"})


class Assign(Strict):
    operator_id = Text(allow_none=True, metadata={
        "description": "Кому назначить (id оператора); без него — себе"})


class Queue(Paged):
    status = Text(metadata={"description": "new, accepted, scheduled, done, cancelled, rejected"})
    work = Text(metadata={"description": "Код услуги"})
    branch = Text(metadata={"description": "Код филиала"})
    date_from = Text(metadata={"description": "Создана не раньше (YYYY-MM-DD)"})
    date_to = Text(metadata={"description": "Создана не позже (YYYY-MM-DD)"})
    assignee = Text(metadata={"description": "me, none или id оператора"})


class WorkFields(Strict):
    title = Text()
    description = fields.String(validate=validate.Length(max=2000))
    needs_account = fields.Boolean()
    price = fields.Raw(allow_none=True, metadata={
        "description": "Цена, ₽ (строка или число, до копеек); null — цена не задана",
        "example": "1500.00"})
    active = fields.Boolean(metadata={"description": "false: услуга скрыта из перечня"})
    position = fields.Integer(metadata={"description": "Место в перечне"})
