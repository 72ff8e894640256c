"""An evaluation's result (`eval.json`, `eval-KEY=VALUE,….json` beside a run's metrics.json), typed, and its reading.

Its own record, beside the run's: the run's record says what training ended with, this one what the trained network
scores on a task it may not have been trained on (rnnlab.evaluation). Standard library only, like the rest of the
record layer: the report reads these files without importing torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

EVAL_GLOB = "eval*.json"
# the keys every eval record holds, and the JSON types each may take
REQUIRED_KEYS: dict[str, tuple[type, ...]] = {
    "run": (str,),
    "overrides": (list,),
    "split": (str,),
    "batches": (int,),
    "seq_len": (int,),
    "trained_seq_len": (int, type(None)),
    "step": (int,),
    "weights": (str,),
    "loss": (float, int, type(None)),
    "acc": (float, int, type(None)),
    "baseline": (float, int),
    "loss_over_baseline": (float, int, type(None)),
}


class CorruptEval(ValueError):
    """A file named like an eval record that is none: its message names the file."""


@dataclass
class EvalRecord:
    """One evaluation of a trained run: on which data (`overrides`, `split`, `seq_len`), by which weights (`step`,
    `weights`), and its `loss`, `acc` (classification; else None), the task's `baseline` and their ratio.

    `file` is where it was written or read from (not part of the file); `extra` keeps any other key, so a record
    read and written again is the same file."""

    run: str
    overrides: list[str]
    split: str
    batches: int
    seq_len: int
    trained_seq_len: int | None
    step: int
    weights: str
    loss: float | None
    acc: float | None
    baseline: float
    loss_over_baseline: float | None
    extra: dict[str, Any] = field(default_factory=dict)
    file: str | None = field(default=None, compare=False)

    @classmethod
    def from_json(cls, data: Any, source: str = "eval.json") -> EvalRecord:
        """The record of an eval file's content `data`; CorruptEval naming `source` if it is none."""
        if not isinstance(data, dict):
            raise CorruptEval(f"{source} is not an eval record: a JSON {type(data).__name__}, not an object")
        for key, kinds in REQUIRED_KEYS.items():
            if key not in data or not isinstance(data[key], kinds) or isinstance(data[key], bool):
                raise CorruptEval(f"{source} is not an eval record: '{key}' is missing or not a {kinds[0].__name__}")
        known = {f.name for f in fields(cls)} - {"extra", "file"}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        """The file's content, in its order (REQUIRED_KEYS', then any other key)."""
        return {**{key: getattr(self, key) for key in REQUIRED_KEYS}, **self.extra}


def eval_text(record: EvalRecord) -> str:
    """The file's text: what rnnlab.evaluation writes, atomically."""
    return json.dumps(record.to_json(), indent=2) + "\n"


def read_eval_record(path: str | Path) -> EvalRecord:
    """The eval record in `path`, its `file` set; CorruptEval, one line naming the file, if it holds none."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, OSError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CorruptEval(f"{path} is unreadable ({type(error).__name__}: {str(error)[:120]})") from error
    record = EvalRecord.from_json(data, source=str(path))
    record.file = str(path)
    return record


def read_eval_records(run_dir: str | Path) -> list[EvalRecord]:
    """The eval records written in `run_dir`, by file name; a file that holds none is left out (it must not hide
    the others)."""
    records = []
    for path in sorted(Path(run_dir).glob(EVAL_GLOB)):
        try:
            records.append(read_eval_record(path))
        except CorruptEval:
            continue
    return records
