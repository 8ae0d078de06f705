"""A pool of nameko standalone RPC proxies.

A ClusterRpcProxy serves one caller at a time, so each request thread borrows one from the
pool and gives it back. Every call has a timeout; a service that is down or silent becomes
ServiceUnavailable (HTTP 503) instead of a hung request. A proxy that saw a timeout or a
connection error is thrown away: a late reply must not reach its next borrower.
"""
from __future__ import annotations

import logging
import queue
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from shared.errors import DomainError, ServiceUnavailable

log = logging.getLogger(__name__)

DOWN = "Сервис «{service}» временно недоступен, попробуйте позже"


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
        standalone = ClusterRpcProxy(self.config, timeout=timeout)
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
        except (RpcTimeout, UnknownService, OSError, ConnectionError) as exc:
            # UnknownService: nothing consumes the service's queue; OSError: broker gone.
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

    def call(self, service: str, method: str, context: dict[str, Any],
             timeout: float | None = None, **kwargs: Any) -> Any:
        """``service.method(**kwargs)`` with ``context`` as nameko context data."""
        with self._borrow(service, timeout) as (standalone, cluster):
            standalone._worker_ctx.data = dict(context)  # request id, client ip, token
            return getattr(cluster[service], method)(**kwargs)

    def close(self) -> None:
        while True:
            try:
                standalone, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(standalone)
