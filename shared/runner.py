"""Run one nameko service: ``python -m shared.runner services.auth.service:AuthService``.

Builds the config from environment variables (shared.settings), logs JSON, checks the
broker first so a missing RabbitMQ is a clear message rather than a reconnect loop.
"""
from __future__ import annotations

import shared  # noqa: F401  (quiets eventlet's deprecation banner before it is imported)

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything imports sockets

import importlib  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from shared import logs, settings  # noqa: E402

log = logging.getLogger("shared.runner")

BROKER_HELP = ("RabbitMQ is not reachable at {uri}: {error}\n"
               "Start it with `rabbitmq-server -detached` (or `sudo systemctl start rabbitmq-server`),"
               " or set AMQP_URI.")


def check_broker(amqp_uri: str, timeout: float = 5) -> str | None:
    """None when the broker answers, else the reason it does not."""
    try:
        with Connection(amqp_uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # socket errors, auth errors, unknown vhost
        return f"{type(exc).__name__}: {exc}"
    return None


def load_service(path: str) -> type[Any]:
    module_name, _, cls_name = path.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m shared.runner package.module:ServiceClass", file=sys.stderr)
        return 2
    try:
        config = settings.load()
    except settings.ConfigurationError as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2
    service_cls = load_service(argv[0])
    logs.configure(service_cls.name, config["LOG_LEVEL"])
    error = check_broker(config["AMQP_URI"])
    if error:
        print(BROKER_HELP.format(uri=config["AMQP_URI"], error=error), file=sys.stderr)
        return 1
    config["max_workers"] = config["SERVICE_MAX_WORKERS"]
    runner = ServiceRunner(config)
    runner.add_service(service_cls)

    def shutdown(signum: int, _frame: object) -> None:
        log.info("stopping on signal %s", signum)
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("service started", extra={"amqp_uri": config["AMQP_URI"].split("@")[-1]})
    runner.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
