"""Events of the accounts service (exchange ``accounts.events``)."""
from marshmallow import Schema, fields, validate

from shared.contracts.billing import TARIFF_CATEGORIES
from shared.events import contract


@contract("accounts", "account_linked")
class AccountLinked(Schema):
    """A user gained access to an account: its holder (proved by the bill) or a trusted person."""

    user_id = fields.String(required=True)
    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(("holder", "trusted")))
    access = fields.String(required=True, validate=validate.OneOf(("full", "read")))


@contract("accounts", "account_unlinked")
class AccountUnlinked(Schema):
    """A user lost access to an account (unlinked it, or the holder took a trust back)."""

    user_id = fields.String(required=True)
    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)


@contract("accounts", "paperless_consent_changed")
class PaperlessConsentChanged(Schema):
    """«Получать счета по e-mail и отказаться от бумажных»: billing stops or resumes paper."""

    user_id = fields.String(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)
    paperless = fields.Boolean(required=True)
    email = fields.Email(allow_none=True, load_default=None)


@contract("accounts", "contract_requested")
class ContractRequested(Schema):
    """«Заключить договор»: a customer without an account asked for a supply contract."""

    request_id = fields.String(required=True)
    user_id = fields.String(required=True)
    branch = fields.String(required=True)
    full_name = fields.String(required=True)
    address = fields.String(required=True)
    phone = fields.String(allow_none=True, load_default=None)
    comment = fields.String(allow_none=True, load_default=None)


@contract("accounts", "meter_registered")
class MeterRegistered(Schema):
    """A meter is on an account now (readings keeps its copy of meters from these)."""

    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)
    serial = fields.String(required=True)
    zones = fields.Integer(required=True)
    digits = fields.Integer(required=True)
    installed_on = fields.Date(required=True)
    verification_due = fields.Date(allow_none=True, load_default=None)


@contract("accounts", "meter_unregistered")
class MeterUnregistered(Schema):
    """A meter left an account (readings closes it at its removal date)."""

    account_id = fields.Integer(required=True)
    serial = fields.String(required=True)
    removed_on = fields.Date(required=True)


@contract("accounts", "account_category_changed")
class AccountCategoryChanged(Schema):
    """An account's tariff category changed in the portal (an operator accepted a document
    for it): payments prices by it from now on; billing should record it too."""

    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)
    tariff_category = fields.String(required=True, validate=validate.OneOf(TARIFF_CATEGORIES))
    document_id = fields.Integer(allow_none=True, load_default=None,
                                 metadata={"description": "The accepted document (documents)"})
