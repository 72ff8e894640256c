"""One run of the experiment: check the config, build task, model and trainer, fit, record metrics.json.

The run's directory (cfg.paths.output_dir) holds the TensorBoard event file, checkpoints/last.ckpt and, once the
run has ended, metrics.json. Re-running into the same directory skips a run that completed or diverged and resumes
an interrupted or failed one from its last checkpoint.
"""


from __future__ import annotations

import math
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from rnnlab.tasks.base import SyntheticTask
from rnnlab.training.checkpoint import AtomicCheckpointIO, checkpoint_callback, find_resume_point
from rnnlab.training.checks import ConfigError, check_config
from rnnlab.training.module import RNNModule, weights_finite
from rnnlab.training.results import (FINISHED, CorruptMetrics, RunSummary, read_metrics, remove_metrics_leftovers,
                                     write_metrics)
from rnnlab.training.resume import StepAligned

# The top-level keys that are bookkeeping, not hyper-parameters of the experiment.
NOT_HPARAMS = ("threads", "optimized_metric", "paths")


def train(cfg: DictConfig) -> float:
    """Run the experiment `cfg` in cfg.paths.output_dir; return the best value of cfg.optimized_metric."""
    check_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    remove_metrics_leftovers(output_dir)
    try:
        previous = read_metrics(output_dir)
    except CorruptMetrics as error:
        print(f"rnnlab: {error}: the run is treated as not finished", file=sys.stderr)
        previous = None
    if previous is not None and previous["status"] in FINISHED:
        print(f"rnnlab: {output_dir} already {previous['status']} (metrics.json): skipped")
        return _objective(previous["best"], cfg.optimized_metric)

    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    task, module, callbacks, loggers = _build(cfg)
    resume = find_resume_point(output_dir)
    for problem in resume.unreadable:
        then = f"resuming from step {resume.step}" if resume.path is not None else "starting over"
        print(f"rnnlab: unreadable checkpoint set aside ({problem}): {then}", file=sys.stderr)
    started, summary, trainer = time.time(), RunSummary(), None
    timing = {"resumed_from_step": resume.step, "unreadable_checkpoints": resume.unreadable}
    try:
        trainer = instantiate(cfg.trainer, callbacks=[*callbacks, checkpoint_callback(cfg), summary, StepAligned()],
                              logger=loggers, plugins=[AtomicCheckpointIO()])
        with warnings.catch_warnings():
            # Lightning warns that a mid-epoch resume with a plain dataloader replays the epoch; rnnlab's training
            # sampler starts at the step reached (rnnlab.training.resume.StepAligned), so the resume is exact.
            warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch")
            trainer.fit(module, datamodule=task, ckpt_path=resume.path)
        if module.diverged_at_step is None and not weights_finite(module):
            module.diverged_at_step = trainer.global_step  # the last update overflowed: a non-finite run diverged
        if summary.last_val_step != trainer.global_step:
            # max_steps ended mid-epoch, or divergence stopped the run (Lightning validates at such a stop unless
            # it has just resumed): the final validation is the same for every history of the run
            trainer.validate(module, datamodule=task, verbose=False)
    except Exception as error:
        write_metrics(output_dir, run_record(cfg, "failed", summary, task, trainer, started, timing,
                                          error=f"{type(error).__name__}: {error}"))
        raise

    status = "completed" if module.diverged_at_step is None else "diverged"
    record = run_record(cfg, status, summary, task, trainer, started, timing,
                     diverged_at_step=module.diverged_at_step)
    _log_final_hparams(trainer, cfg, record)
    write_metrics(output_dir, record)  # last: its presence means the run has ended
    print(f"rnnlab: {status} after {record['steps']} steps: val/loss {record['final'].get('val/loss')} "
          f"(baseline {record['baseline']:.4g}) -> {output_dir / 'metrics.json'}")
    return _objective(record["best"], cfg.optimized_metric)


def _build(cfg: DictConfig) -> tuple[SyntheticTask, RNNModule, list, list]:
    """Task, module, callbacks and loggers; their constructors' argument checks become one-line configuration errors.

    All before anything is written, so a bad value leaves no trace in the run's directory.
    """
    where = "task"
    try:
        task = instantiate(cfg.task)
        where = "model"
        module = RNNModule(rnn=instantiate(cfg.model), task=task, optimizer=instantiate(cfg.optimizer),
                           scheduler=instantiate(cfg.scheduler) if "scheduler" in cfg else None,
                           init=cfg.init, init_scale=cfg.init_scale, seed=cfg.seed)
        callbacks = []
        for name, callback in cfg.callbacks.items():
            where = f"callbacks.{name}"
            callbacks.append(instantiate(callback))
        where = "logger"
        loggers = [instantiate(c) for c in cfg.logger.values()]
    except (InstantiationException, ValueError, TypeError) as error:
        cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
        message = (str(cause).splitlines() or [type(cause).__name__])[0]
        raise ConfigError(message if where in ("task", "model") else f"{where}: {message}") from error
    return task, module, callbacks, loggers


def run_record(cfg: DictConfig, status: str, summary: RunSummary, task, trainer, started: float,
               resume: dict | None = None, **extra) -> dict:
    """metrics.json's content. Everything but `timing` is a function of the configuration."""
    hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
    return {
        "status": status,
        "overrides": list(hydra_cfg.overrides.task) if hydra_cfg else [],
        "choices": {k: v for k, v in hydra_cfg.runtime.choices.items() if not k.startswith("hydra")}
        if hydra_cfg else {},
        "steps": trainer.global_step if trainer is not None else 0,
        **extra,
        "baseline": float(task.baseline) if task is not None else None,
        "final": dict(summary.final),
        "best": dict(summary.best),
        "config": _resolved_config(cfg),
        "timing": {
            "wall_time_s": round(time.time() - started, 3),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
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
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:  # recording a configuration whose interpolation does not resolve
        return OmegaConf.to_container(cfg, resolve=False)


def _objective(best: dict, metric: str) -> float:
    value = best.get(metric)
    return float(value) if value is not None else math.inf


def _log_final_hparams(trainer: L.Trainer, cfg: DictConfig, record: dict) -> None:
    """Fill TensorBoard's HParams dashboard with the run's hyper-parameters and its real final metrics."""
    hparams = {k: v for k, v in OmegaConf.to_container(cfg, resolve=False).items()
               if k not in NOT_HPARAMS and not isinstance(v, (dict, list))}
    hparams.update(record["choices"])
    final, best = record["final"], record["best"]
    nan = math.nan
    metrics = {
        "hp/final_loss": final.get("val/loss", nan),
        "hp/best_val_loss": best.get("val/loss", nan),
        "hp/final_train_loss": final.get("train/loss", nan),
        "hp/baseline": record["baseline"],
        "hp/diverged": float(record["status"] == "diverged"),
    }
    if "val/acc" in final:
        metrics.update({"hp/final_acc": final["val/acc"], "hp/best_val_acc": best.get("val/acc", nan)})
    metrics = {k: nan if v is None else float(v) for k, v in metrics.items()}
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(hparams, metrics=metrics)
        else:
            logger.log_hyperparams(hparams)
        logger.save()
