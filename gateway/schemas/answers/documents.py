"""Replies of the documents routes."""
from marshmallow import fields

from gateway.schemas.answers import Answer, Day, Money, Moment, Opt, Req, page_of


class Bill(Answer):
    period = Req(metadata={"example": "2026-10"})
    title = Req(metadata={"example": "Октябрь 2026"})
    amount = Money(description="Начислено за период")
    due_date = Day()
    filename = Req(metadata={"description": "Имя файла квитанции (GET …/bills/{period})"})


class DocumentType(Answer):
    code = Req()
    title = Req()
    tariff_categories = fields.List(fields.String(), required=True, metadata={
        "description": "Категории тарифа, которые подтверждает документ этого типа"})


class Document(Answer):
    id = Req(fields.Integer)
    account_id = Req(fields.Integer)
    number = Req()
    branch = Req()
    doc_type = Req()
    doc_type_title = Req()
    filename = Req()
    content_type = Req()
    size = Req(fields.Integer)
    status = Req(metadata={"description": "submitted, in_review, accepted, rejected, withdrawn"})
    status_label = Req()
    reason = Opt(metadata={"description": "Причина отказа"})
    tariff_category = Opt()
    submitted_at = Moment()
    reviewed_at = Moment(nullable=True)
    can_withdraw = Req(fields.Boolean)


class StaffDocument(Document):
    user_id = Opt()
    reviewer_id = Opt()


BillPage = page_of(Bill, "BillPage")
DocumentPage = page_of(Document, "DocumentPage")
PendingPage = page_of(StaffDocument, "PendingPage", total=Req(fields.Integer, metadata={
    "description": "Сколько документов во всём списке с этими фильтрами"}))
