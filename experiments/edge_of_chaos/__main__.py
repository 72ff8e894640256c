"""`python -m experiments.edge_of_chaos [--quick]`: the measured per-step gradient rate at initialisation over the
(σ_w, σ_b) grid of conf/experiment/edge_of_chaos[_quick].yaml, beside the mean-field theory's critical line.

No training: each grid point and seed is one configuration built as `python -m rnnlab.train` builds it, probed on
batch 0 of its training data in float64 (rnnlab.diagnostics.probe). Writes experiments/edge_of_chaos/ (or
edge_of_chaos/quick/): rates.csv, phase.png, report.md.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import pandas as pd

from experiments.theory_study import at, composed, grid_of, measure_at_init, write_atomically

HERE = Path(__file__).resolve().parent


def run(quick: bool) -> Path:
    study = "edge_of_chaos_quick" if quick else "edge_of_chaos"
    out = HERE / "quick" if quick else HERE
    out.mkdir(exist_ok=True)
    grid = grid_of(study)
    rows = []
    start = time.time()
    base = composed(study)
    for scale, bias, seed in itertools.product(grid["init_scale"], grid["init_bias_scale"], grid["seed"]):
        cfg = at(base, init_scale=float(scale), init_bias_scale=float(bias), seed=int(seed))
        rows.append({"sigma_w": scale, "sigma_b": bias, "seed": seed, **measure_at_init(cfg)})
    table = pd.DataFrame(rows)
    seconds = time.time() - start
    write_atomically(out / "rates.csv", table.to_csv(index=False))
    from experiments.edge_of_chaos.figure import phase_figure, summary

    phase_figure(table, out / "phase.png", title=study)
    write_atomically(out / "report.md", summary(table, study, seconds))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.edge_of_chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small grid (experiment=edge_of_chaos_quick)")
    args = parser.parse_args(argv)
    print(f"wrote {run(args.quick)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
