"""Django's Redis cache, made to survive a dead Redis, with one client per server.

Redis down: every operation is guarded by a circuit breaker shared by the process. The first
failure (a refused connection, or a connect/read timeout of at most 0.5 s / 1 s) opens it;
for the cool-down (10 s by default) the cache answers like Django's DummyCache without
touching the network: reads miss, writes are dropped, `add` says yes, `incr` starts a new
count. Pages then compute what they would have read and still answer in time; the first call
after the cool-down tries Redis again. The timeouts and cool-down can be changed in the
cache's OPTIONS (`socket_connect_timeout`, `socket_timeout`, `breaker_cooldown`).

One client per server: Django's RedisCacheClient wraps its pool in a new `redis.Redis` for
every cache operation, and building one (its response callbacks and all) costs 0.1 ms: a
third of a GET on loopback, paid once or twice by every dashboard request. A `redis.Redis`
is safe to share between threads, and its pool reconnects in a forked process, so one per
server is built up front (writes go to the first server, reads to a replica when there are
more, as Django does), through redis-py's public API only.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any, cast

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from apps.core.breaker import CircuitBreaker

DEFAULT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
    # No retry inside redis-py: the breaker decides when to try again.
    "retry": None,
}
DEFAULT_COOLDOWN = 10.0
# A backend instance lives per thread (django.core.cache.caches is thread-local); the
# breaker of a server is per process, so one thread's failure spares the others the wait.
_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()
CONNECTION_ERRORS = (redis.RedisError, OSError)


def breaker_for(location: str, *, cooldown: float = DEFAULT_COOLDOWN) -> CircuitBreaker:
    with _breakers_lock:
        breaker = _breakers.get(location)
        if breaker is None:
            breaker = _breakers[location] = CircuitBreaker(
                f"Redis cache {location}", cooldown=cooldown
            )
        return breaker


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(
        self,
        servers: list[str],
        *,
        breaker: CircuitBreaker,
        serializer: Any = None,
        pool_class: Any = None,
        parser_class: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(
            servers, serializer=serializer, pool_class=pool_class, parser_class=parser_class
        )
        self.breaker = breaker
        pools = pool_class or redis.ConnectionPool
        self._clients = [
            redis.Redis(connection_pool=pools.from_url(url, **options)) for url in servers
        ]

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        if write or len(self._clients) == 1:
            return self._clients[0]
        return self._clients[random.randint(1, len(self._clients) - 1)]

    def _guard(self, call: Callable[..., Any], args: tuple[Any, ...], fallback: Any) -> Any:
        if not self.breaker.allow():
            return fallback
        try:
            result = call(*args)
        except CONNECTION_ERRORS as exc:
            self.breaker.failed(exc)
            return fallback
        self.breaker.succeeded()
        return result

    def ping(self) -> bool:
        """Ask Redis directly (the breaker is not consulted, but learns the answer)."""
        try:
            self._clients[0].ping()
        except CONNECTION_ERRORS as exc:
            self.breaker.failed(exc)
            return False
        self.breaker.succeeded()
        return True

    def add(self, key: Any, value: Any, timeout: Any) -> Any:
        return self._guard(super().add, (key, value, timeout), True)

    def get(self, key: Any, default: Any) -> Any:
        return self._guard(super().get, (key, default), default)

    def set(self, key: Any, value: Any, timeout: Any) -> Any:
        return self._guard(super().set, (key, value, timeout), None)

    def touch(self, key: Any, timeout: Any) -> Any:
        return self._guard(super().touch, (key, timeout), False)

    def delete(self, key: Any) -> Any:
        return self._guard(super().delete, (key,), False)

    def get_many(self, keys: Any) -> Any:
        return self._guard(super().get_many, (keys,), {})

    def has_key(self, key: Any) -> Any:
        return self._guard(super().has_key, (key,), False)

    def incr(self, key: Any, delta: Any) -> Any:
        # A missing key still raises ValueError, as Django documents; Redis down starts
        # a new count, so a rate limit lets traffic through rather than failing it.
        return self._guard(super().incr, (key, delta), delta)

    def set_many(self, data: Any, timeout: Any) -> Any:
        return self._guard(super().set_many, (data, timeout), None)

    def delete_many(self, keys: Any) -> Any:
        return self._guard(super().delete_many, (keys,), None)

    def clear(self) -> Any:
        return self._guard(super().clear, (), False)


class ExecdashRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        cooldown = float(options.pop("breaker_cooldown", DEFAULT_COOLDOWN))
        self.breaker = breaker_for(str(server), cooldown=cooldown)
        options["breaker"] = self.breaker
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusingRedisCacheClient

    def ping(self) -> bool:
        """Whether Redis answers now, within the socket timeouts."""
        return cast(ReusingRedisCacheClient, self._cache).ping()
