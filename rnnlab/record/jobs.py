"""The jobs of a sweep directory, as they stand now: each job's overrides and its metrics.json, if it has ended.

A job is a directory under the sweep holding `.hydra/overrides.yaml` (Hydra writes it when the job starts);
its metrics.json (written last, atomically, by rnnlab.train) says how it ended. No metrics.json: the job is
still running, or was interrupted (re-running the sweep resumes it). A metrics.json that is no run record (emptied,
truncated, foreign) makes the job `corrupt`: re-running the sweep runs it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from rnnlab.record.notes import REFUSED, Note, read_notes
from rnnlab.record.overrides import parse_overrides
from rnnlab.record.run_record import CorruptMetrics, RunRecord, read_record
from rnnlab.record.unlaunched import read_unlaunched

INCOMPLETE = "incomplete"  # started, no metrics.json yet: running now, or interrupted
CORRUPT = "corrupt"  # a metrics.json that is not a run record


@dataclass(frozen=True)
class Job:
    """One job of a sweep: where it ran, what it overrode, and its record (metrics.json; None until it ends)."""

    dir: Path
    name: str  # the job's directory relative to the sweep directory: its overrides
    overrides: dict[str, str]
    record: RunRecord | None
    corrupt: str | None = None  # why its metrics.json is no run record
    note: Note | None = None  # refused, or running elsewhere (rnnlab.record.notes)

    @property
    def _noted(self) -> bool:
        # running elsewhere: until that process's record appears
        return self.note is not None and (self.note.status == REFUSED or self.record is None)

    @property
    def status(self) -> str:
        if self.note is not None and self._noted:
            return self.note.status
        if self.corrupt is not None:
            return CORRUPT
        return self.record.status if self.record is not None else INCOMPLETE

    @property
    def error(self) -> str | None:
        if self.note is not None and self._noted:
            return self.note.why
        if self.corrupt is not None:
            return self.corrupt
        return self.record.error if self.record is not None else None


def _read_job_record(job_dir: Path) -> tuple[RunRecord | None, str | None]:
    try:
        return read_record(job_dir), None
    except CorruptMetrics as error:
        return None, str(error)


def unlaunched_record(why: str) -> RunRecord:
    """The record of a job a launcher could not start: failed at step 0, `why` its error."""
    return RunRecord(status="failed", steps=0, final={}, best={}, config={}, timing={}, extra={"error": why})


def find_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job under `sweep_dir` and every job a launcher could not start there, sorted by name.

    Raises FileNotFoundError if the directory does not exist.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"no sweep directory at {sweep_dir}")
    jobs = []
    notes = read_notes(sweep_dir)
    for overrides_file in sweep_dir.rglob(".hydra/overrides.yaml"):
        job_dir = overrides_file.parent.parent
        try:
            overrides = yaml.safe_load(overrides_file.read_text()) or []
        except (OSError, yaml.YAMLError):  # a damaged Hydra record must not hide the other jobs
            overrides = []
        record, corrupt = _read_job_record(job_dir)
        jobs.append(
            Job(
                dir=job_dir,
                name=job_dir.relative_to(sweep_dir).as_posix(),
                overrides=parse_overrides(overrides if isinstance(overrides, list) else []),
                record=record,
                corrupt=corrupt,
                note=notes.get(job_dir.relative_to(sweep_dir).as_posix()),
            )
        )
    names = {job.name for job in jobs}
    for name, why in read_unlaunched(sweep_dir).items():  # jobs whose directory could not even be made
        if name not in names:
            jobs.append(
                Job(
                    dir=sweep_dir,
                    name=name,
                    overrides=parse_overrides(name.split(",")),
                    record=unlaunched_record(why),
                )
            )
    return sorted(jobs, key=lambda job: job.name)
