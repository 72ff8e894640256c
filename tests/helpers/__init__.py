"""Test helpers: the repository's root (the CLI tests run there) and the faults they inject (`faults.py`).

The composed config comes from `rnnlab.config.compose_run`, the same helper the benchmark uses.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
