"""Turn each study's sweep into its committed report: `python -m experiments.report [STUDY ...]` (default: all).

For each study it writes `experiments/STUDY/` from the study's sweep directory (`hydra.sweep.dir` of
`conf/experiment/STUDY.yaml`, e.g. multirun/vanishing): `report.md`, `jobs.csv` and the figures
(`python -m rnnlab.report`), and the measured block of `experiments/STUDY/README.md`, a table drawn from that
jobs.csv. So every number in a study's README comes from its jobs.csv; none is typed by hand.

Run it from the repository's root, after the sweep (`python -m rnnlab.train -m experiment=STUDY`; re-running a
sweep skips its finished jobs).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import pandas as pd
import yaml

from experiments.real_data import STUDY_EXTRAS
from rnnlab.sweeps.report import CSV, markdown_table, write_report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONF = ROOT / "conf" / "experiment"
BEGIN = "<!-- measured: written by experiments/report.py from jobs.csv; edit the script, not this block -->"
END = "<!-- /measured -->"

# Per study: the columns of its headline table (the swept keys first), and how to sort it.
HEADLINES: dict[str, list[str]] = {
    "vanishing": ["nonlinearity", "init_scale", "grad_log10_ratio_start", "final_over_baseline"],
    "irnn": [
        "init",
        "nonlinearity",
        "init_scale",
        "status",
        "final_over_baseline",
        "grad_log10_ratio_start",
        "grad_log10_ratio_end",
    ],
    "depth": ["num_layers", "seed", "final_over_baseline", "wall_time_s"],
    "bidirectional": ["bidirectional", "num_layers", "final_over_baseline", "final_val_acc"],
    "implementations": ["bidirectional", "model", "final_val_loss", "best_val_loss"],
    "names": ["model", "seed", "final_val_loss", "test_acc", "test_balanced_acc"],
    "names_init": ["init", "nonlinearity", "seed", "final_val_loss", "test_acc", "test_balanced_acc"],
    "digits": ["task.mode", "recipe", "seed", "final_val_loss", "test_acc"],
}
# Shown to every digit: the question is whether they are equal, not whether they are close.
EXACT = {"final_val_loss", "best_val_loss"}
STUDIES = tuple(HEADLINES)


def sweep_dir(study: str) -> Path:
    """The study's fixed sweep directory, as its config names it (relative to the repository's root)."""
    return Path(yaml.safe_load((CONF / f"{study}.yaml").read_text())["hydra"]["sweep"]["dir"])


def measured_block(study: str, table: pd.DataFrame) -> str:
    """The README's measured block: jobs, their total wall time, and the headline columns of every job."""
    columns = HEADLINES[study]
    table = table.sort_values(columns[:2], kind="stable")
    shown = table[columns].astype(object)
    for column in EXACT & set(columns):
        shown[column] = [repr(float(v)) if isinstance(v, float) and not math.isnan(v) else v for v in shown[column]]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(table["status"].value_counts().items()))
    return "\n".join(
        [
            BEGIN,
            f"{len(table)} jobs ({counts}), {table['wall_time_s'].sum():.0f} s of job wall time in all "
            f"([report.md](report.md), [jobs.csv](jobs.csv)):",
            "",
            markdown_table(shown, columns),
            END,
        ]
    )


def update_readme(readme: Path, block: str) -> None:
    """Replace the measured block between its markers; the rest of the README is left as written."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme}: no measured block ({BEGIN} ... {END}) to fill")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    readme.write_text(before + block + after)


def report(study: str) -> Path:
    """Write the study's report files and its README's measured block; return its folder."""
    out = HERE / study
    write_report(sweep_dir(study), out)  # relative: the report names the sweep as the study's config does
    extra = STUDY_EXTRAS.get(study)  # a study's own figures and tables (experiments/real_data.py)
    if extra is not None:
        with (out / "report.md").open("a") as report_md:
            report_md.write("\n" + extra(sweep_dir(study), out))
    update_readme(out / "README.md", measured_block(study, pd.read_csv(out / CSV)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="*", metavar="STUDY", help=f"{', '.join(STUDIES)} (default: all)")
    studies = parser.parse_args(argv).studies or list(STUDIES)
    for study in studies:
        if study not in STUDIES:
            parser.error(f"study={study!r} is invalid; allowed: one of {', '.join(STUDIES)}")
    os.chdir(ROOT)  # the sweep directories are relative to the repository's root
    for study in studies:
        try:
            print(f"{study}: {report(study)}")
        except FileNotFoundError as error:
            print(
                f"experiments/report.py: {study}: {error} (run: python -m rnnlab.train -m experiment={study})",
                file=sys.stderr,
            )
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
