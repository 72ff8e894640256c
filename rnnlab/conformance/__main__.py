"""`python -m rnnlab.conformance`: the parity and surface tables (the same as `python -m rnnlab.parity`)."""

import sys

from rnnlab.conformance.parity import main

sys.exit(main())
