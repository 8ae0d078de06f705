"""CPU-bound work (password hashing, images, later OCR and PDF) off eventlet's hub.

Under eventlet every worker of a service shares one OS thread: a 100 ms argon2 hash would
stall them all. ``offload`` runs the call in eventlet's native thread pool instead (argon2
and Pillow release the GIL, so two calls use two cores); without eventlet it just calls.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from eventlet import patcher, tpool

from shared import logs

T = TypeVar("T")


def offload(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``fn(*args, **kwargs)`` in a native pool thread, with the caller's request id in that
    thread's log lines (the id lives in a greenlet-local the pool thread does not share)."""
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(_with_request_id(logs.get_request_id(), fn), *args, **kwargs)
    return fn(*args, **kwargs)


def _with_request_id(request_id: str | None, fn: Callable[..., T]) -> Callable[..., T]:
    def call(*args: Any, **kwargs: Any) -> T:
        logs.set_request_id(request_id)
        try:
            return fn(*args, **kwargs)
        finally:
            logs.set_request_id(None)  # pool threads are reused by other callers

    return call
