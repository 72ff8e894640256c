"""Refuse a bad configuration before any training, with one line that names the key and what is allowed.

Hydra itself refuses unknown groups choices (model=foo lists the choices) and unknown keys (the config is in
struct mode); this checks the values of the keys researchers set by hand.
"""

from __future__ import annotations

import math
import numbers

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from rnnlab.config import CONF_DIR
from rnnlab.errors import require
from rnnlab.models.base import NONLINEARITIES
from rnnlab.models.init import SCHEMES


class ConfigError(ValueError):
    """A configuration value outside what the experiment accepts; its message is the one line to show."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _require(ok: bool, key: str, value, allowed: str) -> None:
    require(ok, key, value, allowed, ConfigError)


def check_config(cfg: DictConfig) -> None:
    """Raise ConfigError for the first bad value among the experiment's keys."""
    for group in ("model", "task"):  # conf/<group>/base.yaml is the part its files share, not a choice
        choices = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if p.stem != "base")
        _require(not OmegaConf.is_missing(cfg[group], "_target_"), group, "base", f"one of {', '.join(choices)}")
    _require(_is_int(cfg.num_layers) and cfg.num_layers >= 1, "num_layers", cfg.num_layers, "an integer >= 1")
    _require(_is_int(cfg.hidden_size) and cfg.hidden_size >= 1, "hidden_size", cfg.hidden_size, "an integer >= 1")
    _require(cfg.nonlinearity in NONLINEARITIES, "nonlinearity", cfg.nonlinearity,
             f"one of {', '.join(NONLINEARITIES)}")
    _require(isinstance(cfg.bias, bool), "bias", cfg.bias, "true or false")
    _require(isinstance(cfg.bidirectional, bool), "bidirectional", cfg.bidirectional, "true or false")
    _require(_is_number(cfg.dropout) and 0 <= cfg.dropout <= 1, "dropout", cfg.dropout, "a number in [0, 1]")
    _require(cfg.init in SCHEMES, "init", cfg.init, f"one of {', '.join(SCHEMES)}")
    _require(_is_number(cfg.init_scale) and cfg.init_scale >= 0, "init_scale", cfg.init_scale, "a number >= 0")
    _require(_is_number(cfg.lr) and cfg.lr > 0, "lr", cfg.lr, "a number > 0")
    _require(_is_int(cfg.batch_size) and cfg.batch_size >= 1, "batch_size", cfg.batch_size, "an integer >= 1")
    _require(_is_int(cfg.max_steps) and cfg.max_steps >= 1, "max_steps", cfg.max_steps, "an integer >= 1")
    _require(_is_int(cfg.seed) and cfg.seed >= 0, "seed", cfg.seed, "an integer >= 0")
    _require(cfg.grad_clip is None or (_is_number(cfg.grad_clip) and cfg.grad_clip >= 0), "grad_clip",
             cfg.grad_clip, "null (no clipping) or a number >= 0")
    _require(cfg.threads is None or (_is_int(cfg.threads) and cfg.threads >= 1), "threads", cfg.threads,
             "null (torch's default) or an integer >= 1")
    task = get_class(cfg.task._target_)
    _require(_is_int(cfg.seq_len) and cfg.seq_len >= task.min_seq_len, "seq_len", cfg.seq_len,
             f"task '{task.name}' needs an integer >= {task.min_seq_len}")
