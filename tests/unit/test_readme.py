"""The README documents every setting, route and event (they are easy to add and forget)."""
from pathlib import Path

from gateway.routes import ROUTES
from shared.events import contracts
from shared.settings import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table():
    missing = [s.name for s in SETTINGS if f"| `{s.name}` |" not in README]
    assert not missing


def test_every_route_is_in_the_api_table():
    missing = [f"{r.method} {r.path}" for r in ROUTES
               if f"| {r.method} | `/api/v1{r.path}` |" not in README]
    assert not missing


def test_every_event_is_in_the_catalogue():
    missing = [f"{p}.{t}" for (p, t, _), _s in contracts().items()
               if p != "ledger" and f"| `{p}.events` | `{t}` " not in README]
    assert not missing
