"""Fixed-window rate limits in the shared cache."""

import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.test import override_settings

from supportdesk import ratelimit
from supportdesk.ratelimit import Rate, RateSpecError, hit
from tests.server import free_port

# The start of a 60-second window, and of a 3600-second one.
WINDOW_START = 1_700_006_400


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, set by the test."""
    now = SimpleNamespace(value=float(WINDOW_START))
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now.value))
    return now


@pytest.fixture
def key():
    return f"test-{uuid.uuid4().hex}"


def test_uses_within_the_rate_pass_and_the_next_waits_for_the_window(clock, key):
    """Three in sixty seconds pass; the fourth is told how long until the window
    ends."""
    clock.value += 10

    assert [hit(key, "3/60") for _ in range(3)] == [None, None, None]
    assert hit(key, "3/60") == 50
    clock.value += 45
    assert hit(key, "3/60") == 5


def test_a_new_window_starts_the_count_again(clock, key):
    """Once the window is over the key may be used again."""
    assert [hit(key, "2/60") for _ in range(3)] == [None, None, 60]

    clock.value += 60

    assert hit(key, "2/60") is None


def test_keys_and_rates_count_apart(clock, key):
    """One visitor's use never counts against another's, nor one rate's against
    another rate of the same key."""
    assert hit(key, "1/60") is None
    assert hit(key, "1/60") is not None

    assert hit(f"{key}-other", "1/60") is None
    assert hit(key, "1/3600") is None


def test_the_wait_is_at_least_one_second(clock, key):
    """Just before a window ends, the wait is rounded up, never zero."""
    clock.value += 59.9

    hit(key, "1/60")

    assert hit(key, "1/60") == 1


@pytest.mark.parametrize("spec", ["30", "30/0", "0/60", "a/60", "1/2/3", "", "-1/60"])
def test_a_malformed_rate_is_refused(spec):
    """A rate is "count/seconds" with both positive."""
    with pytest.raises(RateSpecError):
        Rate.parse(spec)


def test_a_rate_reads_count_and_seconds():
    """ "30/60" is thirty uses in sixty seconds."""
    assert Rate.parse("30/60") == Rate(count=30, seconds=60)


def test_with_the_cache_out_of_reach_every_use_passes(key, caplog):
    """The counters live in Redis; while it is down a limit lets requests through
    rather than fail them, and says so in the log."""
    nobody_listens = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    with override_settings(CACHES=nobody_listens):
        try:
            assert [hit(key, "1/60") for _ in range(3)] == [None, None, None]
        finally:
            caches["default"].close()

    assert "not counted, the cache is out of reach" in caplog.text
