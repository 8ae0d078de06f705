"""CPU-bound work (password hashing, images, later OCR and PDF) off eventlet's hub.

Under eventlet every worker of a service shares one OS thread: a 100 ms argon2 hash would
stall them all. ``offload`` runs the call in eventlet's native thread pool instead (argon2
and Pillow release the GIL, so two calls use two cores); without eventlet it just calls.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from eventlet import patcher, tpool

T = TypeVar("T")


def offload(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(fn, *args, **kwargs)
    return fn(*args, **kwargs)
