"""Every `trainer.*` value checked by rule before training, without importing Lightning.

Lightning refuses some values only when the Trainer is built (`devices=0`), some only mid-fit
(`check_val_every_n_epoch=0`: a ZeroDivisionError after the first epoch), and some never (`gradient_clip_val=nan`
trains on NaN gradients). Building a Trainer to find out would import Lightning (about 3,500 modules) for a typo, so
each argument of `lightning.Trainer` has a rule here; tests/training/test_trainer_values.py keeps the rules' keys
equal to the Trainer's signature and shows Lightning refusing (or mis-training on) the values refused here.
"""

from __future__ import annotations

import math
import numbers

from omegaconf import DictConfig, ListConfig

from rnnlab.errors import require

PRECISIONS = ("64", "64-true", "32", "32-true", "16", "16-mixed", "bf16", "bf16-mixed", "16-true", "bf16-true")
PROFILERS = ("simple", "advanced", "pytorch")


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _none_or(rule):
    return lambda v: v is None or rule(v)


def _flag(v) -> bool:
    return isinstance(v, bool)


def _int_at_least(low):
    return lambda v: _int(v) and v >= low


def _batches(v) -> bool:
    """Lightning's batch limits: a count, or a fraction of the batches."""
    return (_int(v) and v >= 0) or (isinstance(v, float) and 0 <= v <= 1)


def _devices(v) -> bool:
    if isinstance(v, (list, ListConfig)):
        return len(v) > 0 and all(_int(d) and d >= 0 for d in v)
    return v == "auto" or v == -1 or (_int(v) and v >= 1)


def _val_check_interval(v) -> bool:
    return v is None or (_int(v) and v >= 1) or (isinstance(v, float) and 0 < v <= 1)


# key -> (rule, the allowed values in words). Keys the lab's run sets itself are refused with their reason.
RULES: dict[str, tuple] = {
    "_target_": (lambda v: v in ("lightning.Trainer", "lightning.pytorch.Trainer"), "lightning.Trainer"),
    "accelerator": (lambda v: isinstance(v, str), "a name (cpu, gpu, auto...; checked against this machine)"),
    "strategy": (lambda v: isinstance(v, str), "a strategy's name (auto, ddp...)"),
    "devices": (_devices, "auto, -1 (all), an integer >= 1, or a non-empty list of device indices"),
    "num_nodes": (_int_at_least(1), "an integer >= 1"),
    "precision": (lambda v: str(v) in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
    "fast_dev_run": (lambda v: _flag(v) or (_int(v) and v >= 0), "true, false or an integer >= 0 (batches)"),
    "max_epochs": (lambda v: v is None or (_int(v) and v >= -1), "null, -1 (no limit) or an integer >= 0"),
    "min_epochs": (_none_or(_int_at_least(0)), "null or an integer >= 0"),
    "max_steps": (_int_at_least(1), "an integer >= 1 (the run's length; set it with the top-level max_steps)"),
    "min_steps": (_none_or(_int_at_least(0)), "null or an integer >= 0"),
    "max_time": (lambda v: v is None or isinstance(v, (str, DictConfig)), "null, DD:HH:MM:SS or a mapping"),
    "limit_train_batches": (_none_or(_batches), "null, an integer >= 0 or a fraction in [0, 1]"),
    "limit_val_batches": (_none_or(_batches), "null, an integer >= 0 or a fraction in [0, 1]"),
    "limit_test_batches": (_none_or(_batches), "null, an integer >= 0 or a fraction in [0, 1]"),
    "limit_predict_batches": (_none_or(_batches), "null, an integer >= 0 or a fraction in [0, 1]"),
    "overfit_batches": (_batches, "an integer >= 0 or a fraction in [0, 1]"),
    "val_check_interval": (_val_check_interval, "null, an integer >= 1 (batches) or a fraction in (0, 1]"),
    "check_val_every_n_epoch": (_none_or(_int_at_least(1)), "null or an integer >= 1"),
    "num_sanity_val_steps": (_none_or(_int_at_least(-1)), "null, -1 (all) or an integer >= 0"),
    "log_every_n_steps": (_none_or(_int_at_least(0)), "null or an integer >= 0 (0: no step logs)"),
    "enable_checkpointing": (_none_or(_flag), "null, true or false"),
    "enable_progress_bar": (_none_or(_flag), "null, true or false"),
    "enable_model_summary": (_none_or(_flag), "null, true or false"),
    "accumulate_grad_batches": (_int_at_least(1), "an integer >= 1"),
    "gradient_clip_val": (lambda v: v is None or (_real(v) and v >= 0), "null (no clipping) or a number >= 0"),
    "gradient_clip_algorithm": (lambda v: v in (None, "norm", "value"), "null, norm or value"),
    "deterministic": (lambda v: v is None or _flag(v) or v == "warn", "null, true, false or warn"),
    "benchmark": (_none_or(_flag), "null, true or false"),
    "inference_mode": (_flag, "true or false"),
    "use_distributed_sampler": (_flag, "true or false"),
    "profiler": (lambda v: v is None or v in PROFILERS, f"null or one of {', '.join(PROFILERS)}"),
    "detect_anomaly": (_flag, "true or false"),
    # barebones turns off the logging and callbacks the run's record is made of (Lightning refuses it beside them)
    "barebones": (lambda v: v is False, "false (the lab's run needs its logger and callbacks)"),
    "plugins": (lambda v: v is None, "null"),
    "sync_batchnorm": (_flag, "true or false"),
    "reload_dataloaders_every_n_epochs": (_int_at_least(0), "an integer >= 0"),
    "default_root_dir": (lambda v: v is None or isinstance(v, str), "null or a directory"),
    "enable_autolog_hparams": (_flag, "true or false"),
    "model_registry": (lambda v: v is None or isinstance(v, str), "null or a registry's name"),
    # set by the run from the logger= and callbacks= groups; a second value would be a TypeError mid-start
    "logger": (lambda v: False, "nothing: the run sets it (choose logger=...)"),
    "callbacks": (lambda v: False, "nothing: the run sets it (choose callbacks=...)"),
}


def check_trainer_values(cfg: DictConfig, error: type[ValueError]) -> None:
    """Raise `error` naming the first `trainer.*` key that is unknown to Lightning's Trainer or holds a bad value."""
    trainer = cfg.trainer
    for key in trainer:
        if key not in RULES:
            known = ", ".join(k for k in RULES if not k.startswith("_"))
            raise error(f"trainer.{key} is not an argument of lightning.Trainer; allowed: {known}")
        rule, allowed = RULES[key]
        value = trainer[key]
        require(rule(value), f"trainer.{key}", value, allowed, error)
