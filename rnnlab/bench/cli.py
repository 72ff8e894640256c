"""`python -m rnnlab.bench`: how fast the lab is against nn.RNN, plain PyTorch and Hydra's basic launcher.

    python -m rnnlab.bench --out bench.json                  # everything (10-15 minutes on 2 cores)
    python -m rnnlab.bench --quick --section models           # a smoke run: two small shapes, few repeats

Sections: `models` (forward+backward per batch of every implementation and variant, interleaved, medians, as
ratios to nn.RNN, on the CPU and on CUDA when present), `train` (a step of `rnnlab.train` with every diagnostic on
against a bare PyTorch loop), `sweep` (8 jobs with the joblib launcher against the basic one), `startup` (the
lab's commands, from `--help` to a one-step run, against `python -c "import torch, hydra"`). Prints markdown
tables and the targets (met / not met); `--out` writes everything, raw times included, as JSON.
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
from rnnlab.record.formatting import markdown  # noqa: E402

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
) -> dict:
    """Run the chosen sections; the report (what --out writes) with the targets evaluated."""
    torch.set_num_threads(threads)
    report: dict = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python -m rnnlab.bench", *sys.argv[1:]]),
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


# ---- tables ------------------------------------------------------------------------------------------------


def models_tables(entries: list[dict]) -> list[str]:
    """One table per device and thread count: nn.RNN's ms per batch, then each implementation's ratio to it."""
    tables = []
    groups: dict[tuple[str, int], list[dict]] = {}
    for entry in entries:
        groups.setdefault((entry["device"], entry["threads"]), []).append(entry)
    for (device, threads), group in groups.items():
        impls = list(dict.fromkeys(r["impl"] for entry in group for r in entry["results"]))
        cells = {(entry["label"], r["impl"]): r for entry in group for r in entry["results"]}
        rows = []
        for impl in impls:
            row = [f"{impl} (ms)" if impl == models.REFERENCE else impl]
            for entry in group:
                result = cells.get((entry["label"], impl))
                row.append(
                    ""
                    if result is None
                    else f"{result['median_ms']:.1f}"
                    if impl == models.REFERENCE
                    else f"{result['ratio']:.2f}"
                )
            rows.append(row)
        title = (
            f"Forward+backward per batch, {device}"
            + (f", {threads} thread(s)" if device == "cpu" else "")
            + f": ratio to nn.RNN (median of {group[0]['repeats']} interleaved repeats)"
        )
        tables.append(title + "\n\n" + markdown(["implementation", *(e["label"] for e in group)], rows))
    return tables


def train_table(entries: list[dict]) -> str:
    rows = [
        [
            str(e["num_layers"]),
            str(e["threads"]),
            f"{e['lab_ms_per_step']:.1f}",
            f"{e['bare_ms_per_step']:.1f}",
            f"{e['ratio']:.2f}",
        ]
        for e in entries
    ]
    return "Training step, nn.RNN T100 B64 H128 on the adding task (median of runs, ms per step)\n\n" + markdown(
        ["layers", "threads", "rnnlab.train (all diagnostics)", "bare loop", "ratio"], rows
    )


def sweep_bench_table(entry: dict) -> str:
    rows = [
        ["basic", f"{entry['basic_s']:.1f}", "1.00"],
        ["joblib, n_jobs=2", f"{entry['joblib_s']:.1f}", f"{entry['ratio']:.2f}"],
    ]
    return f"Sweep of {entry['jobs']} jobs ({' '.join(entry['job'])}), wall time\n\n" + markdown(
        ["launcher", "seconds", "ratio"], rows
    )


def targets_table(rows: list[dict]) -> str:
    def verdict(row):
        return "not measured" if row["met"] is None else "met" if row["met"] else "NOT met"

    body = [
        [
            r["target"],
            str(r["threads"]),
            "" if r["layers"] is None else str(r["layers"]),
            f"{r['measured']:.2f}",
            f"<= {r['limit']:g}",
            verdict(r),
            r["note"],
        ]
        for r in rows
    ]
    return "Targets (CPU)\n\n" + markdown(
        ["target", "threads", "layers", "measured", "limit", "verdict", "measured on"], body
    )


def render(report: dict) -> str:
    parts = models_tables(report.get("models", []))
    if report.get("train"):
        parts.append(train_table(report["train"]))
    if report.get("sweep"):
        parts.append(sweep_bench_table(report["sweep"]))
    if report.get("startup"):
        parts.append(startup.table(report["startup"]))
    if report.get("targets"):
        parts.append(targets_table(report["targets"]))
    if not torch.cuda.is_available() and "models" in report.get("meta", {}).get("sections", []):
        parts.append("CUDA: not available on this machine, not measured.")
    return "\n\n".join(parts)


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
    report = benchmark(sections, args.threads, repeats, args.quick, startup_against=args.startup_against)
    print(render(report))
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1))
        print(f"\nrnnlab.bench: report written to {args.out}")
    return 0
