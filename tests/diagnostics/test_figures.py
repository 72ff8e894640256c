"""The IMAGES tab's figures draw the numbers they are given, and the CUSTOM SCALARS layout stays one line per run."""

from __future__ import annotations

import math
import re

import numpy as np

from rnnlab.diagnostics import custom_scalars_layout
from rnnlab.diagnostics.figures import INIT_DECADES, eigenvalue_figure, grad_init_profile_figure, grad_profile_figure
from rnnlab.record import tags


def test_the_profile_draws_log10_of_each_layers_norms_against_t():
    profiles = [[1.0, 0.1, 0.01, 0.0], [2.0, 2.0, 4.0, 8.0]]
    fig = grad_profile_figure(profiles, step=150)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["layer 0", "layer 1"]
    assert list(lines[0].get_xdata()) == [0, 1, 2, 3]
    np.testing.assert_allclose(lines[0].get_ydata()[:3], [0, -1, -2])
    assert math.isnan(lines[0].get_ydata()[3])  # an underflowed norm is a gap, not -inf
    np.testing.assert_allclose(lines[1].get_ydata(), np.log10([2, 2, 4, 8]))
    assert ax.get_title() == "gradient through time, step 150"


def test_the_init_profile_is_relative_to_the_last_step_on_one_fixed_range():
    """Two runs' init profiles, one decade and twenty decades of vanishing: the same axes, lines ending at 0 and
    starting at each run's log10 first/last indicator, so the tiles compare (each tile autoscaled, they did not)."""
    gentle = grad_init_profile_figure([[1.0, 3.0, 10.0]])
    steep = grad_init_profile_figure([[1e-20, 1e-10, 1.0], [0.0, 5.0, 5.0]])
    for fig in (gentle, steep):
        assert fig.axes[0].get_ylim() == (-INIT_DECADES, INIT_DECADES)
    np.testing.assert_allclose(gentle.axes[0].get_lines()[1].get_ydata(), [-1, -1 + math.log10(3), 0])
    first, second = steep.axes[0].get_lines()[1:]  # after the zero line
    np.testing.assert_allclose(first.get_ydata(), [-20, -10, 0])
    assert math.isnan(second.get_ydata()[0]) and list(second.get_ydata()[1:]) == [0, 0]
    assert [line.get_label() for line in (first, second)] == ["layer 0", "layer 1"]
    # float64's -122 decades (a long tanh sequence) runs along the bottom edge, not off the chart
    (deep,) = grad_init_profile_figure([[1e-122, 1e-61, 1.0]]).axes[0].get_lines()[1:]
    np.testing.assert_allclose(deep.get_ydata(), [-INIT_DECADES, -INIT_DECADES, 0])


def test_the_eigenvalue_figure_draws_each_matrix_and_the_unit_circle():
    values = {"layer0": np.array([0.5 + 0.5j, 0.5 - 0.5j, -1.5 + 0j]), "layer0_reverse": np.array([0.2 + 0j])}
    fig = eigenvalue_figure(values, step=0)
    (ax,) = fig.axes
    (circle,) = ax.get_lines()
    np.testing.assert_allclose(np.hypot(circle.get_xdata(), circle.get_ydata()), 1.0)
    points = [collection.get_offsets() for collection in ax.collections]
    np.testing.assert_allclose(points[0], [[0.5, 0.5], [0.5, -0.5], [-1.5, 0.0]])
    np.testing.assert_allclose(points[1], [[0.2, 0.0]])
    assert ax.get_xlim()[0] <= -1.5 and ax.get_ylim()[1] >= 1.5  # every eigenvalue in view


def _tags_of_a_run(num_layers: int, bidirectional: bool = False) -> list[str]:
    written = [
        tags.TRAIN_LOSS,
        tags.VAL_LOSS,
        tags.BASELINE,
        tags.GRAD_NORM_TOTAL,
        tags.grad_norm("head.weight"),
        tags.grad_norm("rnn.rnn.weight_hh_l0"),
    ]
    for k in range(num_layers):
        written += [f"{tags.grad_h_prefix(k)}t{t:02d}" for t in range(0, 30, 4)]
        written += [
            tags.grad_h_first_over_last(k),
            tags.grad_h_log10_ratio(k),
            tags.activations(k, "saturated_fraction"),
        ]
        for suffix in ("", "_reverse")[: 1 + bidirectional]:
            written += [tags.spectrum(f"layer{k}{suffix}", "radius"), tags.spectrum(f"layer{k}{suffix}", "sigma_max")]
    return written


def test_every_chart_draws_one_tag_per_run_and_none_is_empty():
    """On a sweep, a chart holds (matched tags) x (runs) lines: one tag per chart (the loss charts add the task's
    baseline, the same line for every run of a task) keeps 20 jobs readable."""
    for layers, bidirectional in ((1, False), (3, False), (2, True)):
        written = _tags_of_a_run(layers, bidirectional)
        layout = custom_scalars_layout(layers)
        for category, charts in layout.items():
            for title, (kind, patterns) in charts.items():
                matched = {tag for tag in written if any(re.match(p, tag) for p in patterns)}
                allowed = 1 + bidirectional if category == "spectrum" else 1
                allowed += category == "loss"  # and the baseline
                assert kind == "Multiline" and 1 <= len(matched) <= allowed, (title, matched)
        assert sum(len(charts) for charts in layout.values()) == 3 + 3 * layers
