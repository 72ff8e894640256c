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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from rnnlab.record.atomic import remove_leftovers, write_atomically

METRICS_FILE = "metrics.json"
STATUSES = ("completed", "diverged", "failed")
FINISHED = ("completed", "diverged")  # a re-run skips these; a failed or interrupted run is run again
REQUIRED_KEYS = {"status": str, "steps": int, "final": dict, "best": dict, "config": dict, "timing": dict}


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


def write_metrics(output_dir: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write `record` as output_dir/metrics.json atomically (temporary file beside it, fsync, rename), mode 0644."""
    if record.get("status") not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {record.get('status')!r}")
    output_dir = Path(output_dir)
    text = json.dumps(_finite_or_none(record), indent=2, allow_nan=False) + "\n"
    write_atomically(output_dir / METRICS_FILE, lambda f: f.write(text.encode()))
    return output_dir / METRICS_FILE


def remove_metrics_leftovers(output_dir: str | os.PathLike) -> None:
    """Delete the temporary files a kill during write_metrics left behind (and those of earlier writers, named
    `.metrics.*.tmp` too)."""
    if Path(output_dir).is_dir():
        remove_leftovers(Path(output_dir), "metrics")


def read_metrics(output_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The run's metrics.json, or None if it has not ended (or never started); CorruptMetrics if it is no record."""
    path = Path(output_dir) / METRICS_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_bytes())
    except (ValueError, OSError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CorruptMetrics(f"{path} is unreadable ({type(error).__name__}: {str(error)[:120]})") from error
    if not isinstance(record, dict):
        raise CorruptMetrics(f"{path} is not a run record: a JSON {type(record).__name__}, not an object")
    for key, kind in REQUIRED_KEYS.items():
        if not isinstance(record.get(key), kind):
            raise CorruptMetrics(f"{path} is not a run record: '{key}' is missing or not a {kind.__name__}")
    if record["status"] not in STATUSES:
        raise CorruptMetrics(
            f"{path} is not a run record: status {record['status']!r} is none of {', '.join(STATUSES)}"
        )
    return record


def run_record(
    cfg: DictConfig,
    status: str,
    summary,
    task,
    trainer,
    started: float,
    resume: dict | None = None,
    **extra,
) -> dict:
    """metrics.json's content. Everything but `timing` is a function of the configuration.

    `summary` (a rnnlab.training.summary.RunSummary), `task` and `trainer` are None for a run refused before
    they existed."""
    hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
    return {
        "status": status,
        "overrides": list(hydra_cfg.overrides.task) if hydra_cfg else [],
        "choices": {k: v for k, v in hydra_cfg.runtime.choices.items() if not k.startswith("hydra")}
        if hydra_cfg
        else {},
        "steps": trainer.global_step if trainer is not None else 0,
        **extra,
        "baseline": float(task.baseline) if task is not None else None,
        "final": dict(summary.final) if summary is not None else {},
        "best": dict(summary.best) if summary is not None else {},
        "config": _resolved_config(cfg),
        "timing": {
            "wall_time_s": round(time.time() - started, 3),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "resumed_from_step": None,
            "unreadable_checkpoints": [],
            **(resume or {}),
        },
    }


def _resolved_config(cfg: DictConfig) -> dict:
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)  # present when composed with return_hydra_config (tests)
        cfg.paths.output_dir = "<output_dir>"  # where the run ran is not part of what it was
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:  # recording a configuration whose interpolation does not resolve
        container = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(container, dict)  # a DictConfig's container is a dict
    return container


def objective(best: dict, metric: str) -> float:
    """What `train` returns to a sweeper: the best value of `metric` in metrics.json's `best`; inf if none."""
    value = best.get(metric)
    return float(value) if value is not None else math.inf
