"""The CUSTOM SCALARS tab: the diagnostics' charts grouped by question, each drawing one line per run.

One line per run keeps a chart readable on a 20-job sweep: a tag family with many members (a norm per parameter,
‖dL/dh_t‖ at eight steps t) is left to the SCALARS tab, which draws one chart per tag, and the gradient profile
through time is an image (IMAGES tab, `grad_h/profile`).
"""

from __future__ import annotations

import re

import lightning as L

from rnnlab.diagnostics.base import summary_writer
from rnnlab.diagnostics.observed import observed
from rnnlab.record import tags


def _exactly(*tag_names: str) -> list[str]:
    return [re.escape(tag) + "$" for tag in tag_names]


def custom_scalars_layout(num_layers: int) -> dict:
    """The layout for `SummaryWriter.add_custom_scalars`: {category: {chart: ["Multiline", [tag regexes]]}}.

    TensorBoard matches each regex from the start of a tag (`re.match`) in every run, so a chart holds a line per
    run for each tag it matches; each chart here matches one tag (the loss charts add the task's baseline, the same
    constant for every run of a task).
    """
    layers = range(num_layers)
    return {
        "loss": {
            "validation loss and the baseline": ["Multiline", _exactly(tags.VAL_LOSS, tags.BASELINE)],
            "training loss and the baseline": ["Multiline", _exactly(tags.TRAIN_LOSS, tags.BASELINE)],
        },
        "gradients": {
            "|dL/dtheta| total, before clipping (spikes: exploding)": ["Multiline", _exactly(tags.GRAD_NORM_TOTAL)],
            **{
                f"layer {k}: log10 |dL/dh_first| / |dL/dh_last| (< 0 vanishing, > 0 exploding)": [
                    "Multiline",
                    # layer 0: the mean-field prediction for the initial weights beside it (docs/theory.md)
                    _exactly(tags.grad_h_log10_ratio(k), *([tags.grad_h_theory_log10_ratio(0)] if k == 0 else [])),
                ]
                for k in layers
            },
        },
        "spectrum": {
            f"layer {k}: spectral radius of W_hh (> 1: a direction grows each step)": [
                "Multiline",
                [re.escape(tags.SPECTRUM) + rf"layer{k}(_reverse)?/radius$"],
            ]
            for k in layers
        },
        "activations": {
            f"layer {k}: saturated tanh / dead relu fraction": [
                "Multiline",
                [re.escape(tags.ACTIVATIONS) + rf"layer{k}/(saturated|dead)_fraction$"],
            ]
            for k in layers
        },
    }


class CustomScalarsLayout(L.Callback):
    """Write the custom-scalars layout once, when fitting starts (needs a TensorBoardLogger)."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = summary_writer(trainer)
        if writer is not None:
            writer.add_custom_scalars(custom_scalars_layout(observed(pl_module).rnn.num_layers))
