"""Where the Hydra config tree is, and the configuration `python -m rnnlab.train OVERRIDES` runs, composed in-process.

The tree is `conf/` at the repository's top level; an installed wheel ships it as `rnnlab/conf` (pyproject.toml
maps one onto the other), so the same lookup serves a checkout, an editable and a regular install.
"""

from __future__ import annotations

import copy
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import rnnlab.run_dirs  # noqa: F401  (registers ${rnnlab_process:}, which conf/hydra/default.yaml's directories use)
from rnnlab.plugins import register_launchers


def _conf_dir() -> Path:
    installed = Path(__file__).resolve().parent / "conf"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[1] / "conf"


CONF_DIR = _conf_dir()


def compose_run(output_dir: str | Path, overrides=()) -> DictConfig:
    """The config `python -m rnnlab.train *overrides hydra.run.dir=output_dir` runs, Hydra's part included.

    Also makes it the current HydraConfig, as a run under `hydra.main` sees it (the run record reads it).
    """
    return in_output_dir(compose_config(overrides), output_dir)


def compose_config(overrides=()) -> DictConfig:
    """The composed config of `overrides`, not yet placed in a run directory (see `in_output_dir`)."""
    register_launchers()  # the config names the lab's launcher, which an editable install hides from Hydra's scan
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("config", overrides=list(overrides), return_hydra_config=True)


def in_output_dir(cfg: DictConfig, output_dir: str | Path) -> DictConfig:
    """A copy of `cfg` that runs in `output_dir`, made the current HydraConfig."""
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.paths.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg
