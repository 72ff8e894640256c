"""A run's result: `metrics.json`, its content and its reading (free of Lightning: sweeps and re-runs read it fast).

metrics.json is written atomically and last, so its presence means the run ended. Everything in it except the
`timing` section is a function of the configuration: two runs of the same overrides on the CPU give identical files
apart from `timing`. Non-finite numbers (a diverged run's loss) are written as null.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from rnnlab.record import tags
from rnnlab.record.atomic import remove_leftovers, write_atomically

METRICS_FILE = "metrics.json"
STATUSES = ("completed", "diverged", "failed")
FINISHED = ("completed", "diverged")  # a re-run skips these; a failed or interrupted run is run again
REQUIRED_KEYS = {"status": str, "steps": int, "final": dict, "best": dict, "config": dict, "timing": dict}
# keys a record may lack (an older lab's, a run refused before it trained), but never holds as another type
OPTIONAL_KEYS: dict[str, tuple[type, ...]] = {
    "overrides": (list,),
    "choices": (dict,),
    "baseline": (float, int, type(None)),
    "gradient": (dict, type(None)),
}


class CorruptMetrics(ValueError):
    """A metrics.json that is not a run record (empty, truncated, foreign): its message names the file."""


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def write_metrics(output_dir: str | os.PathLike[str], record: RunRecord) -> Path:
    """Write `record` as output_dir/metrics.json atomically (temporary file beside it, fsync, rename), mode 0644."""
    if record.status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {record.status!r}")
    output_dir = Path(output_dir)
    text = json.dumps(_finite_or_none(record.to_json()), indent=2, allow_nan=False) + "\n"
    write_atomically(output_dir / METRICS_FILE, lambda f: f.write(text.encode()))
    return output_dir / METRICS_FILE


def remove_metrics_leftovers(output_dir: str | os.PathLike[str]) -> None:
    """Delete the temporary files a kill during write_metrics left behind (and those of earlier writers, named
    `.metrics.*.tmp` too)."""
    if Path(output_dir).is_dir():
        remove_leftovers(Path(output_dir), "metrics")


def read_record(output_dir: str | os.PathLike[str]) -> RunRecord | None:
    """The run's metrics.json, typed; None if it has not ended (or never started); CorruptMetrics, one line naming
    the file, if it is no run record (empty, truncated, foreign)."""
    path = Path(output_dir) / METRICS_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, OSError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CorruptMetrics(f"{path} is unreadable ({type(error).__name__}: {str(error)[:120]})") from error
    return RunRecord.from_json(data, source=str(path))


@dataclass
class RunRecord:
    """metrics.json, typed. `extra` holds the keys a run adds by how it ended (`error` for a failed run,
    `diverged_at_step`) and any other, so a record read and written again is the same file."""

    status: str
    steps: int
    final: dict[str, float | None]
    best: dict[str, float | None]
    config: dict[str, Any]
    timing: dict[str, Any]
    overrides: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)
    baseline: float | None = None
    gradient: dict[str, Any] | None = None  # the gradient indicator at the start and end (a run that trained)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, source: str = METRICS_FILE) -> RunRecord:
        """The record of metrics.json's content `data`; CorruptMetrics naming `source` if it is none."""
        if not isinstance(data, dict):
            raise CorruptMetrics(f"{source} is not a run record: a JSON {type(data).__name__}, not an object")
        for key, kind in REQUIRED_KEYS.items():
            if not isinstance(data.get(key), kind):
                raise CorruptMetrics(f"{source} is not a run record: '{key}' is missing or not a {kind.__name__}")
        for key, kinds in OPTIONAL_KEYS.items():
            if key in data and not isinstance(data[key], kinds):
                raise CorruptMetrics(f"{source} is not a run record: '{key}' is not a {kinds[0].__name__}")
        if data["status"] not in STATUSES:
            raise CorruptMetrics(
                f"{source} is not a run record: status {data['status']!r} is none of {', '.join(STATUSES)}"
            )
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        """metrics.json's content, in its order: status, overrides, choices, steps, how it ended, baseline, final, best,
        config, timing, gradient (if any)."""
        return {
            "status": self.status,
            "overrides": list(self.overrides),
            "choices": dict(self.choices),
            "steps": self.steps,
            **self.extra,
            "baseline": self.baseline,
            "final": dict(self.final),
            "best": dict(self.best),
            "config": self.config,
            "timing": dict(self.timing),
            **({"gradient": self.gradient} if self.gradient is not None else {}),
        }

    @property
    def finished(self) -> bool:
        """A re-run skips it (completed or diverged); a failed run is run again."""
        return self.status in FINISHED

    @property
    def error(self) -> str | None:
        """A failed run's error (`TypeName: message`); None for a run that ended otherwise."""
        return self.extra.get("error")

    @property
    def diverged_at_step(self) -> int | None:
        """The step at which a diverged run's loss or weights stopped being finite; None otherwise."""
        return self.extra.get("diverged_at_step")

    @property
    def wall_time_s(self) -> float | None:
        """Seconds from the run's start (its last process's) to its record."""
        return self.timing.get("wall_time_s")

    @property
    def resumed_from_step(self) -> int | None:
        """The checkpoint's step this run's last process resumed from; None if it started from scratch."""
        return self.timing.get("resumed_from_step")

    @property
    def final_over_baseline(self) -> float | None:
        """The final validation loss over the task's baseline (the predictor that ignores the input)."""
        return _over(self.final.get(tags.VAL_LOSS), self.baseline)

    @property
    def best_over_baseline(self) -> float | None:
        """The best validation loss over the task's baseline."""
        return _over(self.best.get(tags.VAL_LOSS), self.baseline)

    def objective(self, metric: str) -> float:
        """What `train` returns to a sweeper: the best value of `metric`; inf if none."""
        return objective(self.best, metric)


def _over(loss: float | None, baseline: float | None) -> float | None:
    return loss / baseline if loss is not None and baseline else None


def run_record(
    cfg: DictConfig,
    status: str,
    summary: Any,
    task: Any,
    trainer: Any,
    started: float,
    timing: dict[str, Any] | None = None,
    gradient: dict[str, Any] | None = None,
    **extra: Any,
) -> RunRecord:
    """The run's record, as metrics.json will hold it. Everything but `timing` is a function of the configuration.

    `summary` (a rnnlab.training.run_summary.RunSummary), `task` and `trainer` are None for a run refused before
    they existed; `timing` adds to (or replaces) the timing section's defaults (where the run resumed from...);
    `extra` says how it ended (`error=`, `diverged_at_step=`)."""
    hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
    record = RunRecord(
        status=status,
        overrides=list(hydra_cfg.overrides.task) if hydra_cfg else [],
        choices={k: v for k, v in hydra_cfg.runtime.choices.items() if not k.startswith("hydra")} if hydra_cfg else {},
        steps=trainer.global_step if trainer is not None else 0,
        extra=extra,
        baseline=float(task.baseline) if task is not None else None,
        final=dict(summary.final) if summary is not None else {},
        best=dict(summary.best) if summary is not None else {},
        config=_resolved_config(cfg),
        timing={
            "wall_time_s": round(time.time() - started, 3),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "resumed_from_step": None,
            "unreadable_checkpoints": [],
            **(timing or {}),
        },
        gradient=gradient,
    )
    # as the file holds it (a non-finite number as None): the record a run returns is the one read back later
    return RunRecord.from_json(_finite_or_none(record.to_json()))


def _resolved_config(cfg: DictConfig) -> dict[str, Any]:
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)  # present when composed with return_hydra_config (tests)
        cfg.paths.output_dir = "<output_dir>"  # where the run ran is not part of what it was
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:  # recording a configuration whose interpolation does not resolve
        container = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(container, dict)  # a DictConfig's container is a dict
    return {str(key): value for key, value in container.items()}


def objective(best: dict[str, Any], metric: str) -> float:
    """What `train` returns to a sweeper: the best value of `metric` in metrics.json's `best`; inf if none."""
    value = best.get(metric)
    return float(value) if value is not None else math.inf
