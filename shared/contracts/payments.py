"""Events of the payments service (exchange ``payments.events``), for billing systems.

Amounts are strings of roubles with two decimals ("1234.56"). Each item of a payment names
the account by number and branch (as billing knows it), what it pays (``electricity`` for a
named period or the oldest debt, or ``penalty``) and its amount.
"""
from marshmallow import Schema, fields, validate

from shared.contracts.rules import PERIOD, Int, Money
from shared.events import contract

SOURCES = ("card", "saved_card", "autopay")


class PaymentItem(Schema):
    """What one part of a payment pays, on which account."""

    number = fields.String(required=True)
    branch = fields.String(required=True)
    account_id = Int(allow_none=True, load_default=None,
                     metadata={"description": "The portal's id of the account"})
    kind = fields.String(required=True, validate=validate.OneOf(("electricity", "penalty")))
    period = fields.String(allow_none=True, load_default=None, validate=PERIOD, metadata={
        "description": "The period paid; null: the oldest debt (or a penalty)"})
    amount = Money(required=True)


class PaymentData(Schema):
    payment_id = fields.String(required=True)
    user_id = fields.String(allow_none=True, load_default=None)
    amount = Money(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    provider = fields.String(required=True)
    items = fields.List(fields.Nested(PaymentItem), required=True,
                        validate=validate.Length(min=1))


@contract("payments", "payment_created")
class PaymentCreated(PaymentData):
    """A customer started a card payment (not money yet: wait for payment_succeeded)."""

    created_at = fields.AwareDateTime(required=True)


@contract("payments", "payment_succeeded")
class PaymentSucceeded(PaymentData):
    """The provider confirmed the payment: the money is the supplier's; credit the items."""

    paid_at = fields.AwareDateTime(required=True)


@contract("payments", "payment_failed")
class PaymentFailed(PaymentData):
    """The payment was declined or abandoned; nothing to credit."""

    reason = fields.String(allow_none=True, load_default=None)


@contract("payments", "payment_refunded")
class PaymentRefunded(PaymentData):
    """An operator returned (part of) a payment; ``refunded`` is this refund's amount."""

    refunded = Money(required=True)
    reason = fields.String(required=True)
    refunded_at = fields.AwareDateTime(required=True)


class AccrualLine(Schema):
    """One volume range (диапазон) of the accrual: its kWh, price and amount."""

    range = Int(required=True, minimum=1, metadata={"description": "1, 2, 3: the tariff's range"})
    kwh = Int(required=True)
    price = Money(places=4, required=True, metadata={"description": "₽ per kWh, VAT included"})
    amount = Money(required=True)


@contract("payments", "charge_posted")
class ChargeAccrued(Schema):
    """The built-in monthly accrual (suppliers without an external billing) charged an
    account for a period from the readings and the tariff."""

    number = fields.String(required=True)
    branch = fields.String(required=True)
    account_id = Int(allow_none=True, load_default=None)
    period = fields.String(required=True, validate=PERIOD)
    amount = Money(required=True)
    due_date = fields.Date(required=True)
    lines = fields.List(fields.Nested(AccrualLine), required=True)
