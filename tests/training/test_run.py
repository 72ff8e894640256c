"""The experiment in-process: the real config composed with Hydra's compose API, the LightningModule's readout and
loss, reproducibility, agreement of the implementations in training, and refusal of bad configuration."""

import json
import math
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException, MissingConfigException
from hydra.utils import get_class, instantiate
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

from rnnlab.config import CONF_DIR
from rnnlab.models import IMPLEMENTATIONS
from rnnlab.tasks import TASKS
from rnnlab.training.checks import ConfigError
from rnnlab.training.module import RNNModule
from rnnlab.training.run import train
from tests.helpers import compose_run

# Every step logged: these tests compare losses step by step (the default logs every 10th).
TINY = [
    "hidden_size=8",
    "batch_size=8",
    "task.train_batches=5",
    "task.val_batches=2",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
]


def tiny_seq_len(task: str) -> str:
    return f"seq_len={max(10, TASKS[task].min_seq_len)}"


def without_timing(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "timing"}


def logged_train_losses(run_dir: Path) -> list[tuple[int, float]]:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars("train/loss")]


# ---- the config tree ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(IMPLEMENTATIONS))
def test_every_implementation_has_a_model_config_that_builds_it(name, tmp_path):
    cfg = compose_run(tmp_path, [f"model={name}"])
    assert get_class(cfg.model._target_) is IMPLEMENTATIONS[name]


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_has_a_task_config_that_builds_it(name, tmp_path):
    cfg = compose_run(tmp_path, [f"task={name}"])
    assert get_class(cfg.task._target_) is TASKS[name]


def test_model_configs_exist_for_all_five_models():
    assert {p.stem for p in (CONF_DIR / "model").glob("*.yaml")} >= {
        "torch",
        "myrnn",
        "concat",
        "stacked",
        "bidirectional",
    }


def test_top_level_keys_reach_the_groups(tmp_path):
    cfg = compose_run(
        tmp_path,
        [
            "model=stacked",
            "num_layers=3",
            "hidden_size=7",
            "nonlinearity=relu",
            "seq_len=12",
            "lr=0.5",
            "seed=4",
            "grad_clip=2.5",
            "optimizer=sgd",
        ],
    )
    assert (cfg.model.num_layers, cfg.model.hidden_size, cfg.model.nonlinearity) == (3, 7, "relu")
    assert (cfg.task.seq_len, cfg.task.seed, cfg.optimizer.lr) == (12, 4, 0.5)
    assert cfg.trainer.gradient_clip_val == 2.5 and cfg.model.cell == "torch"


def test_model_bidirectional_turns_bidirectional_on_unless_told_otherwise(tmp_path):
    assert compose_run(tmp_path, []).model.bidirectional is False
    cfg = compose_run(tmp_path, ["model=bidirectional"])
    assert cfg.bidirectional is True and cfg.model.bidirectional is True
    cfg = compose_run(tmp_path, ["model=bidirectional", "bidirectional=false"])
    assert cfg.bidirectional is False and cfg.model.bidirectional is False


# ---- every model on every task ---------------------------------------------------------------------------

VARIANTS = {"plain": [], "bidirectional": ["bidirectional=true"], "three_layers": ["num_layers=3"]}


def pairwise(models: list[str], tasks: list[str], variants: list[str]) -> list[tuple[str, str, str]]:
    """Every model x task pair once, the variant rotating so every (model, variant) and (task, variant) pair occurs.

    A variant changes the network's shape, not how a model meets a task, so the full product (75 runs) proves no
    more than these 25: each model and each task still runs in every variant.
    """
    return [(m, t, variants[(i + j) % len(variants)]) for i, m in enumerate(models) for j, t in enumerate(tasks)]


COMBINATIONS = pairwise(sorted(IMPLEMENTATIONS), sorted(TASKS), sorted(VARIANTS))


def test_the_combinations_cover_every_pair():
    pairs = [
        {(m, t) for m, t, _ in COMBINATIONS},
        {(m, v) for m, _, v in COMBINATIONS},
        {(t, v) for _, t, v in COMBINATIONS},
    ]
    assert [len(p) for p in pairs] == [
        len(IMPLEMENTATIONS) * len(TASKS),
        len(IMPLEMENTATIONS) * len(VARIANTS),
        len(TASKS) * len(VARIANTS),
    ]
    assert len(COMBINATIONS) == len(IMPLEMENTATIONS) * len(TASKS)


@pytest.mark.parametrize("model,task,variant", COMBINATIONS)
def test_fast_dev_run_every_model_on_every_task(model, task, variant, tmp_path):
    cfg = compose_run(
        tmp_path,
        [f"model={model}", f"task={task}", tiny_seq_len(task), *TINY, "trainer.fast_dev_run=true", *VARIANTS[variant]],
    )
    train(cfg)
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "completed" and record["steps"] == 1
    assert math.isfinite(record["final"]["val/loss"]) and math.isfinite(record["final"]["train/loss"])
    assert record["baseline"] == pytest.approx(instantiate(cfg.task).baseline)  # the configured task's own
    assert f"model={model}" in record["overrides"] and record["choices"]["model"] == model


# ---- the module's readout and loss ----------------------------------------------------------------------


class FakeTask:
    """Just the class attributes RNNModule reads from a task."""

    def __init__(self, kind, readout, input_size, output_size, baseline=1.0):
        self.kind, self.readout, self.input_size, self.output_size = kind, readout, input_size, output_size
        self.baseline = baseline


def make_module(task, bidirectional=False, num_layers=1):
    rnn = instantiate(
        {
            "_target_": "rnnlab.models.torch_rnn.TorchRNN",
            "_partial_": True,
            "hidden_size": 5,
            "num_layers": num_layers,
            "bidirectional": bidirectional,
        }
    )
    optimizer = instantiate({"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1})
    return RNNModule(rnn, task, optimizer, init="normal", init_scale=0.5, seed=3).double()


def reference_outputs(module, x, lengths):
    """Each sequence run alone through an nn.RNN holding the module's weights, cut at its own length."""
    reference = nn.RNN(
        module.rnn.input_size,
        module.rnn.hidden_size,
        module.rnn.num_layers,
        batch_first=True,
        bidirectional=module.rnn.bidirectional,
    ).double()
    reference.load_state_dict(module.rnn.torch_state_dict())
    return [reference(x[b, : lengths[b]])[0] for b in range(x.size(0))]  # each (length_b, D * H)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_readout_uses_each_sequence_own_last_step(bidirectional):
    module = make_module(FakeTask("regression", "last", 3, 2), bidirectional, num_layers=2)
    x = torch.randn(4, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([6, 2, 4, 1])
    x[torch.arange(6).unsqueeze(0) >= lengths.unsqueeze(1)] = 0.0
    batch = {"x": x, "y": torch.randn(4, 2, dtype=torch.float64), "lengths": lengths}
    output = module.rnn_output(batch)
    assert output.shape == (4, 6, module.rnn.num_directions * 5)
    references = reference_outputs(module, x, lengths)
    for b, reference in enumerate(references):
        torch.testing.assert_close(output[b, : lengths[b]], reference, rtol=0, atol=1e-12)
        assert torch.all(output[b, lengths[b] :] == 0)
    last = torch.stack([r[-1] for r in references])
    expected = ((module.head(last) - batch["y"]) ** 2).mean()
    torch.testing.assert_close(module.loss_from_rnn_output(output, batch), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(module.training_step(batch, 0), expected, rtol=0, atol=1e-12)


def test_every_step_classification_scores_only_the_masked_positions():
    module = make_module(FakeTask("classification", "every_step", 2, 3))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 2, dtype=torch.float64, generator=g)
    y = torch.randint(0, 3, (2, 5), generator=g)
    mask = torch.tensor([[False, False, True, True, True], [False, True, False, False, True]])
    batch = {"x": x, "y": y, "mask": mask}
    logits = module.head(module.rnn_output(batch))
    terms = [-torch.log_softmax(logits[b, t], -1)[y[b, t]] for b in range(2) for t in range(5) if mask[b, t]]
    expected = torch.stack(terms).mean()
    torch.testing.assert_close(
        module.loss_from_rnn_output(module.rnn_output(batch), batch), expected, rtol=0, atol=1e-12
    )


def test_every_step_with_lengths_and_no_mask_scores_the_valid_steps():
    module = make_module(FakeTask("regression", "every_step", 2, 1))
    x = torch.randn(2, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lengths = torch.tensor([4, 2])
    x[1, 2:] = 0.0
    y = torch.randn(2, 4, 1, dtype=torch.float64)
    batch = {"x": x, "y": y, "lengths": lengths}
    prediction = module.head(module.rnn_output(batch))
    expected = torch.cat([(prediction[0] - y[0]) ** 2, (prediction[1, :2] - y[1, :2]) ** 2]).mean()
    torch.testing.assert_close(
        module.loss_from_rnn_output(module.rnn_output(batch), batch), expected, rtol=0, atol=1e-12
    )


def test_optimizer_and_scheduler_come_from_the_config(tmp_path):
    cfg = compose_run(tmp_path, ["optimizer=rmsprop", "scheduler=cosine", "lr=0.02", "max_steps=40"])
    task = instantiate(cfg.task)
    module = RNNModule(instantiate(cfg.model), task, instantiate(cfg.optimizer), instantiate(cfg.scheduler))
    configured = module.configure_optimizers()
    assert isinstance(configured["optimizer"], torch.optim.RMSprop)
    assert configured["optimizer"].param_groups[0]["lr"] == 0.02
    scheduler = configured["lr_scheduler"]["scheduler"]
    assert isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) and scheduler.T_max == 40


# ---- reproducibility and agreement ---------------------------------------------------------------------

SHORT = [
    "seq_len=10",
    "task.train_batches=10",
    *TINY[:1],
    "batch_size=16",
    "task.val_batches=2",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
]


def test_same_overrides_twice_give_identical_metrics(tmp_path):
    records = []
    for run in ("a", "b"):
        train(compose_run(tmp_path / run, [*SHORT, "max_steps=25"]))
        records.append(json.loads((tmp_path / run / "metrics.json").read_text()))
    assert records[0]["status"] == "completed" and records[0]["steps"] == 25
    assert records[0]["final"]["val/loss"] < 1.0 and records[0]["timing"]["wall_time_s"] > 0
    assert without_timing(records[0]) == without_timing(records[1])


def test_the_default_run_records_learning_against_the_baseline(tmp_path):
    train(compose_run(tmp_path, [*SHORT, "max_steps=20", "checkpoint.every_n_steps=8"]))
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["baseline"] == pytest.approx(2 / 12)
    assert record["best"]["val/loss"] <= record["final"]["val/loss"]
    assert record["best"]["train/loss"] <= record["final"]["train/loss"]
    steps = [
        torch.load(tmp_path / "checkpoints" / name, weights_only=False)["global_step"]
        for name in ("last.ckpt", "previous.ckpt")
    ]
    assert steps == [16, 8]  # every 8 optimizer steps, the one before kept


def _train_losses(tmp_path, model, steps):
    run_dir = tmp_path / model
    train(compose_run(run_dir, [*SHORT, f"model={model}", f"max_steps={steps}", "lr=0.01"]))
    losses = logged_train_losses(run_dir)
    assert [step for step, _ in losses] == list(range(steps))
    return [value for _, value in losses]


@pytest.fixture(scope="module")
def torch_losses(tmp_path_factory):
    """nn.RNN's 30 logged training losses: the reference every implementation is compared with, trained once."""
    return _train_losses(tmp_path_factory.mktemp("reference"), "torch", 30)


@pytest.mark.parametrize("model", [m for m in ("myrnn", "stacked") if m in IMPLEMENTATIONS])
def test_implementations_agree_in_training(model, torch_losses, tmp_path):
    losses = _train_losses(tmp_path, model, 30)
    assert max(abs(a - b) for a, b in zip(torch_losses, losses)) < 1e-4
    assert torch_losses[-1] < torch_losses[0]  # it trained: the agreement is not of constants


@pytest.mark.parametrize("model", [m for m in ("concat",) if m in IMPLEMENTATIONS])
def test_concat_agrees_at_the_first_step(model, torch_losses, tmp_path):
    losses = _train_losses(tmp_path, model, 2)  # the first loss is taken before any update, whatever max_steps
    assert abs(torch_losses[0] - losses[0]) < 1e-6


# ---- divergence and bad configuration --------------------------------------------------------------------

# ReLU with W_hh ~ N(0, 10^2): the state grows ~30x a step, past float32's range within seq_len 30.
EXPLODING = ["nonlinearity=relu", "init=normal", "init_scale=10", "optimizer=sgd", "lr=1", "grad_clip=null"]


def test_an_exploding_run_ends_diverged(tmp_path):
    best = train(compose_run(tmp_path, [*SHORT[1:], "seq_len=30", *EXPLODING, "max_steps=30"]))
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "diverged" and best == math.inf
    assert record["diverged_at_step"] is not None and record["steps"] <= record["diverged_at_step"] + 1
    assert record["final"]["train/loss"] is None  # non-finite, written as null


BAD = [
    ("num_layers=0", "num_layers=0"),
    ("hidden_size=0", "hidden_size=0"),
    ("nonlinearity=sigmoid", "nonlinearity='sigmoid' is invalid; allowed: one of tanh, relu"),
    ("init=xavier", "init='xavier' is invalid; allowed: one of normal, uniform, orthogonal, identity, torch, gaussian"),
    (
        "init=normal init_input_scale=2",
        "init_input_scale=2 is invalid; allowed: null, or a number in [0, 3.403e+38] with",
    ),
    (
        "init=torch init_bias_scale=0.1",
        "init_bias_scale=0.1 is invalid; allowed: a number in [0, 3.403e+38]; other than",
    ),
    ("init=gaussian init_bias_scale=-1", "init_bias_scale=-1 is invalid"),
    ("init_scale=-1", "init_scale=-1"),
    ("init_scale=-0.5", "init_scale=-0.5 is invalid; allowed: a number in [0, 3.403e+38]"),
    ("seq_len=1", "seq_len=1 is invalid; allowed: task 'adding' needs an integer >= 2"),
    ("lr=0", "lr=0 is invalid; allowed: a number > 0"),
    ("lr=-0.1", "lr=-0.1"),
    ("dropout=2", "dropout=2"),
    ("num_layers=two", "num_layers='two'"),
    # the task's and the model's own argument checks, raised while building them, also before training
    ("task=lookahead task.offset=0", "task.offset=0 is invalid; allowed: a non-zero integer"),
    ("task=copy_memory task.copy_len=0", "task.copy_len=0 is invalid; allowed: an integer >= 1"),
    ("model=base", "model='base' is invalid; allowed: one of bidirectional, concat, myrnn, stacked, torch"),
    ("task=base", f"task='base' is invalid; allowed: one of {', '.join(sorted(TASKS))}"),
    (
        "model=stacked model.cell=foo",
        "model: cell: unknown or not a single network: 'foo'; allowed: torch, myrnn, concat",
    ),
    ("model=bidirectional model.cell=torch2", "model: cell: unknown or not a single network: 'torch2'"),
    ("model=myrnn model.loop_order=diagonal", "model: loop_order must be one of ('time', 'layer'), got 'diagonal'"),
    ("model=concat model.backward=manual model.loop_order=time", "model: backward='manual' runs a whole layer"),
    # minimums that depend on the task's arguments, and the optimizer's and scheduler's own checks
    (
        "task=lookahead task.offset=-3 seq_len=3",
        "seq_len=3 is invalid; allowed: task 'lookahead' needs an integer >= 4",
    ),
    ("task=xor task.num_marked=5 seq_len=4", "seq_len=4 is invalid; allowed: task 'xor' needs an integer >= 5"),
    ("optimizer=sgd optimizer.momentum=0 +optimizer.nesterov=true", "optimizer: Nesterov momentum requires a momentum"),
    ("scheduler=cosine scheduler.T_max=0", "scheduler.T_max=0 is invalid; allowed: an integer >= 1"),
    # a constructor's KeyError (its message, not its repr), Hydra's two-line "Error loading", a direct optimizer.lr
    ("scheduler=step +scheduler.last_epoch=5", "scheduler: param 'initial_lr' is not specified in param_groups[0]"),
    ("model._target_=nope.Nope", "model: Error loading 'nope.Nope': ModuleNotFoundError(\"No module named 'nope'\")"),
    ("optimizer.lr=abc", "optimizer.lr='abc' is invalid; allowed: a number > 0"),
    # checked on the model's own parameters: Muon takes matrices only, and the RNN has bias vectors
    ("optimizer._target_=torch.optim.Muon", "optimizer: Muon only supports 2D parameters"),
    # values that once failed with a traceback, some inside fit, one in native code
    ("seed=4294967296", "seed=4294967296 is invalid; allowed: an integer in [0, 4294967295]"),
    ("hidden_size=100000000", "hidden_size=100000000 is invalid; allowed: a network that fits in this machine's"),
    ("lr=${nope}", "lr: Interpolation key 'nope' not found"),
    ("optimizer=sgd optimizer.momentum=-1", "optimizer.momentum=-1 is invalid; allowed: a number >= 0"),
    ("optimizer.weight_decay=-1", "optimizer.weight_decay=-1 is invalid; allowed: a number >= 0"),
    ("scheduler=step scheduler.step_size=0", "scheduler.step_size=0 is invalid; allowed: an integer >= 1"),
    (
        "callbacks.grad_norms.every_n_steps=0",
        "callbacks.grad_norms: GradNorms.every_n_steps=0 is invalid; allowed: an integer >= 1",
    ),
    ("trainer.accelerator=gpu", "trainer.accelerator='gpu' is invalid; allowed: one of cpu, auto"),
    ("init_scale=1e39", "init_scale=1e+39 is invalid; allowed: a number in [0, 3.403e+38] (the run's float32"),
    ("init_scale=1e308", "init_scale=1e+308 is invalid; allowed: a number in [0, 3.403e+38]"),
    (
        "+trainer.precision=16-true init_scale=1e5",
        "init_scale=100000.0 is invalid; allowed: a number in [0, 6.55e+04] (the run's float16 weights)",
    ),
    ("checkpoint.every_n_steps=0", "checkpoint.every_n_steps=0 is invalid; allowed: an integer >= 1"),
]


@pytest.mark.parametrize("override,message", BAD, ids=[o for o, _ in BAD])
def test_bad_values_are_refused_before_training(override, message, tmp_path):
    with pytest.raises(ConfigError) as error:
        train(compose_run(tmp_path, override.split()))
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "metrics.json").exists() and not list(tmp_path.glob("events.*"))
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize(
    "override,error",
    [
        ("model=nope", MissingConfigException),
        ("optimizer=adamw", MissingConfigException),
        ("task=nope", MissingConfigException),
        ("hiden_size=3", ConfigCompositionException),
    ],
)
def test_unknown_choices_and_typos_are_refused_by_hydra(override, error, tmp_path):
    with pytest.raises(error):
        compose_run(tmp_path, [override])
