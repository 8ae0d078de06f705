"""Replies of the readings routes."""
from marshmallow import fields

from gateway.schemas.answers import Answer, Day, ListOf, Money, Moment, Opt, Req, page_of

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
    value = Opt(metadata={"description": "Прочитанное (строка цифр) или null"})
    confidence = Req(fields.Float, metadata={"description": "Уверенность 0…1"})
    state = Req(metadata={"description": "sure — можно подставить в форму; check — показать "
                                         "человеку на проверку; not_found — не прочитано"})


class RecognisedMeter(Answer):
    serial = fields.Nested(Recognised, required=True)
    values = ListOf(Recognised, metadata={"description": "По зонам: 1-эт, 2-эт, 3-эт"})
    meter_serial = Opt(metadata={"description": "Счётчик счёта, к которому относится строка "
                                                "(null — не из этого счёта)"})
    known = Req(fields.Boolean, metadata={"description": "Строка — счётчик этого счёта"})


class PhotoResult(Answer):
    account_number = fields.Nested(Recognised, required=True)
    matches_account = Req(fields.Boolean)
    meters = ListOf(RecognisedMeter, metadata={"description": "Счётчики на фото"})
    seconds = Opt(fields.Float, metadata={"description": "Время распознавания, с"})


class PhotoJob(Answer):
    job_id = Req()
    status = Req(metadata={"description": "queued, running, done, failed"})
    photo_id = Req(metadata={"description": "Передать с показаниями (photo_id)"})
    created_at = Moment()
    finished_at = Moment(nullable=True)
    reason = Opt(metadata={"description": "Почему не распознано (status failed)"})
    result = fields.Nested(PhotoResult, required=True, allow_none=True, metadata={
        "description": "Распознанное (status done), иначе null"})


class PhotoQueued(PhotoJob):
    poll_url = Req(metadata={"description": "Где узнать результат (тот же адрес в Location)"})


class HistoryReading(Reading):
    zones = Req(fields.Integer, metadata={"description": "Зон у счётчика"})
    meter_removed_on = Day(nullable=True)


HistoryPage = page_of(HistoryReading, "ReadingHistoryPage")


SUBMITTED_EXAMPLE = {
    "id": 17, "meter_serial": "1000911502333", "period": "2026-10", "values": [3200],
    "consumption": [180], "rolled_over": False, "source": "web", "status": "pending",
    "reason": None, "submitted_at": "2026-10-20T09:15:00+00:00",
    "message": "Показания приняты"}
