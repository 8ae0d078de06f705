"""Events of the accounts service (exchange ``accounts.events``)."""
from marshmallow import Schema, fields, validate

from shared.contracts.billing import TARIFF_CATEGORIES
from shared.contracts.rules import BRANCH, NUMBER, SERIAL, Int
from shared.events import contract


class _Grant(Schema):
    """What every event about one user's access to one account carries."""

    user_id = fields.String(required=True)
    account_id = fields.Integer(required=True)
    number = fields.String(required=True)
    branch = fields.String(required=True)
    # Other services keep a copy of the grants (shared/grants.py) and must not let a late,
    # older event undo a newer change: the version orders the changes of one grant.
    version = Int(load_default=0, metadata={
        "description": "Grows with each change of this user's access to this account (0: "
                       "made before versions were kept); keep the state of the highest"})


class _Access(_Grant):
    role = fields.String(required=True, validate=validate.OneOf(("holder", "trusted")))
    access = fields.String(required=True, validate=validate.OneOf(("full", "read")))


@contract("accounts", "account_linked")
class AccountLinked(_Access):
    """A user gained access to an account: its holder (proved by the bill) or a trusted person."""

    tariff_category = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(TARIFF_CATEGORIES),
        metadata={"description": "The account's tariff category when the link was made"})


@contract("accounts", "account_access_changed")
class AccountAccessChanged(_Access):
    """The holder changed a trusted person's access (read-only ↔ full)."""


@contract("accounts", "account_unlinked")
class AccountUnlinked(_Grant):
    """A user lost access to an account (unlinked it, the holder took a trust back, or the
    user was deleted)."""


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

    account_id = Int(required=True, minimum=1)
    number = fields.String(required=True, validate=NUMBER)
    branch = fields.String(required=True, validate=BRANCH)
    serial = fields.String(required=True, validate=SERIAL)
    zones = Int(required=True, minimum=1, maximum=3)
    digits = Int(required=True, minimum=4, maximum=9)
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
