"""Request shapes of the readings routes."""
from marshmallow import fields, validate

from gateway.schemas import Strict, Text


class Preview(Strict):
    meter_serial = Text(required=True, metadata={"example": "1000911502333"})
    values = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=3),
                         metadata={"description": "Показания по зонам: [1-эт, 2-эт, 3-эт]",
                                   "example": [3200]})


class Submit(Preview):
    confirm = fields.Boolean(metadata={"description": "Подтверждаю необычно большой расход"})
    photo_id = Text(metadata={"description": "Из POST .../readings/photo, если показания с фото"})


class QuickSubmit(Submit):
    number = Text(required=True, metadata={"example": "123456789"})
    branch = Text(required=True, metadata={"example": "mostovskoy"})
    proof = Text(required=True, metadata={"example": "2333"})
    captcha_id = Text(required=True)
    captcha_answer = Text(required=True)


class BillPhoto(Strict):
    image_base64 = fields.String(required=True, metadata={
        "description": "Фото заполненной квитанции или счётчика: JPEG, PNG или HEIC, ≤ 10 МБ"})
