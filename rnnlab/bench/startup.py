"""What a user waits for before anything happens: the lab's commands against `python -c "import torch, hydra"`.

Each command runs in a fresh subprocess, exactly as typed, and its wall time covers the interpreter's start to its
exit. The commands are timed interleaved (one of each per round, the order rotating) and summarised by their
medians, so the machine's other tenants weigh on all of them alike. The ratio to `import torch, hydra` is what the
lab adds over the two libraries a run cannot start without (a plain value is checked with Hydra alone; the task,
model and optimizer check their own arguments with torch).

Given an earlier checkout (`--startup-against DIR`, made with `git worktree add DIR REV`), its one-step run is timed
in the same rounds: the fixed cost of a run now against then, on the same machine under the same load.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from rnnlab.bench.timing import interleaved, median
from rnnlab.record import tags

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = "import torch, hydra"
# The quick answers: they must not wait for Lightning (limit: QUICK_LIMIT x the reference).
QUICK = ("--help", "a configuration error", "a value the task refuses", "a re-run into a finished directory")
QUICK_LIMIT = 1.2
# A default run's fixed cost: the whole command with one optimizer step (imports, build, one validation, the
# checkpoint, TensorBoard files, metrics.json), no progress bar. Against an earlier checkout: a third lower.
ONE_STEP = ("max_steps=1", "trainer.enable_progress_bar=false")
ONE_STEP_RUN = "a default run of 1 step"
FIXED_COST_LIMIT = 2 / 3


def revision(checkout: Path) -> str:
    """The short git revision of `checkout`, `-dirty` when its tracked files differ from it (its directory name if
    it is no git checkout)."""
    result = subprocess.run(
        ["git", "-C", str(checkout), "describe", "--always", "--dirty", "--abbrev=7", "--exclude=*"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else checkout.name


def earlier_run(checkout: Path) -> str:
    """The name of the earlier checkout's one-step run."""
    return f"{ONE_STEP_RUN} at {revision(checkout)}"


def commands(workdir: Path, against: Path | None = None) -> dict[str, list[str]]:
    """name -> command line. `workdir` holds a finished run's directory and a fresh one per one-step run; the
    one-step run of the checkout `against` (run in that directory) is added when given."""
    finished = workdir / "finished"
    finished.mkdir(parents=True, exist_ok=True)
    (finished / "metrics.json").write_text(json.dumps({"status": "completed", "best": {tags.VAL_LOSS: 0.1}}))
    python, train = sys.executable, [sys.executable, "-m", "rnnlab.train"]
    lines = {
        "import torch": [python, "-c", "import torch"],
        REFERENCE: [python, "-c", "import torch, hydra"],
        "--help": [*train, "--help"],
        "a configuration error": [*train, "num_layers=0", f"hydra.run.dir={workdir / 'error'}"],
        "a value the task refuses": [*train, "seq_len=1", f"hydra.run.dir={workdir / 'error'}"],
        "a re-run into a finished directory": [*train, f"hydra.run.dir={finished}"],
        "import rnnlab.training.run (Lightning)": [python, "-c", "import rnnlab.training.run"],
        ONE_STEP_RUN: [*train, *ONE_STEP],  # hydra.run.dir added per call: a fresh directory each time
    }
    if against is not None:
        lines[earlier_run(against)] = [*train, *ONE_STEP]
    return lines


def _call(command: list[str], workdir: Path, expect_exit: int, checkout: Path = ROOT):
    env = {**os.environ, "PYTHONPATH": str(checkout) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def call() -> None:
        line = command
        if command[-len(ONE_STEP) :] == list(ONE_STEP):
            line = [*command, f"hydra.run.dir={tempfile.mkdtemp(dir=workdir, prefix='run-')}"]
        result = subprocess.run(line, cwd=checkout, env=env, capture_output=True, text=True)
        if result.returncode != expect_exit:
            raise RuntimeError(
                f"{' '.join(line)} exited {result.returncode}, expected {expect_exit}:\n{result.stderr[-2000:]}"
            )

    return call


def shown(command: list[str]) -> str:
    """`command` as a reader would type it: the interpreter and scratch directories by their names alone."""
    words = [Path(command[0]).name, *command[1:]]
    return shlex.join(re.sub(r"^(hydra\.run\.dir)=.*/([^/]+)$", r"\1=\2", word) for word in words)


def measure(repeats: int, workdir: Path, against: Path | None = None) -> dict:
    """Median wall seconds of every command over `repeats` interleaved rounds (after one untimed round), and each
    one's ratio to `import torch, hydra`; with `against`, that checkout's one-step run in the same rounds."""
    lines = commands(workdir, against)
    earlier = earlier_run(against) if against is not None else None
    refused = ("a configuration error", "a value the task refuses")
    calls = {
        name: _call(
            line, workdir, 2 if name in refused else 0, against if against is not None and name == earlier else ROOT
        )
        for name, line in lines.items()
    }
    times = interleaved(calls, repeats, warmup=1)
    medians = {name: median(values) for name, values in times.items()}
    return {
        "repeats": repeats,
        "reference": REFERENCE,
        "against": None if against is None else {"checkout": str(against), "run": earlier},
        "results": [
            {
                "command": name,
                "argv": shown(lines[name]),
                "median_s": medians[name],
                "ratio": medians[name] / medians[REFERENCE],
                "times_s": times[name],
            }
            for name in lines
        ],
    }
