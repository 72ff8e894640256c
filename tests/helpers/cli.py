"""`python -m rnnlab.train` in a subprocess, as a user runs it, and the record it leaves."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

# Settings under which training overflows within a few steps (relu, weights x10, plain SGD at lr 1, no clipping,
# 30 steps to grow through): a run that must end `diverged`.
EXPLODING = [
    "nonlinearity=relu",
    "init=normal",
    "init_scale=10",
    "optimizer=sgd",
    "lr=1",
    "grad_clip=null",
    "seq_len=30",
]


def run_cli(run_dir: Path, *overrides: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """One run into `run_dir`; `env` adds variables (the fault injectors read theirs from there)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": "", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rnnlab.train", *overrides, f"hydra.run.dir={run_dir}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_record(run_dir: Path) -> dict:
    """The run's metrics.json."""
    return json.loads((run_dir / "metrics.json").read_text())


def without_timing(record: dict) -> dict:
    """A record without its `timing` section: what two runs of the same overrides must agree on."""
    return {k: v for k, v in record.items() if k != "timing"}
