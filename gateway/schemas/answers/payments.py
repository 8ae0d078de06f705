"""Replies of the payments routes."""
from marshmallow import INCLUDE, fields

from gateway.schemas.answers import (Answer, Day, ListOf, Money, Moment, Opt, Req, page_of)


class DuePeriod(Answer):
    period = Req(metadata={"example": "2026-09"})
    amount = Money(description="Начислено")
    paid = Money()
    open = Money(description="Не оплачено")
    due_date = Day()
    days_overdue = Req(fields.Integer)


class Statement(Answer):
    account_id = Req(fields.Integer)
    number = Req()
    branch = Req()
    tariff_category = Req()
    on = Day()
    debt = Money()
    penalties = Money(description="Пени к оплате")
    penalties_accrued = Money()
    penalties_paid = Money()
    advance = Money(description="Переплата")
    to_pay = Money()
    periods = ListOf(DuePeriod)


class PenaltyCharge(Answer):
    class Meta:  # the penalty rules are still growing fields (regimes, notes)
        unknown = INCLUDE

    period = Req()
    amount = Money()
    outstanding = Money()
    due_date = Day()
    total = Money()
    lines = fields.List(fields.Dict(), required=True, metadata={
        "description": "Отрезки начисления: даты, дни, доля ставки, ставка, база, сумма, "
                       "режим (постановление)"})


class PenaltyDetails(Answer):
    class Meta:
        unknown = INCLUDE

    number = Req()
    branch = Req()
    pay_on = Day()
    debt = Money()
    total = Money()
    credit = Money()
    penalties_paid = Money()
    charges = ListOf(PenaltyCharge)


class Totals(Answer):
    debt = Money()
    penalties = Money()
    advance = Money()
    to_pay = Money()


class AccountDebt(Totals):
    account_id = Req(fields.Integer)
    number = Req()
    branch = Req()


class AllDebt(Totals):
    accounts = ListOf(AccountDebt)


class PaidItem(Answer):
    account_id = Req(fields.Integer)
    number = Req()
    branch = Req()
    kind = Req(metadata={"description": "electricity или penalty"})
    period = Opt()
    amount = Money()


class Action(Answer):
    next_action = Req(metadata={"description": "Что сделать, чтобы завершить оплату: card_form, "
                                               "3ds, redirect (страница ЮKassa), sbp (приложение "
                                               "банка)"})
    confirmation_url = fields.String(metadata={"description": "Платёжная форма"})
    client_secret = fields.String()


class ReceiptItem(Answer):
    description = Req(metadata={"example": "Электроэнергия за 10.2026, л/с 123456789"})
    amount = Money()
    kind = Req(metadata={"description": "electricity или penalty"})
    period = Opt()
    vat_code = Req(fields.Integer, metadata={"description": "Код ставки НДС (ЮKassa)"})
    payment_subject = Req(metadata={"example": "commodity"})
    payment_mode = Req(metadata={"example": "full_payment"})


class ReceiptLines(Answer):
    status = Req(metadata={"description": "Кассовый чек 54-ФЗ: pending (регистрируется), "
                                          "succeeded (зарегистрирован), canceled"})
    items = ListOf(ReceiptItem)


class Receipt(ReceiptLines):
    email = Opt(metadata={"description": "Куда отправлен чек"})
    phone = Opt()


def receipt(with_contact: bool = True) -> fields.Nested:
    """The 54-ФЗ receipt of a payment or refund; null when the provider issues none."""
    return fields.Nested(Receipt if with_contact else ReceiptLines, required=True,
                         allow_none=True)


class RefundMade(Answer):
    amount = Money()
    reason = Req()
    created_at = Moment()
    receipt = receipt()


class Payment(Answer):
    id = Req()
    status = Req(metadata={"description": "created, pending, succeeded, failed, refunded…"})
    amount = Money()
    refunded = Money()
    source = Req()
    method = Req(metadata={"description": "card или sbp"})
    sbp_url = Opt(metadata={"description": "СБП, пока оплата ждёт: ссылка, открывающая "
                                           "приложение банка (на компьютере — QR-код)"})
    receipt = receipt()
    provider = Req()
    action = fields.Nested(Action, required=True, allow_none=True)
    failure_reason = Opt()
    created_at = Moment()
    paid_at = Moment(nullable=True)
    items = ListOf(PaidItem)
    refunds = fields.List(fields.Nested(RefundMade))


class HistoryRow(Answer):
    payment_id = Req()
    account_id = Req(fields.Integer)
    number = Req()
    amount = Money()
    type = Req(metadata={"description": "electricity или penalty"})
    type_name = Req(metadata={"example": "Электроэнергия"})
    period = Opt()
    source = Req()
    source_name = Req()
    created_at = Moment()
    paid_at = Moment(nullable=True)
    status = Req()
    mine = Req(fields.Boolean, metadata={"description": "Платёж сделан этим пользователем"})
    method = Req(metadata={"description": "card или sbp"})
    receipt = receipt(with_contact=False)


HistoryPage = page_of(HistoryRow, "HistoryPage")


class Card(Answer):
    ref = Req()
    brand = Req()
    last4 = Req()
    exp_month = Req(fields.Integer)
    exp_year = Req(fields.Integer)


class AutoPayment(Answer):
    account_id = Req(fields.Integer)
    number = Req()
    card_ref = Req()
    card = Req(metadata={"example": "Visa •••• 4242"})
    since = Moment()


class WebhookAck(Answer):
    duplicate = Req(fields.Boolean, metadata={"description": "Уведомление уже применялось"})
    payment_id = fields.String()


DEBT_EXAMPLE = {
    "account_id": 1, "number": "123456789", "branch": "mostovskoy", "tariff_category": "urban",
    "on": "2026-11-05", "debt": "2500.40", "penalties": "0.00", "penalties_accrued": "0.00",
    "penalties_paid": "0.00", "advance": "0.00", "to_pay": "2500.40",
    "periods": [{"period": "2026-09", "amount": "1520.40", "paid": "0.00", "open": "1520.40",
                 "due_date": "2026-10-15", "days_overdue": 0}]}
PAYMENT_EXAMPLE = {
    "id": "pay_01J9…", "status": "pending", "amount": "1600.00", "refunded": "0.00",
    "source": "card", "method": "card", "sbp_url": None, "provider": "sandbox",
    "failure_reason": None,
    "receipt": {"status": "pending", "email": "ivanov@example.ru", "phone": None,
                "items": [{"description": "Электроэнергия, л/с 123456789", "amount": "1600.00",
                           "kind": "electricity", "period": None, "vat_code": 11,
                           "payment_subject": "commodity", "payment_mode": "full_payment"}]},
    "action": {"next_action": "redirect", "confirmation_url": "https://…/pay/sb_…"},
    "created_at": "2026-11-05T12:00:00+00:00", "paid_at": None,
    "items": [{"account_id": 1, "number": "123456789", "branch": "mostovskoy",
               "kind": "electricity", "period": None, "amount": "1600.00"}]}
