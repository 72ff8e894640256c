"""Every value checked before training: trainer.* by rule, unknown keys in any file, unknown choices of any group;
and a refused run leaves nothing behind. In-process where the check is a function, the CLI where the exit and the
directory are the point."""

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from rnnlab.training.checks import ConfigError, check_config
from rnnlab.training.override_checks import refusal
from rnnlab.training.trainer_values import RULES
from tests.helpers import ROOT, compose_run

TINY = ["hidden_size=4", "max_steps=2", "seq_len=5", "task.train_batches=2", "task.val_batches=1"]

# trainer.* values Lightning refuses at construction, mid-fit, or trains on wrongly; the key named in the refusal.
BAD_TRAINER = [
    ("trainer.check_val_every_n_epoch=0", "trainer.check_val_every_n_epoch=0 is invalid; allowed: null or an integer"),
    ("trainer.gradient_clip_val=nan", "trainer.gradient_clip_val=nan is invalid; allowed: null (no clipping)"),
    ("trainer.gradient_clip_val=-1", "trainer.gradient_clip_val=-1 is invalid"),
    ("trainer.max_steps=-5", "trainer.max_steps=-5 is invalid; allowed: an integer >= 1"),
    ("trainer.devices=0", "trainer.devices=0 is invalid; allowed: auto, -1"),
    ("trainer.devices=[]", "trainer.devices=[] is invalid"),
    ("trainer.log_every_n_steps=-1", "trainer.log_every_n_steps=-1 is invalid"),
    ("trainer.gradient_clip_algorithm=max", "trainer.gradient_clip_algorithm='max' is invalid; allowed: null, norm"),
    ("+trainer.limit_val_batches=-1", "trainer.limit_val_batches=-1 is invalid"),
    ("+trainer.limit_val_batches=1.5", "trainer.limit_val_batches=1.5 is invalid"),
    ("+trainer.val_check_interval=0.0", "trainer.val_check_interval=0.0 is invalid"),
    ("+trainer.accumulate_grad_batches=0", "trainer.accumulate_grad_batches=0 is invalid"),
    ("+trainer.num_nodes=0", "trainer.num_nodes=0 is invalid"),
    ("+trainer.precision=17", "trainer.precision=17 is invalid; allowed: one of 64"),
    ("trainer.deterministic=maybe", "trainer.deterministic='maybe' is invalid"),
    ("trainer.fast_dev_run=-1", "trainer.fast_dev_run=-1 is invalid"),
    ("+trainer.barebones=true", "trainer.barebones=True is invalid; allowed: false"),
    ("+trainer.logger=false", "trainer.logger=False is invalid; allowed: nothing: the run sets it"),
    ("+trainer.max_step=3", "trainer.max_step is not an argument of lightning.Trainer"),
]


@pytest.mark.parametrize("override,expected", BAD_TRAINER)
def test_a_bad_trainer_value_is_refused_naming_the_key(override, expected, tmp_path):
    cfg = compose_run(tmp_path, [override])
    with pytest.raises(ConfigError) as refused:
        check_config(cfg)
    assert str(refused.value).startswith(expected), str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "overrides",
    [
        ["trainer.devices=auto"],
        ["trainer.devices=-1"],
        ["trainer.devices=[0]"],
        ["+trainer.val_check_interval=0.5"],
        ["+trainer.val_check_interval=3"],
        ["+trainer.limit_val_batches=2", "+trainer.limit_train_batches=0.5"],
        ["+trainer.precision=64"],
        ["+trainer.precision=bf16-mixed"],
        ["trainer.gradient_clip_val=null", "trainer.log_every_n_steps=0", "trainer.check_val_every_n_epoch=3"],
        ["trainer=gpu", "trainer.accelerator=cpu"],
    ],
)
def test_good_trainer_values_pass(overrides, tmp_path):
    check_config(compose_run(tmp_path, overrides))


def test_the_rules_cover_exactly_lightnings_trainer_arguments():
    """A Lightning release that adds or renames an argument fails here, not in a user's run."""
    import lightning

    arguments = set(inspect.signature(lightning.Trainer.__init__).parameters) - {"self"}
    assert set(RULES) - {"_target_"} == arguments


@pytest.mark.parametrize(
    "kwargs",
    [
        {"devices": 0},
        {"limit_val_batches": -1},
        {"gradient_clip_algorithm": "max"},
        {"num_nodes": 0},
        {"max_steps": -5},
    ],
)
def test_lightning_itself_refuses_what_the_rules_refuse(kwargs):
    """The rules stand for Lightning's own refusals (which come only after its import, as a traceback)."""
    import lightning

    key, value = next(iter(kwargs.items()))
    rule, _ = RULES[key]
    assert not rule(value)
    with pytest.raises(Exception):  # noqa: B017 (Lightning raises MisconfigurationException or ValueError)
        lightning.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, **kwargs)


@pytest.mark.parametrize(
    "key,expected",
    [
        ("hiden_size", "hiden_size is not a key of the lab's configuration (did you mean hidden_size?)"),
        ("checkpoint.every_n_step", "checkpoint.every_n_step is not a key of the lab's configuration (did you mean"),
        ("paths.outptu_dir", "paths.outptu_dir is not a key"),
        ("learning_rate", "learning_rate is not a key of the lab's configuration; allowed: the keys"),
    ],
)
def test_an_unknown_key_a_file_merged_is_refused_naming_it(key, expected, tmp_path):
    """As a config file merged during composition leaves it (the command line's own `+key` is the user's)."""
    cfg = compose_run(tmp_path, [])
    with open_dict(cfg):
        OmegaConf.update(cfg, key, 32, force_add=True)
    with pytest.raises(ConfigError) as refused:
        check_config(cfg)
    assert str(refused.value).startswith(expected), str(refused.value)


def test_a_key_added_outside_the_command_lines_check_is_refused_too(tmp_path):
    """`+tag=...` composed directly (as a caller of compose_config would) meets the unknown-key check: no key a
    command line adds is exempt any more (rnnlab.training.override_checks refuses it before composing)."""
    with pytest.raises(ConfigError, match="^tag is not a key of the lab's configuration"):
        check_config(compose_run(tmp_path, ["+tag=baseline"]))


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml")))
def test_every_lab_experiment_sets_only_known_keys(experiment, tmp_path):
    check_config(compose_run(tmp_path, [f"experiment={experiment}", "hydra.mode=RUN"]))


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["experiment=vanishng_quick"], "experiment=vanishng_quick is not a choice of the experiment group; allowed: "),
        (["hparams_search=optun"], "hparams_search=optun is not a choice of the hparams_search group; allowed: optuna"),
        (["model=nosuchmodel"], "model=nosuchmodel is not a choice of the model group; allowed: bidirectional, "),
        (["task=nosuchtask"], "task=nosuchtask is not a choice of the task group; allowed: adding, "),
        (["optimizer=adamm"], "optimizer=adamm is not a choice of the optimizer group; allowed: adam, rmsprop, sgd"),
        (["scheduler=cosin"], "scheduler=cosin is not a choice of the scheduler group; allowed: cosine, step"),
        (["logger=tensorbord"], "logger=tensorbord is not a choice of the logger group; allowed: tensorboard"),
        (["-m", "model=torch,myrnnn"], "model=myrnnn is not a choice of the model group"),
        (["model=base"], "model=base is not a choice of the model group"),
        (
            ["lr=0.1", "+callbacks=nope"],
            "callbacks=nope is not a choice of the callbacks group; allowed: diagnostics, none",
        ),
    ],
)
def test_an_unknown_choice_of_any_group_is_refused_with_the_real_choices(argv, expected):
    line = refusal(argv)
    assert line is not None and line.startswith(expected), line
    assert "base" not in line.split("allowed:")[1]


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["hiden_size=3"], "hiden_size is not a key of the lab's configuration (did you mean hidden_size?); allowed: "),
        (["-m", "lrr=0.1,0.2"], "lrr is not a key of the lab's configuration (did you mean lr?)"),
        (["checkpoint.every_n_step=3"], "checkpoint.every_n_step is not a key of the lab's configuration (did you"),
        (["paths.outptu_dir=x"], "paths.outptu_dir is not a key of the lab's configuration"),
    ],
)
def test_an_unknown_key_on_the_command_line_is_refused_naming_it(argv, expected):
    line = refusal(argv)
    assert line is not None and line.startswith(expected) and "; allowed: " in line, line


@pytest.mark.parametrize(
    "argv",
    [
        ["+trainer.limit_val_batches=2", "++lr=0.1", "~scheduler"],
        ["checkpoint.every_n_steps=3", "paths.output_dir=x", "optimized_metric=val/acc", "trainer.max_steps=3"],
        ["experiment=vanishing_quick"],
        ["experiment=null", "scheduler=null", "hparams_search=null"],
        ["-m", "model=torch,myrnn", "lr=0.1,0.01"],
        ["model=stacked", "hidden_size=3", "~scheduler"],
        ["hydra/launcher=rnnlab_basic"],
    ],
)
def test_real_choices_pass(argv):
    assert refusal(argv) is None


def user_config_dir(tmp_path: Path, text: str) -> Path:
    """A user's own config directory with the experiment file `mine.yaml` (`text`) and `nested.yaml` (a misspelt
    key under checkpoint)."""
    (tmp_path / "mine" / "experiment").mkdir(parents=True)
    (tmp_path / "mine" / "experiment" / "mine.yaml").write_text("# @package _global_\n" + text)
    nested = "# @package _global_\ncheckpoint:\n  every_n_step: 5\n"
    (tmp_path / "mine" / "experiment" / "nested.yaml").write_text(nested)
    return tmp_path / "mine"


def test_a_users_own_choice_is_a_choice_and_theirs_are_listed(tmp_path):
    mine = user_config_dir(tmp_path, "hidden_size: 8\n")
    assert refusal(["--config-dir", str(mine), "experiment=mine"]) is None
    line = refusal(["--config-dir", str(mine), "experiment=mien"])
    assert line is not None and "allowed: bidirectional" in line and ", mine, names," in line


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m rnnlab.train` run from `cwd`, so Hydra's default outputs/ would land there."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": ""}
    return subprocess.run(
        [sys.executable, "-m", "rnnlab.train", *args, "trainer.enable_progress_bar=false"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# One of each kind of refusal; each must leave the working directory as it found it (no outputs/DATE/TIME).
REFUSALS = {
    "plain value": (["lr=0"], "lr=0 is invalid"),
    "built stand-in": (["task.val_batches=0"], "task.val_batches=0 is invalid"),
    "trainer value": (["trainer.check_val_every_n_epoch=0"], "trainer.check_val_every_n_epoch=0 is invalid"),
    "nested unknown key in a user file": (["experiment=nested"], "checkpoint.every_n_step is not a key"),
    "unknown choice": (["experiment=vanishng_quick"], "experiment=vanishng_quick is not a choice"),
    "unknown optional search": (["hparams_search=optun"], "hparams_search=optun is not a choice"),
    "unknown key on the command line": (["hiden_size=3"], "hiden_size is not a key"),
    "user file's unknown key": (["experiment=mine"], "hiden_size is not a key of the lab's configuration"),
    "unknown key in a group": (["trainer.max_step=3"], "trainer.max_step is not a key of the lab's configuration"),
    "addition nothing reads": (["+init_scal=0.1"], "+init_scal adds a key nothing in the lab reads (did you mean"),
    "deletion of a needed key": (["~init_scale"], "~init_scale deletes a key the lab needs"),
    "sweep with one bad key": (["-m", "lr=0.1,0.2", "optimizer.lrr=0.1,0.2"], "optimizer.lrr is not a key"),
}


@pytest.mark.parametrize("kind", REFUSALS)
def test_a_refused_configuration_is_one_line_exit_2_and_leaves_nothing_behind(kind, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    mine = user_config_dir(tmp_path, "hiden_size: 32\n")
    args, expected = REFUSALS[kind]
    result = cli(work, "--config-dir", str(mine), *args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith("rnnlab: bad configuration: ") and expected in result.stderr
    assert list(work.iterdir()) == []  # no outputs/DATE/TIME with .hydra/ and an empty train.log


@pytest.mark.slow
def test_two_runs_started_in_the_same_second_get_their_own_directories(tmp_path):
    """The issue's `for lr in ...; do python -m rnnlab.train lr=$lr & done`: two directories, two records."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": ""}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rnnlab.train", *TINY, f"lr={lr}", "trainer.enable_progress_bar=false"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lr in (0.0003, 0.03)
    ]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
    runs = sorted((tmp_path / "outputs").glob("*/*"))
    assert len(runs) == 2
    pattern = re.compile(r"\d\d-\d\d-\d\d_\d+-[0-9a-f]{4}")
    assert all(pattern.fullmatch(run.name) for run in runs), runs
    lrs = sorted(__import__("json").loads((run / "metrics.json").read_text())["config"]["lr"] for run in runs)
    assert lrs == [0.0003, 0.03]


def test_the_process_tag_is_fixed_within_a_process_and_differs_between_processes():
    from rnnlab.run_dirs import process_tag

    assert process_tag() == process_tag() and process_tag().startswith(f"{os.getpid()}-")
    code = "from rnnlab.run_dirs import process_tag; print(process_tag())"
    others = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout for _ in range(2)}
    assert len(others) == 2 and process_tag() not in others


def test_a_same_second_default_directory_is_named_by_time_then_process(tmp_path):
    cfg = compose_run(tmp_path, [])

    run_dir = str(cfg.hydra.run.dir)
    assert re.fullmatch(r"outputs/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d_\d+-[0-9a-f]{4}", run_dir), run_dir
    assert re.fullmatch(r"multirun/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d_\d+-[0-9a-f]{4}", str(cfg.hydra.sweep.dir))
