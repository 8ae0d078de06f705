"""bench/load.py's tables: each mode's rows, then ours against the baseline and the targets of
issue 15 (CPU per submission ≤ 2× the baseline's, throughput at 8 and 32 clients ≥ 0.8 of it,
p99 ≤ 2× its, event delay p99 < 100 ms at 32 clients, 0 lost and 0 duplicated events, and the
gateway's /auth/me p99 at 32 clients ≤ 2× plain Flask's)."""
from __future__ import annotations

from typing import Any

CPU_MAX, THROUGHPUT_MIN, P99_MAX, EVENT_P99_MS = 2.0, 0.8, 2.0, 100.0
SHOWN_CPU = 6  # processes named in a row's CPU column, the costliest first


def _cpu(row: dict[str, Any]) -> str:
    cpu = dict(row.get("cpu_ms") or {})
    total = cpu.pop("total", None)
    if total is None:
        return "-"
    costly = sorted(cpu.items(), key=lambda kv: -kv[1])[:SHOWN_CPU]
    return f"{total} ({', '.join(f'{k} {v}' for k, v in costly)})"


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def print_mode(rows: list[dict[str, Any]]) -> None:
    print("\n| scenario | system | clients | per s | p50 / p90 / p99 ms | errors | "
          "CPU ms per request: total (by process) | event p50 / p99 ms | lost / dup | "
          "events relayed (RPC served) by |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        events = (f"{_or_dash(r['event_p50_ms'])} / {_or_dash(r['event_p99_ms'])}"
                  if "event_p99_ms" in r else "-")
        lost = (f"{r['lost']} / {r['duplicated']}+{r['duplicated_event_ids']}"
                if "lost" in r else "-")
        served = r.get("rpc_served_by") or {}
        relayed = ", ".join(f"{k} {v} ({served.get(k)} RPC)"
                            for k, v in (r.get("relayed_by") or {}).items()) or "-"
        print(f"| {r['scenario']} | {r['system']} | {r['clients']} | {r['per_s']} | "
              f"{_or_dash(r['p50_ms'])} / {_or_dash(r['p90_ms'])} / {_or_dash(r['p99_ms'])} | "
              f"{r['errors']} | {_cpu(r)} | {events} | {lost} | {relayed} |")
    print("(lost / dup: events missing at billing / subjects with two events + event ids "
          "received twice; CPU total leaves the load generator out; relayed and served count the "
          "warm-up and the tail of the loop too)", flush=True)


def _ratio(ours: Any, base: Any) -> float | None:
    return round(ours / base, 2) if ours is not None and base else None


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def print_targets(rows: list[dict[str, Any]]) -> None:
    """Ours ÷ baseline per mode and level, with PASS/FAIL against the targets."""
    def find(mode: tuple[Any, Any], scenario: str, system: str, clients: int
             ) -> dict[str, Any] | None:
        return next((r for r in rows if (r["db"], r["replicas"]) == mode and
                     r["scenario"] == scenario and r["system"] == system and
                     r["clients"] == clients), None)

    modes = list(dict.fromkeys((r["db"], r["replicas"]) for r in rows))
    print("\n## Against issue 15's targets (ours ÷ baseline, same run)\n")
    print("| db | replicas | clients | CPU/submission ×(≤2) | throughput ×(≥0.8 at ≥8) | "
          "p99 ×(≤2) | event p99 ms (<100 at 32) | lost/dup readings, payments (0) |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in modes:
        levels = sorted({r["clients"] for r in rows if (r["db"], r["replicas"]) == mode
                         and r["scenario"] == "readings"})
        for n in levels:
            ours, base = find(mode, "readings", "ours", n), find(mode, "readings", "baseline", n)
            pay = find(mode, "payments", "ours", n)
            if ours is None or base is None:
                continue
            cpu = _ratio(ours["cpu_ms"].get("total"), base["cpu_ms"].get("total"))
            thr = _ratio(ours["per_s"], base["per_s"])
            p99 = _ratio(ours["p99_ms"], base["p99_ms"])
            event = ours.get("event_p99_ms")
            bad = [r["lost"] + r["duplicated"] + r["duplicated_event_ids"]
                   for r in (ours, pay) if r is not None]
            print(f"| {mode[0]} | {mode[1]} | {n} | {cpu} {_verdict(cpu <= CPU_MAX if cpu is not None else None)} | "
                  f"{thr} {_verdict(thr >= THROUGHPUT_MIN if thr and n >= 8 else None)} | "
                  f"{p99} {_verdict(p99 <= P99_MAX if p99 is not None else None)} | {event} "
                  f"{_verdict(event < EVENT_P99_MS if event is not None and n >= 32 else None)}"
                  f" | {ours['lost']}/{ours['duplicated']}, "
                  f"{pay['lost'] if pay else '-'}/{pay['duplicated'] if pay else '-'} "
                  f"{_verdict(not any(bad))} |")
        top = max(levels, default=0)
        ours, base = find(mode, "auth_me", "ours", top), find(mode, "auth_me", "baseline", top)
        if ours and base:
            p99 = _ratio(ours["p99_ms"], base["p99_ms"])
            print(f"| {mode[0]} | {mode[1]} | GET /auth/me at {top} | "
                  f"{_ratio(ours['cpu_ms'].get('total'), base['cpu_ms'].get('total'))} | "
                  f"{_ratio(ours['per_s'], base['per_s'])} | {p99} "
                  f"{_verdict(p99 is not None and p99 <= P99_MAX)} | - | - |")
    print(flush=True)
