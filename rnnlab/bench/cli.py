"""`python -m rnnlab.bench`: how fast the lab is against nn.RNN, plain PyTorch and Hydra's basic launcher.

    python -m rnnlab.bench --out docs/bench/cpu.json       # everything (10-15 minutes on 2 cores): the docs' figures
    python -m rnnlab.bench --quick --section models        # a smoke run: two small shapes, few repeats

Sections: `models` (forward+backward per batch of every implementation and variant, interleaved, medians, as
ratios to nn.RNN, on the CPU and on CUDA when present), `train` (a step of `rnnlab.train` with every diagnostic on
against a bare PyTorch loop), `sweep` (8 jobs with the joblib launcher against the basic one), `startup` (the
lab's commands, from `--help` to a one-step run, against `python -c "import torch, hydra"`). Prints markdown
tables and the targets (met / not met); `--out` writes everything, raw times included, as JSON: docs/speed.md's
tables are rendered from docs/bench/cpu.json by `rnnlab.bench.tables` (`rnnlab.bench.docs_tables`).
"""

from __future__ import annotations

import os

# GNU OpenMP's threads spin while they wait for work. On a machine shared with other busy processes a spinning
# thread steals the core its partner needs, and a step can take many times longer (README, Speed); passive waiting
# measures the code, not the neighbours. Set before torch loads OpenMP; an explicit OMP_WAIT_POLICY in the
# environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from rnnlab.bench import models, startup, sweep, targets, training  # noqa: E402
from rnnlab.bench.tables import render  # noqa: E402

SECTIONS = ("models", "train", "sweep", "startup")


def run_models(threads: int, repeats: int, quick: bool) -> list[dict]:
    """The shape grid at `threads` on the CPU (the target shapes at 1 thread too), and on CUDA when present."""
    entries = []
    shapes = models.QUICK_SHAPES if quick else models.FULL_SHAPES
    for device in models.devices():
        thread_counts = [threads] if device.type == "cuda" or quick or threads == 1 else [threads, 1]
        for count in thread_counts:
            torch.set_num_threads(count)
            for shape in shapes if count == threads else models.TARGET_SHAPES:
                entries.append(models.time_shape(shape, repeats, device))
                print(f"  {device.type} {count} thread(s) {shape}: done", file=sys.stderr, flush=True)
    torch.set_num_threads(threads)
    return entries


def run_train(threads: int, quick: bool, workdir: Path) -> list[dict]:
    """rnnlab.train against the bare loop at the target shape, one and three layers, at `threads` and 1 thread."""
    if quick:
        return [training.compare(1, threads, repeats=1, warmup=2, steps=10, workdir=workdir)]
    return [
        training.compare(layers, count, repeats=3, warmup=10, steps=100, workdir=workdir)
        for count in dict.fromkeys([threads, 1])
        for layers in (1, 3)
    ]


def run_sweep(quick: bool, workdir: Path) -> dict:
    return sweep.compare(8, sweep.QUICK_JOB if quick else sweep.FULL_JOB, workdir)


def run_startup(quick: bool, workdir: Path, against: Path | None = None) -> dict:
    return startup.measure(1 if quick else 5, workdir / "startup", against)


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def benchmark(
    sections: tuple[str, ...] = SECTIONS,
    threads: int = 2,
    repeats: int = 9,
    quick: bool = False,
    workdir: Path | None = None,
    startup_against: Path | None = None,
    command: str = "python -m rnnlab.bench",
) -> dict:
    """Run the chosen sections; the report (what --out writes) with the targets evaluated. `command` is the
    command line as typed, kept in the report's meta (the docs say which command produced their figures)."""
    torch.set_num_threads(threads)
    report: dict = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "revision": startup.revision(startup.ROOT),
            "sections": list(sections),
            "threads": threads,
            "repeats": repeats,
            "quick": quick,
            "machine": machine(),
            "load_average_start": list(os.getloadavg()),
        }
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-") as scratch:
        workdir = Path(workdir or scratch)
        if "models" in sections:
            report["models"] = run_models(threads, repeats, quick)
        if "train" in sections:
            report["train"] = run_train(threads, quick, workdir)
        if "sweep" in sections:
            report["sweep"] = run_sweep(quick, workdir)
        if "startup" in sections:
            report["startup"] = run_startup(quick, workdir, startup_against)
    report["meta"]["load_average_end"] = list(os.getloadavg())
    report["meta"]["wall_s"] = round(time.perf_counter() - started, 1)
    report["targets"] = targets.evaluate(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats, tiny jobs (a smoke run)")
    parser.add_argument(
        "--section", action="append", choices=SECTIONS, help="run only this part (repeatable; default: all)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2; 1 is reported too)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="interleaved rounds per shape in `models` (default 9; --quick: 3)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    parser.add_argument(
        "--startup-against",
        type=Path,
        default=None,
        metavar="DIR",
        help="an earlier checkout (git worktree add DIR REV): its one-step run is timed in the startup rounds",
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    repeats = args.repeats if args.repeats is not None else 3 if args.quick else 9
    if repeats < 1:
        parser.error(f"--repeats must be >= 1, got {repeats}")
    sections = tuple(dict.fromkeys(args.section)) if args.section else SECTIONS
    if args.startup_against is not None and not (args.startup_against / "rnnlab" / "train.py").is_file():
        parser.error(f"--startup-against {args.startup_against}: not a checkout of rnnlab (no rnnlab/train.py)")
    command = " ".join([parser.prog, *(sys.argv[1:] if argv is None else argv)])
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)  # before the minutes of measuring, not after
    report = benchmark(
        sections, args.threads, repeats, args.quick, startup_against=args.startup_against, command=command
    )
    print(render(report))
    if args.out is not None:
        partial = args.out.with_name(args.out.name + ".partial")
        partial.write_text(json.dumps(report, indent=1) + "\n")
        partial.replace(args.out)  # a committed report is never left half-written
        print(f"\nrnnlab.bench: report written to {args.out}")
    return 0
