"""The studies' folders: each README's measured table is what experiments/report.py writes from its jobs.csv."""

import pandas as pd
import pytest

from experiments.report import BEGIN, END, STUDIES, measured_block, sweep_dir
from rnnlab.config import CONF_DIR
from tests.helpers import ROOT

FOLDER = ROOT / "experiments"


@pytest.mark.parametrize("study", STUDIES)
def test_the_readme_quotes_the_committed_report(study):
    folder = FOLDER / study
    readme = (folder / "README.md").read_text()
    table = pd.read_csv(folder / "jobs.csv")
    block = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert block == measured_block(study, table)  # regenerate with: python -m experiments.report STUDY
    assert len(table) >= 4 and set(table["status"]) <= {"completed", "diverged"}
    assert (folder / "report.md").read_text().startswith(f"# Sweep {sweep_dir(study).as_posix()}\n")
    for figure in ("final_loss.png", "grad_through_time.png", "learning_curves.png"):
        assert (folder / figure).stat().st_size > 1000
    for name in (study, f"{study}_quick"):  # the study links its configs, which Hydra finds in conf/experiment
        assert f"(../../conf/experiment/{name}.yaml)" in readme and (CONF_DIR / "experiment" / f"{name}.yaml").exists()
    assert f"python -m rnnlab.train -m experiment={study}" in readme
    assert f"python -m experiments.report {study}" in readme


def test_the_measured_block_shows_every_job_and_exact_losses():
    table = pd.DataFrame(
        {
            "bidirectional": [True, False],
            "model": ["torch", "concat"],
            "status": ["completed"] * 2,
            "final_val_loss": [0.1 + 0.2, float("nan")],
            "best_val_loss": [0.25, 0.5],
            "wall_time_s": [1.4, 2.0],
        }
    )
    lines = measured_block("implementations", table).splitlines()
    assert lines[1].startswith("2 jobs (2 completed), 3 s of job wall time in all")
    assert lines[-3:-1] == ["| False | concat |  | 0.5 |", "| True | torch | 0.30000000000000004 | 0.25 |"]
