"""Regenerate the README's configuration, API and event tables from the code:
``python -m shared.readme_tables`` (a unit test fails when the README is out of date)."""
from __future__ import annotations

import re
from pathlib import Path

from shared.settings import ROOT, SETTINGS

README = ROOT / "README.md"


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = s.default.replace(str(ROOT), ".")
        rows.append(f"| `{s.name}` | {f'`{default}`' if default else '(empty)'} | {s.help} |")
    return "\n".join(rows)


def api_table() -> str:
    from gateway.routes import ROUTES

    rows = ["| method | path | auth | what it does | success |", "|---|---|---|---|---|",
            "| GET | `/healthz` | — | Liveness: the process answers | 200 |",
            "| GET | `/readyz` | — | Readiness: every service answers an RPC ping in "
            "`READY_TIMEOUT`; JSON lists which are down | 200 / 503 |",
            "| GET | `/metrics` | — | Prometheus metrics of every gateway worker (see «Metrics»; "
            "not in the OpenAPI document) | 200 |"]
    for r in ROUTES:
        who = (" or ".join(r.roles) if r.roles else "Bearer") if r.auth else "—"
        rows.append(f"| {r.method} | `/api/v1{r.openapi_path}` | {who} | {r.summary} | {r.status} |")
    return "\n".join(rows)


def events_table() -> str:
    from shared.events import contracts

    rows = ["| exchange | routing key (type) | payload | meaning |", "|---|---|---|---|"]
    for (producer, event_type, version), schema in sorted(contracts().items()):
        if producer == "ledger":  # the platform tests' own
            continue
        fields = ", ".join(f"`{f.data_key or name}`" for name, f in schema().fields.items())
        rows.append(f"| `{producer}.events` | `{event_type}` (v{version}) | {fields} | "
                    f"{' '.join((schema.__doc__ or '').split())} |")
    return "\n".join(rows)


def render(text: str) -> str:
    for name, table in (("settings", settings_table), ("api", api_table),
                        ("events", events_table)):
        text = re.sub(rf"(<!-- {name} -->\n).*?(\n<!-- /{name} -->)",
                      lambda m, t=table: m.group(1) + t() + m.group(2), text, flags=re.S)
    return text


if __name__ == "__main__":
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {Path(README).name}")
