"""The final states' rank: exact on constructed states, and rank 1 for the IRNN on one non-negative channel."""

import math

import pytest
import torch

from rnnlab.diagnostics.state_rank import final_states, state_rank
from rnnlab.models.init import initialise
from rnnlab.tasks.digits import DigitsTask
from rnnlab.training.build import build_module
from tests.helpers import compose_run


def test_effective_rank_of_constructed_states():
    rank_one = torch.outer(torch.arange(1.0, 9.0), torch.tensor([1.0, 2.0, 0.0, 3.0]))
    stats = state_rank(rank_one)
    assert stats["effective_rank"] == pytest.approx(1.0) and stats["sigma2_over_sigma1"] < 1e-7
    assert stats["dead_fraction"] == 0.25  # the third unit is zero on every example
    equal = torch.eye(4) * 3  # four equal singular values
    assert state_rank(equal)["effective_rank"] == pytest.approx(4.0)
    s = torch.tensor([2.0, 1.0, 1.0])  # exp(entropy of (1/2, 1/4, 1/4)) = 2 * sqrt(2)
    assert state_rank(torch.diag(s))["effective_rank"] == pytest.approx(2 * math.sqrt(2))
    assert state_rank(torch.zeros(3, 2)) == {"effective_rank": 0.0, "sigma2_over_sigma1": 0.0, "dead_fraction": 1.0}


@pytest.mark.parametrize("recipe,rank_one", [("irnn", True), ("orthogonal_tanh", False)])
def test_the_irnn_on_pixels_starts_rank_one(recipe, rank_one, tmp_path):
    """h_t = relu(h_{t-1} + w x_t) with x_t >= 0 and h_0 = 0: h_T = relu(w) * sum_t x_t, a multiple of relu(w)."""
    cfg = compose_run(tmp_path, ["experiment=digits", f"recipe={recipe}", "task.mode=pixels", "batch_size=64"])
    task, module = build_module(cfg)
    assert isinstance(task, DigitsTask)
    batch = task.batch("train", 0)
    with torch.no_grad():
        states = final_states(module, batch)
        stats = state_rank(states)
    if rank_one:
        w = module.rnn.torch_state_dict()["weight_ih_l0"][:, 0]
        total_ink = batch["x"].sum(dim=(1, 2))
        assert torch.allclose(states, torch.outer(total_ink, w.clamp(min=0)), atol=1e-4)
        assert stats["effective_rank"] < 1.001 and stats["sigma2_over_sigma1"] < 1e-5
        assert stats["dead_fraction"] == pytest.approx(float((w <= 0).double().mean()))
    else:
        assert stats["effective_rank"] > 5
    initialise(module.rnn, cfg.init, cfg.init_scale, cfg.seed)  # the module's own init, drawn again: same states
    with torch.no_grad():
        assert torch.equal(final_states(module, batch), states)
