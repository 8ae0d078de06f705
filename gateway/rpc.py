"""A pool of nameko standalone RPC proxies.

A ClusterRpcProxy serves one caller at a time, so each request thread borrows one from the
pool and gives it back. Every call has a timeout; a service that is down or silent becomes
ServiceUnavailable (HTTP 503) instead of a hung request. A proxy that saw a timeout or a
connection error is thrown away: a late reply must not reach its next borrower.

Every call carries a deadline (shared.deadlines): ``deadline`` in the context data, now plus
the call's timeout, and an AMQP expiration of the same length, so a request the gateway has
answered 503 is never run later. The gateway waits REPLY_GRACE beyond the deadline: a worker
that commits just before it still gets its answer through instead of a 503.
"""
from __future__ import annotations

import logging
import queue
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import KombuError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import ServiceProxy
from nameko.standalone.rpc import ClusterRpcProxy

from shared import deadlines
from shared.errors import DomainError, ServiceUnavailable

log = logging.getLogger(__name__)

DOWN = deadlines.DOWN
REPLY_GRACE = 0.5  # seconds the gateway listens past the deadline it gave the service

# Failures that mean "no answer from the service": a timeout, nothing consuming its queue, or
# the broker gone (a socket error, or kombu's OperationalError / py-amqp's connection errors
# when a publish or a reconnect fails during an outage).
UNAVAILABLE = (RpcTimeout, UnknownService, OSError, ConnectionError, KombuError,
               AmqpConnectionError)


class RpcPool:
    def __init__(self, config: dict[str, Any], size: int, timeout: float) -> None:
        self.config = {"AMQP_URI": config["AMQP_URI"]}
        self.timeout = timeout
        self._idle: queue.LifoQueue[tuple[ClusterRpcProxy, Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    def _checkout(self) -> tuple[ClusterRpcProxy, Any]:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._open(self.timeout)

    def _open(self, timeout: float) -> tuple[ClusterRpcProxy, Any]:
        standalone = ClusterRpcProxy(self.config, timeout=timeout + REPLY_GRACE)
        return standalone, standalone.start()

    @contextmanager
    def _borrow(self, service: str, timeout: float | None = None) -> Iterator[tuple[Any, Any]]:
        """A proxy from the pool, or (with its own ``timeout``) a fresh one used once."""
        if not self._slots.acquire(timeout=self.timeout):
            raise ServiceUnavailable("Шлюз перегружен, попробуйте позже", {"service": service})
        pooled = timeout is None
        standalone = cluster = None
        try:
            standalone, cluster = self._checkout() if pooled else self._open(timeout)
            yield standalone, cluster
        except DomainError:
            self._give_back(standalone, cluster, pooled)
            raise
        except UNAVAILABLE as exc:
            log.warning("rpc failed", extra={"service": service, "error": repr(exc)})
            self._discard(standalone)
            raise ServiceUnavailable(DOWN.format(service=service), {"service": service})
        except BaseException:
            self._discard(standalone)
            raise
        else:
            self._give_back(standalone, cluster, pooled)
        finally:
            self._slots.release()

    def _give_back(self, standalone: Any, cluster: Any, pooled: bool) -> None:
        if standalone is None:
            return
        if pooled:
            self._idle.put((standalone, cluster))
        else:
            self._discard(standalone)

    @staticmethod
    def _discard(standalone: ClusterRpcProxy | None) -> None:
        if standalone is not None:
            try:
                standalone.stop()
            except Exception:  # already broken; nothing to keep
                pass

    def call(self, service: str, method: str, context: dict[str, Any], /,
             timeout: float | None = None, **kwargs: Any) -> Any:
        """``service.method(**kwargs)`` with ``context`` as nameko context data, and a
        deadline ``timeout`` (default: the pool's) from now. The first three are positional
        only, so an argument of the method may be named ``method`` or ``service``."""
        budget = self.timeout if timeout is None else timeout
        with self._borrow(service, timeout) as (standalone, _):
            # request id, client ip, token; and the deadline, which nested calls inherit
            standalone._worker_ctx.data = {**context,
                                           deadlines.KEY: deadlines.deadline_after(budget)}
            proxy = ServiceProxy(standalone._worker_ctx, service, standalone._reply_listener,
                                 expiration=budget)  # seconds; the broker drops it after
            return getattr(proxy, method)(**kwargs)

    def close(self) -> None:
        while True:
            try:
                standalone, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(standalone)
