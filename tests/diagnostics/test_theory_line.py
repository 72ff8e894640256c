"""The theory beside the measurement: GradThroughTime's predicted scalars and line, the sweep report's reading of
them, and the command `python -m rnnlab.theory`."""

from __future__ import annotations

import functools
import glob
import math

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnlab.diagnostics import GradThroughTime
from rnnlab.diagnostics.theory_line import InitSpec, TheoryLine, input_mean_squares, predicted
from rnnlab.models import TorchRNN
from rnnlab.record import tags
from rnnlab.sweeps.theory import draw_theory_line, measured_vs_predicted, theory_line
from rnnlab.tasks.adding import AddingTask
from rnnlab.theory import Setup, predict
from rnnlab.training.module import RNNModule

SPEC = {"init": "gaussian", "init_scale": 1.3, "init_input_scale": None, "init_bias_scale": 0.2}


def _fit(tmp_path, num_layers=1, spec=SPEC, steps=2):
    task = AddingTask(seq_len=9, batch_size=4, seed=0, train_batches=steps)
    rnn = functools.partial(TorchRNN, hidden_size=16, num_layers=num_layers)
    module = RNNModule(
        rnn, task, functools.partial(torch.optim.SGD, lr=0.1), init=spec["init"], init_scale=spec["init_scale"],
        init_bias_scale=spec["init_bias_scale"],
    )  # fmt: skip
    callback = GradThroughTime(every_n_steps=1, num_steps=3, image_every_n_steps=1, theory=spec)
    trainer = L.Trainer(
        max_steps=steps, logger=TensorBoardLogger(tmp_path, name="", version=""), callbacks=[callback],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(module, task.train_dataloader())
    return EventAccumulator(glob.glob(str(tmp_path / "events.*"))[0]).Reload(), task, callback


def test_predicted_scalars_are_the_theorys_for_the_first_batch(tmp_path):
    events, task, callback = _fit(tmp_path)
    batch = task.batch("train", 0)
    expected = predict(input_mean_squares(batch), Setup(1.3, 1.0, 0.2, "tanh"))
    ratio = events.Scalars(tags.grad_h_theory_log10_ratio(0))
    assert [e.step for e in ratio] == [0, 1]  # a reference line beside the measured one
    assert ratio[0].value == pytest.approx(expected.log10_ratio, rel=1e-5)
    assert events.Scalars(tags.grad_h_theory_log10_rate(0))[0].value == pytest.approx(expected.log10_rate, rel=1e-5)
    last = events.Scalars(tags.grad_h_prefix(0) + "t8")[0].value
    first_theory = events.Scalars(tags.grad_h_theory_norm(0, "t0"))
    assert [e.step for e in first_theory] == [0]  # the line: at init only
    assert first_theory[0].value == pytest.approx(last * 10 ** expected.profile[0], rel=1e-4)
    measured = events.Scalars(tags.grad_h_log10_ratio(0))[0].value
    assert events.Scalars(tags.grad_h_log10_rate(0))[0].value == pytest.approx(measured / 8, rel=1e-5)
    assert callback.theory.line(0)[0] is not None and callback.theory.line(1) == (
        None,
        "no theory line: trained weights (the theory describes the initial weights, step 0)",
    )


def test_outside_the_theory_says_so_and_logs_no_prediction(tmp_path):
    events, _, callback = _fit(tmp_path, num_layers=2)
    assert tags.grad_h_theory_log10_ratio(0) not in events.Tags()["scalars"]
    line, note = callback.theory.line(0)
    assert line is None and "num_layers=1" in note


def test_unknown_theory_key_is_refused():
    with pytest.raises(ValueError, match="GradThroughTime.theory"):
        TheoryLine({"init": "gaussian", "sigma": 1.0})


@pytest.mark.parametrize(
    "init,scale,expected",
    [
        ("normal", 0.1, (0.1 * 8, 0.1 * math.sqrt(2), 0.0)),  # hidden 64, input 2: σ_w = s√N, σ_in = s√I
        ("uniform", 0.3, (0.3 * math.sqrt(64 / 3), 0.3 * math.sqrt(2 / 3), 0.0)),
        ("torch", 1.0, (1 / math.sqrt(3), math.sqrt(2 / (3 * 64)), math.sqrt(2 / (3 * 64)))),
        ("orthogonal", 1.2, (1.2, 1.0, 0.0)),
    ],
)
def test_each_scheme_maps_to_the_literatures_parameters_and_matches_its_weights(init, scale, expected):
    """setup_for's σ_w, σ_in, σ_b against the empirical statistics of the weights the scheme actually draws."""
    task = AddingTask(seq_len=5, batch_size=2)
    module = RNNModule(
        functools.partial(TorchRNN, hidden_size=64),
        task,
        functools.partial(torch.optim.SGD, lr=0.1),
        init=init,
        init_scale=scale,
    )
    _, setup = predicted(module, task.batch("train", 0), InitSpec(init, scale))
    assert (setup.sigma_w, setup.sigma_in, setup.sigma_b) == pytest.approx(expected)
    state = {k: v.double() for k, v in module.rnn.torch_state_dict().items()}
    assert math.sqrt(64 * state["weight_hh_l0"].pow(2).mean().item()) == pytest.approx(setup.sigma_w, rel=0.06)
    assert math.sqrt(2 * state["weight_ih_l0"].pow(2).mean().item()) == pytest.approx(setup.sigma_in, rel=0.3)


def test_sweep_report_reads_the_line_back():
    scalars = {
        "a": {
            tags.grad_h_log10_ratio(0): pd.Series([-2.0, -1.0]),
            tags.grad_h_theory_log10_ratio(0): pd.Series([-1.8, -1.8]),
            tags.grad_h_theory_norm(0, "t0"): pd.Series([1e-3]),
            tags.grad_h_theory_norm(0, "t9"): pd.Series([1e-1]),
        },
        "b": {tags.grad_h_log10_ratio(0): pd.Series([0.5])},
    }
    table = measured_vs_predicted(pd.DataFrame({"job": ["a", "b"]}), scalars)
    assert table["difference"].iloc[0] == pytest.approx(-0.2)
    assert list(table["theory"]) == ["mean-field, initial weights", "outside the theory"]
    assert list(theory_line(scalars["a"]).index) == [0, 9]
    ax = Figure().add_subplot()
    assert draw_theory_line(ax, scalars["a"]) and not draw_theory_line(ax, scalars["b"])
    assert np.allclose(ax.lines[0].get_ydata(), [1e-3, 1e-1])


def test_the_command_prints_measured_predicted_and_the_critical_point(tmp_path, capsys):
    from rnnlab.theory.__main__ import main

    plot = tmp_path / "p.png"
    assert main(["init=gaussian", "init_scale=1.0", "hidden_size=32", "seq_len=20", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "measured  log10" in out and "predicted log10" in out and "critical point" in out
    assert "this config is ordered" in out and plot.stat().st_size > 1000
    assert main(["init=normal", "init_input_scale=2"]) == 2
    assert "init_input_scale=2 is invalid" in capsys.readouterr().err
