"""`make bench-web`: the web cabinet's server-side render time against the API calls it makes.

    .venv/bin/python -m bench.web_pages [--n 200] [--warmup 20] [--pages home,pay,history]

Starts the whole system as the browser tests do (``tests/e2e/stack.py``, the demo data
loaded, a RabbitMQ vhost of its own deleted at the end), registers a customer, links the demo
account 123456789 and logs in through the cabinet's login form (``POST /login`` with the CSRF
token of the login page) with a ``requests.Session``. Then, one client, for each page: ``n``
GETs of the page (HTML complete: the cabinet renders on the server), each followed by its
**baseline** — the same API calls the page's view makes, one after the other, straight to
the gateway with the customer's Bearer token. Alternating the two keeps a busy machine's
drift out of the difference, which is what the cabinet itself costs (Flask, Jinja, its HTTP
client, the session cookie).

Access tokens live an hour here (the e2e stack's 45 s would add a renewal to some pages).
The calls of :data:`PAGES` follow the views in ``web/views/`` and ``web/app.py`` (the
header's ``/summary``): keep them in step when a view changes.
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.screenshots import make_vhost  # noqa: E402
from tests.e2e.stack import PASSWORD, Stack, make_stack  # noqa: E402

TARGET_HOME_P50_MS = 150.0

# page → (its path, the API calls its view makes: (path, query) with {account_id} filled in)
PAGES: dict[str, tuple[str, list[tuple[str, dict[str, Any]]]]] = {
    "home": ("/", [("/summary", {}), ("/accounts", {}), ("/payments/debt", {}),
                   ("/readings/window", {}), ("/accounts/{account_id}/meters", {})]),
    "pay": ("/pay", [("/summary", {}), ("/payments/debt", {}), ("/accounts", {}),
                     ("/payments/cards", {})]),
    "history": ("/history", [("/summary", {}), ("/accounts", {}),
                             ("/payments/history", {"account_id": "{account_id}", "limit": 20})]),
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def log_in(stack: Stack, phone: str) -> requests.Session:
    """A browser-like session of the cabinet, logged in through its form."""
    web = requests.Session()
    page = web.get(f"{stack.web}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    answer = web.post(f"{stack.web}/login", data={
        "csrf_token": token.group(1), "phone": phone, "password": PASSWORD}, timeout=30)
    if answer.status_code != 200 or "/login" in answer.url:
        raise SystemExit(f"log-in failed: {answer.status_code} {answer.url}")
    return web


def timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(stack: Stack, web: requests.Session, token: str, account_id: int, name: str,
            n: int, warmup: int) -> dict[str, Any]:
    path, calls = PAGES[name]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    filled = [(p.format(account_id=account_id),
               {k: str(v).format(account_id=account_id) for k, v in q.items()})
              for p, q in calls]

    def page() -> None:
        answer = web.get(stack.web + path, timeout=30, allow_redirects=False)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}")

    def baseline() -> None:
        for api_path, query in filled:
            answer = api.get(f"{stack.gateway}/api/v1{api_path}", params=query, timeout=30)
            if answer.status_code != 200:
                raise SystemExit(f"{api_path} answered {answer.status_code}: {answer.text[:200]}")

    for _ in range(warmup):
        page()
        baseline()
    pages, baselines = [], []
    for _ in range(n):
        pages.append(timed(page))
        baselines.append(timed(baseline))
    return {"page": name, "path": path, "calls": len(calls),
            "p50": percentile(pages, 50), "p90": percentile(pages, 90),
            "base_p50": percentile(baselines, 50), "base_p90": percentile(baselines, 90),
            "mean": statistics.fmean(pages), "base_mean": statistics.fmean(baselines)}


def report(rows: list[dict[str, Any]], n: int) -> None:
    print(f"\nweb cabinet, 1 client, {n} requests per page (ms; baseline = the page's API "
          "calls straight to the gateway)")
    print(f"{'page':<9}{'path':<10}{'API calls':>10}{'p50':>9}{'p90':>9}"
          f"{'base p50':>10}{'base p90':>10}{'own p50':>9}")
    for r in rows:
        print(f"{r['page']:<9}{r['path']:<10}{r['calls']:>10}{r['p50']:>9.1f}{r['p90']:>9.1f}"
              f"{r['base_p50']:>10.1f}{r['base_p90']:>10.1f}{r['p50'] - r['base_p50']:>9.1f}")
    home = next((r for r in rows if r["page"] == "home"), None)
    if home is not None:
        verdict = "met" if home["p50"] < TARGET_HOME_P50_MS else "MISSED"
        print(f"target: home p50 < {TARGET_HOME_P50_MS:.0f} ms with its API calls: {verdict} "
              f"({home['p50']:.1f} ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_pages")
    parser.add_argument("--n", type=int, default=200, help="requests per page")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--pages", default=",".join(PAGES))
    args = parser.parse_args(argv)
    names = [p for p in args.pages.split(",") if p]
    unknown = set(names) - set(PAGES)
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    amqp_uri, drop_vhost = make_vhost()
    var = Path(tempfile.mkdtemp(prefix="nesk-bench-web-"))
    stack = make_stack(var, amqp_uri, ACCESS_TOKEN_TTL="3600", LOG_LEVEL="WARNING")
    try:
        stack.start()
        customer = stack.register_phone()
        account_id = stack.link_demo_account(customer["access_token"])
        web = log_in(stack, customer["phone"])
        rows = [measure(stack, web, customer["access_token"], account_id, name, args.n,
                        args.warmup) for name in names]
    finally:
        stack.stop()
        drop_vhost()
        shutil.rmtree(var, ignore_errors=True)
    report(rows, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
