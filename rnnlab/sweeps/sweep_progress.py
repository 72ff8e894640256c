"""A sweep's progress on the console, whatever the launcher: a line per finished job and a running count with an
estimate of the time left, then a table of every job at the end.

The sweep's main process watches the sweep directory (each job writes its metrics.json last, atomically), so the
same lines appear with Hydra's basic launcher (jobs in this process), joblib (worker processes) and submitit (jobs
elsewhere, even on a cluster's shared file system). Reading files keeps this module light: no Lightning import in a
launcher's main process.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rnnlab.record.formatting import aligned, duration, significant
from rnnlab.record.overrides import parse_overrides
from rnnlab.record.run_record import FINISHED, CorruptMetrics, RunRecord, read_record
from rnnlab.record.study import expected_jobs, varied_keys

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Finished:
    """A job that has written its metrics.json."""

    name: str  # its swept values, or its directory under the sweep
    status: str
    final_over_baseline: float | None
    wall_time_s: float | None
    error: str | None


def _label(path: Path, sweep_dir: Path, record: RunRecord, keys: list[str] | None) -> str:
    """The job's values of what the study varies (`init_scale=0.5,nonlinearity=tanh`, the keys in the study's
    order), else its directory under the sweep."""
    overrides = parse_overrides(record.overrides)
    if keys and all(key in overrides for key in keys):
        return ",".join(f"{key}={overrides[key]}" for key in keys)
    return path.parent.relative_to(sweep_dir).as_posix()


def _read(path: Path, sweep_dir: Path, keys: list[str] | None = None) -> Finished | None:
    try:
        record = read_record(path.parent)
    except CorruptMetrics:  # unreadable: read again at the next poll (the summary names it at the end)
        return None
    if record is None:
        return None
    return Finished(
        name=_label(path, sweep_dir, record, keys),
        status=record.status,
        final_over_baseline=record.final_over_baseline,
        wall_time_s=record.wall_time_s,
        error=record.error,
    )


def scan(sweep_dir: Path) -> dict[Path, float]:
    """Every metrics.json under the sweep directory with its modification time."""
    found = {}
    for path in sweep_dir.rglob("metrics.json"):
        try:
            found[path] = path.stat().st_mtime
        except OSError:
            continue
    return found


def job_line(job: Finished, done: int, total: int | None) -> str:
    """`[3/14] init_scale=0.5,nonlinearity=tanh: completed, final/baseline 0.1234, 12.3 s`."""
    ratio = f", final/baseline {significant(job.final_over_baseline)}" if job.final_over_baseline is not None else ""
    took = f", {job.wall_time_s:.1f} s" if job.wall_time_s is not None else ""
    error = f" ({job.error})" if job.error else ""
    return f"[{done}/{total if total is not None else '?'}] {job.name}: {job.status}{ratio}{took}{error}"


def count_line(statuses: list[str], total: int | None, elapsed: float, new_done: int) -> str:
    """`3/14 done, 2 diverged, 1 failed, about 1 min left`: the left time from this run's own pace."""
    done = len(statuses)
    parts = [f"{done}/{total if total is not None else '?'} done"]
    parts += [f"{statuses.count(status)} {status}" for status in ("diverged", "failed") if status in statuses]
    if total is not None and 0 < new_done and done < total:
        parts.append(f"about {duration(elapsed / new_done * (total - done))} left")
    return ", ".join(parts)


def table(jobs: list[Finished]) -> list[str]:
    """Every finished job: overrides, status, final/baseline, wall time; the columns aligned."""
    rows = [("job", "status", "final/baseline", "time")]
    for job in sorted(jobs, key=lambda j: j.name):
        rows.append(
            (
                job.name,
                job.status,
                significant(job.final_over_baseline) if job.final_over_baseline is not None else "-",
                f"{job.wall_time_s:.1f} s" if job.wall_time_s is not None else "-",
            )
        )
    return aligned(rows)


class SweepProgress(Callback):
    """Hydra callback: watch the sweep directory from the sweep's start to its end and print the progress."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # Launchers that pickle themselves with Hydra's context (joblib, submitit) take this callback along: a thread
    # and its event do not pickle, and only the sweep's main process watches.
    def __getstate__(self) -> dict:
        return {"poll_seconds": self.poll_seconds}

    def __setstate__(self, state: dict) -> None:
        SweepProgress.__init__(self, **state)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self.sweep_dir = Path(config.hydra.sweep.dir)
        self.total = expected_jobs(config)
        self.keys = varied_keys(config)
        self.started = time.monotonic()
        self.seen = scan(self.sweep_dir) if self.sweep_dir.is_dir() else {}
        self.jobs = {path: job for path in self.seen if (job := _read(path, self.sweep_dir, self.keys)) is not None}
        self.new_done = 0
        finished = sum(job.status in FINISHED for job in self.jobs.values())
        if finished and "n_trials" in config.hydra.sweeper:  # a search: its stored trials stay, n_trials are new
            self._print(f"rnnlab sweep: {finished} trials finished earlier in this directory; {self.total} new ones")
        elif finished:
            self._print(
                f"rnnlab sweep: {finished} of {self.total if self.total is not None else '?'} jobs "
                "already finished in this directory (not run again)"
            )
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="rnnlab-sweep-progress", daemon=True)
        self._thread.start()

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.poll()  # the last job's metrics.json
        if self.jobs:
            self._print("\n".join(table(list(self.jobs.values()))))

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.poll()

    def poll(self) -> list[str]:
        """Print (and return) the lines for every job that finished since the last poll."""
        lines: list[str] = []
        if not self.sweep_dir.is_dir():
            return lines
        for path, mtime in sorted(scan(self.sweep_dir).items(), key=lambda item: item[1]):
            if self.seen.get(path) == mtime:
                continue
            job = _read(path, self.sweep_dir, self.keys)
            if job is None:
                continue
            self.seen[path], self.jobs[path] = mtime, job
            self.new_done += 1
            done = len(self.jobs)
            statuses = [j.status for j in self.jobs.values()]
            lines.append(
                job_line(job, done, self.total)
                + "  |  "
                + count_line(statuses, self.total, time.monotonic() - self.started, self.new_done)
            )
        if lines:
            self._print("\n".join(lines))
        return lines

    @staticmethod
    def _print(text: str) -> None:
        print(text, file=sys.stdout, flush=True)
