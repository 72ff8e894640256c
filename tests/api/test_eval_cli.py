"""`python -m rnnlab.eval`: one line per evaluation, its record beside metrics.json, the length figure of a sweep."""

import json
import os
import subprocess
import sys

import pytest

import rnnlab
from tests.helpers import ROOT

TINY = ["hidden_size=8", "batch_size=8", "seq_len=10", "task.train_batches=5", "task.val_batches=2", "max_steps=6"]


def eval_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "rnnlab.eval", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    sweep_dir = tmp_path_factory.mktemp("eval") / "sweep"
    for seed in (0, 1):
        rnnlab.run([*TINY, f"seed={seed}"], run_dir=sweep_dir / f"seed={seed}")
    return sweep_dir


def test_a_sweep_is_evaluated_at_each_length_and_drawn(sweep):
    out = eval_cli(str(sweep), "seq_len=10,20")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("rnnlab eval: ")]
    assert len(lines) == 5 and lines[-1].endswith("length_generalisation.png"), out.stdout
    assert out.stderr.strip() == ""  # quiet: no third-party line
    for seed in (0, 1):
        job = sweep / f"seed={seed}"
        at_10 = json.loads((job / "eval-seq_len=10.json").read_text())
        assert at_10["loss"] == pytest.approx(json.loads((job / "metrics.json").read_text())["final"]["val/loss"])
        assert json.loads((job / "eval-seq_len=20.json").read_text())["seq_len"] == 20
    table = rnnlab.read_evals(sweep)
    assert sorted(table["seq_len"]) == [10, 10, 20, 20] and table.attrs["varied"] == ["seed"]
    assert (sweep / "length_generalisation.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["hidden_size=4"], "'hidden_size' cannot change at evaluation"),
        (["task._target_=x"], "'task._target_' cannot change"),
        (["task.seq_lenn=3"], "task.seq_lenn is not a key of the lab's configuration (did you mean task.seq_len?)"),
        (["split=holdout"], "split=holdout is not one of val, test, train"),
        (["seq_len"], "no RUN_DIR"),
    ],
)
def test_a_bad_request_is_one_line_exit_2_and_writes_nothing(sweep, args, named):
    before = sorted(p.name for p in (sweep / "seed=0").iterdir())
    out = eval_cli(str(sweep / "seed=0"), *args) if args != ["seq_len"] else eval_cli("seq_len=3")
    assert out.returncode == 2 and named in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert sorted(p.name for p in (sweep / "seed=0").iterdir()) == before


def test_a_missing_directory_is_named(tmp_path):
    out = eval_cli(str(tmp_path / "nope"))
    assert out.returncode == 2 and f"{tmp_path / 'nope'} is not a directory" in out.stderr
