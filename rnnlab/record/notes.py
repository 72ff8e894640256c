"""Jobs of a sweep that did not run because their directory was not theirs to write: noted beside the sweep.

A job refused because its directory holds a run of another configuration, or found running in another process
(its lock held), leaves its directory untouched; so the note lives in the sweep directory,
`SWEEP_DIR/.rnnlab/notes/<job>.json`, one file per job (jobs of parallel launchers never write the same file). The
sweep's summary lists them (rnnlab.record.jobs), and a later run of the job that gets past the check removes its
note. Standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

REFUSED = "refused"  # the directory holds a finished run of another configuration
RUNNING_ELSEWHERE = "running elsewhere"  # another process holds the directory's lock
NOTES = Path(".rnnlab") / "notes"


@dataclass(frozen=True)
class Note:
    """Why a job of the sweep did not run: `status` REFUSED or RUNNING_ELSEWHERE, `why` the line it was refused with."""

    status: str
    why: str

    @classmethod
    def from_json(cls, data: Any) -> Note | None:
        """The note a file holds; None if it holds none (a foreign or damaged file must not hide the job)."""
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        return cls(status=data["status"], why=str(data.get("why", "")))

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def _job(output_dir: str | os.PathLike[str]) -> tuple[Path, str] | None:
    """(the sweep directory, the job's name in it) for a job directory of a Hydra multirun, else None."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return None
        sweep_dir = Path(str(HydraConfig.get().sweep.dir)).resolve()
        return sweep_dir, Path(output_dir).resolve().relative_to(sweep_dir).as_posix()
    except (ValueError, ImportError):
        return None


def _path(sweep_dir: Path, name: str) -> Path:
    return sweep_dir / NOTES / (quote(name, safe="") + ".json")


def note_job(output_dir: str | os.PathLike[str], status: str, why: str) -> None:
    """Note, in its sweep, that the job in `output_dir` did not run (`status`: REFUSED or RUNNING_ELSEWHERE)."""
    job = _job(output_dir)
    if job is None:
        return
    path = _path(*job)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(Note(status, why).to_json()) + "\n")
    os.replace(tmp, path)


def clear_note(output_dir: str | os.PathLike[str]) -> None:
    """Forget the job's note: it got past the check this time."""
    job = _job(output_dir)
    if job is not None:
        _path(*job).unlink(missing_ok=True)


def read_notes(sweep_dir: str | os.PathLike[str]) -> dict[str, Note]:
    """{job name: its Note} for the sweep's noted jobs."""
    directory = Path(sweep_dir) / NOTES
    notes = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            note = Note.from_json(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
        if note is not None:
            notes[unquote(path.name.removesuffix(".json"))] = note
    return notes
