"""Turn each study's sweep into its committed report: `python -m experiments.report [STUDY ...]` (default: all).

For each study it writes `experiments/STUDY/` from the study's sweep directory (`hydra.sweep.dir` of
`conf/experiment/STUDY.yaml`, e.g. multirun/vanishing): `report.md`, `jobs.csv` and the figures
(`python -m rnnlab.report`), and the measured block of `experiments/STUDY/README.md`: the findings of
`experiments/STUDY/findings.yaml` checked against that jobs.csv (`experiments/findings.py`) and each group's mean and
spread over seeds. So every number in a study's README comes from its jobs.csv; none is typed by hand.
`STUDY_quick` reports the quick variant into its own sweep directory, leaving the committed files alone.

Run it from the repository's root, after the sweep (`python -m rnnlab.train -m experiment=STUDY`; re-running a
sweep skips its finished jobs). Nothing it writes depends on timing, so re-running it on the same jobs rewrites
the same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import yaml

from experiments import findings
from experiments.real_data import STUDY_EXTRAS
from rnnlab.record.atomic import write_atomically
from rnnlab.sweeps.report_files import CSV, group_markdown, write_report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONF = ROOT / "conf" / "experiment"
BEGIN = "<!-- measured: written by experiments/report.py from jobs.csv; edit the script, not this block -->"
END = "<!-- /measured -->"

# Per study: the metrics of its README's group table (each group's mean ± sd (min – max) over seeds).
METRICS: dict[str, list[str]] = {
    "vanishing": ["grad_log10_ratio_start", "final_over_baseline", "best_over_baseline"],
    "irnn": ["final_over_baseline", "best_over_baseline", "grad_log10_ratio_start"],
    "depth": ["final_over_baseline", "best_over_baseline"],
    "bidirectional": ["final_over_baseline", "final_val_acc"],
    "implementations": ["final_over_baseline", "best_over_baseline"],
    "names": ["test_acc", "test_balanced_acc", "final_val_loss"],
    "names_init": ["test_acc", "test_balanced_acc", "final_val_loss"],
    "digits": ["test_acc", "final_val_loss"],
}
STUDIES = tuple(METRICS)
QUICK = tuple(f"{study}_quick" for study in STUDIES)


def sweep_dir(study: str) -> Path:
    """The study's fixed sweep directory, as its config names it (relative to the repository's root)."""
    return Path(yaml.safe_load((CONF / f"{study}.yaml").read_text())["hydra"]["sweep"]["dir"])


def study_config(study: str) -> dict:
    return yaml.safe_load((CONF / f"{study}.yaml").read_text())


def varied(study: str) -> list[str]:
    """What the study varies: the keys of its sweeper's grid, as its config declares them."""
    return sorted(study_config(study)["hydra"]["sweeper"]["params"])


def measured_block(study: str, table: pd.DataFrame) -> str:
    """The README's measured block: the findings checked against jobs.csv, then every group's spread over seeds."""
    spec = findings.load(HERE / study / "findings.yaml")
    results = findings.check_all(spec, table)
    table.attrs["varied"] = varied(study)
    groups = group_markdown(table, METRICS[study])
    counts = ", ".join(f"{n} {s}" for s, n in sorted(table["status"].value_counts().items()))
    return "\n".join(
        [
            BEGIN,
            findings.render(spec, results),
            "",
            f"{len(table)} jobs ({counts}); each group's mean ± sd (min – max) over its seeds "
            f"([report.md](report.md), [jobs.csv](jobs.csv)):",
            "",
            groups,
            END,
        ]
    )


def update_readme(readme: Path, block: str) -> None:
    """Replace the measured block between its markers (atomically); the rest of the README is left as written."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme}: no measured block ({BEGIN} ... {END}) to fill")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    new = before + block + after
    write_atomically(readme, lambda f: f.write(new.encode()))


def report(study: str) -> Path:
    """Write the study's report files and its README's measured block; return its folder. A quick variant is
    reported into its own sweep directory: the committed files are the full study's."""
    if study in QUICK:
        return write_report(sweep_dir(study))["markdown"].parent
    out = HERE / study
    write_report(sweep_dir(study), out)  # relative: the report names the sweep as the study's config does
    extra = STUDY_EXTRAS.get(study)  # a study's own figures and tables (experiments/real_data.py)
    if extra is not None:
        text = (out / "report.md").read_text() + "\n" + extra(sweep_dir(study), out)
        write_atomically(out / "report.md", lambda f: f.write(text.encode()))
    update_readme(out / "README.md", measured_block(study, pd.read_csv(out / CSV)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "studies", nargs="*", metavar="STUDY", help=f"{', '.join(STUDIES)} or one of them + _quick (default: all)"
    )
    studies = parser.parse_args(argv).studies or list(STUDIES)
    for study in studies:
        if study not in STUDIES + QUICK:
            parser.error(f"study={study!r} is invalid; allowed: one of {', '.join(STUDIES + QUICK)}")
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
