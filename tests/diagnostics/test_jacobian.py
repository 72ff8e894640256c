"""JacobianSpectrum: the exponents are those of the true product dh_{T-1}/dh_0, for every implementation."""

from __future__ import annotations

import functools
import glob
import math

import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnlab.diagnostics import JacobianSpectrum
from rnnlab.diagnostics.jacobian import direction_states, log10_singular_values, sigma_max
from rnnlab.models import IMPLEMENTATIONS, TorchRNN
from rnnlab.record import tags
from rnnlab.tasks.adding import AddingTask
from rnnlab.training.module import RNNModule


def _module(model="torch", nonlinearity="tanh", hidden=6, scale=1.3, seq_len=7, bidirectional=False):
    task = AddingTask(seq_len=seq_len, batch_size=3, seed=0)
    rnn = functools.partial(
        IMPLEMENTATIONS[model], hidden_size=hidden, nonlinearity=nonlinearity, bidirectional=bidirectional
    )
    module = RNNModule(rnn, task, functools.partial(torch.optim.SGD, lr=0.1), init="gaussian", init_scale=scale)
    return module.double(), task.batch("train", 0)


def _true_product(module, batch, index):
    """dh_{T-1}/dh_0 by autograd: the recurrence re-run from a free h_0 on sequence `index`'s inputs."""
    state = module.rnn.torch_state_dict()
    w_ih, w_hh, b_ih, b_hh = (state[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))
    x = batch["x"][index].double()
    act = torch.tanh if module.rnn.nonlinearity == "tanh" else torch.relu
    h0 = act(x[0] @ w_ih.T + b_ih + b_hh)

    def run(h):
        for t in range(1, x.size(0)):
            h = act(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        return h

    return torch.autograd.functional.jacobian(run, h0)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_exponents_are_the_products_singular_values(nonlinearity):
    module, batch = _module(nonlinearity=nonlinearity)
    ((h, w),) = direction_states(module, batch, 3).values()
    for b in range(3):
        true = torch.log10(torch.linalg.svdvals(_true_product(module, batch, b)))
        got = log10_singular_values(h[b : b + 1], w, nonlinearity)[0]
        assert sigma_max(h[b : b + 1], w, nonlinearity).item() == pytest.approx(true[0].item(), abs=1e-9)
        resolved = true > true[0] - 12  # the rest is rounding noise in both (nan in ours, a zero exactly: -inf)
        assert torch.allclose(got[resolved], true[resolved], atol=1e-8) and got[~resolved].isnan().all()


@pytest.mark.parametrize("model", sorted(IMPLEMENTATIONS))
def test_every_implementation_gives_the_same_spectrum(model):
    bidirectional = model == "bidirectional"
    reference, batch = _module("torch", bidirectional=bidirectional)
    module, _ = _module(model, bidirectional=bidirectional)
    callback = JacobianSpectrum(top_k=3, num_sequences=2)
    expected, _ = callback.spectra(reference, batch)
    got, exponents = callback.spectra(module, batch)
    assert set(got) == set(expected) and len(exponents) == (2 if bidirectional else 1)
    assert all(got[k] == pytest.approx(expected[k], abs=1e-8) for k in got)


def test_callback_writes_scalars_and_image(tmp_path):
    import lightning as L

    module, _ = _module(hidden=5, seq_len=6)
    module = module.float()
    task = AddingTask(seq_len=6, batch_size=3, seed=0, train_batches=2)
    trainer = L.Trainer(
        max_steps=2, logger=TensorBoardLogger(tmp_path, name="", version=""), callbacks=[JacobianSpectrum(1, 2, 1, 1)],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(module, task.train_dataloader())
    events = EventAccumulator(glob.glob(str(tmp_path / "events.*"))[0]).Reload()
    scalars = events.Tags()["scalars"]
    assert tags.jacobian("layer0", "log10_sigma_max") in scalars and tags.jacobian("layer0", "lyapunov1") in scalars
    assert [e.step for e in events.Images(tags.JACOBIAN_IMAGE)] == [0, 1]


@pytest.mark.parametrize("bad", [{"top_k": 0}, {"num_sequences": "2"}, {"image_every_n_steps": 7}])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(ValueError, match="JacobianSpectrum"):
        JacobianSpectrum(**{"every_n_steps": 5, **bad})


def test_top_exponent_tracks_the_gradient_indicator():
    """log10 σ_max of the product bounds the measured first/last gradient ratio of every sequence, and falls short of
    it only by the loss gradient's alignment with the top singular direction: for a direction at random among N,
    about log10 √N (0.9 at N = 64), a fixed amount that per step vanishes as T grows (here T = 40)."""
    from rnnlab.diagnostics.theory_line import measured_log10_profile

    hidden, seq_len = 64, 40
    module, batch = _module(hidden=hidden, scale=1.2, seq_len=seq_len)
    gaps = []
    for index in range(batch["x"].shape[0]):
        single = {k: v[index : index + 1] for k, v in batch.items()}
        ((h, w),) = direction_states(module, single, 1).values()
        measured = measured_log10_profile(module, single)
        top = sigma_max(h, w, "tanh").item()
        assert measured[0] - measured[-1] <= top + 1e-9  # a bound, on every sequence
        gaps.append(top - (measured[0] - measured[-1]))
    alignment = math.log10(math.sqrt(hidden))
    assert 0 <= float(np.median(gaps)) < alignment + 0.5
    assert float(np.median(gaps)) / (seq_len - 1) < 0.04  # per step: the exponent is the indicator's rate
    assert TorchRNN is IMPLEMENTATIONS["torch"]
