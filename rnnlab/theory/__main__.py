"""`python -m rnnlab.theory [--plot FILE.png] OVERRIDES`: a configuration's gradient profile at initialisation,
measured by the lab's probe and predicted by the mean-field theory, and its critical init_scale.

OVERRIDES are `python -m rnnlab.train`'s. The command layer composes the config and measures with torch; the
theory it prints comes from this package's numpy modules.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.theory", description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE, as for python -m rnnlab.train")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the measured and predicted profiles here")
    args = parser.parse_args(argv)
    from rnnlab.theory_report import ConfigError, report_config  # torch: after the arguments

    try:
        text = report_config(args.overrides, args.plot)
    except ConfigError as error:
        print(f"rnnlab.theory: bad configuration: {error}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
