"""Measure whether registration, recovery and login tell by their timing that a phone or an
e-mail address is registered (issue 14: «12 ms known, 158 ms new; 40 of 40 told apart»).

    .venv/bin/python bench/auth_enumeration.py [--requests 40] [--routes register_email,...]

It starts, as bench/auth_gateway.py does (and with its helpers), the auth service and the
gateway on a RabbitMQ vhost and a temp VAR_DIR of their own, registers one user with a phone
and one with an e-mail address, then sends each route ``--requests`` times for the registered
identity and as many times for new ones, interleaved, one at a time, and reports per route
the median and the 10th/90th percentiles of each side and how well one request is told
apart: the best accuracy any latency threshold reaches over all the requests (50 % is a coin,
100 % tells every request). SMS and e-mail go to the file outbox, so a provider's latency
is not in the figures; the limits that would refuse a burst (SMS per hour and per address,
login slow-down and per-address limit) are raised for the run. A benchmark reports; it does
not assert. See bench/README.md.
"""
from __future__ import annotations

import argparse
import atexit
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.auth_gateway import (API, CAPTCHA_ANSWER, HOST, PASSWORD, PHONE, Cleanup,  # noqa: E402
                                Client, SetupFailed, free_port, make_vhost, register_user,
                                start, wait_http, wait_services)

EMAIL = "bench.known@example.ru"
ROUTES = ("register_email", "forgot_email", "register_phone", "forgot_phone", "login_phone",
          "login_email")


def register_email_user(gw: Client, outbox: Path) -> None:
    consent = gw.call("GET", f"{API}/auth/consent")["version"]
    captcha = gw.call("POST", f"{API}/auth/captcha")
    gw.call("POST", f"{API}/auth/register/email", {
        "email": EMAIL, "password": PASSWORD, "password_confirmation": PASSWORD,
        "consent_version": consent, "captcha_id": captcha["captcha_id"],
        "captcha_answer": CAPTCHA_ANSWER})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*-email-*.json"), reverse=True):
            body = json.loads(path.read_text(encoding="utf-8"))
            if body["to"] == EMAIL and "token=" in body["body"]:
                token = body["body"].split("token=", 1)[1].split()[0]
                gw.call("POST", f"{API}/auth/register/email/confirm", {"token": token})
                return
        time.sleep(0.1)
    raise SetupFailed(f"no confirmation letter to {EMAIL} in {outbox}")


def timed_post(port: int, path: str, body: dict[str, Any]) -> tuple[float, int]:
    """Milliseconds of one POST on a fresh connection, and its status."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    payload = json.dumps(body)
    try:
        conn.connect()
        t0 = time.perf_counter()
        conn.request("POST", path, payload, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return (time.perf_counter() - t0) * 1000, resp.status
    finally:
        conn.close()


def best_accuracy(a: list[float], b: list[float]) -> float:
    """The share of requests a single latency threshold puts on the right side, at best."""
    labelled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    best, n = 0.5, len(labelled)
    below_a = below_b = 0
    for _, label in labelled:  # threshold just above each value in turn
        below_a += label == 0
        below_b += label == 1
        a_low = (below_a + (len(b) - below_b)) / n  # "a is the faster side"
        best = max(best, a_low, 1 - a_low)
    return best


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="per side and route")
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    cleanup = Cleanup()
    atexit.register(cleanup.run)
    try:
        return run(args, cleanup)
    except SetupFailed as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    finally:
        cleanup.run()


def run(args: argparse.Namespace, cleanup: Cleanup) -> int:
    import os

    gunicorn = Path(sys.executable).parent / "gunicorn"
    tmp = Path(tempfile.mkdtemp(prefix="nesk-enum-"))
    cleanup.tmp = tmp
    var_dir, logdir = tmp / "var", tmp / "logs"
    var_dir.mkdir()
    logdir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_DATABASE_URL") and not k.startswith("JWT_")}
    many = "1000000"
    env.update({
        "NESK_ENV": "test", "VAR_DIR": str(var_dir), "AMQP_URI": make_vhost(cleanup),
        "CAPTCHA_TEST_ANSWER": CAPTCHA_ANSWER, "LOG_LEVEL": "WARNING",
        "GATEWAY_BIND": f"{HOST}:{port}", "SMS_BACKEND": "file", "EMAIL_BACKEND": "file",
        "SMS_PER_PHONE_HOURLY": many, "SMS_PER_IP_HOURLY": many, "SMS_RESEND_COOLDOWN": "0",
        "LOGIN_SLOWDOWN_AFTER": many, "LOGIN_LOCK_AFTER": many, "LOGIN_PER_IP_LIMIT": many,
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    })
    migrate = subprocess.run([sys.executable, "-m", "shared.migrate"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    if migrate.returncode:
        raise SetupFailed(f"shared.migrate failed:\n{migrate.stdout}{migrate.stderr}")
    auth = start(cleanup, "auth", [sys.executable, "-m", "shared.runner",
                                   "services.auth.service:AuthService"], env, logdir)
    gateway = start(cleanup, "gateway", [str(gunicorn), "-c", "gateway/gunicorn_conf.py",
                                         "gateway.wsgi:app"], env, logdir)
    wait_http(port, "/healthz", [("auth", auth), ("gateway", gateway)], logdir)
    wait_services(port, ["auth"], cleanup, logdir)
    gw = Client(port)
    register_user(gw, var_dir / "outbox")
    register_email_user(gw, var_dir / "outbox")
    consent = gw.call("GET", f"{API}/auth/consent")["version"]

    def captcha() -> dict[str, str]:
        made = gw.call("POST", f"{API}/auth/captcha")
        return {"captcha_id": made["captcha_id"], "captcha_answer": CAPTCHA_ANSWER}

    def new_email() -> str:
        return f"new.{uuid.uuid4().hex[:12]}@example.ru"

    def new_phone() -> str:
        return f"+7918{uuid.uuid4().int % 10**7:07d}"

    # route -> (path, body for an identity, the registered identity, a new one)
    plans: dict[str, tuple[str, Callable[[str], dict[str, Any]], Callable[[], str],
                           Callable[[], str]]] = {
        "register_email": ("/auth/register/email", lambda e: {
            "email": e, "password": PASSWORD, "password_confirmation": PASSWORD,
            "consent_version": consent, **captcha()}, lambda: EMAIL, new_email),
        "forgot_email": ("/auth/password/forgot/email", lambda e: {"email": e, **captcha()},
                         lambda: EMAIL, new_email),
        "register_phone": ("/auth/register/phone", lambda p: {"phone": p, **captcha()},
                           lambda: PHONE, new_phone),
        "forgot_phone": ("/auth/password/forgot/phone", lambda p: {"phone": p, **captcha()},
                         lambda: PHONE, new_phone),
        "login_phone": ("/auth/login", lambda p: {"phone": p, "password": "Wrong-Parol-1"},
                        lambda: PHONE, new_phone),
        "login_email": ("/auth/login", lambda e: {"email": e, "password": "Wrong-Parol-1"},
                        lambda: EMAIL, new_email),
    }
    figures: dict[str, Any] = {}
    print(f"{'route':<15} {'registered: p10/median/p90 ms':>31} {'new: p10/median/p90 ms':>25} "
          f"{'told apart':>10}")
    for route in args.routes.split(","):
        path, body, known, unknown = plans[route]
        times: dict[str, list[float]] = {"registered": [], "new": []}
        statuses: set[int] = set()
        for i in range(2 * args.requests + 4):
            side = "registered" if i % 2 == 0 else "new"
            ms, status = timed_post(port, API + path, body(known() if side == "registered"
                                                           else unknown()))
            statuses.add(status)
            if i >= 4:  # two of each to warm up
                times[side].append(ms)
        accuracy = best_accuracy(times["registered"], times["new"])
        figures[route] = {side: {"p10": pct(v, 0.1), "median": statistics.median(v),
                                 "p90": pct(v, 0.9)} for side, v in times.items()}
        figures[route].update(told_apart=accuracy, statuses=sorted(statuses))
        k, n = figures[route]["registered"], figures[route]["new"]
        print(f"{route:<15} {k['p10']:>13.1f} / {k['median']:>6.1f} / {k['p90']:>6.1f} "
              f"{n['p10']:>9.1f} / {n['median']:>6.1f} / {n['p90']:>6.1f} "
              f"{accuracy:>9.0%}  HTTP {sorted(statuses)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
