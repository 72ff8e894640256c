"""What a study varies, asked in one place: the HParams trial names, the sweep's progress lines and the report's
table all name a job by these keys, so the three cannot disagree.

A sweep's `multirun.yaml` (Hydra writes it in the sweep directory before the first job starts) is the study: the
sweeper's `params` (an experiment's grid, Optuna's search space) and the command line's swept overrides. Its varied
keys are those given more than one value, in the order the sweep gives them (params first, then the command line,
as Hydra's basic sweeper combines them). Without a readable multirun.yaml, the keys whose values differ between the
jobs are the study.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rnnlab.record.overrides import hydra_overrides, override_key, override_keys

MULTIRUN_FILE = "multirun.yaml"


def _is_optuna(config: DictConfig) -> bool:
    return "n_trials" in config.hydra.sweeper


def swept_values(config: DictConfig) -> dict[str, int] | None:
    """key -> how many values the sweep gives it (the sweeper's `params` then the command line, as Hydra's basic
    sweeper combines them); None for a sweep syntax Hydra's parser does not know."""
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    try:
        overrides = hydra_overrides([*params, *config.hydra.overrides.task])
    except Exception:
        return None
    counts = {}
    for override in overrides:
        key = override_key(override.get_key_element())
        counts[key] = len(list(override.sweep_string_iterator())) if override.is_discrete_sweep() else 1
    return counts


def expected_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep launches: the product of the swept values, `n_trials` for a sweeper that has it
    (Optuna); None when it cannot be known."""
    if _is_optuna(config):
        return int(config.hydra.sweeper.n_trials)
    counts = swept_values(config)
    return math.prod(counts.values()) if counts is not None else None


def varied_keys(config: DictConfig) -> list[str] | None:
    """The keys the sweep `config` (a multirun config) varies: those given more than one value; for a sampling
    sweeper (Optuna) its search space's keys. None when the sweep's syntax is unknown."""
    if _is_optuna(config):
        return override_keys(config.hydra.sweeper.get("params") or {})
    counts = swept_values(config)
    return [key for key, n in counts.items() if n > 1] if counts is not None else None


def read_multirun(sweep_dir: str | Path) -> DictConfig | None:
    """The sweep's multirun.yaml; None if it is missing or unreadable (a name must not fail a finished run)."""
    try:
        config = OmegaConf.load(Path(sweep_dir) / MULTIRUN_FILE)
    except Exception:
        return None
    return config if isinstance(config, DictConfig) and "hydra" in config else None


def differing_keys(jobs: Iterable[Mapping[str, str]]) -> list[str]:
    """The keys whose value differs between the jobs' overrides (every key of a lone job), in order of first
    appearance."""
    jobs = list(jobs)
    keys = list(dict.fromkeys(key for job in jobs for key in job))
    if len(jobs) < 2:
        return keys
    return [key for key in keys if len({job.get(key) for job in jobs}) > 1]


def study_keys(sweep_dir: str | Path | None, jobs: Iterable[Mapping[str, str]] = ()) -> list[str]:
    """What the study in `sweep_dir` varies: its multirun.yaml's varied keys, then any other key whose value
    differs between `jobs` (a directory swept again with other values); without a readable multirun.yaml, the keys
    differing between `jobs`."""
    jobs = list(jobs)
    config = read_multirun(sweep_dir) if sweep_dir is not None else None
    keys = varied_keys(config) if config is not None else None
    if keys is None:
        return differing_keys(jobs)
    more = differing_keys(jobs) if len(jobs) > 1 else []
    return keys + [key for key in more if key not in keys]
