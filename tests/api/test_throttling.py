"""The sliding-window throttle (api/throttling.py): its bounds, its Retry-After, its O(1) state."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from hypothesis import given, settings as hsettings, strategies as st

from api.authentication import ApiPrincipal
from api.models import ApiClient
from api.throttling import ClientRateThrottle, sliding_estimate


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def requester(rate: str, clock: Clock, pk: int = 1):
    """allow(at) → (allowed, Retry-After or None) for one client at `rate`, on a fake clock."""
    principal = ApiPrincipal(ApiClient(pk=pk, name=f"c{pk}", throttle_rate=rate), token=None)
    request = SimpleNamespace(user=principal)

    def allow(at: float):
        clock.now = at
        throttle = ClientRateThrottle()
        throttle.timer = clock
        ok = throttle.allow_request(request, view=None)
        return ok, throttle.wait()

    return allow


def test_estimate_weighs_the_previous_window_by_what_is_left_of_it():
    assert sliding_estimate(previous=10, current=2, elapsed=15, duration=60) == pytest.approx(10 * 0.75 + 2)
    assert sliding_estimate(previous=10, current=0, elapsed=0, duration=60) == 10


def test_a_full_window_refuses_then_retry_after_lets_the_next_request_in():
    cache.clear()
    allow = requester("3/min", Clock(0))
    assert [allow(t)[0] for t in (600.0, 601.0, 602.0)] == [True, True, True]
    ok, wait = allow(603.0)
    # Next window (660 s) counts these 3 as "previous": 3 × (1 − t/60) + 1 ≤ 3 at t = 20 s.
    assert not ok and wait == 660 - 603 + 20
    assert not allow(603.0 + wait - 1)[0]
    assert allow(603.0 + wait)[0]


def test_refused_requests_are_not_counted():
    cache.clear()
    allow = requester("2/min", Clock(0))
    allow(0.0), allow(1.0)
    assert [allow(2.0 + i)[0] for i in range(50)] == [False] * 50
    # A client hammering while refused is let in as soon as its counted requests allow it.
    ok, wait = allow(60.0)
    assert not ok and allow(60.0 + wait)[0]


def test_the_state_is_two_counters_whatever_the_rate():
    cache.clear()
    allow = requester("1000000/min", Clock(0))
    for i in range(3000):
        allow(i * 0.05)  # 150 s at 20/s: three windows
    keys = [k for k in cache._cache if "throttle:api_client:1:" in k]  # locmem's own dict in tests
    assert len(keys) <= 3  # the current window, the previous one and one left to expire
    assert all(isinstance(cache.get(k.split(":", 2)[-1]), int) for k in keys)


@hsettings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=30),
    gaps=st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=120),
)
def test_no_fixed_window_ever_admits_more_than_the_limit(limit, gaps):
    cache.clear()
    allow = requester(f"{limit}/min", Clock(0))
    at, admitted = 1000.0, {}
    for gap in gaps:
        at += gap
        ok, wait = allow(at)
        if ok:
            admitted[int(at // 60)] = admitted.get(int(at // 60), 0) + 1
        else:
            assert wait is not None and wait >= 1
    assert all(count <= limit for count in admitted.values())


@hsettings(max_examples=40, deadline=None)
@given(limit=st.integers(min_value=10, max_value=200), share=st.floats(min_value=0.1, max_value=0.9), phase=st.floats(0, 60))
def test_a_client_under_its_rate_is_never_refused(limit, share, phase):
    cache.clear()
    allow = requester(f"{limit}/min", Clock(0))
    interval = 60 / (limit * share)
    assert all(allow(1000 + phase + i * interval)[0] for i in range(int(limit * share * 3)))
