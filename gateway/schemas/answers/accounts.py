"""Replies of the accounts service's routes: accounts, trust, profile, notices, the header."""
from marshmallow import fields

from gateway.schemas.answers import (Answer, Day, ListOf, Message, Money, Moment, Opt, Req,
                                     page_of)


class Bank(Answer):
    account = Req()
    bank_name = Req()
    bic = Req()
    correspondent_account = Req()
    note = fields.String()


class Supplier(Answer):
    name = Req()
    full_name = Req()
    inn = Req()
    kpp = Req()
    site = Req()
    support_email = Req()
    bank = fields.Nested(Bank)


class Branch(Answer):
    code = Req(metadata={"example": "mostovskoy"})
    name = Req()
    city = Req()
    address = Opt()
    phone = Opt()
    email = Opt()
    hours = Opt()
    site = Opt()


class Branches(Answer):
    supplier = fields.Nested(Supplier, required=True)
    branches = ListOf(Branch)


class Meter(Answer):
    serial = Req()
    zones = Req(fields.Integer, metadata={"description": "1, 2 или 3 тарифные зоны"})
    digits = Req(fields.Integer)
    installed_on = Day()
    verification_due = Day(nullable=True)


class Trusted(Answer):
    user_id = Req()
    access = Req(metadata={"description": "read или full"})
    phone = Opt()
    email = Opt()
    since = Moment()


class Account(Answer):
    id = Req(fields.Integer)
    number = Req(metadata={"example": "123456789"})
    branch = Req()
    branch_name = Req()
    holder_name = Opt()
    address = Opt()
    contract_number = Opt()
    contract_date = Day(nullable=True)
    gis_id = Opt()
    tariff_category = Req(metadata={"example": "urban"})
    closed_on = Day(nullable=True)
    meters = ListOf(Meter)
    role = Req(metadata={"description": "holder или trusted"})
    access = Req(metadata={"description": "read или full"})
    paperless = Req(fields.Boolean)
    paperless_email = Opt()
    trusted = fields.List(fields.Nested(Trusted), metadata={
        "description": "Доверенные лица (видит только владелец счёта)"})


class TrustedList(Answer):
    trusted = ListOf(Trusted)


class ContractRequested(Message):
    request_id = Req()
    user_id = Req()
    branch = Req()
    full_name = Req()
    address = Req()
    phone = Opt()
    comment = Opt()
    status = Req()
    created_at = Moment()


class Basic(Answer):
    last_name = Opt()
    first_name = Opt()
    middle_name = Opt()
    last_name_latin = Opt()
    first_name_latin = Opt()
    gender = Opt(metadata={"description": "male или female"})
    nickname = Opt()
    birth_date = Day(nullable=True)
    citizenship = Opt(metadata={"example": "RU"})


class Extended(Answer):
    birth_place = Opt()
    snils = Opt()
    inn = Opt()
    household_size = Opt(fields.Integer)


class Preferences(Answer):
    notify_sms = Req(fields.Boolean)
    notify_email = Req(fields.Boolean)
    reading_reminders = Req(fields.Boolean)


class ProfileContacts(Answer):
    mobile_phone = Opt()
    email = Opt()
    pending_email = Opt(metadata={"description": "Новый e-mail, ждущий подтверждения"})
    extra_phones = fields.List(fields.String(), required=True)
    postal_address = Opt()


class Profile(Answer):
    basic = fields.Nested(Basic, required=True)
    extended = fields.Nested(Extended, required=True)
    preferences = fields.Nested(Preferences, required=True)
    contacts = fields.Nested(ProfileContacts, required=True)
    has_photo = Req(fields.Boolean)
    message = fields.String()


class EmailConfirmed(Message):
    email = Opt()


class ProfilePhoto(Answer):
    content_type = Req(metadata={"example": "image/jpeg"})
    image_base64 = Req()


class Notice(Answer):
    id = Req(fields.Integer)
    kind = Req()
    title = Req()
    body = Req()
    account_id = Opt(fields.Integer)
    created_at = Moment()
    read = Req(fields.Boolean)


NoticePage = page_of(Notice, "NoticePage", unread=Req(fields.Integer))


class Unread(Answer):
    unread = Req(fields.Integer)


class Balance(Answer):
    debt = Money()
    penalties = Money()
    to_pay = Money()


class HeaderSummary(Answer):
    unread_notices = Req(fields.Integer)
    accounts = Req(fields.Integer)
    balance = fields.Nested(Balance, required=True, allow_none=True, metadata={
        "description": "null, пока сервис платежей не отвечает"})


ACCOUNT_EXAMPLE = {
    "id": 1, "number": "123456789", "branch": "mostovskoy", "branch_name": "Мостовской филиал",
    "holder_name": "Иванов И. И.", "address": "пгт Мостовской, ул. Мира, 1",
    "contract_number": "230100123", "contract_date": "2015-03-01", "gis_id": "23AB123456",
    "tariff_category": "urban", "closed_on": None,
    "meters": [{"serial": "1000911502333", "zones": 1, "digits": 6,
                "installed_on": "2020-05-01", "verification_due": "2036-05-01"}],
    "role": "holder", "access": "full", "paperless": False, "paperless_email": None}
