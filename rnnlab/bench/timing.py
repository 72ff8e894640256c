"""Interleaved timing: every candidate is timed once per round, in turn, and summarised by its median.

On a shared, noisy machine a burst of load hits whichever candidate runs at that moment; measured one after the
other, a whole candidate could land in a bad minute. Round-robin spreads the noise over all candidates alike, and
the median of the rounds drops the outliers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so a timer measures the work and not its launch (CUDA is asynchronous)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(
    candidates: Mapping[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    device: torch.device = torch.device("cpu"),
) -> dict[str, list[float]]:
    """Seconds per call of each candidate: `warmup` untimed rounds, then `repeats` rounds, each calling every
    candidate once in turn (the order rotates by one each round, so no candidate always follows the same one)."""
    if repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            synchronize(device)
            start = time.perf_counter()
            candidates[name]()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)
