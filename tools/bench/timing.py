"""How the benchmarks time code: interleaved rounds, medians, and figures as ratios.

A shared machine is noisy, and its noise drifts: a figure timed a second after its floor
may meet a busier machine. So every contestant is timed in rounds, each round one batch
of every contestant with a batch of the floor before and after it (floor, A, floor, B,
floor, ...), and a contestant's ratio is the median over rounds of its batch against the
mean of the two floor batches around it. Values in microseconds are medians of batches.

Batches are timed in this thread's CPU time (``time.thread_time``), not wall time: what a
function's own vCPU spends on a request, without the moments another process of a
shared machine holds the core (a deployed function has its vCPU to itself).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BATCH_SECONDS = 0.01  # one batch of a contestant
FLOOR_BATCH_SECONDS = 0.005  # one batch of the floor, between contestants
WARM_UP_CALLS = 8  # untimed calls of a contestant before it is calibrated


class Rounds:
    """Contestants timed in interleaved rounds against one floor (see the module)."""

    def __init__(self, floor: Callable[[], object]) -> None:
        self._floor = _calibrated(floor, FLOOR_BATCH_SECONDS)
        self._contestants: dict[str, tuple[timeit.Timer, int]] = {}
        self.floor_samples: list[float] = []  # seconds per call, one per batch
        self.samples: dict[str, list[float]] = {}
        self.paired: dict[str, list[float]] = {}

    def add(self, name: str, fn: Callable[[], object]) -> None:
        self._contestants[name] = _calibrated(fn, BATCH_SECONDS)
        self.samples[name] = []
        self.paired[name] = []

    def run(self, rounds: int) -> None:
        before = self._time_floor()
        for _ in range(rounds):
            for name, (timer, number) in self._contestants.items():
                seconds = timer.timeit(number) / number
                after = self._time_floor()
                self.samples[name].append(seconds)
                self.paired[name].append(2 * seconds / (before + after))
                before = after

    def _time_floor(self) -> float:
        timer, number = self._floor
        seconds = timer.timeit(number) / number
        self.floor_samples.append(seconds)
        return seconds

    @property
    def floor(self) -> float:
        """The floor's median batch, seconds per call."""
        return statistics.median(self.floor_samples)

    def median(self, name: str) -> float:
        """The contestant's median batch, seconds per call."""
        return statistics.median(self.samples[name])

    def ratio(self, name: str) -> float:
        """The median over rounds of the contestant against the floor around it."""
        return statistics.median(self.paired[name])

    def figure(self, label: str, name: str, target: float | None = None) -> Figure:
        return Figure(label, self.median(name), self.floor, target, ratio=self.ratio(name))


def _calibrated(fn: Callable[[], object], batch_seconds: float) -> tuple[timeit.Timer, int]:
    """A timer for ``fn`` and the number of calls that takes about ``batch_seconds``.

    ``fn`` runs a few times first: a first call that fills a cache (a policy memo, say)
    would otherwise pass for the usual cost, and batches would be a call or two long."""
    timer = timeit.Timer(fn, timer=time.thread_time)
    timer.timeit(WARM_UP_CALLS)
    number = 1
    while (elapsed := timer.timeit(number)) < batch_seconds / 5:
        number *= 2
    return timer, max(1, math.ceil(number * batch_seconds / elapsed))


@dataclass(frozen=True)
class Figure:
    """One line of a benchmark's table: a value, and against a floor a ratio and target."""

    name: str
    seconds: float
    floor: float | None = None  # seconds; what the ratio compares with
    target: float | None = None  # the largest ratio that passes; None: information only
    unit: str = "us"
    ratio: float | None = None  # given when measured in pairs; else seconds / floor

    def __post_init__(self) -> None:
        if self.ratio is None and self.floor:
            object.__setattr__(self, "ratio", self.seconds / self.floor)

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio <= self.target

    def as_json(self) -> dict[str, Any]:
        scale = _SCALE[self.unit]
        return {
            "name": self.name.strip(),
            "unit": self.unit,
            "value": round(self.seconds * scale, 2),
            "floor": None if self.floor is None else round(self.floor * scale, 2),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target": self.target,
            "pass": self.passed,
        }


@dataclass(frozen=True)
class Count:
    """A count that must equal ``expected`` exactly (``None``: information only)."""

    name: str
    value: int
    expected: int | None = None
    unit: str = "calls"

    @property
    def passed(self) -> bool | None:
        return None if self.expected is None else self.value == self.expected

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name.strip(),
            "unit": self.unit,
            "value": self.value,
            "target": None if self.expected is None else f"=={self.expected}",
            "pass": self.passed,
        }


Row = Figure | Count
_SCALE = {"us": 1e6, "ms": 1e3, "MiB": 1.0}
_UNIT_TEXT = {"us": "µs", "ms": "ms", "MiB": "MiB"}


def render(rows: list[Row]) -> str:
    """The table: name, value, floor, ratio, target, PASS/FAIL/info."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'figure':<{width}}  {'value':>12}  {'floor':>11}  {'ratio':>6}  target  result"]
    for row in rows:
        result = {True: "PASS", False: "FAIL", None: "info"}[row.passed]
        if isinstance(row, Count):
            target = "" if row.expected is None else f"={row.expected}"
            value = f"{row.value} {row.unit}"
            lines.append(
                f"{row.name:<{width}}  {value:>12}  {'':>11}  {'':>6}  {target:>6}  {result}"
            )
            continue
        scale, unit = _SCALE[row.unit], _UNIT_TEXT[row.unit]
        floor = "" if row.floor is None else f"{row.floor * scale:7.1f} {unit}"
        ratio = "" if row.ratio is None else f"{row.ratio:5.2f}x"
        target = "" if row.target is None else f"≤{row.target:.1f}x"
        lines.append(
            f"{row.name:<{width}}  {row.seconds * scale:8.1f} {unit:<3}  {floor:>11}  "
            f"{ratio:>6}  {target:>6}  {result}"
        )
    return "\n".join(lines)


def finish(rows: list[Row], started: float, json_path: str | None, **extra: Any) -> int:
    """Print the verdict and the figures as one JSON line (and to ``json_path``); exit code."""
    failed = [r.name.strip() for r in rows if r.passed is False]
    elapsed = time.perf_counter() - started
    print(f"{'FAIL: ' + ', '.join(failed) if failed else 'all targets met'} ({elapsed:.0f} s)")
    report = {
        "figures": [r.as_json() for r in rows],
        **extra,
        "ok": not failed,
        "seconds": round(elapsed, 1),
    }
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, separators=(",", ":"), ensure_ascii=False))
    return 1 if failed else 0


def progress(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)
