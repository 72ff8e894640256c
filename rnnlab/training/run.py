"""One run of the experiment, in four phases (as torchtune's recipes): check, build, fit, record.

- check: the values (rnnlab.training.checks), then, holding the directory's lock (rnnlab.record.lock), its record
  against this configuration (rnnlab.record.identity): skip, refuse or go on. The CLI runs this phase itself,
  before Lightning is imported, and calls `run_checked`; `train` runs all four (tests, the benchmark).
- build: task, module, trainer, the checkpoint to resume from (its configuration compared before any state loads).
- fit: train to max_steps; a signal ends it at the step under way (rnnlab.training.interrupt).
- record: metrics.json, written last; any exception from build on is recorded `failed` with its error instead.

The run's directory (cfg.paths.output_dir) holds the TensorBoard event file, checkpoints/last.ckpt and, once the
run has ended, metrics.json. Re-running the same configuration into it skips a run that completed or diverged and
resumes an interrupted or failed one from its last checkpoint; another configuration is refused.
"""

from __future__ import annotations

import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from rnnlab.diagnostics.base import first_and_last
from rnnlab.diagnostics.observed import ObservedModule
from rnnlab.diagnostics.through_time import indicator
from rnnlab.record.identity import OtherConfiguration, check_record, differences, refusal, resolved, skipped
from rnnlab.record.lock import RunLock
from rnnlab.record.overrides import override_keys, parse_overrides
from rnnlab.record.run_record import RunRecord, run_record, write_metrics
from rnnlab.record.study import study_keys
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.dataset import DatasetTask
from rnnlab.training.build import build_module
from rnnlab.training.checkpoint import AtomicCheckpointIO, ResumePoint, StepCheckpoint, find_resume_point
from rnnlab.training.checks import ConfigError, check_config
from rnnlab.training.console import result_line
from rnnlab.training.hparams import curated_hparams, final_metrics, hparams_summaries, trial_id, with_sweep
from rnnlab.training.interrupt import Interrupted, deferred
from rnnlab.training.module import RNNModule, weights_finite
from rnnlab.training.progress_bar import StepProgressBar
from rnnlab.training.refusals import constructed
from rnnlab.training.resume import StepAligned
from rnnlab.training.run_summary import RunSummary
from rnnlab.training.weights import save_final_weights


def train(cfg: DictConfig) -> float:
    """Run the experiment `cfg` in cfg.paths.output_dir; return the best value of cfg.optimized_metric.

    All four phases: check (the values, then, holding the directory's lock, its record), build, fit, record. A
    finished run of the same configuration is skipped; one of another configuration is refused (OtherConfiguration).
    """
    with RunLock(cfg.paths.output_dir):
        previous = check_record(cfg, cfg.paths.output_dir)
        if previous is not None:
            print(skipped(cfg.paths.output_dir, previous))
            return previous.objective(cfg.optimized_metric)
        task = check_config(cfg)
        return run_checked(cfg, task).objective(cfg.optimized_metric)


def run_checked(cfg: DictConfig, task: SyntheticTask | None = None) -> RunRecord:
    """Build, fit and record a run whose configuration and directory the check phase accepted (the caller holds
    the directory's lock); `task` is the one the checks built; its record, as written. Any exception but a
    configuration error or an interruption is recorded `failed`, with its error, in metrics.json, from the first
    object built on; the exception gets `recorded = True`."""
    started, built, fitted = time.time(), None, None
    try:
        built = build(cfg, task)
        fitted = fit(cfg, built)
    except (ConfigError, OtherConfiguration):
        raise  # refused before anything was written
    except Exception as error:
        task = built.task if built is not None else None
        summary = built.summary if built is not None else None
        trainer = built.trainer if built is not None else None
        timing = built.timing if built is not None else None
        write_metrics(
            cfg.paths.output_dir,
            run_record(
                cfg, "failed", summary, task, trainer, started, timing, error=f"{type(error).__name__}: {error}"
            ),
        )
        error.recorded = True  # type: ignore[attr-defined]  # rnnlab.train records only what was not
        raise
    return record(cfg, built, fitted, started)


@dataclass
class Built:
    """What the build phase makes: every object of the run, and where it resumes."""

    task: SyntheticTask
    module: RNNModule
    trainer: L.Trainer
    summary: RunSummary
    resume: ResumePoint
    timing: dict


def build(cfg: DictConfig, task: SyntheticTask | None = None) -> Built:
    """Task, module, callbacks, loggers and trainer, and the checkpoint to resume from, checked against `cfg`
    before any state is loaded. Nothing is written but checkpoints set aside as unreadable."""
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    task, module, callbacks, loggers = _build(cfg, task)
    output_dir = Path(cfg.paths.output_dir)
    config = resolved(cfg)
    resume = find_resume_point(output_dir)
    for problem in resume.unreadable:
        then = f"resuming from step {resume.step}" if resume.path is not None else "starting over"
        print(
            f"rnnlab: unreadable checkpoint set aside ({output_dir / 'checkpoints'}/{problem}): {then}", file=sys.stderr
        )
    if resume.path is not None:
        if resume.config is None:
            print(
                f"rnnlab: {resume.path} records no configuration (an older rnnlab's): resumed unchecked",
                file=sys.stderr,
            )
        else:
            changes = differences(resume.config, config)
            if changes:
                raise OtherConfiguration(refusal(str(resume.path), f"step-{resume.step} checkpoint", changes), changes)
    summary = RunSummary()
    # In a sweep the sweep's own progress (rnnlab.sweeps.sweep_progress) replaces every job's bar.
    show_bar = bool(cfg.trainer.get("enable_progress_bar", True)) and not _sweeping()
    if show_bar:
        callbacks.append(StepProgressBar())
    # after the summary: a checkpoint holds the metrics of the step (and validation) it follows
    checkpoint = StepCheckpoint(output_dir, cfg.checkpoint.every_n_steps, config=config)
    trainer = instantiate(
        cfg.trainer,
        callbacks=[*callbacks, summary, StepAligned(), checkpoint],
        logger=loggers,
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=show_bar,
        enable_checkpointing=False,
    )  # no ModelCheckpoint of Lightning's: StepCheckpoint is it
    timing = {"resumed_from_step": resume.step, "unreadable_checkpoints": resume.unreadable}
    return Built(task, module, trainer, summary, resume, timing)


def fit(cfg: DictConfig, built: Built) -> L.Trainer:
    """Train to max_steps from the resume point; validate at the end if the last step was not validated.

    A signal during fit ends it at the step under way (rnnlab.training.interrupt): Interrupted is raised."""
    trainer, module, task = built.trainer, built.module, built.task
    with warnings.catch_warnings():
        # Lightning warns that a mid-epoch resume with a plain dataloader replays the epoch; rnnlab's training
        # sampler starts at the step reached (rnnlab.training.resume.StepAligned), so the resume is exact.
        warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch")
        try:
            with deferred():
                trainer.fit(
                    module,
                    train_dataloaders=task.train_dataloader(),
                    val_dataloaders=task.val_dataloader(),
                    ckpt_path=built.resume.path,
                    weights_only=True,  # Lightning's own load: never unpickle code
                )
        except SIGTERMException:  # Lightning's SystemExit without a code: an interruption, not a success
            raise Interrupted(signal.SIGTERM, trainer.global_step) from None
    if module.diverged_at_step is None and not weights_finite(module):
        module.diverged_at_step = trainer.global_step  # the last update overflowed: a non-finite run diverged
    if built.summary.last_val_step != trainer.global_step:
        # max_steps ended mid-epoch, or divergence stopped the run (Lightning validates at such a stop unless
        # it has just resumed): the final validation is the same for every history of the run
        trainer.validate(module, dataloaders=task.val_dataloader(), verbose=False)
    if isinstance(task, DatasetTask):  # a held-out test split, scored once, at the end, by the final weights
        trainer.test(module, dataloaders=task.test_dataloader(), verbose=False)
    return trainer


def record(cfg: DictConfig, built: Built, trainer: L.Trainer, started: float) -> RunRecord:
    """Write metrics.json (last: its presence means the run has ended) and the HParams; return the record."""
    output_dir = Path(cfg.paths.output_dir)
    module = built.module
    status = "completed" if module.diverged_at_step is None else "diverged"
    rec = run_record(
        cfg,
        status,
        built.summary,
        built.task,
        trainer,
        started,
        built.timing,
        gradient=gradient_indicator(cfg, built),
        diverged_at_step=module.diverged_at_step,
    )
    _log_final_hparams(trainer, cfg, rec)
    save_final_weights(output_dir, module, trainer.global_step)  # what rnnlab.load gives back
    write_metrics(output_dir, rec)  # last: its presence means the run has ended
    if not _sweeping():  # a sweep prints a line per job itself
        print(result_line(status, rec.steps, rec.final, rec.baseline, output_dir / "metrics.json"))
    return rec


def gradient_indicator(cfg: DictConfig, built: Built) -> dict[str, dict]:
    """metrics.json's `gradient`: the indicator (rnnlab.diagnostics.through_time.indicator) on the first training
    batch, at initialisation and at the end. The initial weights are rebuilt from the run's seed, as the run drew
    them, so the record is the same whether or not the run was interrupted and resumed."""
    batch = built.task.batch("train", 0)
    L.seed_everything(cfg.seed, workers=True, verbose=False)  # as before the run's own build: the same head
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the run's own build has shown the constructors' warnings once
        _, initial = build_module(cfg, built.task)
    # an RNNModule is an ObservedModule, but its `rnn` is typed nn.Module (any of the five drop-ins)
    return {
        "start": indicator(cast(ObservedModule, initial), batch),
        "end": indicator(cast(ObservedModule, built.module), batch),
    }


def _varied_keys(overrides: list[str]) -> list[str]:
    """What the study varies (rnnlab.record.study, which the progress lines and the report ask too): in a sweep,
    its multirun.yaml's varied keys; for a single run, the keys set on its command line."""
    if _sweeping():
        return study_keys(HydraConfig.get().sweep.dir, [parse_overrides(overrides)])
    return override_keys(overrides)


def _sweeping() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _build(cfg: DictConfig, task: SyntheticTask | None = None) -> tuple[SyntheticTask, RNNModule, list, list]:
    """Task, module, callbacks and loggers, all before anything is written: a bad value leaves no trace in the
    run's directory. Their constructors' argument checks become one-line configuration errors."""
    task, module = build_module(cfg, task)
    callbacks = [constructed(instantiate, node, where=f"callbacks.{name}") for name, node in cfg.callbacks.items()]
    loggers = [constructed(instantiate, node, where="logger") for node in cfg.logger.values()]
    return task, module, callbacks, loggers


def _log_final_hparams(trainer: L.Trainer, cfg: DictConfig, record: RunRecord) -> None:
    """Fill TensorBoard's HParams dashboard with the run's curated hyper-parameters and its real final metrics.

    For TensorBoard the summaries are written here rather than by `TensorBoardLogger.log_hyperparams`, to rank the
    keys the study varies first (`hparams_summaries`); the metrics are logged at the run's last step. (The file
    writer is SummaryWriter's private `_get_file_writer`, as Lightning's own log_hyperparams uses it.)
    """
    hparams = curated_hparams(cfg, record.choices, record.overrides)
    metrics = final_metrics(record, first_and_last(trainer))
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_metrics(metrics, step=trainer.global_step)
            writer = logger.experiment._get_file_writer()
            varied = _varied_keys(record.overrides)
            sweep_dir = HydraConfig.get().sweep.dir if _sweeping() else None
            job_num = getattr(HydraConfig.get().job, "num", None) if _sweeping() else None
            trial = trial_id(cfg.paths.output_dir, record.overrides, varied, sweep_dir, job_num)
            shown, ranked = with_sweep(hparams, varied, sweep_dir) if sweep_dir else (hparams, varied)
            for summary in hparams_summaries(shown, metrics, ranked, trial):
                writer.add_summary(summary)
        else:
            logger.log_hyperparams(hparams)
        logger.save()
