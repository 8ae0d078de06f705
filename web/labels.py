"""The services' codes (statuses, sources, reasons, zones) as a customer reads them: one
table per thing, so every page says the same word for it."""
from __future__ import annotations

# Readings (services/readings/models.py): (label, ui.status kind).
READING_STATUSES: dict[str, tuple[str, str]] = {
    "pending": ("На проверке", "warn"),
    "accepted": ("Принято", "ok"),
    "rejected": ("Отклонено", "bad"),
    "replaced": ("Заменено новыми", "neutral"),
}
READING_REJECT_REASONS = {
    "in_future": "период ещё не наступил",
    "less_than_previous": "меньше предыдущих показаний",
    "greater_than_later": "больше более поздних показаний",
    "duplicate": "такие показания уже переданы",
    "meter_decommissioned": "счётчик снят с учёта",
    "outside_contract": "вне срока действия договора",
    "implausibly_high": "неправдоподобно большой расход",
    "window_closed": "передача показаний была закрыта",
}
READING_SOURCES = {"manual": "Передано вами", "photo": "С фото квитанции",
                   "automatic": "АСКУЭ (автоматически)", "inspector": "Контролёр",
                   "estimated": "Расчётные"}
# The bill's columns 1-эт, 2-эт, 3-эт by the meter's number of zones (DESIGN.md: night
# 23–07; peak 07–10 and 17–21; semi-peak the rest).
ZONE_LABELS: dict[int, tuple[str, ...]] = {
    1: ("Показания",), 2: ("Т1/день", "Т2/ночь"), 3: ("Т1/пик", "Т2/ночь", "Т3/полупик")}


def zone_labels(zones: int) -> tuple[str, ...]:
    return ZONE_LABELS.get(zones) or tuple(f"Зона {n}" for n in range(1, zones + 1))

# A payment's 54-ФЗ receipt (services/payments: the provider's receipt status), in the words
# «Чек: …» with the colour of its badge.
RECEIPT_STATUSES: dict[str, tuple[str, str]] = {
    "succeeded": ("отправлен", "ok"),
    "pending": ("формируется", "warn"),
    "canceled": ("не сформирован", "bad"),
}
