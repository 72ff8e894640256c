"""Every study's stated findings hold on its committed jobs.csv, with >= 3 seeds and separated spreads; and the
checks themselves refuse what they must (overlap, too few seeds, a bound as a value)."""

import math

import pandas as pd
import pytest

from experiments import findings
from experiments.report import STUDIES
from tests.helpers import ROOT

FOLDER = ROOT / "experiments"


@pytest.mark.parametrize("study", STUDIES)
def test_every_stated_finding_holds_on_the_committed_jobs(study):
    spec = findings.load(FOLDER / study / "findings.yaml")
    table = pd.read_csv(FOLDER / study / "jobs.csv")
    assert spec["findings"], "a study states at least one finding"
    assert table["seed"].nunique() >= findings.MIN_SEEDS
    for result in findings.check_all(spec, table):
        assert result.holds, f"{study}: {result.finding['text']}: {result.reason} ({result.measured})"


def jobs(rows):
    """A jobs table from (group, seed, value[, bound]) rows."""
    return pd.DataFrame(
        [{"g": g, "seed": seed, "x": x, "status": "completed", "m": m, "m_bound": b} for g, seed, x, m, b in rows]
    )


def test_separated_needs_every_value_of_one_group_below_every_value_of_the_other():
    finding = {"kind": "separated", "metric": "m", "low": {"g": "a"}, "high": {"g": "b"}, "text": ""}
    apart = jobs(
        [("a", s, 1, v, 0) for s, v in enumerate([0.1, 0.2, 0.3])]
        + [("b", s, 1, v, 0) for s, v in enumerate([0.4, 0.5, 0.6])]
    )
    assert findings.check(finding, apart).holds
    overlap = apart.copy()
    overlap.loc[5, "m"] = 0.25  # one seed of b below a's worst: the means still differ, the claim does not hold
    result = findings.check(finding, overlap)
    assert not result.holds and "overlap" in result.reason
    overlapping = {**finding, "kind": "overlapping"}
    assert findings.check(overlapping, overlap).holds and not findings.check(overlapping, apart).holds
    two_seeds = apart[apart["seed"] < 2]
    assert "2 completed seeds" in findings.check(finding, two_seeds).reason


def test_a_bound_is_never_a_measurement():
    finding = {"kind": "within", "metric": "m", "where": {"g": "a"}, "within": [-400, 0], "text": ""}
    rows = jobs([("a", s, 1, -300.0, -1 if s == 0 else 0) for s in range(3)])
    assert not findings.check(finding, rows).holds
    rows["m_bound"] = 0
    assert findings.check(finding, rows).holds


def test_crossing_is_interpolated_per_seed_in_log_x():
    # metric = 50 * log10(x / 1.4): crosses 0 at exactly 1.4 for every seed
    rows = jobs([("a", s, x, 50 * math.log10(x / 1.4), 0) for s in range(3) for x in (1.0, 1.3, 1.5, 2.0)])
    values = findings.crossings(rows, {"g": "a"}, "m", "x")
    assert values.tolist() == pytest.approx([1.4] * 3)
    finding = {"kind": "crossing", "metric": "m", "where": {"g": "a"}, "x": "x", "within": [1.39, 1.41], "text": ""}
    assert findings.check(finding, rows).holds
    assert not findings.check({**finding, "within": [1.41, 1.5]}, rows).holds


def test_agree_measures_the_largest_relative_difference_within_a_cell():
    rows = jobs([(g, s, 1, 1.0 + (1e-7 if g == "b" else 0), 0) for g in ("a", "b") for s in range(3)])
    finding = {"kind": "agree", "metric": "m", "where": {"g": ["a", "b"]}, "by": ["seed"], "rtol": 1e-6, "text": ""}
    assert findings.check(finding, rows).holds
    assert not findings.check({**finding, "rtol": 1e-8}, rows).holds


def test_an_unknown_kind_is_refused(tmp_path):
    path = tmp_path / "findings.yaml"
    path.write_text("findings:\n  - kind: better\n")
    with pytest.raises(
        ValueError, match=r"kind='better' is invalid; allowed: separated, overlapping, within, crossing, agree"
    ):
        findings.load(path)
