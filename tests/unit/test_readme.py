"""The README's configuration, API and event tables are generated from the code and current
(run ``python -m shared.readme_tables`` after adding a setting, a route or an event)."""
from shared.readme_tables import README, render


def test_readme_tables_are_current():
    text = README.read_text(encoding="utf-8")
    assert text == render(text), "README tables are stale: run python -m shared.readme_tables"


def test_readme_tables_name_every_setting_route_and_event():
    text = README.read_text(encoding="utf-8")
    for needle in ("| `AUTH_DATABASE_URL` |", "| `LINK_ATTEMPTS_HOURLY` |",
                   "| POST | `/api/v1/auth/login` |", "| POST | `/api/v1/accounts` |",
                   "| `billing.events` | `account_upserted` (v1) |",
                   "| `auth.events` | `user_registered` (v1) |"):
        assert needle in text
