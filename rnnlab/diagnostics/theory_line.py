"""The mean-field theory's line for a run: its configuration's init and a batch's inputs -> the predicted
gradient profile (rnnlab.theory), and the measured one beside it, from the lab's own probe.

The prediction is for the initial weights: callbacks draw it at step 0 only and say "trained weights" after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab.diagnostics.probe import probe
from rnnlab.errors import invalid
from rnnlab.record import tags
from rnnlab.theory import Outside, Prediction, Setup, predict, setup_for


@dataclass(frozen=True)
class InitSpec:
    """The configuration's initial-weight keys (conf/config.yaml), which the weights alone cannot tell apart."""

    init: str = "torch"
    init_scale: float = 1.0
    init_input_scale: float | None = None
    init_bias_scale: float = 0.0


def setup_of(rnn, spec: InitSpec) -> Setup | Outside:
    """The theory's (σ_w, σ_in, σ_b, φ) for network `rnn` initialised by `spec`, or why it has none."""
    return setup_for(
        spec.init,
        spec.init_scale,
        rnn.hidden_size,
        rnn.input_size,
        rnn.nonlinearity,
        spec.init_input_scale,
        spec.init_bias_scale,
        rnn.bias,
        rnn.num_layers,
        rnn.bidirectional,
    )


def input_mean_squares(batch: dict) -> np.ndarray:
    """m_{b,t} = mean_j x_{b,t,j}²: the inputs' statistics the variance map reads, measured from the task's batch."""
    return batch["x"].detach().double().pow(2).mean(dim=-1).cpu().numpy()


def loss_steps(batch: dict, readout: str) -> np.ndarray | None:
    """(B, T) bool: the steps whose output the task's loss reads (None: each sequence's last, all of length T)."""
    x, lengths = batch["x"], batch.get("lengths")
    steps = np.zeros(x.shape[:2], dtype=bool)
    if readout == "every_step":
        mask = batch.get("mask")
        if mask is not None:
            return mask.cpu().numpy().astype(bool)
        steps[:] = True
        if lengths is not None:
            steps &= np.arange(x.size(1))[None, :] < lengths.cpu().numpy()[:, None]
        return steps
    if lengths is None:
        return None
    steps[np.arange(x.size(0)), lengths.cpu().numpy() - 1] = True
    return steps


def predicted(pl_module, batch: dict, spec: InitSpec) -> tuple[Prediction | None, Setup | Outside]:
    """The theory's prediction for this module's initial weights on `batch`, or (None, why not)."""
    setup = setup_of(pl_module.rnn, spec)
    if isinstance(setup, Outside):
        return None, setup
    readout = getattr(pl_module, "readout", "last")
    return predict(input_mean_squares(batch), setup, loss_steps(batch, readout)), setup


def measured_log10_profile(pl_module, batch: dict) -> np.ndarray:
    """log10 ‖dL/dh_t‖ of layer 0 at every step, from the lab's probe (float64 where the module is)."""
    result = probe(pl_module, batch, with_grads=True)
    assert result.grads is not None  # with_grads=True
    norms = result.grads[0].detach().double().pow(2).sum(dim=(0, 2)).sqrt().cpu().numpy()
    with np.errstate(divide="ignore"):
        return np.log10(norms)


class TheoryLine:
    """The prediction GradThroughTime logs beside its measurement: computed once, for the initial weights, from
    the first batch it probes; the line is drawn on the step-0 profile only (later weights are trained)."""

    def __init__(self, spec: dict) -> None:
        known = set(InitSpec.__dataclass_fields__)
        unknown = sorted(set(spec) - known)
        if unknown:
            raise invalid("GradThroughTime.theory", unknown[0], f"keys among {', '.join(sorted(known))}")
        self.spec = InitSpec(**spec)
        self.prediction: Prediction | None = None
        self.setup: Setup | Outside | None = None

    def scalars(self, pl_module, batch: dict, measured: dict[str, float], step: int) -> dict[str, float]:
        """The predicted log10 ratio and per-step rate of layer 0 (nothing where the theory does not apply); at
        step 0 also the predicted norm at each of `measured`'s steps (its `t{t}` keys), anchored at the measured
        last step, under `grad_h/layer0/theory_t{t}`: the line a sweep report draws beside the measured one."""
        if self.setup is None:
            self.prediction, self.setup = predicted(pl_module, batch, self.spec)
        if self.prediction is None:
            return {}
        out = {
            tags.grad_h_theory_log10_ratio(0): self.prediction.log10_ratio,
            tags.grad_h_theory_log10_rate(0): self.prediction.log10_rate,
        }
        steps = {key: int(key[1:]) for key in measured if key[:1] == "t" and key[1:].isdigit()}
        if step == 0 and steps:
            last = measured[max(steps, key=lambda key: steps[key])]
            for key, t in steps.items():
                out[tags.grad_h_theory_norm(0, key)] = last * 10.0 ** float(self.prediction.profile[t])
        return out

    def line(self, step: int) -> tuple[np.ndarray | None, str | None]:
        """(the predicted profile relative to the last step, or None; a note to print on the figure, or None)."""
        if isinstance(self.setup, Outside):
            return None, f"no theory line: {self.setup.reason}"
        if self.prediction is None:
            return None, None
        if step != 0:
            return None, "no theory line: trained weights (the theory describes the initial weights, step 0)"
        return self.prediction.profile, getattr(self.setup, "caveat", None)
