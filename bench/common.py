"""Helpers shared by the benchmarks: timing statistics and the one-line report format."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timings(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    """Wall-clock seconds of `repeat` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    result = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        result.append(time.perf_counter() - start)
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
    verdict = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"{name:<52} {value:>12.3f} {unit:<10} {target}{verdict}")


def median(values: list[float]) -> float:
    return statistics.median(values)
