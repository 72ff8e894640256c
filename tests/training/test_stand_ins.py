"""The memory check counts the parameters of the network as built (on the meta device), for every implementation."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.training import stand_ins
from tests.helpers import compose_run

OVERRIDES = ["hidden_size=6", "num_layers=2", "bidirectional=true", "bias=false", "task=adding"]


def counted(monkeypatch, tmp_path, overrides) -> int:
    seen = []
    monkeypatch.setattr(stand_ins, "check_memory", lambda cfg, parameters: seen.append(parameters))
    stand_ins.check_stand_ins(compose_run(tmp_path, overrides))
    return seen[0]


@pytest.mark.parametrize("model", ["torch", "myrnn", "concat", "stacked"])
def test_the_count_is_the_built_networks(monkeypatch, tmp_path, model):
    expected = sum(p.numel() for p in torch.nn.RNN(2, 6, num_layers=2, bidirectional=True, bias=False).parameters())
    assert expected == 2 * (6 * (2 + 6)) + 2 * (6 * (12 + 6))  # nn.RNN's own count, by its formula
    assert counted(monkeypatch, tmp_path, [f"model={model}", *OVERRIDES]) == expected


def test_a_network_larger_than_the_memory_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(stand_ins, "memory_bytes", lambda: 10_000)
    cfg = compose_run(tmp_path, ["hidden_size=30"])  # 1 layer, adding (input 2): 30*(2+30)+60 = 1020 x 16 bytes
    with pytest.raises(ConfigError, match=r"^hidden_size=30 is invalid; allowed: a network that fits"):
        stand_ins.check_stand_ins(cfg)
    monkeypatch.setattr(stand_ins, "memory_bytes", lambda: 1020 * stand_ins.BYTES_PER_PARAMETER)
    stand_ins.check_stand_ins(cfg)  # exactly fits
