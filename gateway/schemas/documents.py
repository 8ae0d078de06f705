"""Request shapes of the documents routes (РАЗДЕЛ «ДОКУМЕНТЫ»: bills, the documents for
the tariff tiers, the operators' review)."""
from marshmallow import fields, validate

from gateway.schemas import Paged, Strict, Text


class Upload(Strict):
    doc_type = Text(required=True, metadata={
        "example": "technical_passport", "description": "Тип документа (GET /documents/types)"})
    filename = Text(allow_none=True, metadata={"example": "техпаспорт.pdf"})
    content_base64 = fields.String(required=True, metadata={
        "description": "Скан или фото: JPEG, PNG или PDF (проверяется по содержимому), base64; "
                       "до DOCUMENT_MAX_BYTES"})


class Pending(Paged):
    status = Text(metadata={"description": "submitted, under_review, accepted, rejected, "
                                           "withdrawn; по умолчанию — ждущие решения"})
    branch = Text(metadata={"description": "Код филиала"})


class Review(Strict):
    decision = fields.String(required=True, validate=validate.OneOf(("accept", "reject")))
    reason = Text(allow_none=True, metadata={
        "description": "Причина отказа (обязательна для reject)",
        "example": "Скан нечитаем, загрузите документ заново"})
    tariff_category = Text(allow_none=True, metadata={
        "description": "Новая категория тарифа счёта (accept): urban, rural, electric_stove, "
                       "electric_heating — из тех, что подтверждает тип документа"})
