"""Events of the requests service (exchange ``requests.events``): orders of electrical works.

Every event names the request, its customer, the work (code and title as ordered) and, when
the work is done on an account, the account's number and branch, so a CRM or billing system
can file it without asking the portal anything.
"""
from marshmallow import Schema, fields, validate

from shared.contracts.rules import Money
from shared.events import contract

STATUSES = ("new", "accepted", "scheduled", "done", "cancelled", "rejected")
ROLES = ("customer", "operator", "system")


class RequestKey(Schema):
    request_id = fields.Integer(required=True)
    user_id = fields.String(required=True, metadata={"description": "The customer"})
    work_code = fields.String(required=True)
    work_title = fields.String(required=True)
    account_id = fields.Integer(allow_none=True, load_default=None)
    number = fields.String(allow_none=True, load_default=None,
                           metadata={"description": "Account number; null for works without one"})
    branch = fields.String(required=True)


class AttachmentInfo(Schema):
    id = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True, validate=validate.OneOf(
        ("image/jpeg", "image/png", "application/pdf")))
    size = fields.Integer(required=True, validate=validate.Range(min=1))


@contract("requests", "request_created")
class RequestCreated(RequestKey):
    """«Заказать услугу»: a customer ordered a work (status new)."""

    address = fields.String(allow_none=True, load_default=None)
    contact_phone = fields.String(required=True)
    preferred_time = fields.String(allow_none=True, load_default=None)
    price = Money(allow_none=True, load_default=None,
                  metadata={"description": "Price as ordered, ₽; null: set on site"})
    message = fields.String(required=True)
    attachments = fields.List(fields.Nested(AttachmentInfo), required=True)
    created_at = fields.AwareDateTime(required=True)


@contract("requests", "request_status_changed")
class RequestStatusChanged(RequestKey):
    """A request moved on: accepted, scheduled (or rescheduled), done, cancelled by the
    customer, or rejected by the operator with a reason."""

    old_status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    scheduled_at = fields.AwareDateTime(allow_none=True, load_default=None, metadata={
        "description": "Date and time of the works, in the supplier's time zone"})
    reason = fields.String(allow_none=True, load_default=None)
    actor_role = fields.String(required=True, validate=validate.OneOf(ROLES))
    actor_id = fields.String(allow_none=True, load_default=None)
    assignee_id = fields.String(allow_none=True, load_default=None)
    changed_at = fields.AwareDateTime(required=True)


@contract("requests", "request_message_posted")
class RequestMessagePosted(RequestKey):
    """The customer or an operator wrote in a request's conversation (with attachments)."""

    message_id = fields.Integer(required=True)
    author_role = fields.String(required=True, validate=validate.OneOf(("customer", "operator")))
    author_id = fields.String(required=True)
    text = fields.String(required=True)
    attachments = fields.List(fields.Nested(AttachmentInfo), required=True)
    posted_at = fields.AwareDateTime(required=True)
