"""Replies of the requests routes (РАЗДЕЛ «УСЛУГИ», the operators' queue, the catalogue)."""
from marshmallow import fields

from gateway.schemas.answers import Answer, ListOf, Moment, Opt, Req, page_of


class Work(Answer):
    code = Req()
    title = Req()
    description = Opt()
    needs_account = Req(fields.Boolean)
    price = Opt(metadata={"description": "Цена, ₽ (строка с копейками); null — не задана",
                          "example": "1500.00"})


class AdminWork(Work):
    active = Req(fields.Boolean)
    position = Req(fields.Integer)
    updated_at = Moment(nullable=True)


class RequestSummary(Answer):
    id = Req(fields.Integer)
    work_code = Req()
    work_title = Req()
    status = Req(metadata={"description": "new, accepted, scheduled, done, cancelled, rejected"})
    status_label = Req()
    account_id = Opt(fields.Integer)
    number = Opt()
    branch = Opt()
    scheduled_at = Moment(nullable=True)
    created_at = Moment()
    updated_at = Moment()
    unread = Req(fields.Integer, metadata={"description": "Непрочитанные сообщения другой "
                                                         "стороны"})


class StaffRequestSummary(RequestSummary):
    user_id = Opt()
    assignee_id = Opt()
    contact_phone = Opt()


class Step(Answer):
    status = Req()
    status_label = Req()
    at = Moment()
    actor = Opt()
    reason = Opt()
    scheduled_at = Moment(nullable=True)


class AttachmentInfo(Answer):
    id = Req()
    filename = Req()
    content_type = Req()
    size = Req(fields.Integer)


class RequestMessage(Answer):
    id = Req(fields.Integer)
    author = Req(metadata={"description": "customer или operator"})
    text = Opt()
    created_at = Moment()
    read_at = Moment(nullable=True)
    new = Req(fields.Boolean)
    attachments = ListOf(AttachmentInfo)


class RequestDetail(RequestSummary):
    address = Opt()
    contact_phone = Opt()
    preferred_time = Opt()
    price = Opt()
    reason = Opt()
    can_cancel = Req(fields.Boolean)
    history = ListOf(Step)
    messages = ListOf(RequestMessage, metadata={
        "description": "Последние 20 сообщений переписки, старые сверху"})
    messages_earlier = Opt(metadata={
        "description": "Курсор более ранних сообщений (cursor для GET …/messages); null — "
                       "вся переписка выше"})


class StaffRequestDetail(RequestDetail):
    user_id = Opt()
    assignee_id = Opt()


class Counts(Answer):
    open_requests = Req(fields.Integer)
    unread_replies = Req(fields.Integer)


RequestPage = page_of(RequestSummary, "RequestPage")
QueuePage = page_of(StaffRequestSummary, "QueuePage")
MessagePage = page_of(RequestMessage, "MessagePage", earlier=Opt(metadata={
    "description": "Курсор страницы перед этой (более ранние сообщения); null — раньше нет"}))


class Staff(Answer):
    user_id = Req()
    role = Req()
    label = Req()
