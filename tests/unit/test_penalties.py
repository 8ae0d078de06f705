"""The penalty (пени, ЖК РФ ст. 155 ч. 14) a customer is shown, and how payments are credited.

Every expected figure is either the worked example of DESIGN.md §4 or worked by hand in a
comment: amount = base × rate% / 100 × days / 300 (days 31–90) or / 130 (from day 91). Key
rates quoted are the Bank of Russia's, as in reference/key_rates.csv.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.payments.domain.calendar import due_date
from services.payments.domain.key_rates import KeyRateTable, load_key_rates
from services.payments.domain.penalties import (
    Charge,
    FixedRate,
    Moratorium,
    Payment,
    allocate,
    compute,
    compute_if_paid_on,
    explain,
    load_rules,
)

D = Decimal
RULES = load_rules()
NINE_AND_A_HALF = FixedRate(D("9.5"))


def lines_by_base(result, base: str) -> Decimal:
    """The sum of the displayed line amounts taken on ``base``."""
    return sum((line.amount for line in result.charges[0].lines if line.base == D(base)), D(0))


# --- the worked example (DESIGN.md §4) ----------------------------------------------------

EXAMPLE_CHARGES = [Charge("2019-05", D("1000.00"))]
EXAMPLE_PAYMENTS = [Payment(date(2020, 1, 1), D("100.00"))]
# The example's figures come from the calculator aleoreh/penalty-calc-corp on GitHub
# (src/domain/domain.spec/calculator.spec.ts: 1000 for May 2019, 100 paid 01.01.2020, 9.5 %,
# last day 18.04.2024, "moratoriumDaysCount: 271 + 185", 103.04 + 732.01 = 835.05). Its second moratorium runs 31.03.2022–01.10.2022, one day
# longer than ПП №497 (in force from its publication on 01.04.2022), and 835.05 needs those
# 185 days: so the example is reproduced with the example's own moratoria.
EXAMPLE_RULES = dataclasses.replace(
    RULES,
    moratoria=(
        Moratorium(date(2020, 4, 6), date(2021, 1, 1), "ПП РФ №424 от 02.04.2020"),
        Moratorium(date(2022, 3, 31), date(2022, 10, 1), "ПП РФ №497 от 28.03.2022", "2022-04"),
    ),
)


def test_worked_example_of_the_design_to_the_kopeck() -> None:
    result = compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18), NINE_AND_A_HALF, EXAMPLE_RULES)

    assert result.total == D("835.05")
    assert lines_by_base(result, "1000.00") == D("103.04")
    assert lines_by_base(result, "900.00") == D("732.01")
    charge = result.charges[0]
    assert charge.due_date == date(2019, 6, 10)
    assert [(x.days, x.decree) for x in charge.excluded] == [
        (271, "ПП РФ №424 от 02.04.2020"),
        (185, "ПП РФ №497 от 28.03.2022"),
    ]


def test_worked_example_lines_as_the_customer_sees_them() -> None:
    lines = compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18), NINE_AND_A_HALF, EXAMPLE_RULES).charges[0].lines

    # Due 10.06.2019: day 31 is 11.07.2019, day 90 is 08.09.2019, day 91 is 09.09.2019.
    # 1000 × 9.5 % × 60 / 300 = 19.00; 1000 × 9.5 % × 115 / 130 = 84.038… (through the payment
    # day 01.01.2020); then 900 from 02.01.2020, around the moratoria: 95 days (to 05.04.2020),
    # 453 days (02.01.2021–30.03.2022), 565 days (02.10.2022–18.04.2024) at 1/130:
    # 62.480…, 297.934…, 371.596…
    assert [(l.date_from, l.date_to, l.days, l.fraction, l.rate, l.base, l.amount) for l in lines] == [
        (date(2019, 7, 11), date(2019, 9, 8), 60, "1/300", D("9.50"), D("1000.00"), D("19.00")),
        (date(2019, 9, 9), date(2020, 1, 1), 115, "1/130", D("9.50"), D("1000.00"), D("84.04")),
        (date(2020, 1, 2), date(2020, 4, 5), 95, "1/130", D("9.50"), D("900.00"), D("62.48")),
        (date(2021, 1, 2), date(2022, 3, 30), 453, "1/130", D("9.50"), D("900.00"), D("297.93")),
        (date(2022, 10, 2), date(2024, 4, 18), 565, "1/130", D("9.50"), D("900.00"), D("371.60")),
    ]


def test_worked_example_with_the_decree_dates_has_one_more_day() -> None:
    result = compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18), NINE_AND_A_HALF)

    # ПП №497 from 01.04.2022: 31.03.2022 accrues, 1114 days on 900 instead of 1113:
    # 900 × 9.5 % × 1114 / 130 = 732.669…; with 103.038… on 1000: 835.707… → 835.71.
    assert result.total == D("835.71")
    assert [x.days for x in result.charges[0].excluded] == [271, 184]


def test_the_published_example_with_real_key_rates_by_the_day_of_payment() -> None:
    result = compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18))

    # The shipped key-rate table and decrees. 100.00 paid on 01.01.2020: no decree then, the key
    # rate of that day, 6.25 %: 100 × 6.25 % × 60 / 300 = 1.25 and × 115 / 130 = 5.528…
    # 900.00 unpaid on 18.04.2024 (16 %), under ПП №1681's cap: 9.5 % for every day, 2019
    # included: 17.10 + 138.115… (09.09.2019–05.04.2020) + 298.592… (02.01.2021–31.03.2022)
    # + 371.596… (02.10.2022–18.04.2024). Total 832.18.
    assert result.total == D("832.18")
    assert result.decree_rule == "payment_day"
    assert [(l.date_from, l.date_to, l.rate, l.base, l.amount) for l in result.charges[0].lines] == [
        (date(2019, 7, 11), date(2019, 9, 8), D("6.25"), D("100.00"), D("1.25")),
        (date(2019, 7, 11), date(2019, 9, 8), D("9.50"), D("900.00"), D("17.10")),
        (date(2019, 9, 9), date(2020, 1, 1), D("6.25"), D("100.00"), D("5.53")),
        (date(2019, 9, 9), date(2020, 4, 5), D("9.50"), D("900.00"), D("138.12")),
        (date(2021, 1, 2), date(2022, 3, 31), D("9.50"), D("900.00"), D("298.59")),
        (date(2022, 10, 2), date(2024, 4, 18), D("9.50"), D("900.00"), D("371.60")),
    ]


def test_the_published_example_by_the_accrual_day_is_the_setting_s_other_reading() -> None:
    result = compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18), by="accrual_day")

    # Days before 28.02.2022 have no decree of their own: the 900.00 takes the key rate of its
    # payment day, 16 %, uncapped, for 2019–2022. Total 1128.28.
    assert result.total == D("1128.28")
    assert result.decree_rule == "accrual_day"


def test_the_explanation_says_which_reading_chose_the_decree() -> None:
    data = explain(compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18)))

    assert data["decree_rule"] == "payment_day"
    assert "по дню оплаты" in data["decree_rule_note"]
    capped = data["charges"][0]["lines"][1]["regime"]
    assert (capped["kind"], capped["cap"]) == ("capped", "9.50") and "1681" in capped["decree"]
    assert data["charges"][0]["lines"][0]["regime"]["kind"] == "key_rate"  # 2020, no decree


def test_an_unknown_reading_is_refused() -> None:
    with pytest.raises(ValueError):
        compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18), by="whichever")


# --- the 30th/31st and the 90th/91st days, the plain key rate (2019) --------------------


@pytest.mark.parametrize(
    ("paid_on", "expected"),
    [
        # March 2019 is due 10.04.2019; day 30 is 10.05.2019: nothing yet.
        (date(2019, 5, 10), D("0.00")),
        # Day 31, 11.05.2019, key rate 7.75 % that day: 1000 × 7.75 % / 300 = 0.2583… → 0.26.
        (date(2019, 5, 11), D("0.26")),
        # Day 90, 09.07.2019, key rate 7.50 %: 1000 × 7.5 % × 60 / 300 = 15.00.
        (date(2019, 7, 9), D("15.00")),
        # Day 91, 10.07.2019: 15.00 + 1000 × 7.5 % / 130 = 15.5769… → 15.58.
        (date(2019, 7, 10), D("15.58")),
    ],
)
def test_the_grace_days_and_the_switch_to_one_130th(paid_on: date, expected: Decimal) -> None:
    result = compute([Charge("2019-03", D("1000.00"))], [Payment(paid_on, D("1000.00"))], paid_on)

    assert result.total == expected
    assert result.debt == D("0.00")


def test_day_91_starts_a_line_at_one_130th() -> None:
    result = compute([Charge("2019-03", D("1000.00"))], [Payment(date(2019, 7, 10), D("1000.00"))], date(2019, 12, 31))

    assert [(l.date_from, l.date_to, l.fraction, l.amount) for l in result.charges[0].lines] == [
        (date(2019, 5, 11), date(2019, 7, 9), "1/300", D("15.00")),
        (date(2019, 7, 10), date(2019, 7, 10), "1/130", D("0.58")),  # 0.5769…
    ]


def test_half_a_kopeck_rounds_up() -> None:
    # March 2023, due 10.04.2023, paid on day 31 (11.05.2023) at min(9.5, 7.5):
    # 500 × 7.5 % / 300 = 0.125 exactly → 0.13.
    result = compute([Charge("2023-03", D("500.00"))], [Payment(date(2023, 5, 11), D("500.00"))], date(2023, 5, 11))

    assert result.charges[0].lines[0].amount == D("0.13")
    assert result.total == D("0.13")


def test_a_partial_payment_is_charged_at_the_rate_of_its_own_day() -> None:
    charges = [Charge("2019-03", D("1000.00"))]
    payments = [Payment(date(2019, 6, 10), D("300.00")), Payment(date(2019, 7, 9), D("700.00"))]

    result = compute(charges, payments, date(2019, 12, 31))

    # 300 paid on 10.06.2019 (key rate 7.75 %) accrues 11.05–10.06, 31 days:
    # 300 × 7.75 % × 31 / 300 = 2.4025; 700 paid on 09.07.2019 (7.50 %) accrues 11.05–09.07,
    # 60 days: 700 × 7.5 % × 60 / 300 = 10.50. Total 12.9025 → 12.90.
    assert [(l.date_from, l.date_to, l.rate, l.base, l.amount) for l in result.charges[0].lines] == [
        (date(2019, 5, 11), date(2019, 6, 10), D("7.75"), D("300.00"), D("2.40")),
        (date(2019, 5, 11), date(2019, 7, 9), D("7.50"), D("700.00"), D("10.50")),
    ]
    assert result.total == D("12.90")


def test_a_partial_payment_lowers_the_base_from_the_next_day() -> None:
    charges = [Charge("2023-08", D("1000.00"))]
    payments = [Payment(date(2023, 11, 10), D("400.00")), Payment(date(2023, 12, 10), D("600.00"))]

    result = compute(charges, payments, date(2023, 12, 31))

    # August 2023 is due 11.09.2023 (10.09 a Sunday); day 31 is 12.10.2023. Key rates 15 % on
    # both payment days, capped at 9.5 %. 12.10–10.11 (30 days) on 1000: 9.50; 11.11–10.12
    # (30 days) on 600: 600 × 9.5 % × 30 / 300 = 5.70.
    assert [(l.date_from, l.date_to, l.base, l.amount) for l in result.charges[0].lines] == [
        (date(2023, 10, 12), date(2023, 11, 10), D("1000.00"), D("9.50")),
        (date(2023, 11, 11), date(2023, 12, 10), D("600.00"), D("5.70")),
    ]
    assert result.total == D("15.20")


def test_an_unpaid_debt_follows_the_key_rate_of_the_calculation_date() -> None:
    charges = [Charge("2019-03", D("1000.00"))]

    before_cut = compute(charges, [], date(2019, 7, 28))
    after_cut = compute(charges, [], date(2019, 7, 29))

    # On 28.07.2019 (7.50 %): 1000 × 7.5 % × 60 / 300 + 1000 × 7.5 % × 19 / 130 = 15.00 + 10.96…
    # = 25.96; on 29.07.2019 the rate is cut to 7.25 % for every day, one more day or not:
    # 14.50 + 1000 × 7.25 % × 20 / 130 = 25.6538… → 25.65.
    assert before_cut.total == D("25.96")
    assert after_cut.total == D("25.65")
    assert before_cut.debt == after_cut.debt == D("1000.00")


# --- the decrees' rates ------------------------------------------------------------------


def test_the_flat_rate_of_2022_ignores_the_key_rate() -> None:
    # April 2022 is due 11.05.2022 (10.05.2022 a day off); paid in full on day 90, 09.08.2022,
    # when the key rate was 8 %. ПП №474: 1000 × 9.5 % × 60 / 300 = 19.00 (not 16.00).
    result = compute([Charge("2022-04", D("1000.00"))], [Payment(date(2022, 8, 9), D("1000.00"))], date(2022, 8, 9))

    assert result.charges[0].due_date == date(2022, 5, 11)
    assert result.total == D("19.00")


def test_a_debt_paid_in_the_capped_term_is_capped_on_every_day_by_default() -> None:
    result = compute([Charge("2022-04", D("1000.00"))], [], date(2022, 10, 1))

    # Unpaid on 01.10.2022 (taken as paid that day), key rate 7.5 % that day, under the capped
    # rule of ПП №1681: min(9.5, 7.5) = 7.5 % for every day, the flat term's days included.
    # Day 31 is 11.06.2022, day 91 10.08.2022. 11.06–09.08: 1000 × 7.5 % × 60 / 300 = 15.00;
    # 10.08–01.10: 1000 × 7.5 % × 53 / 130 = 30.5769…; total 45.5769… → 45.58.
    lines = result.charges[0].lines
    assert [(l.date_from, l.date_to, l.fraction, l.rate, l.amount) for l in lines] == [
        (date(2022, 6, 11), date(2022, 8, 9), "1/300", D("7.50"), D("15.00")),
        (date(2022, 8, 10), date(2022, 10, 1), "1/130", D("7.50"), D("30.58")),
    ]
    assert {l.rule.kind for l in lines} == {"capped"}
    assert result.total == D("45.58")
    assert result.decree_rule == "payment_day"


def test_by_the_accrual_day_the_flat_term_keeps_its_nine_and_a_half() -> None:
    result = compute([Charge("2022-04", D("1000.00"))], [], date(2022, 10, 1), by="accrual_day")

    # The other reading: each day's rule. 11.06–09.08: 1000 × 9.5 % × 60 / 300 = 19.00 (flat);
    # 10.08–22.09: 1000 × 9.5 % × 44 / 130 = 32.1538… (flat); 23.09–01.10: 1000 × 7.5 % × 9 /
    # 130 = 5.1923… (min(9.5, 7.5)). Total 56.3461… → 56.35; the lines, rounded one by one,
    # show 56.34.
    assert [(l.date_from, l.date_to, l.fraction, l.rate, l.amount) for l in result.charges[0].lines] == [
        (date(2022, 6, 11), date(2022, 8, 9), "1/300", D("9.50"), D("19.00")),
        (date(2022, 8, 10), date(2022, 9, 22), "1/130", D("9.50"), D("32.15")),
        (date(2022, 9, 23), date(2022, 10, 1), "1/130", D("7.50"), D("5.19")),
    ]
    assert result.total == D("56.35")
    assert result.decree_rule == "accrual_day"


def test_a_debt_paid_in_the_flat_term_pays_nine_and_a_half_on_every_day() -> None:
    # October 2021, due 10.11.2021, day 31 11.12.2021, day 91 09.02.2022; paid in full on
    # 16.05.2022 (key rate 14 %): ПП №474 on the day of payment, 9.5 % for every day, 2021
    # included. 1000 × 9.5 % × 60 / 300 = 19.00; 09.02–31.03.2022, 51 days (then ПП №497's
    # moratorium): 1000 × 9.5 % × 51 / 130 = 37.2692…; total 56.2692… → 56.27.
    paid = [Payment(date(2022, 5, 16), D("1000.00"))]

    result = compute([Charge("2021-10", D("1000.00"))], paid, date(2022, 5, 16))

    assert [(l.date_from, l.date_to, l.rate, l.rule.kind) for l in result.charges[0].lines] == [
        (date(2021, 12, 11), date(2022, 2, 8), D("9.50"), "flat"),
        (date(2022, 2, 9), date(2022, 3, 31), D("9.50"), "flat"),
    ]
    assert result.total == D("56.27")


@pytest.mark.parametrize(
    ("period", "paid_on", "expected"),
    [
        # March 2023, due 10.04.2023, paid on day 90 (09.07.2023) at a key rate of 7.5 %:
        # min(9.5, 7.5) → 1000 × 7.5 % × 60 / 300 = 15.00.
        ("2023-03", date(2023, 7, 9), D("15.00")),
        # August 2023, due 11.09.2023, paid on day 90 (10.12.2023) at 15 %: capped, 19.00.
        ("2023-08", date(2023, 12, 10), D("19.00")),
    ],
)
def test_the_rate_is_the_lower_of_nine_and_a_half_and_the_key_rate(period: str, paid_on: date, expected: Decimal) -> None:
    result = compute([Charge(period, D("1000.00"))], [Payment(paid_on, D("1000.00"))], paid_on)

    assert result.total == expected


def test_the_plain_key_rate_returns_in_2027() -> None:
    # The table as it stood after the cut to 16 % from 22.12.2025 (later rows of the shipped
    # file must not change this test).
    shipped = load_key_rates()
    table = KeyRateTable(tuple(row for row in shipped.rows if row[0] <= date(2025, 12, 22)))

    by_payment_day = compute([Charge("2026-10", D("1000.00"))], [], date(2027, 1, 31), table)
    by_accrual_day = compute([Charge("2026-10", D("1000.00"))], [], date(2027, 1, 31), table,
                             by="accrual_day")

    # October 2026 is due 16.11.2026 (the 15th a Sunday); day 31 is 17.12.2026. Paid (taken as
    # paid) on 31.01.2027, after the decrees: the key rate of 16 % for all 46 days,
    # 1000 × 16 % × 46 / 300 = 24.533… → 24.53.
    assert [(l.date_from, l.date_to, l.rate, l.amount) for l in by_payment_day.charges[0].lines] == [
        (date(2026, 12, 17), date(2027, 1, 31), D("16.00"), D("24.53")),
    ]
    # By the accrual day, 17.12–31.12.2026 (15 days) at min(9.5, 16) = 9.5: 4.75; 01.01–
    # 31.01.2027 (31 days) at 16 %: 16.533… Total 21.283… → 21.28.
    assert [(l.date_from, l.date_to, l.rate, l.amount) for l in by_accrual_day.charges[0].lines] == [
        (date(2026, 12, 17), date(2026, 12, 31), D("9.50"), D("4.75")),
        (date(2027, 1, 1), date(2027, 1, 31), D("16.00"), D("16.53")),
    ]
    assert by_accrual_day.total == D("21.28")


# --- moratoria ---------------------------------------------------------------------------


def test_moratorium_of_2020_skips_days_that_still_count_as_overdue() -> None:
    result = compute([Charge("2020-01", D("1000.00"))], [Payment(date(2021, 1, 31), D("1000.00"))], date(2021, 1, 31))

    # Due 10.02.2020; day 31 is 12.03.2020; nothing from 06.04.2020 to 01.01.2021 (ПП №424);
    # on 02.01.2021 the debt is 327 days overdue, so 1/130. Key rate on 31.01.2021: 4.25 %.
    # 12.03–05.04.2020: 1000 × 4.25 % × 25 / 300 = 3.5416…; 02.01–31.01.2021:
    # 1000 × 4.25 % × 30 / 130 = 9.8076…; total 13.349… → 13.35.
    charge = result.charges[0]
    assert [(l.date_from, l.date_to, l.fraction, l.amount) for l in charge.lines] == [
        (date(2020, 3, 12), date(2020, 4, 5), "1/300", D("3.54")),
        (date(2021, 1, 2), date(2021, 1, 31), "1/130", D("9.81")),
    ]
    assert [(x.date_from, x.date_to, x.days, x.decree) for x in charge.excluded] == [
        (date(2020, 4, 6), date(2021, 1, 1), 271, "ПП РФ №424 от 02.04.2020"),
    ]
    assert result.total == D("13.35")


def test_moratorium_of_2022_covers_bills_for_periods_before_april_2022_only() -> None:
    charges = [Charge("2022-02", D("1000.00")), Charge("2022-03", D("1000.00")), Charge("2022-04", D("1000.00"))]

    result = compute(charges, [], date(2022, 10, 1))

    february, march, april = result.charges
    # February is due 10.03.2022, day 31 10.04.2022; March due 11.04.2022, day 31 12.05.2022:
    # services before 01.04.2022, so nothing until the moratorium ends on 01.10.2022.
    assert (february.total, march.total) == (D("0.00"), D("0.00"))
    assert [(x.date_from, x.days) for x in february.excluded] == [(date(2022, 4, 10), 175)]
    assert [(x.date_from, x.days) for x in march.excluded] == [(date(2022, 5, 12), 143)]
    # April's obligation arose after 01.04.2022: it accrues (45.58, worked above).
    assert april.excluded == ()
    assert april.total == D("45.58")
    assert result.total == D("45.58")


# --- due dates ---------------------------------------------------------------------------


def test_a_due_date_on_a_day_off_moves_the_penalty_later() -> None:
    charges = [Charge("2024-04", D("1000.00"))]

    # 10.05.2024 was a day off, then a weekend: due 13.05.2024, day 30 is 12.06.2024.
    on_day_30 = compute(charges, [Payment(date(2024, 6, 12), D("1000.00"))], date(2024, 6, 12))
    on_day_31 = compute(charges, [Payment(date(2024, 6, 13), D("1000.00"))], date(2024, 6, 13))

    assert on_day_30.charges[0].accrues_from == date(2024, 6, 13)
    assert on_day_30.total == D("0.00")
    # One day at min(9.5, 16): 1000 × 9.5 % / 300 = 0.3166… → 0.32.
    assert on_day_31.total == D("0.32")


def test_bills_from_march_2026_are_due_on_the_fifteenth() -> None:
    charges = [Charge("2026-02", D("1000.00")), Charge("2026-03", D("1000.00"))]

    result = compute(charges, [], date(2026, 5, 15))

    february, march = result.charges
    # February: due 10.03.2026, day 31 is 10.04.2026; 36 days to 15.05.2026 at 9.5 %:
    # 1000 × 9.5 % × 36 / 300 = 11.40. March: due 15.04.2026, day 30 is 15.05.2026: nothing.
    assert (february.due_date, february.accrues_from, february.total) == (date(2026, 3, 10), date(2026, 4, 10), D("11.40"))
    assert (march.due_date, march.accrues_from, march.total) == (date(2026, 4, 15), date(2026, 5, 16), D("0.00"))


def test_a_given_due_date_is_used_instead_of_the_legal_one() -> None:
    # A contract that sets the 25th: due 25.04.2019, day 31 is 26.05.2019; paid then at 7.75 %:
    # 1000 × 7.75 % / 300 = 0.2583… → 0.26.
    charge = Charge("2019-03", D("1000.00"), due=date(2019, 4, 25))

    assert compute([charge], [Payment(date(2019, 5, 25), D("1000.00"))], date(2019, 5, 25)).total == D("0.00")
    assert compute([charge], [Payment(date(2019, 5, 26), D("1000.00"))], date(2019, 5, 26)).total == D("0.26")


# --- allocation --------------------------------------------------------------------------

AUGUST_SEPTEMBER = [Charge("2023-09", D("1000.00")), Charge("2023-08", D("1000.00"))]


def test_a_payment_naming_no_period_pays_the_oldest_first() -> None:
    allocation = allocate(AUGUST_SEPTEMBER, [Payment(date(2023, 10, 5), D("1500.00"))])

    assert allocation.outstanding == {"2023-08": D("0.00"), "2023-09": D("500.00")}
    assert allocation.credit == D("0.00")


def test_a_payment_naming_a_period_pays_it_then_the_oldest() -> None:
    named = allocate(AUGUST_SEPTEMBER, [Payment(date(2023, 10, 5), D("1000.00"), "2023-09")])
    excess = allocate(AUGUST_SEPTEMBER, [Payment(date(2023, 10, 5), D("1500.00"), "2023-09")])
    unbilled = allocate(AUGUST_SEPTEMBER, [Payment(date(2023, 10, 5), D("1000.00"), "2023-11")])

    assert named.outstanding == {"2023-08": D("1000.00"), "2023-09": D("0.00")}
    assert excess.outstanding == {"2023-08": D("500.00"), "2023-09": D("0.00")}
    # A period with no bill counts as no period named.
    assert unbilled.outstanding == {"2023-08": D("0.00"), "2023-09": D("1000.00")}


def test_an_overpayment_is_a_credit() -> None:
    allocation = allocate(AUGUST_SEPTEMBER, [Payment(date(2023, 10, 5), D("2500.00"))])

    assert allocation.outstanding == {"2023-08": D("0.00"), "2023-09": D("0.00")}
    assert allocation.credit == D("500.00")


def test_a_payment_naming_a_period_leaves_the_older_one_accruing() -> None:
    payments = [Payment(date(2023, 10, 5), D("1000.00"), "2023-09")]

    result = compute(AUGUST_SEPTEMBER, payments, date(2023, 10, 20))

    # August (due 11.09.2023) accrues from 12.10.2023: 9 days to 20.10 at min(9.5, 15):
    # 1000 × 9.5 % × 9 / 300 = 2.85. September was paid before its due date 10.10.2023.
    august, september = result.charges
    assert (august.period, august.total, august.outstanding) == ("2023-08", D("2.85"), D("1000.00"))
    assert (september.period, september.total, september.outstanding) == ("2023-09", D("0.00"), D("0.00"))
    assert result.debt == D("1000.00")


def test_payments_are_credited_in_the_order_they_were_made() -> None:
    payments = [Payment(date(2023, 10, 20), D("1500.00")), Payment(date(2023, 10, 15), D("1000.00"), "2023-08")]

    result = compute(AUGUST_SEPTEMBER, payments, date(2023, 12, 31))

    # 15.10 pays August (due 11.09.2023, day 31 12.10.2023): 4 days at min(9.5, 13):
    # 1000 × 9.5 % × 4 / 300 = 1.266… → 1.27; 20.10 pays September before its due date, and
    # 500.00 is left over.
    assert [(c.period, c.total) for c in result.charges] == [("2023-08", D("1.27")), ("2023-09", D("0.00"))]
    assert result.credit == D("500.00")


def test_payments_after_the_calculation_date_are_ignored() -> None:
    later = [Payment(date(2019, 8, 1), D("1000.00"))]

    assert compute([Charge("2019-03", D("1000.00"))], later, date(2019, 7, 9)).total == D("15.00")


def test_what_if_paid_on_a_day() -> None:
    result = compute_if_paid_on([Charge("2019-03", D("1000.00"))], [], date(2019, 7, 9))

    # The worked case above: paid on day 90 at 7.5 %, 15.00 on a debt of 1000.00.
    assert (result.total, result.debt) == (D("15.00"), D("1000.00"))


def test_explain_gives_json_ready_lines() -> None:
    data = explain(compute(EXAMPLE_CHARGES, EXAMPLE_PAYMENTS, date(2024, 4, 18), NINE_AND_A_HALF, EXAMPLE_RULES))

    assert data["total"] == "835.05"
    assert data["charges"][0]["lines"][0] == {
        "date_from": "2019-07-11", "date_to": "2019-09-08", "days": 60, "fraction": "1/300",
        "rate": "9.50", "base": "1000.00", "amount": "19.00",
        "regime": {"kind": "key_rate", "cap": None, "decree": None, "date_from": None, "date_to": None},
    }
    assert data["decree_rule"] is None  # a fixed rate of one's own: no decree chose it
    assert data["charges"][0]["excluded"][0] == {
        "date_from": "2020-04-06", "date_to": "2021-01-01", "days": 271, "decree": "ПП РФ №424 от 02.04.2020",
    }


def test_a_charge_with_nothing_to_show_is_left_out_of_the_explanation() -> None:
    data = explain(compute([Charge("2019-03", D("1000.00"))], [Payment(date(2019, 4, 1), D("1000.00"))], date(2019, 12, 31)))

    assert data["charges"] == []
    assert data["total"] == "0.00"


@pytest.mark.parametrize(
    ("charges", "payments", "error"),
    [
        ([Charge("2019-03", 1000.0)], [], TypeError),  # never a float
        ([Charge("2019-03", D("1000.005"))], [], ValueError),  # whole kopecks
        ([Charge("2019-03", D("-1.00"))], [], ValueError),
        ([Charge("2019-03", D("1.00")), Charge("2019-03", D("2.00"))], [], ValueError),
        ([Charge("2019-13", D("1.00"))], [], ValueError),
        ([Charge("2019-03", D("1.00"))], [Payment(date(2019, 4, 1), D("0.00"))], ValueError),
        ([Charge("2015-06", D("1.00"))], [], ValueError),  # due before the 2016 rules
    ],
)
def test_bad_inputs_are_refused(charges, payments, error) -> None:
    with pytest.raises(error):
        compute(charges, payments, date(2024, 1, 1))


# --- properties --------------------------------------------------------------------------

periods = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2016, 2026), st.integers(1, 12))
kopecks = st.integers(1, 10_000_000).map(lambda k: D(k) / 100)
days = st.dates(date(2016, 2, 1), date(2027, 12, 31))


@st.composite
def accounts(draw):
    """A set of charges (one per period) and payments, some naming a period."""
    chosen = draw(st.lists(periods, min_size=1, max_size=8, unique=True))
    charges = [Charge(p, draw(st.integers(0, 5_000_000).map(lambda k: D(k) / 100))) for p in chosen]
    payments = draw(
        st.lists(st.builds(Payment, days, kopecks, st.one_of(st.none(), st.sampled_from(chosen))), max_size=8)
    )
    return charges, payments


@settings(max_examples=150, deadline=None)
@given(accounts(), days)
def test_a_penalty_is_never_negative(account, until) -> None:
    charges, payments = account

    result = compute(charges, payments, until)

    assert result.total >= 0
    assert all(line.amount >= 0 and line.base > 0 for c in result.charges for line in c.lines)


@settings(max_examples=150, deadline=None)
@given(accounts(), st.integers(-40, 30))
def test_nothing_accrues_in_the_first_thirty_days(account, offset) -> None:
    charges, payments = account
    charge = charges[0]
    until = due_date(charge.period) + timedelta(days=offset)

    result = compute(charges, payments, until)

    assert next(c for c in result.charges if c.period == charge.period).total == D("0.00")


@settings(max_examples=150, deadline=None)
@given(accounts(), days)
def test_no_line_touches_a_day_of_a_moratorium(account, until) -> None:
    charges, payments = account

    for charge in compute(charges, payments, until).charges:
        for m in (m for m in RULES.moratoria if m.applies_to(charge.period)):
            assert all(line.date_to < m.date_from or line.date_from > m.date_to for line in charge.lines)


@settings(max_examples=100, deadline=None)
@given(accounts(), st.sampled_from(RULES.moratoria), st.integers(0, 300))
def test_the_penalty_stands_still_through_a_moratorium(account, moratorium, offset) -> None:
    charges = [c for c in account[0] if moratorium.applies_to(c.period)]
    payments = [p for p in account[1] if p.paid_on < moratorium.date_from]
    inside = min(moratorium.date_from + timedelta(days=offset), moratorium.date_to)
    eve = moratorium.date_from - timedelta(days=1)

    # A fixed rate: with the real one, an unpaid debt follows the rate of the calculation date.
    assert compute(charges, payments, inside, NINE_AND_A_HALF).total == compute(charges, payments, eve, NINE_AND_A_HALF).total


@settings(max_examples=150, deadline=None)
@given(accounts(), days, st.integers(1, 400))
def test_the_penalty_never_falls_as_days_pass_at_a_fixed_rate(account, until, more) -> None:
    charges, payments = account
    payments = [p for p in payments if p.paid_on <= until]

    earlier = compute(charges, payments, until, NINE_AND_A_HALF)
    later = compute(charges, payments, until + timedelta(days=more), NINE_AND_A_HALF)

    assert later.total >= earlier.total


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_allocation_keeps_every_kopeck(account) -> None:
    charges, payments = account

    allocation = allocate(charges, payments)

    credited = sum((part.amount for parts in allocation.parts.values() for part in parts), D(0))
    assert credited + allocation.credit == sum((p.amount for p in payments), D(0))
    for charge in charges:
        paid = sum((part.amount for part in allocation.parts[charge.period]), D(0))
        assert allocation.outstanding[charge.period] == charge.amount - paid >= 0


def test_the_regime_of_a_day_names_the_decree_that_sets_the_rate() -> None:
    from services.payments.domain.penalties import load_rules, regime_on

    rules = load_rules()
    assert regime_on(rules, date(2022, 5, 1))["kind"] == "flat"
    capped = regime_on(rules, date(2026, 11, 1))
    assert (capped["kind"], capped["cap"]) == ("capped", "9.50") and "474" in capped["decree"]
    assert regime_on(rules, date(2027, 1, 1)) == {"kind": "key_rate", "cap": None,
                                                  "decree": None, "date_from": None,
                                                  "date_to": None}
