"""A trained run evaluated on its task or a variant of it (another length, another seed, another split).

The question it answers is the classic one: does a network trained on sequences of length T still work at 4T? The
weights are the run's own (rnnlab.load); only the task changes. The loss is the run's validation loss, computed the
same way (MSE over elements, or cross-entropy over the scored positions), so an evaluation without overrides
reproduces the run's final val/loss. Each evaluation is written as its own file beside metrics.json,
`eval.json` or `eval-KEY=VALUE,….json`, atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from rnnlab.record.eval_record import EvalRecord, eval_text, read_eval_records
from rnnlab.record.overrides import override_key, override_value

SPLITS = ("val", "test", "train")
# What an evaluation may change: the data, never the network (its weights fix its sizes and its nonlinearity).
EVAL_KEYS = ("seq_len", "seed", "batch_size")
EVAL_PREFIX = "task."
FIXED_TASK_KEYS = ("task._target_",)


class EvalError(ValueError):
    """A bad evaluation request: one line naming the argument and what is allowed."""


def check_override(override: str) -> tuple[str, Any]:
    """`key=value` -> (key, value as YAML reads it); EvalError unless the key only changes the data."""
    key, value = override_key(override), override_value(override)
    if "=" not in override or not key:
        raise EvalError(f"'{override}' is not KEY=VALUE")
    if key in FIXED_TASK_KEYS or not (key in EVAL_KEYS or key.startswith(EVAL_PREFIX)):
        raise EvalError(
            f"'{key}' cannot change at evaluation (the trained network stays as it was): allowed are "
            f"{', '.join(EVAL_KEYS)} and task.* (but not task._target_)"
        )
    return key, yaml.safe_load(value)


def eval_name(overrides: list[str], split: str) -> str:
    """The eval record's file name: eval.json for the run's own task, else eval-<its overrides, sorted>.json."""
    parts = sorted(overrides) + ([f"split={split}"] if split != "val" else [])
    return "eval.json" if not parts else f"eval-{','.join(parts).replace('/', '_')}.json"


def evaluate_run(run_dir: Path, overrides: list[str], split: str = "val", write: bool = True) -> EvalRecord:
    """The eval record of `run_dir` under `overrides` on `split` (see the module's docstring)."""
    import torch
    from omegaconf import OmegaConf, open_dict

    from rnnlab.loading import load, run_config
    from rnnlab.record.atomic import write_atomically

    if split not in SPLITS:
        raise EvalError(f"split={split} is not one of {', '.join(SPLITS)}")
    cfg = run_config(run_dir)
    trained_len = OmegaConf.select(cfg, "task.seq_len")
    with open_dict(cfg):
        for key, value in map(check_override, overrides):
            if OmegaConf.select(cfg, key, default="<missing>") == "<missing>":
                from rnnlab.training.override_checks import unknown_key

                raise EvalError(unknown_key(key, cfg, additions=False))
            OmegaConf.update(cfg, key, value, merge=False)
    loaded = load(run_dir, config=cfg)
    module, task = loaded.module, loaded.task
    if task.input_size != module.rnn.input_size:
        raise EvalError(f"the task's input size is {task.input_size}, the network takes {module.rnn.input_size}")
    classification = module.kind == "classification"
    total, count, correct = 0.0, 0, 0
    with torch.no_grad():
        for index in range(int(cfg.task.val_batches)):
            prediction, target = module.predictions(module.rnn_output(batch := task.batch(split, index)), batch)
            if classification:
                total += float(torch.nn.functional.cross_entropy(prediction, target, reduction="sum"))
                count += target.size(0)
                correct += int((prediction.argmax(-1) == target).sum())
            else:
                total += float(torch.nn.functional.mse_loss(prediction, target.to(prediction.dtype), reduction="sum"))
                count += prediction.numel()
    loss = total / count
    baseline = float(task.baseline)
    record = EvalRecord(
        run=str(run_dir),
        overrides=list(overrides),
        split=split,
        batches=int(cfg.task.val_batches),
        seq_len=int(cfg.task.seq_len),
        trained_seq_len=trained_len,
        step=loaded.step,
        weights=loaded.weights.relative_to(run_dir).as_posix(),
        loss=loss if math.isfinite(loss) else None,
        acc=correct / count if classification else None,
        baseline=baseline,
        loss_over_baseline=loss / baseline if math.isfinite(loss) and baseline else None,
    )
    if write:
        text = eval_text(record)
        path = run_dir / eval_name(overrides, split)
        write_atomically(path, lambda f: f.write(text.encode()))
        record.file = str(path)
    return record


def eval_table(sweep_dir: Path):
    """Every eval record of the sweep's jobs as a DataFrame: the job, its swept values, then the record's fields."""
    import pandas as pd

    from rnnlab.record.jobs import find_jobs
    from rnnlab.record.study import study_keys

    jobs = find_jobs(sweep_dir)
    keys = study_keys(sweep_dir, [job.overrides for job in jobs])
    rows = []
    for job in jobs:
        for record in read_eval_records(job.dir):
            row = {"job": job.name, **{k: job.overrides.get(k) for k in keys}, **record.to_json()}
            rows.append(row | {"file": record.file})
    table = pd.DataFrame(rows)
    table.attrs["varied"] = keys
    return table
