"""What the two theory studies (edge_of_chaos, trainability) share: their grid read from the experiment's YAML,
and one configuration measured at initialisation against the mean-field prediction."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def grid_of(study: str) -> dict[str, list]:
    """The sweeper's params of conf/experiment/STUDY.yaml (following its `defaults` for the keys it leaves)."""
    text = yaml.safe_load((ROOT / "conf" / "experiment" / f"{study}.yaml").read_text())
    params = {}
    for parent in text.get("defaults", []):
        if isinstance(parent, str) and parent != "_self_":
            params.update(grid_of(parent))
    for key, values in ((text.get("hydra") or {}).get("sweeper") or {}).get("params", {}).items():
        params[key] = [yaml.safe_load(v) for v in str(values).split(",")]
    return params


def composed(study: str):
    """The study's configuration, composed and checked once (its grid points differ only in top-level keys)."""
    from rnnlab.theory_report import _compose

    cfg, _, _ = _compose([f"experiment={study}"])
    return cfg


def at(cfg, **values):
    """A copy of `cfg` with top-level keys set (the task and the model read them through interpolations)."""
    import copy

    cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        cfg[key] = value
    return cfg


def measure_at_init(cfg) -> dict[str, float]:
    """The probe's and the theory's log10 first/last ratio and per-step rate for one configuration at init."""
    from rnnlab.diagnostics.theory_line import InitSpec, measured_log10_profile, predicted
    from rnnlab.training.build import build_module

    task, module = build_module(cfg)
    module = module.double()
    batch = task.batch("train", 0)
    spec = InitSpec(cfg.init, cfg.init_scale, cfg.get("init_input_scale"), cfg.get("init_bias_scale", 0.0))
    profile = measured_log10_profile(module, batch)
    prediction, _ = predicted(module, batch, spec)
    steps = len(profile) - 1
    ratio = float(profile[0] - profile[-1])
    return {
        "measured_log10_ratio": ratio,
        "measured_rate": ratio / steps,
        "predicted_log10_ratio": prediction.log10_ratio if prediction is not None else float("nan"),
        "predicted_rate": prediction.log10_rate if prediction is not None else float("nan"),
        "input_mean_square": float(batch["x"].double().pow(2).mean()),
    }


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename: a reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
