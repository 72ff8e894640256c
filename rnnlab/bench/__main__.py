"""`python -m rnnlab.bench`: see `rnnlab.bench.cli`."""

import sys

from rnnlab.bench.cli import main

sys.exit(main())
