"""Shared fixtures: the real Hydra config, composed as the CLI would compose it, with its output in a temp dir."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose_config(output_dir, overrides=()):
    """The config `python -m rnnlab.train *overrides hydra.run.dir=output_dir` would run."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.paths.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


@pytest.fixture
def make_config():
    return compose_config
