"""`python -m rnnlab.report SWEEP_DIR [--out DIR]`: a sweep directory as report.md, jobs.csv and PNG plots.

The entry point only; the report is built in `rnnlab.sweeps.report_files`.
"""

import sys

from rnnlab.sweeps.report_files import main

if __name__ == "__main__":
    sys.exit(main())
