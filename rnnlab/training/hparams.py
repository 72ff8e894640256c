"""What the HParams dashboard shows of a run: the main hyper-parameters and the keys its study varies, and the
real final metrics; bookkeeping (callbacks, logger, experiment, paths...) stays out, so a sweep reads at a glance."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rnnlab.record import tags
from rnnlab.record.overrides import override_keys, parse_overrides
from rnnlab.record.run_record import RunRecord

# The hyper-parameters every run shows, in this order; group choices (model, task) by their chosen name.
MAIN = ("model", "task", "num_layers", "hidden_size", "nonlinearity", "init", "init_scale", "lr", "seq_len", "seed")
# Overrides that say how a run is run or recorded, not what it is.
BOOKKEEPING = (
    "callbacks",
    "logger",
    "experiment",
    "hparams_search",
    "hydra",
    "paths",
    "threads",
    "optimized_metric",
    "trainer.enable_progress_bar",
)

HParam = str | bool | int | float


def _value(cfg: DictConfig, choices: dict, key: str) -> HParam | None:
    if key in choices:
        return choices[key]
    value = OmegaConf.select(cfg, key, default=None)
    if isinstance(value, DictConfig) or OmegaConf.is_list(value):
        return None  # a whole group's node: its choice, if any, is in `choices`
    return value


def curated_hparams(cfg: DictConfig, choices: dict, overrides: list[str]) -> dict[str, HParam]:
    """The main hyper-parameters, then every other key set on the command line (what a sweep varies), minus the
    bookkeeping. `choices` maps a config group to its chosen option; `overrides` are Hydra's `key=value` strings.
    A value that is null is shown as the string "null" (the dashboard takes numbers, strings and booleans)."""
    keys = list(MAIN)
    for key in override_keys(overrides):
        if key not in keys and not key.startswith(BOOKKEEPING):
            keys.append(key)
    hparams = {}
    for key in keys:
        value = _value(cfg, choices, key)
        hparams[key] = "null" if value is None else value
    return hparams


def final_metrics(record: RunRecord, logged: dict[str, tuple[float, float]] | None = None) -> dict[str, float]:
    """The dashboard's metric columns, from metrics.json's record: final loss and its ratio to the baseline first,
    then the gradient indicator (log10 first/last ‖dL/dh_t‖ of layer 0) and the spectral radius of layer 0's W_hh at
    initialisation (their first logged values; `logged` maps a tag to its (first, last) value), so the table answers
    "vanishing or exploding?" beside "did it learn?"; NaN where the diagnostics were off."""
    final, best, baseline = record.final, record.best, record.baseline
    loss = final.get(tags.VAL_LOSS)
    logged = logged or {}
    grad = logged.get(tags.grad_h_log10_ratio(0), (None, None))
    radius = logged.get(tags.spectrum("layer0", "radius"), (None, None))
    metrics = {
        tags.HP_FINAL_LOSS: loss,
        tags.HP_FINAL_OVER_BASELINE: record.final_over_baseline,
        tags.HP_GRAD_LOG10_RATIO_INIT: grad[0],
        tags.HP_SPECTRAL_RADIUS_INIT: radius[0],
        tags.HP_BEST_VAL_LOSS: best.get(tags.VAL_LOSS),
    }
    if tags.VAL_ACC in final:
        metrics.update({tags.HP_FINAL_ACC: final[tags.VAL_ACC], tags.HP_BEST_VAL_ACC: best.get(tags.VAL_ACC)})
    metrics.update(
        {
            tags.HP_FINAL_TRAIN_LOSS: final.get(tags.TRAIN_LOSS),
            tags.HP_BASELINE: baseline,
            tags.HP_DIVERGED: float(record.status == "diverged"),
            tags.HP_GRAD_LOG10_RATIO_FINAL: grad[1],
            tags.HP_SPECTRAL_RADIUS_FINAL: radius[1],
        }
    )
    return {k: math.nan if v is None else float(v) for k, v in metrics.items()}


# TensorBoard's Trial ID column is 10em wide: ids up to this many characters stay whole (checked in the browser test)
TRIAL_ID_CHARS = 17
SWEEP = "sweep"  # the hyper-parameter column naming a sweep job's sweep directory


def sweep_mark(sweep_dir: str) -> str:
    """`#` and 4 hex digits of the sweep directory's absolute path: short, and distinct between the sweeps one
    logdir holds (a collision needs two of them among 65,536 marks)."""
    return "#" + hashlib.sha1(str(Path(sweep_dir).resolve()).encode()).hexdigest()[:4]


def trial_id(
    output_dir: str,
    overrides: list[str],
    varied: list[str],
    sweep_dir: str | None = None,
    job_num: int | None = None,
) -> str:
    """The run's name in the HParams table: a sweep job's values of the `varied` keys, then its sweep's mark
    (`relu 0.5 #3fa2`; the `sweep` column names the directory); a single run's directory name (by default its time).

    TensorBoard otherwise names a trial by its directory's path relative to the logdir, and its Trial ID column is
    10em wide: `init_scale=0.5,n...` for every job of a study, and with the sweep's own name (`relu 0.5
    vanishing_quick`) cut again. The values are unique within a sweep (each job is one combination), and the mark
    keeps two sweeps under one logdir apart: TensorBoard merges the trials of one name into one row, meant for runs
    of the same hyper-parameters. Values too long for the column (many keys, Optuna's sampled floats) give way to
    the job's number in its sweep (`job 12 #3fa2`), whole and as distinct.
    """
    values = parse_overrides(overrides)
    shown = [values[key] for key in varied if key in values]
    if sweep_dir is None:
        return Path(output_dir).name
    mark = sweep_mark(sweep_dir)
    name = f"{' '.join(shown)} {mark}"
    if (not shown or len(name) > TRIAL_ID_CHARS) and job_num is not None:
        return f"job {job_num} {mark}"
    return name if shown else f"{Path(output_dir).name} {mark}"


def with_sweep(hparams: dict[str, HParam], varied: list[str], sweep_dir: str) -> tuple[dict[str, HParam], list[str]]:
    """A sweep job's hyper-parameters with its sweep directory's name as the column `sweep`, ranked with the
    varied keys: under a logdir of several sweeps, it says which sweep a trial's mark (`#3fa2`) is."""
    return {**hparams, SWEEP: Path(sweep_dir).name}, [*varied, SWEEP]


def hparams_summaries(
    hparams: dict[str, HParam], metrics: dict[str, float], varied: list[str], trial: str | None = None
) -> list:
    """The HParams dashboard's three summaries (experiment, session start, session end) for `SummaryWriter`.

    Built with torch's own `summary.hparams`, then the experiment marks the `varied` keys as `differs`: TensorBoard
    sorts the hyper-parameters by (not differs, name) and ticks the first five, so what a study varies comes first
    and in view instead of the alphabet's first five. (TensorBoard computes `differs` itself only when no run
    carries an experiment summary, but then every scalar tag becomes a metric column.) `trial` names the run in the
    table's Trial ID column (see `trial_id`).
    """
    from tensorboard.plugins.hparams import plugin_data_pb2
    from torch.utils.tensorboard.summary import hparams as hparams_summary

    summaries = hparams_summary(hparams, metrics)  # (experiment, session start, session end)
    value = summaries[0].value[0]
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    for info in data.experiment.hparam_infos:
        info.differs = info.name in varied
    value.metadata.plugin_data.content = data.SerializeToString()
    if trial is not None:
        start = summaries[1].value[0]
        data = plugin_data_pb2.HParamsPluginData.FromString(start.metadata.plugin_data.content)
        data.session_start_info.group_name = trial
        start.metadata.plugin_data.content = data.SerializeToString()
    return list(summaries)
