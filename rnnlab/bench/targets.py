"""The targets, read off a benchmark report: each as measured, its limit, met or not (speed of the models, the
training step and the sweep; the start-up of the commands that should answer at once).

The targets are set at 2 threads on the CPU; the same rows at 1 thread are reported beside them (on a shared
2-core machine a second thread competes with every other process, so both figures matter).
"""

from __future__ import annotations

from dataclasses import asdict

from rnnlab.bench.models import TARGET_SHAPES
from rnnlab.bench.startup import FIXED_COST_LIMIT, ONE_STEP_RUN, QUICK, QUICK_LIMIT

# (label, implementation in the models table, limit on its ratio to nn.RNN)
MODEL_TARGETS = (
    ("readable myrnn step / nn.RNN", "myrnn", 1.3),
    ("fast path (myrnn/fast) step / nn.RNN", "myrnn/fast", 1.0),
)
TRAIN_LIMIT = 1.15
SWEEP_LIMIT = 0.6


def _row(
    target: str, threads: int | None, layers: int | None, measured: float | None, limit: float, note: str = ""
) -> dict:
    met = None if measured is None else measured <= limit
    return {
        "target": target,
        "threads": threads,
        "layers": layers,
        "measured": measured,
        "limit": limit,
        "met": met,
        "note": note,
    }


def evaluate(report: dict) -> list[dict]:
    """One row per target and thread count found in `report` (missing sections give no rows)."""
    rows = []
    models = [entry for entry in report.get("models", []) if entry["device"] == "cpu"]
    for label, impl, limit in MODEL_TARGETS:
        for entry in sorted(models, key=lambda e: -e["threads"]):
            shape = entry["shape"]
            if not any(shape == asdict(target) for target in TARGET_SHAPES):
                continue
            ratios = {r["impl"]: r["ratio"] for r in entry["results"]}
            if impl in ratios:
                rows.append(_row(label, entry["threads"], shape["num_layers"], ratios[impl], limit, entry["label"]))
    for entry in sorted(report.get("train", []), key=lambda e: (-e["threads"], e["num_layers"])):
        rows.append(
            _row(
                "rnnlab.train (all diagnostics) step / bare loop",
                entry["threads"],
                entry["num_layers"],
                entry["ratio"],
                TRAIN_LIMIT,
                f"{entry['steps']} steps, nn.RNN T100 B64 H128",
            )
        )
    sweep = report.get("sweep")
    if sweep:
        rows.append(
            _row(
                f"{sweep['jobs']}-job sweep: joblib (2 at a time) / basic launcher",
                1,
                None,
                sweep["ratio"],
                SWEEP_LIMIT,
                " ".join(sweep["job"]),
            )
        )
    startup = report.get("startup") or {}
    for result in startup.get("results", []):
        if result["command"] in QUICK:
            rows.append(
                _row(
                    f"start-up: {result['command']} / {startup['reference']}",
                    1,
                    None,
                    result["ratio"],
                    QUICK_LIMIT,
                    f"median of {startup['repeats']}",
                )
            )
    if startup and startup.get("against"):
        medians = {result["command"]: result["median_s"] for result in startup["results"]}
        rows.append(
            _row(
                f"start-up: {ONE_STEP_RUN} / the same {startup['against']['run'].removeprefix(ONE_STEP_RUN + ' ')}",
                1,
                None,
                medians[ONE_STEP_RUN] / medians[startup["against"]["run"]],
                FIXED_COST_LIMIT,
                f"median of {startup['repeats']}, interleaved",
            )
        )
    return rows
