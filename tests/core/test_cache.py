"""The Redis cache keeps one client per connection pool instead of one per operation."""

from __future__ import annotations

import redis

from apps.core.cache import ExecdashRedisCache


def test_one_client_per_pool():
    cache = ExecdashRedisCache("redis://127.0.0.1:6379/14", {})
    first = cache._cache.get_client("a")
    assert isinstance(first, redis.Redis)
    assert cache._cache.get_client("b") is first
    assert cache._cache.get_client("c", write=True) is first  # one server: one pool


def test_a_replica_has_its_own_client():
    cache = ExecdashRedisCache("redis://127.0.0.1:6379/14,redis://127.0.0.1:6379/13", {})
    write = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is write
    read = cache._cache.get_client(write=False)
    assert read is cache._cache.get_client(write=False)
    pools = {id(client.connection_pool) for client in (write, read)}
    assert len(pools) == len({id(write), id(read)})  # each client on its own pool
