"""Events of the payments service (exchange ``payments.events``), for billing systems.

Amounts are strings of roubles with two decimals ("1234.56"). Each item of a payment names
the account by number and branch (as billing knows it), what it pays (``electricity`` for a
named period or the oldest debt, or ``penalty``) and its amount.
"""
from marshmallow import Schema, fields, validate

from shared.events import contract

MONEY = {"as_string": True, "places": 2}
SOURCES = ("card", "saved_card", "autopay")


class PaymentData(Schema):
    payment_id = fields.String(required=True)
    user_id = fields.String(allow_none=True, load_default=None)
    amount = fields.Decimal(required=True, **MONEY)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    provider = fields.String(required=True)
    items = fields.List(fields.Dict(), required=True, metadata={
        "description": "[{number, branch, account_id, kind: electricity|penalty, period, "
                       "amount}]"})


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

    refunded = fields.Decimal(required=True, **MONEY)
    reason = fields.String(required=True)
    refunded_at = fields.AwareDateTime(required=True)


@contract("payments", "charge_posted")
class ChargeAccrued(Schema):
    """The built-in monthly accrual (suppliers without an external billing) charged an
    account for a period from the readings and the tariff."""

    number = fields.String(required=True)
    branch = fields.String(required=True)
    account_id = fields.Integer(allow_none=True, load_default=None)
    period = fields.String(required=True)
    amount = fields.Decimal(required=True, **MONEY)
    due_date = fields.Date(required=True)
    lines = fields.List(fields.Dict(), required=True)
