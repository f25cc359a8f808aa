"""Fixed-window rate limits kept in the cache, shared by every process."""

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What the shared cache raises while Redis is out of reach.
CACHE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class RateSpecError(ValueError):
    pass


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, spec: str) -> "Rate":
        """ "30/60" is thirty in sixty seconds."""
        try:
            count, seconds = (int(part) for part in spec.split("/"))
        except ValueError:
            raise RateSpecError(f"a rate is 'count/seconds', not {spec!r}") from None
        if count < 1 or seconds < 1:
            raise RateSpecError(f"a rate needs a positive count and window: {spec!r}")
        return cls(count, seconds)


def hit(key: str, spec: str) -> int | None:
    """Count one use of `key`; None while within the rate, else the seconds until
    the window ends and the key may be used again."""
    rate = Rate.parse(spec)
    try:
        return _count(key, rate)
    except CACHE_ERRORS as exc:
        # A limit guards the work; it is not the work. With its counters out of
        # reach the use passes rather than turn into an error.
        logger.warning(
            "rate limit %s not counted, the cache is out of reach: %s", key, exc
        )
        return None


def _count(key: str, rate: Rate) -> int | None:
    now = time.time()
    window = int(now // rate.seconds)
    cache_key = f"rate:{key}:{rate.seconds}:{window}"
    if cache.add(cache_key, 1, timeout=rate.seconds + 1):
        used = 1
    else:
        try:
            used = cache.incr(cache_key)
        except ValueError:
            # It expired between the two calls: this is the window's first use.
            cache.set(cache_key, 1, timeout=rate.seconds + 1)
            used = 1
    if used <= rate.count:
        return None
    return max(1, math.ceil((window + 1) * rate.seconds - now))
