"""`python -m rnnlab.eval RUN_DIR|SWEEP_DIR ... [KEY=VALUE ...] [split=test]`: evaluate trained runs.

Each run's trained network (rnnlab.load) on its task, or a variant of it: `seq_len=200` (another length), `seed=7`
(other sequences), `task.*`; `split=test` uses batches that neither training nor validation saw. A comma list
evaluates each value (`seq_len=25,50,100,200`); a sweep directory stands for its jobs. Each evaluation writes its
eval record beside the run's metrics.json and prints one line; several lengths over several runs also draw the
sweep's generalisation-to-length figure (length_generalisation.png, or --figure PATH).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from rnnlab.record.eval_record import EvalRecord
from rnnlab.record.overrides import override_key, override_value

USAGE = (
    "usage: python -m rnnlab.eval RUN_DIR|SWEEP_DIR [...] [KEY=VALUE[,VALUE...] ...] [split=val|test] [--figure PNG]"
)


def _runs(target: Path) -> list[Path]:
    """The run directories `target` stands for: itself if it is a run, else the jobs of the sweep it holds."""
    if (
        (target / "metrics.json").is_file()
        or (target / ".hydra" / "config.yaml").is_file()
        and not any(target.glob("*/.hydra/config.yaml"))
    ):
        return [target]
    from rnnlab.record.jobs import find_jobs

    return [job.dir for job in find_jobs(target) if job.dir != target]


def _variants(overrides: list[str]) -> list[list[str]]:
    """KEY=A,B -> one variant per value (the product over keys), as Hydra's -m sweeps."""
    choices = []
    for override in overrides:
        key = override_key(override)
        choices.append([f"{key}={value}" for value in override_value(override).split(",")])
    return [list(combo) for combo in itertools.product(*choices)] if choices else [[]]


def _line(run_dir: Path, variant: list[str], split: str, record: EvalRecord) -> str:
    from rnnlab.record.formatting import significant

    what = " ".join([*variant, f"split={split}"])
    acc = f", acc {significant(record.acc)}" if record.acc is not None else ""
    return (
        f"rnnlab eval: {run_dir} {what}: loss {significant(record.loss)} (baseline "
        f"{significant(record.baseline)}) = {significant(record.loss_over_baseline, 3)} x baseline{acc} -> "
        f"{record.file}"
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\n" + USAGE)
        return 0 if argv else 2
    figure = None
    if "--figure" in argv:
        at = argv.index("--figure")
        if at + 1 >= len(argv):
            print("rnnlab eval: --figure needs a path (PNG)", file=sys.stderr)
            return 2
        figure = Path(argv.pop(at + 1))
        argv.pop(at)
    argv = [a for a in argv if a not in ("-m", "--multirun")]  # comma lists always sweep
    # a job's directory is named by its overrides (seed=0): what exists as a directory is a target
    targets = [Path(a) for a in argv if Path(a).is_dir() or "=" not in a]
    overrides = [a for a in argv if "=" in a and not Path(a).is_dir()]
    splits = [override_value(o) for o in overrides if o.startswith("split=")]
    overrides = [o for o in overrides if not o.startswith("split=")]

    from rnnlab.evaluation import SPLITS, EvalError, check_override

    split = splits[-1] if splits else "val"
    try:
        if split not in SPLITS:
            raise EvalError(f"split={split} is not one of {', '.join(SPLITS)}")
        if not targets:
            raise EvalError("no RUN_DIR or SWEEP_DIR given")
        for target in targets:
            if not target.is_dir():
                raise EvalError(f"{target} is not a directory (a run's or a sweep's)")
        variants = _variants(overrides)
        for variant in variants:
            for override in variant:
                check_override(override)
        runs = [run for target in targets for run in _runs(target)]
        if not runs:
            raise EvalError(f"no runs under {', '.join(map(str, targets))}")
    except EvalError as error:
        print(f"rnnlab eval: {error}", file=sys.stderr)
        return 2

    import rnnlab

    failed = 0
    for run_dir in runs:
        for variant in variants:
            try:
                record = rnnlab.evaluate(run_dir, variant, split=split)
            except EvalError as error:
                print(f"rnnlab eval: {error}", file=sys.stderr)
                return 2
            except (FileNotFoundError, ValueError) as error:  # a job that never saved weights: the others go on
                print(f"rnnlab eval: {run_dir}: not evaluated: {error}", file=sys.stderr)
                failed += 1
                continue
            print(_line(run_dir, variant, split, record), flush=True)
    lengths = {v for o in overrides if o.startswith("seq_len=") for v in override_value(o).split(",")}
    if len(runs) > 1 and len(lengths) > 1 or figure is not None:
        from rnnlab.sweeps.length import length_figure

        sweep = targets[0]
        evals = rnnlab.read_evals(sweep) if len(targets) == 1 else _evals_of(targets)
        path = length_figure(evals, figure or sweep / "length_generalisation.png")
        print(f"rnnlab eval: loss against evaluation length -> {path}")
    return 1 if failed else 0


def _evals_of(targets: list[Path]):
    import pandas as pd

    tables = [__import__("rnnlab").read_evals(t) for t in targets]
    table = pd.concat(tables, ignore_index=True)
    table.attrs["varied"] = sorted({k for t in tables for k in t.attrs.get("varied", [])})
    return table


if __name__ == "__main__":
    sys.exit(main())
