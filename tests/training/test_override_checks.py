"""Every command-line override checked against the composed configuration before anything is written: a key that
does not exist (at any depth, in any group), an addition nothing reads, a deletion of what the lab needs — one line
naming the override as written, "did you mean", the allowed keys. In-process (rnnlab.training.override_checks);
tests/training/test_refusals.py runs one of each kind through the CLI (exit 2, nothing written)."""

import pytest
from omegaconf import OmegaConf

import rnnlab
from rnnlab.config import compose_config
from rnnlab.training.checks import ConfigError, check_config
from rnnlab.training.override_checks import check_overrides, refusal
from tests.helpers import ROOT, compose_run

NOT_A_KEY = "is not a key of the lab's configuration"

# (command line, the line's start, a part of what it allows)
REFUSED = [
    # the forms: a misspelt key in a group's section
    (
        "trainer.max_step=3",
        f"trainer.max_step {NOT_A_KEY} (did you mean trainer.max_steps?); allowed: the keys of "
        "trainer (trainer=default): _target_, accelerator",
        "+trainer.KEY=VALUE adds another argument: strategy",
    ),
    (
        "optimizer.lrr=0.1",
        f"optimizer.lrr {NOT_A_KEY} (did you mean optimizer.lr?); allowed: the keys of optimizer "
        "(optimizer=adam): _target_, _partial_, lr, weight_decay",
        "betas",
    ),
    ("task.seq_lenn=3", f"task.seq_lenn {NOT_A_KEY} (did you mean task.seq_len?)", "(task=adding): _target_, seq_len"),
    ("model.hidden=3", f"model.hidden {NOT_A_KEY} (did you mean model.hidden_size?)", "(model=torch): _target_"),
    ("init_scal=3", f"init_scal {NOT_A_KEY} (did you mean init_scale?)", "the keys conf/config.yaml declares: "),
    # variants the issue does not list: two levels deep, an optional group's key, a logger's, Hydra's own
    (
        "callbacks.grad_through_time.theory.init_scal=1",
        f"callbacks.grad_through_time.theory.init_scal {NOT_A_KEY} "
        "(did you mean callbacks.grad_through_time.theory.init_scale?)",
        "(callbacks=diagnostics): init, init_scale",
    ),
    (
        "scheduler=step scheduler.gama=0.5",
        f"scheduler.gama {NOT_A_KEY} (did you mean scheduler.gamma?)",
        "(scheduler=step): _target_, _partial_, step_size, gamma",
    ),
    (
        "logger.tensorboard.nme=x",
        f"logger.tensorboard.nme {NOT_A_KEY} (did you mean logger.tensorboard.name?)",
        "save_dir, name, version",
    ),
    ("hydra.run.dri=x", f"hydra.run.dri {NOT_A_KEY} (did you mean hydra.run.dir?)", "the keys of hydra.run: dir"),
    (
        "checkpoint.every_n_step=3",
        f"checkpoint.every_n_step {NOT_A_KEY} (did you mean checkpoint.every_n_steps?)",
        "the keys conf/config.yaml declares under checkpoint: every_n_steps",
    ),
    (
        "trainer.limit_val_batches=2",
        f"trainer.limit_val_batches {NOT_A_KEY} (did you mean +trainer.limit_val_batches?)",
        "limit_val_batches",
    ),
    # sweeps: a misspelt key in a comma list, a key only some of the swept choices have, a sweeper's own params
    ("-m lr=0.1,0.2 optimizer.lrr=0.1,0.2", f"optimizer.lrr {NOT_A_KEY} (did you mean optimizer.lr?)", "lr"),
    ("-m seed=range(0,3) task.seq_lenn=5", f"task.seq_lenn {NOT_A_KEY}", "seq_len"),
    ("-m model=torch,stacked model.cell=myrnn", f"model.cell {NOT_A_KEY}", "the keys of model (model=torch)"),
    ("-m optimizer=sgd,adam optimizer.momentum=0.5", f"optimizer.momentum {NOT_A_KEY}", "(optimizer=adam)"),
    ("-m experiment=implementations model.cell=torch", f"model.cell {NOT_A_KEY}", "(model=torch)"),
    ("hparams_search=optuna +hydra.sweeper.params.lrr=interval(0.1,1)", f"lrr {NOT_A_KEY} (did you mean lr?)", "lr"),
    ("hparams_search=optuna optimizer.lrr=0.1", f"optimizer.lrr {NOT_A_KEY}", "lr"),
    # additions nothing reads
    ("+foo=1", "+foo adds a key nothing in the lab reads; allowed: the keys conf/config.yaml declares", "+trainer.ARG"),
    ("++foo=2", "++foo adds a key nothing in the lab reads; allowed: ", "hydra.*"),
    ("+init_scal=0.1", "+init_scal adds a key nothing in the lab reads (did you mean init_scale?)", "init_scale"),
    ("+checkpoint.tag=x", "+checkpoint.tag adds a key nothing in the lab reads", "under checkpoint: every_n_steps"),
    ("+notes=baseline", "+notes adds a key nothing in the lab reads (did you mean note?)", "note"),
    ("+callbacks.foo=1", "+callbacks.foo adds a key nothing in the lab reads", "grad_norms, grad_through_time"),
    (
        "+trainer.max_step=3",
        "+trainer.max_step is not an argument of lightning.Trainer (did you mean trainer.max_steps?)",
        "limit_val_batches",
    ),
    (
        "+optimizer.lrr=0.1",
        "+optimizer.lrr is not an argument of torch.optim.Adam (did you mean optimizer.lr?)",
        "betas, eps",
    ),
    (
        "+model.hidden=3",
        "+model.hidden is not an argument of rnnlab.models.torch_rnn.TorchRNN (did you mean model.hidden_size?)",
        "hidden_size",
    ),
    (
        "task=names +task.num_workerz=1",
        "+task.num_workerz is not an argument of rnnlab.tasks.names.NamesTask (did you mean +task.num_workers?)",
        "val_fraction",
    ),  # NamesTask's **kwargs followed to its base task
    (
        "+callbacks.grad_norms.evry=3",
        "+callbacks.grad_norms.evry is not an argument of rnnlab.diagnostics.GradNorms",
        "every_n_steps, norm_type",
    ),
    ("+model.input_size=3", "+model.input_size is an argument the lab passes itself when it builds model", "hidden"),
    ("+lr=0.1", "+lr=0.1 adds lr, which the configuration already has; allowed: lr=0.1 (sets it), or ++lr=0.1", ""),
    # deletions of what the lab needs
    (
        "~init_scale",
        "~init_scale deletes a key the lab needs (conf/config.yaml declares it and the lab reads it); "
        "allowed: init_scale=VALUE; deletions: ~GROUP of an optional group (scheduler, experiment, hparams_search)",
        "",
    ),
    ("~checkpoint.every_n_steps", "~checkpoint.every_n_steps deletes a key the lab needs", ""),
    ("~optimizer.lr", "~optimizer.lr deletes a key the lab needs (the lab sets it from ${lr})", ""),
    ("~model._target_", "~model._target_ deletes a key the lab needs (it says how model is built)", ""),
    (
        "scheduler=step ~scheduler.step_size",
        "~scheduler.step_size deletes a key the lab needs (torch.optim.lr_scheduler.StepLR requires it)",
        "",
    ),
    (
        "~model",
        "~model deletes the model group, which the lab needs; allowed: model=CHOICE, one of bidirectional",
        "scheduler, experiment",
    ),
    ("~foo", f"~foo {NOT_A_KEY}; allowed: the keys conf/config.yaml declares", "init_scale"),
    # an unknown choice, through the same check
    ("model=nosuch", "model=nosuch is not a choice of the model group; allowed: bidirectional, concat", "torch"),
    # null is no choice (Hydra's answer is a ValueError traceback); an optional group is left out with ~GROUP
    (
        "experiment=null",
        "experiment=null is not a choice of the experiment group; allowed: bidirectional",
        "~experiment",
    ),
    ("-m hparams_search=optuna,null", "hparams_search=null is not a choice", "optuna, or ~hparams_search to use none"),
    ("model=null", "model=null is not a choice of the model group; allowed: bidirectional", "stacked, torch"),
]


@pytest.mark.parametrize(("argv", "start", "allows"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_bad_override_is_one_line_naming_it_as_written(argv, start, allows):
    line = refusal(argv.split())
    assert line is not None and line.startswith(start), line
    assert allows in line.split("allowed: ", 1)[-1] and "\n" not in line


def test_a_users_study_that_sweeps_a_misspelt_key_is_refused_before_its_sweep(tmp_path):
    (tmp_path / "experiment").mkdir()
    study = (
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      task.seq_lenn: 10,20\n      model: torch,stacked\n"
    )
    (tmp_path / "experiment" / "mine.yaml").write_text(study)
    line = refusal(["--config-dir", str(tmp_path), "-m", "experiment=mine"])
    assert line is not None and line.startswith(f"task.seq_lenn {NOT_A_KEY} (did you mean task.seq_len?)"), line
    (tmp_path / "experiment" / "mine.yaml").write_text(study.replace("seq_lenn", "seq_len"))
    assert refusal(["--config-dir", str(tmp_path), "-m", "experiment=mine"]) is None
    assert refusal(["--config-dir", str(tmp_path), "-m", "experiment=mine", "model.cell=myrnn"]).startswith(
        f"model.cell {NOT_A_KEY}"
    )  # the study sweeps model=torch too, which has no cell


ALLOWED = [
    "+trainer.limit_val_batches=2 +trainer.precision=64",  # arguments of lightning.Trainer that conf/trainer omits
    "+optimizer.betas=[0.8,0.9] +optimizer.eps=1e-6",  # the constructor's own arguments
    "task=names +task.num_workers=0",
    "+logger.tensorboard.log_graph=false ++callbacks.grad_norms.norm_type=1.0",
    "+callbacks.lr._target_=lightning.pytorch.callbacks.LearningRateMonitor +callbacks.lr.logging_interval=step",
    "+recipes.mine.init=normal recipe=mine",  # recipes are free-form
    "++lr=0.1 ++trainer.log_every_n_steps=5 +init_input_scale=0.5",  # ++ of a key that exists; + of a null one
    "~scheduler ~optimizer.weight_decay ~callbacks.histograms ~logger.tensorboard ~trainer.deterministic",
    "model=stacked model.cell=myrnn",
    "-m model=stacked,bidirectional model.cell=myrnn,concat",
    "-m experiment=implementations model=stacked model.cell=myrnn",
    "hydra.run.dir=/tmp/x hydra.job.chdir=false +hydra.job.env_set.FOO=1 hydra.verbose=true",
    "hparams_search=optuna hydra.sweeper.n_trials=3 +hydra.sweeper.params.task.seq_len=choice(5,10)",
    "hydra/launcher=rnnlab_joblib hydra.launcher.n_jobs=2",
    "lr=0.1 seed=0 checkpoint.every_n_steps=3 paths.output_dir=x",
    "+note=baseline",  # the lab's one key for a label (conf/config.yaml): recorded, read by nothing else
    "-m note=a,b",
]


@pytest.mark.parametrize("argv", ALLOWED)
def test_legitimate_overrides_pass(argv):
    assert refusal(argv.split()) is None


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml")))
def test_every_lab_study_passes_as_a_sweep(experiment):
    assert refusal(["-m", f"experiment={experiment}"]) is None


@pytest.mark.parametrize(
    "choice", ["model=torch", "model=stacked", "model=concat", "task=names", "optimizer=sgd", "scheduler=step"]
)
def test_every_key_of_a_composed_configuration_may_be_set(choice):
    """No false refusal: each key the configuration has (to the leaves, Hydra's aside) is a key of it."""
    cfg = compose_config([choice])
    container = OmegaConf.to_container(cfg, resolve=False)
    del container["hydra"]
    leaves = [f"{key}=null" for key in _leaves(container)]
    assert len(leaves) > 40
    check_overrides([choice, *leaves])


def _leaves(node: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in node.items():
        if isinstance(value, dict) and value:
            out += _leaves(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def test_a_legitimate_addition_and_deletion_compose_and_pass_the_run_checks(tmp_path):
    overrides = ["+trainer.limit_val_batches=1", "+optimizer.betas=[0.8,0.9]", "~optimizer.weight_decay"]
    check_overrides(overrides)
    cfg = compose_run(tmp_path, overrides)
    check_config(cfg)
    assert cfg.trainer.limit_val_batches == 1 and "weight_decay" not in cfg.optimizer


@pytest.mark.parametrize(
    ("overrides", "start"),
    [
        (["optimizer.lrr=0.1"], f"optimizer.lrr {NOT_A_KEY} (did you mean optimizer.lr?)"),
        (["+init_scal=0.1"], "+init_scal adds a key nothing in the lab reads (did you mean init_scale?)"),
        (["~init_scale"], "~init_scale deletes a key the lab needs"),
        (["model=nosuch"], "model=nosuch is not a choice of the model group"),
    ],
)
def test_the_api_raises_the_same_line_and_writes_nothing(overrides, start, tmp_path):
    with pytest.raises(ConfigError) as refused:
        rnnlab.run(overrides, run_dir=tmp_path / "run")
    assert str(refused.value).startswith(start), str(refused.value)
    assert not (tmp_path / "run").exists()


def test_the_theory_command_refuses_with_the_same_line(capsys):
    from rnnlab.theory.__main__ import main

    assert main(["task.seq_lenn=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rnnlab.theory: bad configuration: task.seq_lenn {NOT_A_KEY} (did you mean task.seq_len?)")
    assert len(err.strip().splitlines()) == 1


def test_a_misspelt_trainer_key_or_a_stray_addition_is_answered_without_torch_or_lightning():
    """trainer.* is checked against the rules kept equal to Lightning's signature, not against Lightning itself."""
    import subprocess
    import sys

    code = (
        "import sys; from rnnlab.training.override_checks import refusal; "
        "lines = [refusal(['trainer.max_step=3']), refusal(['+trainer.max_step=3']), refusal(['+foo=1'])]; "
        "print(all(lines), 'torch' in sys.modules, 'lightning' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "False", "False"], out.stderr[-2000:]


def test_a_legitimate_trainer_addition_and_a_deletion_train_through_the_cli(tmp_path):
    """`+trainer.<a Trainer argument conf/trainer omits>`, a deleted callback and a label: the run trains with them."""
    from tests.helpers.cli import read_record, run_cli

    tiny = ["hidden_size=4", "max_steps=2", "seq_len=5", "task.train_batches=2", "task.val_batches=2"]
    extra = ["+trainer.limit_val_batches=1", "~callbacks.histograms", "note=baseline"]
    result = run_cli(tmp_path / "run", *tiny, *extra, "trainer.enable_progress_bar=false")
    assert result.returncode == 0, result.stderr[-2000:]
    record = read_record(tmp_path / "run")
    assert record["status"] == "completed" and record["config"]["trainer"]["limit_val_batches"] == 1
    assert "histograms" not in record["config"]["callbacks"] and record["config"]["note"] == "baseline"
