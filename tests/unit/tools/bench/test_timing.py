"""How the benchmarks size their batches (tools/bench/timing.py)."""

from __future__ import annotations

import time

from tools.bench.timing import _calibrated


def test_a_slow_first_call_does_not_shrink_the_batches() -> None:
    """A contestant whose first call fills a cache is sized by its usual calls: a batch
    of 10 ms holds hundreds of calls, not the one or two the first call would suggest."""
    calls = 0

    def fills_a_cache_first() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            until = time.thread_time() + 0.005  # 5 ms of CPU, like building a memo
            while time.thread_time() < until:
                pass

    _, number = _calibrated(fills_a_cache_first, 0.01)
    assert number > 100
