"""Request shapes of the payments routes."""
from marshmallow import fields, validate

from gateway.schemas import Paged, Strict, Text


class PayOn(Strict):
    pay_on = fields.String(metadata={"description": "Дата оплаты ГГГГ-ММ-ДД (по умолчанию сегодня)",
                                     "example": "2026-12-20"})


class PayItem(Strict):
    account_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("electricity", "penalty")))
    amount = fields.Raw(required=True, metadata={"description": "Сумма, ₽: \"1234.50\"",
                                                 "example": "1234.50"})
    period = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"),
                           metadata={"description": "Оплачиваемый период ГГГГ-ММ; без него — "
                                                    "самый старый долг"})


class Pay(Strict):
    idempotency_key = Text(required=True, metadata={
        "description": "Один ключ на форму оплаты (UUID): повторное нажатие не спишет дважды"})
    items = fields.List(fields.Nested(PayItem), required=True,
                        validate=validate.Length(min=1, max=20))
    save_card = fields.Boolean(metadata={"description": "Сохранить карту для следующих оплат"})
    card_ref = Text(allow_none=True, metadata={"description": "Оплатить сохранённой картой"})
    method = fields.String(load_default="card", validate=validate.OneOf(("card", "sbp")),
                           metadata={"description": "card — банковской картой (по умолчанию), "
                                                    "sbp — через СБП в приложении банка"})
    receipt_email = Text(allow_none=True, metadata={
        "description": "E-mail для кассового чека (54-ФЗ); нужен e-mail или телефон",
        "example": "ivanov@example.ru"})
    receipt_phone = Text(allow_none=True, metadata={
        "description": "Телефон для кассового чека (54-ФЗ), +7XXXXXXXXXX",
        "example": "+79181234567"})


class SandboxCard(Strict):
    card_number = Text(required=True, metadata={"example": "4242 4242 4242 4242"})
    exp_month = fields.Integer(required=True, metadata={"example": 12})
    exp_year = fields.Integer(required=True, metadata={"example": 2030})
    cvc = Text(required=True, metadata={"example": "123"})


class SandboxSbp(Strict):
    approve = fields.Boolean(required=True, metadata={
        "description": "true — оплатить в «приложении банка», false — отказаться"})


class SandboxCode(Strict):
    code = Text(required=True, metadata={"example": "111111"})


class AutoPay(Strict):
    card_ref = Text(required=True)


class History(Paged):
    account_id = fields.Integer()
    date_from = fields.String(metadata={"example": "2026-01-01"})
    date_to = fields.String(metadata={"example": "2026-12-31"})


class Refund(Strict):
    amount = fields.Raw(required=True, metadata={"example": "100.00"})
    reason = Text(required=True, metadata={"example": "Двойная оплата"})
