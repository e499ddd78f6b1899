"""The random draws behind the demo data, each from a generator seeded by what it is for.

`rng_for(seed, *parts)` gives the same sequence for the same parts in every process, so a
day's releases or a week's measurement never change between runs.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from typing import Any


def rng_for(seed: int, *parts: object) -> random.Random:
    # A string seed is hashed with SHA-512 by random.Random: stable across processes.
    return random.Random(":".join([str(seed), *map(str, parts)]))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def lognormal_hours(rng: random.Random, median_hours: float, sigma: float) -> dt.timedelta:
    return dt.timedelta(hours=rng.lognormvariate(math.log(median_hours), sigma))


def weighted(rng: random.Random, items: Sequence[Any], weights: Sequence[float]) -> Any:
    return rng.choices(list(items), weights=list(weights), k=1)[0]
