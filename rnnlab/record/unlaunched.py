"""Jobs a launcher could not start (their directory could not be made, their setup raised), kept in the sweep.

Such a job has no directory to hold its metrics.json, so the launcher records it in `SWEEP_DIR/.rnnlab/unlaunched
.json` (by its overrides), and the sweep's summary and report list it as failed. A later run of the same sweep that
starts the job removes its record. Standard library only: the launchers import this at Hydra's start-up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

RECORD = Path(".rnnlab") / "unlaunched.json"


def job_name(overrides: list[str]) -> str:
    """How a job that has no directory is named: its overrides, as Hydra would join them."""
    return ",".join(overrides)


def read_unlaunched(sweep_dir: str | os.PathLike[str]) -> dict[str, str]:
    """{job name: why it could not start} for the sweep's jobs that never started."""
    path = Path(sweep_dir) / RECORD
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return {str(path): f"unreadable record of unlaunched jobs ({type(error).__name__})"}
    return record if isinstance(record, dict) else {}


def update_unlaunched(sweep_dir: str | os.PathLike[str], failed: dict[str, str], started: list[str]) -> None:
    """Add the jobs that could not start, forget those that did; written atomically."""
    record = read_unlaunched(sweep_dir)
    record = {name: why for name, why in record.items() if name not in started}
    record.update(failed)
    path = Path(sweep_dir) / RECORD
    if not record and not path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
