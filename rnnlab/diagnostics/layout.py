"""The CUSTOM SCALARS tab: the diagnostics' charts grouped, one multi-line chart per question."""

from __future__ import annotations

import lightning as L

from rnnlab.diagnostics.base import summary_writer
from rnnlab.diagnostics.observed import ObservedModule


def custom_scalars_layout(num_layers: int) -> dict:
    """The layout for `SummaryWriter.add_custom_scalars`: {category: {chart: ["Multiline", [tag regexes]]}}.

    TensorBoard matches each regex from the start of a tag (`re.match`), so charts fill in with whatever tags a
    run writes, e.g. the time steps of `grad_h/` whatever seq_len is.
    """
    grad_h = {f"layer {k}: |dL/dh_t| over t": ["Multiline", [rf"grad_h/layer{k}/t\d+$"]] for k in range(num_layers)}
    grad_h["log10 first/last (< 0 vanishing, > 0 exploding)"] = ["Multiline", [r"grad_h/layer\d+/log10_first_over_last$"]]
    return {
        "loss": {"loss and baseline": ["Multiline", [r".*loss.*", r".*baseline.*"]]},
        "grad_norm": {"total (before clipping)": ["Multiline", [r"grad_norm/total$"]],
                      "per parameter": ["Multiline", [r"grad_norm/(?!total$).*"]]},
        "grad_h": grad_h,
        "spectrum": {"spectral radius of W_hh": ["Multiline", [r"spectrum/.*/radius$"]],
                     "largest singular value of W_hh": ["Multiline", [r"spectrum/.*/sigma_max$"]]},
        "activations": {"saturated tanh / dead relu": ["Multiline", [r"activations/.*"]]},
    }


class CustomScalarsLayout(L.Callback):
    """Write the custom-scalars layout once, when fitting starts (needs a TensorBoardLogger)."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: ObservedModule) -> None:
        writer = summary_writer(trainer)
        if writer is not None:
            writer.add_custom_scalars(custom_scalars_layout(pl_module.rnn.num_layers))
