"""The studies' folders: each README's measured table is what experiments/report.py writes from its jobs.csv."""

import pandas as pd
import pytest

from experiments.report import BEGIN, END, STUDIES, main, measured_block, report, sweep_dir
from rnnlab.config import CONF_DIR
from tests.helpers import ROOT
from tests.sweeps.test_report import seeded_sweep

FOLDER = ROOT / "experiments"


@pytest.mark.parametrize("study", STUDIES)
def test_the_readme_quotes_the_committed_report(study):
    folder = FOLDER / study
    readme = (folder / "README.md").read_text()
    table = pd.read_csv(folder / "jobs.csv")
    block = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert block == measured_block(study, table)  # regenerate with: python -m experiments.report STUDY
    assert len(table) >= 4 and set(table["status"]) <= {"completed", "diverged"}
    assert "wall_time_s" not in table  # timings change on every run: they stay out of the committed files
    assert (folder / "report.md").read_text().startswith(f"# Sweep {sweep_dir(study).as_posix()}\n")
    for figure in ("final_loss.png", "grad_through_time.png", "learning_curves.png"):
        assert (folder / figure).stat().st_size > 1000
    for name in (study, f"{study}_quick"):  # the study links its configs, which Hydra finds in conf/experiment
        assert f"(../../conf/experiment/{name}.yaml)" in readme and (CONF_DIR / "experiment" / f"{name}.yaml").exists()
    assert f"python -m rnnlab.train -m experiment={study}" in readme
    assert f"python -m experiments.report {study}" in readme


@pytest.mark.parametrize("study", STUDIES)
def test_the_quick_variant_reports_into_its_sweep_directory_and_leaves_the_committed_files(
    study, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the sweep directories are relative to the working directory
    quick = sweep_dir(f"{study}_quick")
    assert quick != sweep_dir(study)
    seeded_sweep(tmp_path / quick.parent, quick.name)
    committed = {p: p.read_bytes() for p in (FOLDER / study).iterdir()}
    assert report(f"{study}_quick") == quick
    assert (tmp_path / quick / "report.md").read_text().startswith(f"# Sweep {quick.as_posix()}")
    assert {p: p.read_bytes() for p in (FOLDER / study).iterdir()} == committed


def test_an_unknown_study_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["vanishing_slow"])
    assert exit_info.value.code == 2
    assert "study='vanishing_slow' is invalid; allowed: one of vanishing, irnn" in capsys.readouterr().err
