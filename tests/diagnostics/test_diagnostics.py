"""The diagnostics callbacks: the numbers they log are right, they reach TensorBoard, and they change nothing."""

from __future__ import annotations

import copy
import glob
import io
import math
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.diagnostics import (
    Activations,
    CustomScalarsLayout,
    GradNorms,
    GradThroughTime,
    Histograms,
    Spectrum,
    activation_stats,
    probe,
    spectral_stats,
    through_time_norms,
)
from rnnlab.diagnostics.observed import ObservedModule, ObservedRNN
from rnnlab.models import TorchRNN
from rnnlab.models.init import initialise
from rnnlab.record import tags
from rnnlab.tasks import TASKS
from rnnlab.tasks.adding import AddingTask
from rnnlab.tasks.base import scored_steps
from rnnlab.training.build import build_module
from tests.helpers import compose_run


class ContractModule(L.LightningModule):
    """The smallest LightningModule with the contract the diagnostics read (rnnlab/training/module.py provides the real one):
    `rnn`, `head`, `readout`, `rnn_output(batch)` (B, T, D*H) and `loss_from_rnn_output(output, batch)`."""

    readout = "last"

    def __init__(
        self,
        hidden_size=8,
        num_layers=1,
        nonlinearity="tanh",
        bidirectional=False,
        init="torch",
        init_scale=1.0,
        seed=0,
        lr=0.05,
        dropout=0.0,
    ):
        super().__init__()
        self.rnn = TorchRNN(
            2, hidden_size, num_layers, nonlinearity, batch_first=True, dropout=dropout, bidirectional=bidirectional
        )
        initialise(self.rnn, init, init_scale, seed)
        self.head = nn.Linear(hidden_size * self.rnn.num_directions, 1)
        self.lr = lr

    def rnn_output(self, batch):
        x, lengths = batch["x"], batch.get("lengths")
        if lengths is None:
            return self.rnn(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.size(1))[0]

    def loss_from_rnn_output(self, output, batch):
        lengths = batch.get("lengths")
        last = output[:, -1] if lengths is None else output[torch.arange(output.size(0)), lengths - 1]
        return F.mse_loss(self.head(last), batch["y"].to(output.dtype))

    def training_step(self, batch, batch_idx):
        loss = self.loss_from_rnn_output(self.rnn_output(batch), batch)
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def adding_batches(seq_len=12, batch_size=4, count=20, variable_lengths=False, dtype=torch.float32):
    task = AddingTask(seq_len=seq_len, batch_size=batch_size, seed=0)
    batches = []
    for i in range(count):
        batch = task.batch("train", i)
        batch["x"], batch["y"] = batch["x"].to(dtype), batch["y"].to(dtype)
        if variable_lengths:
            g = torch.Generator().manual_seed(i)
            lengths = torch.randint(seq_len // 2, seq_len + 1, (batch_size,), generator=g)
            lengths[0] = seq_len
            batch["x"] = batch["x"] * (torch.arange(seq_len).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
            batch["lengths"] = lengths
        batches.append(batch)
    return batches


def all_callbacks(every=1):
    return [
        GradNorms(every_n_steps=1),
        GradThroughTime(every_n_steps=every, image_every_n_steps=2 * every),
        Spectrum(every_n_steps=every, image_every_n_steps=2 * every),
        Activations(every_n_steps=every),
        Histograms(every_n_steps=every),
        CustomScalarsLayout(),
    ]


def fit(module, batches, callbacks, logger=False, **trainer_kwargs):
    trainer = L.Trainer(
        max_epochs=1,
        logger=logger,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        accelerator="cpu",
        **trainer_kwargs,
    )
    trainer.fit(module, train_dataloaders=torch.utils.data.DataLoader(batches, batch_size=None))
    return trainer


@pytest.fixture(scope="module")
def tensorboard_run(tmp_path_factory):
    """A 20-step run of a 2-layer net with every diagnostic on, read back with TensorBoard's own reader."""
    save_dir = tmp_path_factory.mktemp("tb")
    L.seed_everything(0)
    module = ContractModule(num_layers=2)
    batches = adding_batches(count=20)
    fit(module, batches, all_callbacks(every=5), logger=TensorBoardLogger(save_dir, name="run"))
    (event_dir,) = {p.rsplit("/", 1)[0] for p in glob.glob(f"{save_dir}/run/version_0/events.out.tfevents.*")}
    events = EventAccumulator(
        event_dir, size_guidance={"scalars": 0, "histograms": 0, "tensors": 0, "images": 0}
    ).Reload()
    return module, batches, events


def scalars(events, tag):
    return {e.step: e.value for e in events.Scalars(tag)}


# ---- TensorBoard -----------------------------------------------------------------------------------------------


def test_grad_norm_tags_per_parameter_and_total(tensorboard_run):
    module, _, events = tensorboard_run
    tags = set(events.Tags()["scalars"])
    for name, _ in module.named_parameters():
        assert f"grad_norm/{name}" in tags
    total = scalars(events, "grad_norm/total")
    assert sorted(total) == list(range(20))
    assert all(math.isfinite(v) and v > 0 for v in total.values())


def test_grad_h_spectrum_activation_tags_every_n_steps(tensorboard_run):
    _, _, events = tensorboard_run
    tags = set(events.Tags()["scalars"])
    for k in (0, 1):
        steps = {t for t in tags if t.startswith(f"grad_h/layer{k}/t")}
        assert steps == {f"grad_h/layer{k}/t{t:02d}" for t in (0, 2, 3, 5, 6, 8, 9, 11)}
        for tag in steps | {f"grad_h/layer{k}/first_over_last", f"grad_h/layer{k}/log10_first_over_last"}:
            values = scalars(events, tag)
            assert sorted(values) == [0, 5, 10, 15]
            assert all(math.isfinite(v) for v in values.values())
        assert sorted(scalars(events, f"spectrum/layer{k}/radius")) == [0, 5, 10, 15]
        assert 0 <= scalars(events, f"activations/layer{k}/saturated_fraction")[0] <= 1


def test_histograms_and_custom_scalars_layout(tensorboard_run):
    module, _, events = tensorboard_run
    histograms = set(events.Tags()["histograms"])
    for name, _ in module.named_parameters():
        assert {f"weights/{name}", f"grads/{name}"} <= histograms
    assert [e.step for e in events.Histograms("grads/head.weight")] == [0, 5, 10, 15]
    assert "custom_scalars__config__" in events.Tags()["tensors"]


def test_gradient_profile_and_eigenvalues_are_images_at_every_image_step(tensorboard_run):
    _, _, events = tensorboard_run
    assert set(events.Tags()["images"]) == {
        tags.GRAD_H_PROFILE_IMAGE,
        tags.SPECTRUM_IMAGE,
        tags.GRAD_H_INIT_PROFILE_IMAGE,
    }
    assert [image.step for image in events.Images(tags.GRAD_H_INIT_PROFILE_IMAGE)] == [0]  # initialisation only
    for tag in (tags.GRAD_H_PROFILE_IMAGE, tags.SPECTRUM_IMAGE):
        images = events.Images(tag)
        assert [image.step for image in images] == [0, 10]  # every 2 * 5 steps of 20
        picture = Image.open(io.BytesIO(images[0].encoded_image_string))
        assert picture.format == "PNG" and (picture.width, picture.height) == (images[0].width, images[0].height)
        assert 200 <= picture.height <= 400 and len(set(picture.convert("L").getdata())) > 10  # drawn, not blank


def test_grad_norm_total_is_the_norm_of_all_gradients_before_clipping(tmp_path):
    """The logged total equals the hand-computed norm of all raw gradients, though the Trainer clips them."""
    L.seed_everything(0)
    module = ContractModule()
    batches = adding_batches(count=3)
    expected = []

    class RawGradients(L.Callback):
        def on_before_optimizer_step(self, trainer, pl_module, optimizer):
            grads = [p.grad.flatten() for p in pl_module.parameters()]
            expected.append(torch.cat(grads).norm().item())

    logger = TensorBoardLogger(tmp_path, name="run")
    fit(module, batches, [GradNorms(), RawGradients()], logger=logger, gradient_clip_val=1e-3)
    events = EventAccumulator(logger.log_dir).Reload()
    logged = scalars(events, "grad_norm/total")
    assert [logged[i] for i in range(3)] == pytest.approx(expected, rel=1e-6)
    assert min(expected) > 1e-3  # the clipping did bite, and the logged norms are the ones before it


# ---- the numbers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable_lengths", [False, True])
def test_probe_matches_the_models_own_output_and_gradient(variable_lengths):
    """2 layers, bidirectional, float64: the probe's top output is the model's, and its dL/dh at each sequence's
    last step (where nothing later in time adds to the direct part) is autograd's on the model's own output."""
    torch.manual_seed(0)
    module = ContractModule(hidden_size=5, num_layers=2, bidirectional=True).double()
    (batch,) = adding_batches(seq_len=9, count=1, variable_lengths=variable_lengths, dtype=torch.float64)
    output = module.rnn_output(batch)
    expected = torch.autograd.grad(module.loss_from_rnn_output(output, batch), output)[0]
    result = probe(module, batch)
    torch.testing.assert_close(result.outputs[-1], output.detach(), rtol=0, atol=1e-12)
    rows, last = torch.arange(4), (batch["lengths"] if variable_lengths else torch.full((4,), 9)) - 1
    torch.testing.assert_close(result.grads[-1][rows, last], expected[rows, last], rtol=0, atol=1e-12)
    assert expected[rows, last].abs().min() > 0
    if variable_lengths:  # no gradient in the padding
        assert result.grads[0][torch.arange(9).unsqueeze(0) >= batch["lengths"].unsqueeze(1)].abs().max() == 0
    assert all(p.grad is None for p in module.parameters())  # the probe leaves the model's gradients alone


@pytest.mark.parametrize("t", [0, 3, 7])
def test_probe_gradient_is_the_total_derivative_through_time_and_layers(t):
    """dL/dh_t from nn.RNN itself: run steps 0..t, then continue from h_n as a leaf h0 over steps t+1..T-1.

    The top layer's total derivative is dL/dh0[1] plus the direct part on the output at t; layer 0's adds to
    dL/dh0[0] its path through layer 1 at step t: J^T dL/dh_t^1 with J = diag(1 - (h_t^1)^2) W_ih^1 (tanh).
    """
    torch.manual_seed(0)
    module = ContractModule(hidden_size=4, num_layers=2).double()
    (batch,) = adding_batches(seq_len=9, count=1, dtype=torch.float64)
    rnn = nn.RNN(2, 4, 2, batch_first=True).double()
    rnn.load_state_dict(module.rnn.torch_state_dict())
    head_out, h_t = rnn(batch["x"][:, : t + 1])
    head_out, h_t = head_out.detach().requires_grad_(), h_t.detach().requires_grad_()
    tail_out, _ = rnn(batch["x"][:, t + 1 :], h_t)
    loss = module.loss_from_rnn_output(torch.cat([head_out, tail_out], dim=1), batch)
    d_out, d_h0 = torch.autograd.grad(loss, [head_out, h_t])
    top = d_h0[1] + d_out[:, t]
    jacobian = (1 - h_t[1].detach() ** 2).unsqueeze(-1) * rnn.weight_ih_l1  # (B, H, H): dh_t^1 / dh_t^0
    bottom = d_h0[0] + torch.einsum("bh,bhi->bi", top, jacobian)
    result = probe(module, batch)
    torch.testing.assert_close(result.grads[1][:, t], top, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.grads[0][:, t], bottom, rtol=0, atol=1e-12)


def test_through_time_norms_on_a_known_gradient():
    grad = torch.zeros(2, 5, 3)
    grad[:, 0] = 3.0  # each of 2 x 3 entries: norm sqrt(54)
    grad[0, 4, 0], grad[1, 2, 0] = 2.0, 1.0  # each sequence's own last scored step
    scored = torch.tensor([[False] * 4 + [True], [False, False, True, False, False]])
    norms = through_time_norms(grad, scored, count=3)
    assert set(norms) == {
        "t0", "t2", "t4", "log10_t0", "log10_t2", "log10_t4", "first_over_last", "log10_first_over_last",
        "log10_first_over_last_bound", "log10_rate",
    }  # fmt: skip
    assert norms["t0"] == pytest.approx(math.sqrt(54)) and norms["t2"] == 1.0 and norms["t4"] == 2.0
    assert norms["log10_t0"] == pytest.approx(math.log10(math.sqrt(54)))
    assert norms["first_over_last"] == pytest.approx(math.sqrt(54) / math.sqrt(5))
    assert norms["log10_first_over_last"] == pytest.approx(math.log10(math.sqrt(54 / 5)))
    assert norms["log10_first_over_last_bound"] == 0
    assert norms["log10_rate"] == pytest.approx(math.log10(math.sqrt(54 / 5)) / 3)  # last steps 4 and 2


def test_norms_far_below_float32_are_numbers_and_beyond_float64_are_bounds():
    grad = torch.zeros(1, 4, 2, dtype=torch.float64)
    grad[0, 0, 0], grad[0, 3, 0] = 1e-200, 1.0  # its square (1e-400) underflows; the norm must not
    norms = through_time_norms(grad, None, count=4)
    assert norms["log10_first_over_last"] == pytest.approx(-200) and norms["log10_first_over_last_bound"] == 0
    assert norms["log10_t0"] == pytest.approx(-200) and norms["log10_rate"] == pytest.approx(-200 / 3)
    grad[0, 0, 0] = 0.0  # underflowed even in float64: the ratio is at most the floor's
    norms = through_time_norms(grad, None, count=4)
    assert norms["log10_first_over_last_bound"] == -1
    assert norms["log10_first_over_last"] == pytest.approx(math.log10(torch.finfo(torch.float64).tiny))
    grad[0, 0, 0], grad[0, 3, 0] = 1.0, 0.0  # the last step's norm beyond range: a lower bound
    assert through_time_norms(grad, None, count=4)["log10_first_over_last_bound"] == 1
    grad[0, 0, 0] = 0.0  # both beyond range: nothing is known
    assert math.isnan(through_time_norms(grad, None, count=4)["log10_first_over_last"])


def test_adding_gradient_vanishing_past_float32_is_measured_in_float64():
    """A float32 model whose gradient falls below float32's range (1e-38) over 60 steps: the float64 probe gives
    the number, equal to the one a float64 copy of the model gives, not the float32 floor (-37.9 to -45)."""
    module = ContractModule(hidden_size=16, init="normal", init_scale=0.02)  # float32 weights
    (batch,) = adding_batches(seq_len=60, batch_size=8, count=1)
    ratio = through_time_norms(probe(module, batch).grads[0])["log10_first_over_last"]
    assert ratio < -60
    float32 = through_time_norms(probe(module, batch, dtype=torch.float32).grads[0])
    assert float32["log10_first_over_last_bound"] == -1  # float32 itself could only bound it
    reference = copy.deepcopy(module).double()
    expected = through_time_norms(probe(reference, adding_batches(60, 8, 1, dtype=torch.float64)[0]).grads[0])
    assert ratio == pytest.approx(expected["log10_first_over_last"], abs=1e-3)


def test_lookahead_ratio_is_taken_to_the_last_scored_step(tmp_path):
    """lookahead (offset 2) scores no loss at the last 2 steps: dL/dh there is exactly 0, and a ratio taken to
    step T-1 would read +300 ("exploding"); taken to the last scored step it is the network's, and equals the
    ratio computed by hand from the probe's gradient at step T-3."""
    cfg = compose_run(tmp_path, ["task=lookahead", "seq_len=12", "hidden_size=8"])
    task, module = build_module(cfg)
    batch = task.batch("train", 0)
    grad = probe(module, batch).grads[0]
    assert grad[:, -2:].abs().max() == 0  # the unscored tail
    scored = scored_steps(module.readout, batch, 12)
    norms = through_time_norms(grad, scored)
    expected = math.log10(grad[:, 0].norm().item()) - math.log10(grad[:, 9].norm().item())
    assert norms["log10_first_over_last"] == pytest.approx(expected) and norms["log10_first_over_last_bound"] == 0
    assert abs(norms["log10_first_over_last"]) < 5
    assert through_time_norms(grad, None)["log10_first_over_last_bound"] == 1  # to step T-1: only a bound


@pytest.mark.parametrize("task_name", sorted(TASKS))
@pytest.mark.parametrize("variable_length", [False, True])
def test_scored_steps_are_exactly_where_the_loss_reads_the_output(tmp_path, task_name, variable_length):
    """For every task: the declared scored steps are those where dL/d(output_t) is non-zero, so the indicator's
    last step is the last step that carries loss."""
    if variable_length and not TASKS[task_name].supports_variable_length:
        pytest.skip("fixed-length task")
    overrides = [f"task={task_name}", "seq_len=16", "hidden_size=8"]
    cfg = compose_run(tmp_path, overrides + (["task.variable_length=true"] if variable_length else []))
    task, module = build_module(cfg)
    batch = task.batch("train", 0)
    output = module.rnn_output(batch).detach().requires_grad_()
    (direct,) = torch.autograd.grad(module.loss_from_rnn_output(output, batch), output)
    carries = direct.abs().amax(dim=2) > 0
    assert torch.equal(scored_steps(module.readout, batch, batch["x"].size(1)), carries)
    assert carries.any(dim=1).all()
    norms = through_time_norms(probe(module, batch).grads[0], carries)
    assert norms["log10_first_over_last_bound"] == 0 and math.isfinite(norms["log10_first_over_last"])


def first_over_last(nonlinearity, init, init_scale, seq_len=50):
    module = ContractModule(hidden_size=16, nonlinearity=nonlinearity, init=init, init_scale=init_scale).double()
    (batch,) = adding_batches(seq_len=seq_len, batch_size=8, count=1, dtype=torch.float64)
    return through_time_norms(probe(module, batch).grads[0], None)["first_over_last"]


def test_vanishing_and_exploding_configurations():
    assert first_over_last("tanh", "normal", 0.01) < 1e-20
    assert first_over_last("relu", "identity", 1.5) > 1e5
    assert 0.1 < first_over_last("relu", "identity", 1.0) < 10  # IRNN: the gradient is carried nearly intact


def test_spectral_radius_and_largest_singular_value():
    assert spectral_stats(0.5 * torch.eye(4)) == pytest.approx({"radius": 0.5, "sigma_max": 0.5})
    rotation_and_shear = torch.tensor([[0.0, -2.0], [0.5, 0.0]])  # eigenvalues ±i, singular values 2 and 0.5
    assert spectral_stats(rotation_and_shear) == pytest.approx({"radius": 1.0, "sigma_max": 2.0})


def test_activation_fractions_respect_padding():
    h = torch.tensor(
        [[[0.0, 0.5], [0.0, 0.0], [9.0, 9.0]], [[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]]]
    )  # (B=2, T=3, units=2); sequence 0 has length 2
    mask = torch.tensor([[True, True, False], [True, True, True]])
    assert activation_stats(h, mask, "relu") == pytest.approx({"dead_fraction": 6 / 10, "dead_units": 1 / 2})
    saturated = torch.tensor([[[0.995, -0.999], [0.5, 0.0]]])
    assert activation_stats(saturated, None, "tanh") == {"saturated_fraction": 0.5}


def test_the_real_and_the_test_module_offer_what_the_diagnostics_read(tmp_path):
    _, real = build_module(compose_run(tmp_path, ["model=concat", "bidirectional=true"]))
    for module in (real, ContractModule()):
        assert isinstance(module, ObservedModule) and isinstance(module.rnn, ObservedRNN)
    assert not isinstance(nn.Linear(2, 2), ObservedModule) and not isinstance(nn.RNN(2, 2), ObservedRNN)


def test_a_module_without_the_contract_is_refused_by_name():
    """Lightning hands a hook any LightningModule; a diagnostic that reads the contract says what it is missing."""
    bare = L.LightningModule()
    trainer = SimpleNamespace(global_step=0, lightning_module=bare, loggers=[])
    for callback in (Spectrum(every_n_steps=1), Activations(every_n_steps=1), GradThroughTime(every_n_steps=1)):
        with pytest.raises(
            TypeError, match=r"^the diagnostics observe a module with rnn, readout, .*, got LightningModule$"
        ):
            callback.on_train_batch_start(trainer, bare, {}, 0)
    duck = SimpleNamespace(**{member: None for member in ("rnn", "readout", "rnn_output", "loss_from_rnn_output")})
    with pytest.raises(TypeError, match=r"^probe needs the observed module to be an nn.Module, got SimpleNamespace$"):
        probe(duck, {})


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"^GradThroughTime\.every_n_steps=0 is invalid; allowed: an integer >= 1$"):
        GradThroughTime(every_n_steps=0)
    with pytest.raises(ValueError, match=r"^GradThroughTime\.num_steps=1 is invalid; allowed: an integer >= 2"):
        GradThroughTime(num_steps=1)
    with pytest.raises(ValueError, match=r"^Activations\.saturation=1\.5 is invalid; allowed: a number in \(0, 1\)$"):
        Activations(saturation=1.5)
    with pytest.raises(
        ValueError,
        match=r"^GradThroughTime\.image_every_n_steps=75 is invalid; allowed: 0 \(no images\) "
        r"or a multiple of every_n_steps=50$",
    ):
        GradThroughTime(every_n_steps=50, image_every_n_steps=75)
    with pytest.raises(ValueError, match=r"^Spectrum\.image_every_n_steps=-10 is invalid; allowed: 0 \(no images\)"):
        Spectrum(every_n_steps=10, image_every_n_steps=-10)


# ---- observing without changing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variable_lengths", [False, True])
def test_training_with_diagnostics_equals_training_without(tmp_path, variable_lengths):
    """Same seed, with and without every diagnostic (each due at every step): identical final weights.

    The net has dropout between its layers, so a diagnostic that drew from the global random stream, or left the
    model in eval mode, would change the training.
    """
    final = []
    for callbacks, logger in (([], False), (all_callbacks(every=1), TensorBoardLogger(tmp_path, name="run"))):
        L.seed_everything(0)
        module = ContractModule(num_layers=2, bidirectional=True, dropout=0.5)
        fit(module, adding_batches(count=6, variable_lengths=variable_lengths), callbacks, logger=logger)
        final.append({k: v.clone() for k, v in module.state_dict().items()})
        final.append(torch.rand(3))  # the global random stream continues from the same state
    torch.testing.assert_close(final[0], final[2], rtol=0, atol=0)
    torch.testing.assert_close(final[1], final[3], rtol=0, atol=0)
