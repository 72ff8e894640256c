"""The two theory studies (edge_of_chaos, trainability): their grids come from their YAML, their zero crossings and
depth scales are right, and their committed reports are there."""

import math

import pandas as pd
import pytest

from experiments.edge_of_chaos.figure import _zero_crossing, crossings
from experiments.theory_study import grid_of
from experiments.trainability.__main__ import xi
from rnnlab.theory import chi_star
from tests.helpers import ROOT


def test_grids_are_read_from_the_experiment_yaml():
    full, quick = grid_of("edge_of_chaos"), grid_of("edge_of_chaos_quick")
    assert len(full["init_scale"]) == 11 and full["init_bias_scale"][0] == 0.0 and full["seed"] == [0, 1, 2]
    assert quick["init_scale"] == [0.6, 1.0, 1.4, 1.8, 2.2, 2.6] and len(quick["seed"]) >= 3


def test_zero_crossing_and_crossings_per_bias():
    assert _zero_crossing([1.0, 2.0, 3.0], [-0.2, -0.1, 0.1]) == pytest.approx(2.5)
    assert math.isnan(_zero_crossing([1.0, 2.0], [-1.0, -0.5]))
    rows = [
        {"sigma_w": w, "sigma_b": 0.0, "seed": s, "measured_rate": (w - 1.4 - 0.01 * s), "predicted_rate": w - 1.5,
         "input_mean_square": 0.0, "measured_log10_ratio": 0.0, "predicted_log10_ratio": 0.0}
        for w in (1.0, 2.0) for s in (0, 1, 2)
    ]  # fmt: skip
    found = crossings(pd.DataFrame(rows)).iloc[0]
    assert found["measured_critical_mean"] == pytest.approx(1.41) and found["measured_critical_std"] == pytest.approx(
        0.01
    )
    assert found["predicted_finite_T"] == pytest.approx(1.5) and found["chi_star_1"] == pytest.approx(1.0, abs=1e-4)


def test_depth_scale_of_the_trainability_map():
    assert xi(1.0) == pytest.approx(1 / abs(math.log(chi_star(1 / 6, 1.0, 0.0, "tanh"))))
    assert xi(1.0) < xi(1.4) and xi(2.0) < xi(1.6)  # it peaks at the edge of chaos


@pytest.mark.parametrize("folder", ["edge_of_chaos", "edge_of_chaos/quick", "trainability/quick"])
def test_committed_reports(folder):
    path = ROOT / "experiments" / folder
    figure = "phase.png" if "edge" in folder else "trainability.png"
    assert (path / figure).stat().st_size > 5000 and "![" in (path / "report.md").read_text()
