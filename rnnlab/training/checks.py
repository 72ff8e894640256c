"""Refuse a bad configuration before any training, with one line that names the key and what is allowed.

Unknown choices are refused before Hydra composes (rnnlab.training.choices), unknown keys a config file adds here
(rnnlab.training.known_keys; a command line's own misspelt key Hydra refuses in struct mode); this checks the values of the keys researchers set by hand, without torch, then lets the task, the
model, the optimizer and the scheduler check their own arguments on stand-ins (rnnlab.training.stand_ins, which
imports torch). None of it needs Lightning, so `rnnlab.train` answers a bad value before importing it (the
callbacks and loggers, Lightning objects, are built by the run).
"""

from __future__ import annotations

import math
import numbers

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rnnlab.config import CONF_DIR
from rnnlab.errors import ConfigError, require
from rnnlab.tasks.registry import task_choices
from rnnlab.training.known_keys import check_known_keys
from rnnlab.training.refusals import constructed  # noqa: F401  (its home before; callers import it from here)
from rnnlab.training.trainer_values import check_trainer_values
from rnnlab.vocabulary import BIAS_SCALED_SCHEMES, INIT_SCHEMES, INPUT_SCALED_SCHEMES, NONLINEARITIES, weight_dtype


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _require(ok: bool, key: str, value, allowed: str) -> None:
    require(ok, key, value, allowed, ConfigError)


SEED_MAX = 2**32 - 1  # numpy's seed range, which Lightning's seed_everything sets as well


def check_config(cfg: DictConfig):
    """Raise ConfigError for the first bad value: the values first, then what the parts built from them say.
    Returns the task the checks built (its data is a function of its arguments alone: the run reuses it)."""
    check_values(cfg)
    # torch only once the values pass: a mistyped value is answered in Hydra's time alone
    from rnnlab.training.stand_ins import check_stand_ins

    return check_stand_ins(cfg)


def check_values(cfg: DictConfig) -> None:
    """Raise ConfigError for the first bad value among the keys researchers set by hand."""
    for group in ("model", "task"):  # conf/<group>/base.yaml is the part its files share, not a choice
        choices = (
            task_choices()
            if group == "task"
            else sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if p.stem != "base")
        )
        _require(not OmegaConf.is_missing(cfg[group], "_target_"), group, "base", f"one of {', '.join(choices)}")
    check_resolvable(cfg)
    check_known_keys(cfg, ConfigError)  # a misspelt key in any file, before the defaults it failed to change
    _require(_is_int(cfg.num_layers) and cfg.num_layers >= 1, "num_layers", cfg.num_layers, "an integer >= 1")
    _require(_is_int(cfg.hidden_size) and cfg.hidden_size >= 1, "hidden_size", cfg.hidden_size, "an integer >= 1")
    _require(
        cfg.nonlinearity in NONLINEARITIES, "nonlinearity", cfg.nonlinearity, f"one of {', '.join(NONLINEARITIES)}"
    )
    _require(isinstance(cfg.bias, bool), "bias", cfg.bias, "true or false")
    _require(isinstance(cfg.bidirectional, bool), "bidirectional", cfg.bidirectional, "true or false")
    _require(_is_number(cfg.dropout) and 0 <= cfg.dropout <= 1, "dropout", cfg.dropout, "a number in [0, 1]")
    _require(cfg.init in INIT_SCHEMES, "init", cfg.init, f"one of {', '.join(INIT_SCHEMES)}")
    dtype, largest = weight_dtype(cfg.trainer.get("precision", "32"))
    _require(
        _is_number(cfg.init_scale) and 0 <= cfg.init_scale <= largest,
        "init_scale",
        cfg.init_scale,
        f"a number in [0, {largest:.4g}] (the run's {dtype} weights)",
    )
    input_scale, bias_scale = cfg.get("init_input_scale"), cfg.get("init_bias_scale", 0.0)
    _require(
        input_scale is None
        or (_is_number(input_scale) and 0 <= input_scale <= largest and cfg.init in INPUT_SCALED_SCHEMES),
        "init_input_scale",
        input_scale,
        f"null, or a number in [0, {largest:.4g}] with init one of {', '.join(INPUT_SCALED_SCHEMES)}",
    )
    _require(
        _is_number(bias_scale) and 0 <= bias_scale <= largest and (bias_scale == 0 or cfg.init in BIAS_SCALED_SCHEMES),
        "init_bias_scale",
        bias_scale,
        f"a number in [0, {largest:.4g}]; other than 0 only with init one of {', '.join(BIAS_SCALED_SCHEMES)}",
    )
    _require(_is_number(cfg.lr) and cfg.lr > 0, "lr", cfg.lr, "a number > 0")
    _require(_is_int(cfg.batch_size) and cfg.batch_size >= 1, "batch_size", cfg.batch_size, "an integer >= 1")
    _require(_is_int(cfg.max_steps) and cfg.max_steps >= 1, "max_steps", cfg.max_steps, "an integer >= 1")
    _require(_is_int(cfg.seed) and 0 <= cfg.seed <= SEED_MAX, "seed", cfg.seed, f"an integer in [0, {SEED_MAX}]")
    _require(
        cfg.grad_clip is None or (_is_number(cfg.grad_clip) and cfg.grad_clip >= 0),
        "grad_clip",
        cfg.grad_clip,
        "null (no clipping) or a number >= 0",
    )
    every = cfg.checkpoint.every_n_steps
    _require(_is_int(every) and every >= 1, "checkpoint.every_n_steps", every, "an integer >= 1 (optimizer steps)")
    _require(
        cfg.threads is None or (_is_int(cfg.threads) and cfg.threads >= 1),
        "threads",
        cfg.threads,
        "null (torch's default) or an integer >= 1",
    )
    check_optimizer(cfg)
    check_trainer_values(cfg, ConfigError)


def check_resolvable(cfg: DictConfig) -> None:
    """Every interpolation resolves (`lr=${nope}` is one line naming the key, not a traceback mid-run)."""
    try:
        for key in cfg:
            if key != "hydra":  # present when composed with return_hydra_config (tests); Hydra resolves its own
                value = cfg[key]
                if OmegaConf.is_config(value):
                    OmegaConf.to_container(value, resolve=True)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"{key}: {message}; allowed: a value, or an interpolation that resolves") from None


def check_optimizer(cfg: DictConfig) -> None:
    """The optimizer's and scheduler's own values: torch checks some only at the first step, some never."""
    if "lr" in cfg.optimizer:  # set directly rather than through the top-level lr
        _require(
            _is_number(cfg.optimizer.lr) and cfg.optimizer.lr > 0, "optimizer.lr", cfg.optimizer.lr, "a number > 0"
        )
    for key in ("momentum", "weight_decay", "alpha", "eps"):
        if key in cfg.optimizer:
            value = cfg.optimizer[key]
            _require(_is_number(value) and value >= 0, f"optimizer.{key}", value, "a number >= 0")
    if "betas" in cfg.optimizer:
        betas = list(cfg.optimizer.betas)
        _require(
            len(betas) == 2 and all(_is_number(b) and 0 <= b < 1 for b in betas),
            "optimizer.betas",
            betas,
            "two numbers in [0, 1)",
        )
    scheduler = cfg.get("scheduler")
    if not scheduler:
        return
    for key in ("step_size", "T_max"):
        if key in scheduler:
            _require(
                _is_int(scheduler[key]) and scheduler[key] >= 1, f"scheduler.{key}", scheduler[key], "an integer >= 1"
            )
    if "gamma" in scheduler:
        _require(
            _is_number(scheduler.gamma) and scheduler.gamma > 0, "scheduler.gamma", scheduler.gamma, "a number > 0"
        )
    if "eta_min" in scheduler:
        _require(
            _is_number(scheduler.eta_min) and scheduler.eta_min >= 0,
            "scheduler.eta_min",
            scheduler.eta_min,
            "a number >= 0",
        )
