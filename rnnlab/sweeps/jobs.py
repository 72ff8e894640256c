"""The jobs of a sweep directory, as they stand now: each job's overrides and its metrics.json, if it has ended.

A job is a directory under the sweep holding `.hydra/overrides.yaml` (Hydra writes it when the job starts);
its metrics.json (written last, atomically, by rnnlab.train) says how it ended. No metrics.json: the job is
still running, or was interrupted (re-running the sweep resumes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

INCOMPLETE = "incomplete"  # started, no metrics.json yet: running now, or interrupted


@dataclass(frozen=True)
class Job:
    """One job of a sweep: where it ran, what it overrode, and its metrics.json (None until it ends)."""

    dir: Path
    name: str  # the job's directory relative to the sweep directory: its overrides
    overrides: dict[str, str]
    metrics: dict[str, Any] | None

    @property
    def status(self) -> str:
        return self.metrics["status"] if self.metrics is not None else INCOMPLETE

    @property
    def error(self) -> str | None:
        return self.metrics.get("error") if self.metrics is not None else None


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """`["+a.b=1", "model=torch"]` -> `{"a.b": "1", "model": "torch"}` (the values as written)."""
    parsed = {}
    for override in overrides:
        key, _, value = override.partition("=")
        parsed[key.lstrip("+~")] = value
    return parsed


def find_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job under `sweep_dir`, sorted by name; raises FileNotFoundError if the directory does not exist."""
    # Imported here: rnnlab.training.results imports Lightning, and this module is loaded by the sweep's Hydra
    # callback in every run of rnnlab.train, before `--help` or a configuration error is answered.
    from rnnlab.training.results import read_metrics

    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"no sweep directory at {sweep_dir}")
    jobs = []
    for overrides_file in sweep_dir.rglob(".hydra/overrides.yaml"):
        job_dir = overrides_file.parent.parent
        overrides = yaml.safe_load(overrides_file.read_text()) or []
        jobs.append(Job(dir=job_dir, name=job_dir.relative_to(sweep_dir).as_posix(),
                        overrides=parse_overrides(overrides), metrics=read_metrics(job_dir)))
    return sorted(jobs, key=lambda job: job.name)
