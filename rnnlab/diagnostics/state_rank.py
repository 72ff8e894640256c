"""How many directions the RNN's final states span across examples: a network whose states are all multiples of
one vector sees one number per example (e.g. the IRNN on non-negative one-channel input: the total ink)."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from rnnlab.diagnostics.base import EveryNSteps, log_scalars
from rnnlab.diagnostics.observed import ObservedModule, observed
from rnnlab.record import tags


def state_rank(states: Tensor) -> dict[str, float]:
    """Of final states (B, H): the effective rank, sigma_2 / sigma_1, and the fraction of units zero on every example.

    Effective rank (Roy & Vetterli 2007): exp of the entropy of the normalised singular values, 1 for a rank-1
    matrix, H for one whose singular values are all equal. Uncentred, in float64: the states as the readout sees them.
    """
    s = torch.linalg.svdvals(states.detach().to("cpu", torch.float64))
    if not bool(torch.isfinite(s).all()) or s.sum() == 0:
        return {"effective_rank": 0.0, "sigma2_over_sigma1": 0.0, "dead_fraction": 1.0}
    p = s / s.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return {
        "effective_rank": float(entropy.exp()),
        "sigma2_over_sigma1": float(s[1] / s[0]) if len(s) > 1 else 0.0,
        "dead_fraction": float((states.detach().abs().amax(dim=0) == 0).double().mean()),
    }


def final_states(pl_module: ObservedModule, batch: dict[str, Tensor]) -> Tensor:
    """The RNN's output at each sequence's last real step (B, D * H), as the readout sees it."""
    output = pl_module.rnn_output(batch)
    lengths = batch.get("lengths")
    if lengths is None:
        return output[:, -1]
    return output[torch.arange(output.size(0), device=output.device), lengths.to(output.device) - 1]


class StateRank(EveryNSteps):
    """Log `state/effective_rank`, `state/sigma2_over_sigma1` and `state/dead_fraction` of the final states of the
    current training batch every `every_n_steps` steps (step 0: the states at initialisation)."""

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if not self.due(trainer):
            return
        with torch.no_grad():
            stats = state_rank(final_states(observed(pl_module), batch))
        log_scalars(trainer, {tags.state_rank(name): value for name, value in stats.items()}, trainer.global_step)
