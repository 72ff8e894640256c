"""`python -m rnnlab.report SWEEP_DIR [SWEEP_DIR ...] [--out DIR]`: sweeps as report.md, jobs.csv and PNG plots.

One sweep: its groups (the varied keys but `seed`) with mean and spread; several: compared side by side, each group
labelled by its sweep. The entry point only; the report is built in `rnnlab.sweeps.report_files`.
"""

import sys

from rnnlab.sweeps.report_files import main

if __name__ == "__main__":
    sys.exit(main())
