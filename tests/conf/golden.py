"""The resolved configuration of every existing choice, to prove a config refactoring changes no value.

`python -m tests.conf.golden` rewrites `composed.json` from the current `conf/`: do it only when a change of values
is intended, and say so in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf

from rnnlab.tasks.registry import task_choices
from tests.helpers import compose_run

GOLDEN = Path(__file__).with_name("composed.json")
MODELS = ("torch", "myrnn", "concat", "stacked", "bidirectional")
TASKS = tuple(task_choices())  # every task the registry offers (rnnlab.tasks.registry)
EXPERIMENTS = ("vanishing", "irnn", "depth", "bidirectional", "implementations")

# One composition per model x task pair, then every other choice on its own (each group is independent of the rest).
CHOICES: dict[str, list[str]] = {
    **{f"{m}+{t}": [f"model={m}", f"task={t}"] for m in MODELS for t in TASKS},
    **{f"optimizer={o}": [f"optimizer={o}"] for o in ("adam", "sgd", "rmsprop")},
    **{f"scheduler={s}": [f"scheduler={s}"] for s in ("cosine", "step")},
    "trainer=gpu": ["trainer=gpu"],
    **{f"callbacks={c}": [f"callbacks={c}"] for c in ("diagnostics", "none")},
    **{f"experiment={e}{q}": [f"experiment={e}{q}"] for e in EXPERIMENTS for q in ("", "_quick")},
    "hparams_search=optuna": ["hparams_search=optuna"],
    **{f"launcher={name}": [f"hydra/launcher={name}"] for name in ("joblib", "submitit_local", "slurm")},
    "bidirectional model on lookahead, overridden": [
        "model=bidirectional",
        "task=lookahead",
        "bidirectional=false",
        "seq_len=7",
    ],
}
# The parts of Hydra's own config a choice may set (the rest is Hydra's runtime state).
HYDRA_KEYS = ("mode", "sweep", "sweeper", "launcher", "callbacks", "job.config")


def _plain(node):
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=False)
    return getattr(node, "name", node)  # hydra.mode is an enum (RunMode) or None


def resolved(overrides: list[str]) -> dict:
    """The run's config resolved, and the chosen parts of Hydra's config as written (they hold ${now:...})."""
    cfg = compose_run("/OUT", overrides)
    hydra = {key: _plain(OmegaConf.select(cfg.hydra, key)) for key in HYDRA_KEYS}
    run = OmegaConf.to_container(cfg, resolve=True)
    run.pop("hydra")
    return {"config": run, "hydra": hydra}


def compose_all() -> dict[str, dict]:
    return {name: resolved(overrides) for name, overrides in CHOICES.items()}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compose_all(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
