"""One run of the experiment: check the config, build task, model and trainer, fit, record metrics.json.

The run's directory (cfg.paths.output_dir) holds the TensorBoard event file, checkpoints/last.ckpt and, once the
run has ended, metrics.json. Re-running into the same directory skips a run that completed or diverged and resumes
an interrupted or failed one from its last checkpoint.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from rnnlab.diagnostics.base import first_and_last
from rnnlab.record.overrides import override_keys, parse_overrides
from rnnlab.record.run_record import (
    FINISHED,
    CorruptMetrics,
    objective,
    read_metrics,
    remove_metrics_leftovers,
    run_record,
    write_metrics,
)
from rnnlab.record.study import study_keys
from rnnlab.tasks.base import SyntheticTask
from rnnlab.training.build import build_module
from rnnlab.training.checkpoint import AtomicCheckpointIO, StepCheckpoint, find_resume_point
from rnnlab.training.checks import check_config
from rnnlab.training.console import result_line
from rnnlab.training.hparams import curated_hparams, final_metrics, hparams_summaries, trial_id, with_sweep
from rnnlab.training.module import RNNModule, weights_finite
from rnnlab.training.progress_bar import StepProgressBar
from rnnlab.training.refusals import constructed
from rnnlab.training.resume import StepAligned
from rnnlab.training.run_summary import RunSummary
from rnnlab.training.weights import save_final_weights


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
        return objective(previous["best"], cfg.optimized_metric)

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
        # In a sweep the sweep's own progress (rnnlab.sweeps.sweep_progress) replaces every job's bar.
        show_bar = bool(cfg.trainer.get("enable_progress_bar", True)) and not _sweeping()
        if show_bar:
            callbacks.append(StepProgressBar())
        # after the summary: a checkpoint holds the metrics of the step (and validation) it follows
        checkpoint = StepCheckpoint(output_dir, cfg.checkpoint.every_n_steps)
        trainer = instantiate(
            cfg.trainer,
            callbacks=[*callbacks, summary, StepAligned(), checkpoint],
            logger=loggers,
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=show_bar,
            enable_checkpointing=False,
        )  # no ModelCheckpoint of Lightning's: StepCheckpoint is it
        with warnings.catch_warnings():
            # Lightning warns that a mid-epoch resume with a plain dataloader replays the epoch; rnnlab's training
            # sampler starts at the step reached (rnnlab.training.resume.StepAligned), so the resume is exact.
            warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch")
            trainer.fit(
                module,
                train_dataloaders=task.train_dataloader(),
                val_dataloaders=task.val_dataloader(),
                ckpt_path=resume.path,
            )
        if module.diverged_at_step is None and not weights_finite(module):
            module.diverged_at_step = trainer.global_step  # the last update overflowed: a non-finite run diverged
        if summary.last_val_step != trainer.global_step:
            # max_steps ended mid-epoch, or divergence stopped the run (Lightning validates at such a stop unless
            # it has just resumed): the final validation is the same for every history of the run
            trainer.validate(module, dataloaders=task.val_dataloader(), verbose=False)
    except Exception as error:
        write_metrics(
            output_dir,
            run_record(
                cfg, "failed", summary, task, trainer, started, timing, error=f"{type(error).__name__}: {error}"
            ),
        )
        raise

    status = "completed" if module.diverged_at_step is None else "diverged"
    record = run_record(cfg, status, summary, task, trainer, started, timing, diverged_at_step=module.diverged_at_step)
    _log_final_hparams(trainer, cfg, record)
    save_final_weights(output_dir, module, trainer.global_step)  # what rnnlab.load gives back
    write_metrics(output_dir, record)  # last: its presence means the run has ended
    if not _sweeping():  # a sweep prints a line per job itself
        print(result_line(status, record["steps"], record["final"], record["baseline"], output_dir / "metrics.json"))
    return objective(record["best"], cfg.optimized_metric)


def _varied_keys(overrides: list[str]) -> list[str]:
    """What the study varies (rnnlab.record.study, which the progress lines and the report ask too): in a sweep,
    its multirun.yaml's varied keys; for a single run, the keys set on its command line."""
    if _sweeping():
        return study_keys(HydraConfig.get().sweep.dir, [parse_overrides(overrides)])
    return override_keys(overrides)


def _sweeping() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _build(cfg: DictConfig) -> tuple[SyntheticTask, RNNModule, list, list]:
    """Task, module, callbacks and loggers, all before anything is written: a bad value leaves no trace in the
    run's directory. Their constructors' argument checks become one-line configuration errors."""
    task, module = build_module(cfg)
    callbacks = [constructed(instantiate, node, where=f"callbacks.{name}") for name, node in cfg.callbacks.items()]
    loggers = [constructed(instantiate, node, where="logger") for node in cfg.logger.values()]
    return task, module, callbacks, loggers


def _log_final_hparams(trainer: L.Trainer, cfg: DictConfig, record: dict) -> None:
    """Fill TensorBoard's HParams dashboard with the run's curated hyper-parameters and its real final metrics.

    For TensorBoard the summaries are written here rather than by `TensorBoardLogger.log_hyperparams`, to rank the
    keys the study varies first (`hparams_summaries`); the metrics are logged at the run's last step. (The file
    writer is SummaryWriter's private `_get_file_writer`, as Lightning's own log_hyperparams uses it.)
    """
    hparams = curated_hparams(cfg, record["choices"], record["overrides"])
    metrics = final_metrics(record, first_and_last(trainer))
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_metrics(metrics, step=trainer.global_step)
            writer = logger.experiment._get_file_writer()
            varied = _varied_keys(record["overrides"])
            sweep_dir = HydraConfig.get().sweep.dir if _sweeping() else None
            job_num = HydraConfig.get().job.get("num") if _sweeping() else None
            trial = trial_id(cfg.paths.output_dir, record["overrides"], varied, sweep_dir, job_num)
            shown, ranked = with_sweep(hparams, varied, sweep_dir) if sweep_dir else (hparams, varied)
            for summary in hparams_summaries(shown, metrics, ranked, trial):
                writer.add_summary(summary)
        else:
            logger.log_hyperparams(hparams)
        logger.save()
