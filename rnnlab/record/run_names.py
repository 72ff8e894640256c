"""A sweep job's directory, and so its run name in TensorBoard, made of the keys the sweep varies only.

TensorBoard names a run by its event files' directory relative to the logdir, and a job's directory was Hydra's
`override_dirname`: every key of the command line, fixed ones included (`init_scale=0.01,model=torch,
nonlinearity=relu,num_layers=1`), which TIME SERIES and SCALARS cut before the key that differs. `hydra.sweep.subdir`
is `${rnnlab_varied_dirname:}` (conf/hydra/default.yaml): the same `key=value` items, sorted and joined as Hydra
joins them, keeping only the keys the sweep varies (read from multirun.yaml, which the sweeper writes in the sweep
directory before the first job, as the progress lines read it). Within one sweep the names stay distinct: the jobs
differ only in the varied keys. Where the varied keys are unknown (Optuna samples its own values) or none is left,
the name is Hydra's `override_dirname`, as before; so is it where the varied-keys directory already holds a run of
other overrides (the study re-run with another fixed setting), which must not be taken for this job's.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rnnlab.record.overrides import hydra_overrides, override_key

RESOLVER = "rnnlab_varied_dirname"


def varied_dirname(*, _root_: DictConfig) -> str:
    """The job's `override_dirname` restricted to the keys its sweep varies (see the module's docstring)."""
    hydra = _root_.hydra
    fallback = str(hydra.job.override_dirname)
    keys = _varied(str(Path(str(hydra.sweep.dir)) / "multirun.yaml"))
    if not keys:
        return fallback
    naming = hydra.job.config.override_dirname
    overrides, exclude = list(hydra.overrides.task), list(naming.exclude_keys)
    name = varied_only(overrides, keys, exclude, naming.item_sep, naming.kv_sep)
    if not name or _holds_another_run(Path(str(hydra.sweep.dir)) / name, overrides, exclude):
        return fallback
    return name


def _holds_another_run(job_dir: Path, overrides: list[str], exclude: list[str]) -> bool:
    """True if `job_dir` holds a run of other overrides: the same study re-run into its sweep directory with another
    fixed setting (`max_steps=500` after `max_steps=100`) must not take the earlier run's directory (a finished run
    there is skipped as done), so it gets Hydra's full name instead."""
    recorded = job_dir / ".hydra" / "overrides.yaml"
    try:
        if not recorded.is_file():
            return False
    except OSError:  # a name the file system refuses (over 255 characters): the launcher records the job as failed
        return False
    try:
        earlier = [str(o) for o in OmegaConf.load(recorded)]
    except Exception:  # unreadable: not provably the same run
        return True
    return _kept(earlier, exclude) != _kept(overrides, exclude)


def _kept(overrides: list[str], exclude: list[str]) -> list[str]:
    return sorted(o for o in overrides if override_key(o) not in exclude)


def varied_only(overrides: list[str], varied: set[str], exclude: list[str], item_sep: str, kv_sep: str) -> str:
    """Hydra's override_dirname of `overrides` (sorted `key=value` items, Hydra's `exclude_keys` left out), keeping
    the keys in `varied` only; empty if none is left."""
    lines = sorted(
        str(o.input_line)
        for o in hydra_overrides(overrides)
        if o.key_or_group not in exclude and o.key_or_group in varied
    )
    return re.sub("=", kv_sep, item_sep.join(lines))


def _varied(multirun_yaml: str) -> set[str] | None:
    path = Path(multirun_yaml)
    try:
        return _varied_cached(multirun_yaml, path.stat().st_mtime_ns)
    except OSError:
        return None


@functools.lru_cache(maxsize=8)
def _varied_cached(multirun_yaml: str, mtime_ns: int) -> set[str] | None:
    from rnnlab.record.study import read_multirun, varied_keys  # what the study varies, as the lab reads it

    config = read_multirun(Path(multirun_yaml).parent)
    if config is None or "n_trials" in config.hydra.sweeper:  # unreadable, or sampled values (Optuna): Hydra's name
        return None
    keys = varied_keys(config)
    return set(keys) if keys else None


def register_resolver() -> None:
    """Make `${rnnlab_varied_dirname:}` resolvable (idempotent): before Hydra composes, and in a launcher's worker."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, varied_dirname)
