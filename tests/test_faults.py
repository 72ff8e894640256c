"""Fault injection through the real CLI: runs killed at many moments (during a checkpoint write too), corrupt
checkpoints and metrics.json, a killed diverged run. Each re-run must end with the uninterrupted run's metrics.json
(timing aside), say in one line what it found, and leave no temporary file behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import EXPLODING, read_record, run_cli, without_timing
from tests.helpers.faults import EXIT_AT_STEP, EXIT_AT_TRAIN_END, EXIT_AT_VALIDATION, EXIT_IN_SAVE, KILLED

pytestmark = pytest.mark.slow  # each run starts Python, torch and Lightning (seconds)

# 4 epochs of 10 steps, a checkpoint every 7 steps: checkpoints fall mid-epoch, and one (step 28) lies between two
# validations; every diagnostic is on. Every run of a comparison carries the fault callback (its configuration).
BASE = [
    "hidden_size=8",
    "seq_len=8",
    "batch_size=8",
    "task.train_batches=10",
    "task.val_batches=2",
    "max_steps=40",
    "checkpoint.every_n_steps=7",
    "trainer.enable_progress_bar=false",
    "+callbacks.faults._target_=tests.helpers.faults.Faults",
]
CONFIGS = {
    "dropout": ["num_layers=2", "dropout=0.3"],
    "sgd_step_scheduler_variable_length_myrnn": [
        "model=myrnn",
        "optimizer=sgd",
        "scheduler=step",
        "scheduler.step_size=9",
        "task.variable_length=true",
    ],
    "bidirectional_xor_rmsprop_cosine": [
        "model=bidirectional",
        "task=xor",
        "optimizer=rmsprop",
        "scheduler=cosine",
        "num_layers=2",
        "dropout=0.2",
    ],
}


def leftovers(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.rglob("*.tmp")]


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[str, dict]:
    """Each configuration's uninterrupted metrics.json."""
    root = tmp_path_factory.mktemp("reference")
    found = {}
    for name, overrides in CONFIGS.items():
        result = run_cli(root / name, *BASE, *overrides)
        assert result.returncode == 0, result.stderr
        found[name] = read_record(root / name)
        assert found[name]["status"] == "completed" and found[name]["steps"] == 40
    return found


# (configuration, the kills in order: each an environment for one run). The last run of each case is unkilled.
KILLS = {
    "mid_epoch": ("dropout", [{EXIT_AT_STEP: "17"}]),
    "between_checkpoint_and_validation": ("dropout", [{EXIT_AT_VALIDATION: "30"}]),
    "during_checkpoint_write": ("dropout", [{EXIT_IN_SAVE: "3:write"}]),
    "between_the_checkpoint_renames": ("dropout", [{EXIT_IN_SAVE: "2:swap"}]),
    "three_kills_in_a_row": ("dropout", [{EXIT_AT_STEP: "9"}, {EXIT_IN_SAVE: "1:write"}, {EXIT_AT_STEP: "33"}]),
    "before_metrics_json": ("dropout", [{EXIT_AT_TRAIN_END: "1"}]),
    "scheduler_variable_length_mid_epoch": ("sgd_step_scheduler_variable_length_myrnn", [{EXIT_AT_STEP: "23"}]),
    "bidirectional_during_write": ("bidirectional_xor_rmsprop_cosine", [{EXIT_IN_SAVE: "4:write"}]),
}


@pytest.mark.parametrize("case", sorted(KILLS))
def test_a_killed_run_resumes_to_the_uninterrupted_metrics(case, references, tmp_path):
    config, kills = KILLS[case]
    overrides = [*BASE, *CONFIGS[config]]
    for env in kills:
        killed = run_cli(tmp_path, *overrides, env=env)
        assert killed.returncode == KILLED, killed.stderr
        assert not (tmp_path / "metrics.json").exists()
    if "write" in str(kills[-1]) or "swap" in str(kills[-1]):
        assert leftovers(tmp_path)  # the kill really came mid-save
    resumed = run_cli(tmp_path, *overrides)
    assert resumed.returncode == 0, resumed.stderr
    again = read_record(tmp_path)
    assert without_timing(again) == without_timing(references[config])
    assert again["timing"]["resumed_from_step"] is not None and again["timing"]["unreadable_checkpoints"] == []
    assert leftovers(tmp_path) == []
    mode = 0o666 & ~_umask()
    assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == mode
    assert (tmp_path / "checkpoints" / "last.ckpt").stat().st_mode & 0o777 == mode


def test_a_kill_in_an_epoch_end_validation_loses_no_validation(tmp_path):
    """A step that ends an epoch is checkpointed after its validation (Lightning does not replay that validation on
    resume): a run killed during it resumes from the checkpoint before and keeps every validation the original made.
    The run fails at step 25, so its record's final val/loss is the validation at step 20 itself."""
    overrides = [*BASE, *CONFIGS["dropout"], "checkpoint.every_n_steps=10", "+callbacks.faults.raise_at_step=25"]
    assert run_cli(tmp_path / "whole", *overrides).returncode != 0
    whole = read_record(tmp_path / "whole")
    assert whole["status"] == "failed" and whole["steps"] == 25 and "val/loss" in whole["final"]
    killed = run_cli(tmp_path / "killed", *overrides, env={EXIT_AT_VALIDATION: "20"})
    assert killed.returncode == KILLED, killed.stderr
    assert run_cli(tmp_path / "killed", *overrides).returncode != 0
    again = read_record(tmp_path / "killed")
    assert again["timing"]["resumed_from_step"] == 10  # not 20: that checkpoint comes after the validation
    assert without_timing(again) == without_timing(whole)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


# ---- unreadable checkpoints ----------------------------------------------------------------------------------

CORRUPTIONS = {  # a checkpoint that loads but is no Lightning checkpoint: tests/training/test_checkpoint.py
    "truncated": lambda data: data[: len(data) // 3],
    "random_bytes": lambda data: os.urandom(len(data)),
    "empty": lambda data: b"",
}


@pytest.fixture(scope="module")
def killed_at_30(tmp_path_factory) -> Path:
    """The dropout configuration killed at step 30: last.ckpt at step 28, previous.ckpt at step 21."""
    run_dir = tmp_path_factory.mktemp("killed") / "run"
    assert run_cli(run_dir, *BASE, *CONFIGS["dropout"], env={EXIT_AT_STEP: "30"}).returncode == KILLED
    return run_dir


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_an_unreadable_last_checkpoint_is_set_aside_and_the_previous_one_resumes(
    corruption, killed_at_30, references, tmp_path
):
    run_dir = tmp_path / "run"
    shutil.copytree(killed_at_30, run_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    last.write_bytes(CORRUPTIONS[corruption](last.read_bytes()))
    result = run_cli(run_dir, *BASE, *CONFIGS["dropout"])
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "unreadable checkpoint" in line]
    assert len(lines) == 1 and "last.ckpt" in lines[0] and "resuming from step 21" in lines[0]
    assert "Traceback" not in result.stderr
    again = read_record(run_dir)
    assert without_timing(again) == without_timing(references["dropout"])
    assert again["timing"]["resumed_from_step"] == 21
    assert len(again["timing"]["unreadable_checkpoints"]) == 1
    assert (run_dir / "checkpoints" / "last.ckpt.unreadable").exists()


def test_with_both_checkpoints_unreadable_the_run_starts_over_and_says_so(killed_at_30, references, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(killed_at_30, run_dir)
    for name in ("last.ckpt", "previous.ckpt"):
        (run_dir / "checkpoints" / name).write_bytes(b"\x00garbage")
    result = run_cli(run_dir, *BASE, *CONFIGS["dropout"])
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "unreadable checkpoint" in line]
    assert len(lines) == 2 and all("starting over" in line for line in lines)
    again = read_record(run_dir)
    assert without_timing(again) == without_timing(references["dropout"])
    assert again["timing"]["resumed_from_step"] is None and len(again["timing"]["unreadable_checkpoints"]) == 2


# ---- corrupt metrics.json ------------------------------------------------------------------------------------

# The other corruptions (truncated, binary, missing keys, a foreign status) are read in-process:
# tests/record/test_run_record.py.
BAD_METRICS = {"empty": b"", "list": b"[]"}


@pytest.mark.parametrize("content", sorted(BAD_METRICS))
def test_a_corrupt_metrics_json_is_named_in_one_line_and_the_run_finishes_again(
    content, killed_at_30, references, tmp_path
):
    run_dir = tmp_path / "run"
    shutil.copytree(killed_at_30, run_dir)
    (run_dir / "metrics.json").write_bytes(BAD_METRICS[content])
    (run_dir / ".metrics.json.abc123.tmp").write_text("{")  # a kill's leftover
    result = run_cli(run_dir, *BASE, *CONFIGS["dropout"])
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "metrics.json" in line]
    assert len(lines) == 1 and str(run_dir / "metrics.json") in lines[0] and "not finished" in lines[0]
    assert "Traceback" not in result.stderr
    assert without_timing(read_record(run_dir)) == without_timing(references["dropout"])
    assert leftovers(run_dir) == []


# ---- divergence ----------------------------------------------------------------------------------------------

EXPLODING = [*EXPLODING, "checkpoint.every_n_steps=1"]


def test_a_killed_diverged_run_resumes_diverged_at_the_same_step(tmp_path):
    overrides = [*BASE, *EXPLODING]
    assert run_cli(tmp_path / "whole", *overrides).returncode == 0
    whole = read_record(tmp_path / "whole")
    assert whole["status"] == "diverged"
    killed = run_cli(tmp_path / "killed", *overrides, env={EXIT_AT_TRAIN_END: "1"})
    assert killed.returncode == KILLED
    resumed = run_cli(tmp_path / "killed", *overrides)
    assert resumed.returncode == 0, resumed.stderr
    again = read_record(tmp_path / "killed")
    assert without_timing(again) == without_timing(whole)
    assert again["diverged_at_step"] == whole["diverged_at_step"] and again["steps"] == whole["steps"]


@pytest.mark.parametrize("scale", ["1e39"])  # 1e308 and others: tests/training/test_run.py
def test_an_init_scale_beyond_float32_is_refused_in_one_line(scale, tmp_path):
    result = run_cli(tmp_path, *BASE, f"init_scale={scale}")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"rnnlab: bad configuration: init_scale={float(scale)!r} is invalid; allowed: a number in [0, 3.403e+38]"
        )
    )
    assert "Traceback" not in result.stderr and not (tmp_path / "metrics.json").exists()


def test_weights_that_overflow_at_init_end_diverged_without_running_the_diagnostics(tmp_path):
    result = run_cli(tmp_path, *BASE, "init=normal", "init_scale=1e38", "hidden_size=64")
    assert result.returncode == 0, result.stderr
    metrics = read_record(tmp_path)
    assert metrics["status"] == "diverged" and metrics["diverged_at_step"] == 0 and metrics["steps"] == 0
