"""Events billing systems publish (exchange ``billing.events``) for the account registry.

A billing system in any language publishes these envelopes; the accounts service keeps its
registry from them. Account numbers are unique within a branch (филиал), so every event
names both.
"""
from marshmallow import Schema, fields, validate

from shared.contracts.rules import BRANCH, NUMBER, PERIOD, SERIAL, Int, Money
from shared.events import contract

TARIFF_CATEGORIES = ("urban", "rural", "electric_stove", "electric_heating")
ZONES = (1, 2, 3)  # the bill's columns 1-эт, 2-эт, 3-эт
MAX_READING = 10**9 - 1  # a meter has at most 9 digits


class AccountKey(Schema):
    number = fields.String(required=True, validate=NUMBER,
                           metadata={"description": "Лицевой счёт: 5 to 20 digits"})
    branch = fields.String(required=True, validate=BRANCH,
                           metadata={"description": "Branch (филиал) code, e.g. mostovskoy"})


class MeterData(Schema):
    serial = fields.String(required=True, validate=SERIAL)
    zones = Int(required=True, minimum=1, maximum=3)
    digits = Int(required=True, minimum=4, maximum=9)
    installed_on = fields.Date(required=True)
    verification_due = fields.Date(allow_none=True, load_default=None)


@contract("billing", "account_upserted")
class AccountUpserted(AccountKey):
    """An account was opened or its data changed (holder, address, contract, tariff)."""

    holder_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(required=True, validate=validate.Length(min=1, max=500))
    contract_number = fields.String(allow_none=True, load_default=None,
                                    validate=validate.Length(min=1, max=40))
    contract_date = fields.Date(allow_none=True, load_default=None)
    gis_id = fields.String(allow_none=True, load_default=None,
                           validate=validate.Length(min=1, max=40),
                           metadata={"description": "Идентификатор ЖКУ in ГИС ЖКХ"})
    tariff_category = fields.String(required=True, validate=validate.OneOf(TARIFF_CATEGORIES))


@contract("billing", "account_closed")
class AccountClosed(AccountKey):
    """The supply contract ended; the account stays visible to its users as closed."""

    closed_on = fields.Date(required=True)


@contract("billing", "meter_installed")
class MeterInstalled(AccountKey, MeterData):
    """A meter was installed on the account (or its data corrected)."""


REJECT_REASONS = ("in_future", "less_than_previous", "greater_than_later", "duplicate",
                  "meter_decommissioned", "outside_contract", "implausibly_high",
                  "window_closed")


@contract("billing", "reading_accepted")
class ReadingAccepted(Schema):
    """Billing took a submitted reading into the bill."""

    reading_id = Int(required=True, minimum=1,
                     metadata={"description": "From readings.reading_submitted"})


@contract("billing", "reading_rejected")
class ReadingRejected(Schema):
    """Billing refused a submitted reading, for one of the fixed reasons."""

    reading_id = Int(required=True, minimum=1,
                     metadata={"description": "From readings.reading_submitted"})
    reason = fields.String(required=True, validate=validate.OneOf(REJECT_REASONS))


@contract("billing", "meter_removed")
class MeterRemoved(AccountKey):
    """A meter was taken off the account (replacement is a removal plus an installation)."""

    serial = fields.String(required=True, validate=SERIAL)
    removed_on = fields.Date(required=True)


@contract("billing", "inspector_reading_taken")
class InspectorReadingTaken(AccountKey):
    """An inspector (контролёр) read the meter on site; the customer's history shows it as
    accepted, and it replaces a reading of the same period still in the portal."""

    serial = fields.String(required=True, validate=SERIAL)
    values = fields.List(Int(maximum=MAX_READING), required=True,
                         validate=validate.Length(min=1, max=3),
                         metadata={"description": "Zone readings: 1-эт, 2-эт, 3-эт"})
    taken_on = fields.Date(required=True)
    inspector = fields.String(allow_none=True, load_default=None,
                              validate=validate.Length(max=200))


class ChargeLine(Schema):
    """One line of a bill: a zone's consumption, its price and amount."""

    zone = Int(required=True, minimum=1, maximum=len(ZONES),
               metadata={"description": "1, 2 or 3: the bill's column 1-эт, 2-эт, 3-эт"})
    kwh = Int(required=True, metadata={"description": "Consumption, kWh"})
    price = Money(places=4, required=True, metadata={"description": "₽ per kWh, VAT included"})
    amount = Money(required=True, metadata={"description": "₽"})


@contract("billing", "charge_posted")
class ChargePosted(AccountKey):
    """Billing charged the account for a period (a new bill or a correction: the latest
    amount for a period replaces the earlier one). ``due_date`` defaults to the legal one
    (the 10th of the next month; the 15th for bills from March 2026; moved past holidays)."""

    period = fields.String(required=True, validate=PERIOD)
    amount = Money(required=True, metadata={"description": "₽, e.g. \"1418.55\""})
    due_date = fields.Date(allow_none=True, load_default=None)
    lines = fields.List(fields.Nested(ChargeLine), load_default=list,
                        validate=validate.Length(max=len(ZONES)), metadata={
                            "description": "What the bill prints per zone (at most one line "
                                           "a zone); none: one line of the period's total"})
