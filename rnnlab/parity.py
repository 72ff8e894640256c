"""`python -m rnnlab.parity`: the conformance command (rnnlab.conformance.parity), under its familiar name."""

import sys

from rnnlab.conformance.parity import main

if __name__ == "__main__":
    sys.exit(main())
