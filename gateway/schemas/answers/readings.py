"""Replies of the readings routes."""
from marshmallow import fields

from gateway.schemas.answers import Answer, Day, ListOf, Money, Moment, Opt, Req

PERIOD = {"example": "2026-10", "description": "Расчётный период ГГГГ-ММ"}


class Reading(Answer):
    id = Req(fields.Integer)
    meter_serial = Req()
    period = Req(metadata=PERIOD)
    values = fields.List(fields.Integer(), required=True, metadata={
        "description": "Показания по зонам"})
    consumption = fields.List(fields.Integer(), required=True, allow_none=True, metadata={
        "description": "Расход по зонам, кВт·ч (null — нет предыдущих показаний)"})
    rolled_over = Req(fields.Boolean, metadata={"description": "Счётчик перешёл через ноль"})
    source = Req(metadata={"description": "web, quick, photo, inspector…"})
    status = Req(metadata={"description": "pending, accepted, rejected, replaced"})
    reason = Opt(metadata={"description": "Причина отказа биллинга"})
    submitted_at = Moment()


class Submitted(Reading):
    message = Req()


class MeterState(Answer):
    serial = Req()
    zones = Req(fields.Integer)
    digits = Req(fields.Integer)
    verification_due = Day(nullable=True)
    last_reading = fields.Nested(Reading, required=True, allow_none=True)


class Window(Answer):
    open = Req(fields.Boolean, metadata={"description": "Приём открыт сегодня"})
    period = Req(metadata=PERIOD)
    start = Day()
    end = Day()


class EstimateLine(Answer):
    kwh = Req(fields.Integer)
    price = Req(metadata={"description": "Цена за кВт·ч, ₽"})
    amount = Money()


class Estimate(Answer):
    amount = Money()
    kwh = Req(fields.Integer)
    category = Req()
    tariff_from = Day()
    lines = ListOf(EstimateLine)


class ReadingPreview(Answer):
    meter_serial = Req()
    period = Req(metadata=PERIOD)
    values = fields.List(fields.Integer(), required=True)
    consumption = fields.List(fields.Integer(), required=True, allow_none=True)
    total = Opt(fields.Integer)
    usual = Opt(fields.Integer, metadata={"description": "Обычный расход за месяц, кВт·ч"})
    rolled_over = Req(fields.Boolean)
    warning = Opt(metadata={"description": "Необычно большой расход: нужно подтверждение"})
    needs_confirm = Req(fields.Boolean)
    estimate = fields.Nested(Estimate, required=True, allow_none=True, metadata={
        "description": "Примерная сумма по тарифу счёта (null — не рассчитать сейчас)"})
    estimate_unavailable = Opt(metadata={
        "description": "Почему нет примерной суммы (в тарифе нет цен для зон этого счётчика)"})


class Recognised(Answer):
    value = fields.Raw()
    confidence = fields.Float()


class PhotoRead(Answer):
    photo_id = Req()
    account_number = fields.Nested(Recognised, required=True, allow_none=True)
    meter_serial = fields.Nested(Recognised, required=True, allow_none=True)
    values = fields.List(fields.Raw(allow_none=True), required=True, metadata={
        "description": "По зонам: распознанное показание с уверенностью или null"})
    matches_account = Req(fields.Boolean)
    matches_meter = Req(fields.Boolean)
    seconds = Req(fields.Float)


class MeterHistory(Answer):
    serial = Req()
    zones = Req(fields.Integer)
    removed_on = Day(nullable=True)
    readings = ListOf(Reading)


SUBMITTED_EXAMPLE = {
    "id": 17, "meter_serial": "1000911502333", "period": "2026-10", "values": [3200],
    "consumption": [180], "rolled_over": False, "source": "web", "status": "pending",
    "reason": None, "submitted_at": "2026-10-20T09:15:00+00:00",
    "message": "Показания приняты"}
