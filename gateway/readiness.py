"""/readyz: cheap to call however often it is polled.

A check first asks the broker, on a pooled connection, how many consumers each service's
RPC queue has (a passive declare: no message, no reply queue): a service without one is
down at once, and no ping waits for it in its queue. The others get an RPC ping through the
gateway's pool of proxies (no new connection or reply queue per call), all at once, and are
waited for at most ``READY_TIMEOUT``. A ping still running from an earlier check is not sent
again. One check runs at a time per process and its answer serves every caller for
``READY_CACHE_SECONDS``.
"""
from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Iterable

import amqp.exceptions
from kombu import Connection
from kombu.pools import connections

from gateway.rpc import RpcPool
from shared.errors import ServiceUnavailable

Result = dict[str, Any]


class Readiness:
    """Readiness of the services behind the gateway (see the module's docstring)."""

    def __init__(self, pool: RpcPool, config: dict[str, Any], services: Iterable[str],
                 executor: concurrent.futures.Executor) -> None:
        self.pool = pool
        self.services = tuple(services)
        self.executor = executor
        self.amqp_uri = config["AMQP_URI"]
        self.timeout = float(config["READY_TIMEOUT"])
        self.ttl = float(config.get("READY_CACHE_SECONDS", 1))
        self._lock = threading.Lock()
        self._last: Result | None = None
        self._at = 0.0
        self._pings: dict[str, concurrent.futures.Future[Result]] = {}

    def check(self, context: dict[str, Any]) -> Result:
        """``{"status": "ready" | "not ready", "down": [...], "services": {name: result}}``."""
        with self._lock:  # concurrent callers wait for the one check and share its answer
            if self._last is not None and time.monotonic() - self._at < self.ttl:
                return self._last
            results = self._check(context)
            down = sorted(name for name, result in results.items() if not result["ok"])
            self._last = {"status": "ready" if not down else "not ready", "down": down,
                          "services": results}
            self._at = time.monotonic()
            return self._last

    def _check(self, context: dict[str, Any]) -> dict[str, Result]:
        results: dict[str, Result] = {}
        consumers = self._consumers()
        for service in self.services:
            if consumers.get(service) == 0:
                results[service] = {"ok": False, "error": "no process serves it"}
            elif service in self._pings and not self._pings[service].done():
                results[service] = {"ok": False, "error": "its previous ping is unanswered"}
            else:
                self._pings[service] = self.executor.submit(self._ping, service, context)
        pending = {name: self._pings[name] for name in self.services if name not in results}
        concurrent.futures.wait(pending.values(), timeout=self.timeout)
        for service, future in pending.items():
            results[service] = (future.result() if future.done() else
                                {"ok": False, "error": f"no answer in {self.timeout:g} s"})
        return {name: results[name] for name in self.services}

    def _consumers(self) -> dict[str, int]:
        """Consumers of each service's RPC queue; empty if the broker could not be asked (the
        pings then tell)."""
        counts: dict[str, int] = {}
        pool = connections[Connection(self.amqp_uri, connect_timeout=self.timeout)]
        try:
            with pool.acquire(block=True, timeout=self.timeout) as connection:
                try:
                    for service in self.services:
                        counts[service] = self._queue_consumers(connection, f"rpc-{service}")
                except Exception:
                    connection.collect()  # a dead socket: the next borrower reconnects
                    raise
        except Exception:
            return {}
        return counts

    @staticmethod
    def _queue_consumers(connection: Connection, queue: str) -> int:
        channel = connection.channel()
        try:
            return channel.queue_declare(queue=queue, passive=True).consumer_count
        except amqp.exceptions.NotFound:  # never declared: the service never ran here
            return 0
        finally:
            try:
                channel.close()
            except Exception:  # the broker closed it already (NotFound does)
                pass

    def _ping(self, service: str, context: dict[str, Any]) -> Result:
        started = time.perf_counter()
        try:
            self.pool.call(service, "ping", context)
        except ServiceUnavailable as exc:
            return {"ok": False, "error": exc.message}
        except Exception as exc:  # the service answered, but its database did not
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
