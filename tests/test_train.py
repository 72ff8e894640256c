"""`python -m rnnlab.train` end to end, in a subprocess as a user runs it: results, TensorBoard, skip and resume,
divergence, and the one-line refusal of a bad configuration."""

import json
import math
import os
import re
import subprocess
import sys
import time

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from rnnlab.record.identity import resolved
from tests.helpers import ROOT, compose_run
from tests.helpers.cli import EXPLODING, read_record, run_cli, without_timing
from tests.helpers.faults import EXIT_AT_STEP

SMALL = [
    "hidden_size=8",
    "seq_len=10",
    "batch_size=16",
    "task.train_batches=10",
    "task.val_batches=2",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
]  # every step: compared step by step

pytestmark = pytest.mark.slow  # each test starts Python, torch and Lightning (seconds)


def test_the_cli_runs_logs_checkpoints_and_skips_a_finished_run(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(run_dir, *SMALL, "max_steps=25", "checkpoint.every_n_steps=10")
    assert result.returncode == 0, result.stderr
    record = read_record(run_dir)
    assert record["status"] == "completed" and record["steps"] == 25
    assert record["overrides"] == [*SMALL, "max_steps=25", "checkpoint.every_n_steps=10"]
    assert (run_dir / "checkpoints" / "last.ckpt").exists()

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss", "val/loss", "baseline/loss"} <= set(scalars)
    assert [e.step for e in events.Scalars("train/loss")] == list(range(25))
    assert events.Scalars("val/loss")[-1].value == pytest.approx(record["final"]["val/loss"])
    assert events.Scalars("baseline/loss")[-1].value == pytest.approx(2 / 12)
    # The diagnostics of the real run: gradient norms per parameter and in total, and through time.
    grad_norm = {tag for tag in scalars if tag.startswith("grad_norm/")}
    assert grad_norm == {
        f"grad_norm/{name}"
        for name in (
            "rnn.weight_ih_l0",
            "rnn.weight_hh_l0",
            "rnn.bias_ih_l0",
            "rnn.bias_hh_l0",
            "head.weight",
            "head.bias",
            "total",
        )
    }
    grad_h = {tag for tag in scalars if re.fullmatch(r"grad_h/layer0/t\d+", tag)}  # not the theory_… tags
    assert len(grad_h) == 8 and {"grad_h/layer0/t0", "grad_h/layer0/t9"} <= grad_h  # first and last of T=10
    for tag in grad_norm | grad_h | {"grad_h/layer0/first_over_last"}:
        values = [e.value for e in events.Scalars(tag)]
        assert values and all(math.isfinite(v) for v in values), tag
    assert events.Scalars("grad_norm/total")[0].value > 0
    # The HParams dashboard: the run's hyper-parameters, and its real final metrics (no -1 placeholder).
    hparams = plugin_data_pb2.HParamsPluginData.FromString(
        events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    ).session_start_info.hparams
    assert hparams["hidden_size"].number_value == 8 and hparams["model"].string_value == "torch"
    assert events.Scalars("hp/final_loss")[-1].value == pytest.approx(record["final"]["val/loss"])
    assert events.Scalars("hp/baseline")[-1].value == pytest.approx(2 / 12)
    assert events.Scalars("hp/final_over_baseline")[-1].value == pytest.approx(record["final"]["val/loss"] * 6)
    # curated: the main keys and what the command line set, not the bookkeeping groups
    assert {"callbacks", "logger", "experiment", "hparams_search", "trainer.enable_progress_bar"}.isdisjoint(hparams)
    assert {"model", "task", "num_layers", "init_scale", "lr", "seed", "task.train_batches"} <= set(hparams)
    # IMAGES: the gradient profile and the eigenvalues at step 0 (then every 100 steps)
    assert {"grad_h/profile", "spectrum/eigenvalues"} <= set(events.Tags()["images"])

    before = (run_dir / "metrics.json").read_text()
    started = time.monotonic()
    again = run_cli(run_dir, *SMALL, "max_steps=25", "checkpoint.every_n_steps=10")
    assert again.returncode == 0 and "already completed" in again.stdout
    assert time.monotonic() - started < 60 and (run_dir / "metrics.json").read_text() == before


def test_a_default_run_prints_only_the_labs_lines_a_bar_in_steps_and_its_result(tmp_path):
    run_dir = tmp_path / "run"
    overrides = [o for o in SMALL if not o.startswith("trainer.enable_progress_bar")]
    result = run_cli(run_dir, *overrides, "max_steps=25")
    assert result.returncode == 0, result.stderr
    output = (result.stdout + result.stderr).replace("\r", "\n")
    for noise in ("Tip:", "litlogger", "LeafSpec", "GPU available", "TPU available", "srun", "Epoch", "Warning"):
        assert noise not in output, noise
    frames = [line for line in output.splitlines() if line.startswith("step ")]
    assert frames and frames[-1].startswith("step 25/25 ") and "baseline 0.1667" in frames[-1]
    loss = read_record(run_dir)["final"]["val/loss"]
    (line,) = [line for line in output.splitlines() if line.strip() and not line.startswith("step ")]
    assert line == (
        f"rnnlab: completed after 25 steps: val/loss {loss:.4g} (baseline 0.1667) = {loss * 6:.3g} x "
        f"baseline -> {run_dir / 'metrics.json'}"
    )


def test_help_lists_the_keys_with_the_values_a_run_would_use(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rnnlab.train", "--help", "num_layers=3", "model=myrnn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    cfg = compose_run(tmp_path, ["num_layers=3", "model=myrnn"])
    section = result.stdout.split("The keys that matter")[1].split("Config groups")[0]
    shown = {line.split()[0]: line.split()[1] for line in section.splitlines()[1:] if len(line.split()) >= 2}
    assert shown["model"] == "myrnn" and shown["task"] == "adding" and shown["optimizer"] == "adam"
    for key in (
        "num_layers",
        "hidden_size",
        "nonlinearity",
        "bias",
        "bidirectional",
        "dropout",
        "init",
        "init_scale",
        "seq_len",
        "batch_size",
        "seed",
        "lr",
        "max_steps",
        "grad_clip",
        "threads",
    ):
        assert shown[key] == str(cfg[key]), key
    for command in ("python -m rnnlab.train model=", "python -m rnnlab.train -m ", "python -m rnnlab.dashboard"):
        assert command in result.stdout
    assert "Powered by Hydra" not in result.stdout


# A configuration error of each kind: plain values the lab checks (answered without torch), and values refused by the
# task's, the model's, the optimizer's and the scheduler's own constructors (built on stand-ins, with torch).
PLAIN = {
    "num_layers": (["num_layers=0"], "num_layers=0 is invalid"),
    "nonlinearity": (["nonlinearity=sigmoid"], "nonlinearity='sigmoid' is invalid; allowed: one of tanh, relu"),
    "init_scale": (["init_scale=1e39"], "init_scale=1e+39 is invalid; allowed: a number in [0, 3.403e+38]"),
    "scheduler value": (["scheduler=step", "scheduler.step_size=0"], "scheduler.step_size=0 is invalid"),
}
BUILT = {
    # the task's own minimum, which depends on its arguments (one target step past the offset)
    "seq_len": (
        ["task=lookahead", "task.offset=5", "seq_len=4"],
        "seq_len=4 is invalid; allowed: task 'lookahead' needs an integer >= 6",
    ),
    "task": (["task.val_batches=0"], "task.val_batches=0 is invalid"),
    "model": (["model=concat", "model.loop_order=diagonal"], "model: loop_order must be one of"),
    "optimizer": (["optimizer=sgd", "optimizer.momentum=0", "+optimizer.nesterov=true"], "optimizer: Nesterov"),
    # an argument its constructor does not take: refused by its signature, before the stand-ins are built
    "scheduler": (["scheduler=step", "+scheduler.foo=1"], "+scheduler.foo is not an argument of torch.optim.lr_sch"),
}
BAD_CONFIGURATIONS = {**PLAIN, **BUILT}

QUICK_ANSWERS = {
    "help": (["--help"], "The keys that matter"),
    **{f"bad {key}": case for key, case in BAD_CONFIGURATIONS.items()},
    "finished directory": ([], "already completed (metrics.json): skipped"),
}


@pytest.mark.parametrize("case", QUICK_ANSWERS)
def test_quick_answers_come_before_lightning_is_imported(case, tmp_path):
    """`--help`, a configuration error and a re-run into a finished directory never import Lightning (its 3,500
    modules are most of a run's start-up); checked with Python's own import log, not a clock (the times are the
    bench's: python -m rnnlab.bench --section startup)."""
    if case == "finished directory":
        config = resolved(compose_run(tmp_path, []))  # the command's own configuration: a skip, not a refusal
        record = {"status": "completed", "steps": 5, "final": {}, "best": {"val/loss": 0.5}, "config": config}
        record["timing"] = {}
        (tmp_path / "metrics.json").write_text(json.dumps(record))
    args, expected = QUICK_ANSWERS[case]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": ""}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rnnlab.train", *args, f"hydra.run.dir={tmp_path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")]
    assert "hydra" in imported, result.stderr[-2000:]
    assert not [name for name in imported if name.split(".")[0] in ("lightning", "torchmetrics")]
    # torch only to build the stand-ins that check their own arguments
    # (by its submodules: the top package's own line can fall in a stretch of stderr the quiet console filters)
    assert any(name.split(".")[0] == "torch" for name in imported) == (case.removeprefix("bad ") in BUILT)
    assert result.returncode == (2 if case.startswith("bad ") else 0)
    assert expected in result.stdout + result.stderr
    assert not (tmp_path / "checkpoints").exists()  # a refused run leaves nothing behind


def test_a_run_killed_mid_training_resumes_to_the_uninterrupted_result(tmp_path):
    # The fault callback in every run (a run is its configuration: the resume must be of the same one); the
    # environment says when to kill.
    overrides = [
        *SMALL,
        "max_steps=30",
        "checkpoint.every_n_steps=10",
        "+callbacks.faults._target_=tests.helpers.faults.Faults",
    ]
    assert run_cli(tmp_path / "whole", *overrides).returncode == 0

    # Killed at step 15: the last checkpoint is step 10.
    killed = run_cli(tmp_path / "resumed", *overrides, env={EXIT_AT_STEP: "15"})
    assert killed.returncode == 3 and not (tmp_path / "resumed" / "metrics.json").exists()
    assert (tmp_path / "resumed" / "checkpoints" / "last.ckpt").exists()

    resumed = run_cli(tmp_path / "resumed", *overrides)
    assert resumed.returncode == 0, resumed.stderr
    whole, again = read_record(tmp_path / "whole"), read_record(tmp_path / "resumed")
    assert again["timing"]["resumed_from_step"] == 10 and whole["timing"]["resumed_from_step"] is None
    assert without_timing(again) == without_timing(whole)
    whole_losses, resumed_losses = (
        EventAccumulator(str(tmp_path / d), size_guidance={"scalars": 0}) for d in ("whole", "resumed")
    )
    for events in (whole_losses, resumed_losses):
        events.Reload()
    # The killed run logged steps 10-14 too; the resumed run's later values for those steps are what count.
    assert {e.step: e.value for e in resumed_losses.Scalars("train/loss")} == {
        e.step: e.value for e in whole_losses.Scalars("train/loss")
    }


def test_an_exploding_run_ends_diverged_with_exit_code_zero(tmp_path):
    # SMALL without its seq_len (EXPLODING sets 30)
    result = run_cli(tmp_path, *SMALL[:1], *SMALL[2:], "max_steps=30", *EXPLODING)
    assert result.returncode == 0, result.stderr
    record = read_record(tmp_path)
    assert record["status"] == "diverged" and record["final"]["train/loss"] is None


# One value the lab's checks refuse (each check's message is tested in-process, tests/training/test_run.py) and the
# two ways Hydra refuses a command line.
@pytest.mark.parametrize(
    "override,expected",
    [
        ("num_layers=0", "num_layers=0 is invalid; allowed: an integer >= 1"),
        ("model=nope", "model=nope is not a choice of the model group; allowed: "),
        ("hiden_size=3", "hiden_size is not a key of the lab's configuration (did you mean hidden_size?)"),
        ("seed=4294967296", "seed=4294967296 is invalid; allowed: an integer in [0, 4294967295]"),
        ("lr=${nope}", "lr: Interpolation key 'nope' not found"),
        ("scheduler=step scheduler.step_size=0", "scheduler.step_size=0 is invalid; allowed: an integer >= 1"),
        (
            "callbacks.grad_norms.every_n_steps=0",
            "callbacks.grad_norms: GradNorms.every_n_steps=0 is invalid; allowed: an integer >= 1",
        ),
    ],
)
def test_bad_configuration_gives_one_clear_error_and_no_results(override, expected, tmp_path):
    result = run_cli(tmp_path, *override.split())
    assert result.returncode != 0 and expected in result.stderr
    assert "Traceback (most recent call last)" not in result.stderr and len(result.stderr.splitlines()) <= 20
    assert not (tmp_path / "metrics.json").exists() and not list(tmp_path.glob("events.*"))


def test_the_users_own_warning_is_shown_once(tmp_path):
    """nn.RNN's warning about dropout on one layer is the user's concern: shown, and once, though the configuration
    checks build the model too (a stand-in, on the meta device)."""
    result = run_cli(tmp_path, *SMALL, "max_steps=2", "dropout=0.5", "num_layers=1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (result.stdout + result.stderr).count("non-zero dropout expects num_layers greater than 1") == 1
