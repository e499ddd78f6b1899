"""A circuit breaker: after a failure, skip calls to a dependency for a cool-down.

A dead Redis then costs one fast failure per cool-down (per process), not one timeout per
call: the cache and the Celery broker both use it, so a page or a post never waits on a
service that has just been seen down. After the cool-down one call goes through (half-open):
success closes the breaker, failure opens it again.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("execdash.breaker")
_all: list[CircuitBreaker] = []


def breakers_reset() -> None:
    """Close every breaker of the process (the tests start each from a clean state)."""
    for breaker in list(_all):
        breaker.reset()


class CircuitBreaker:
    def __init__(self, name: str, *, cooldown: float) -> None:
        self.name = name
        self.cooldown = cooldown
        self._open_until = 0.0
        self._lock = threading.Lock()
        _all.append(self)

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def allow(self) -> bool:
        """Whether a call may go through now (closed, or half-open after the cool-down)."""
        return not self.is_open

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            was_closed = self._open_until == 0.0
            self._open_until = time.monotonic() + self.cooldown
        if was_closed:
            log.warning(
                "%s unavailable (%s: %s); bypassing it, retrying every %.0f s",
                self.name,
                type(exc).__name__,
                exc,
                self.cooldown,
            )

    def succeeded(self) -> None:
        if self._open_until == 0.0:
            return
        with self._lock:
            self._open_until = 0.0
        log.warning("%s is back", self.name)

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0
