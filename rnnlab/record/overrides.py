"""Hydra's `key=value` overrides as the lab reads them back: the one parser of a job's overrides.

A job's overrides (`.hydra/overrides.yaml`, metrics.json's `overrides`, a job directory's name) hold one value per
key, so `partition("=")` reads them exactly; a sweep's overrides (`seed=0,1`, `range(0,5)`) are Hydra's grammar and
read by Hydra's own parser (rnnlab.record.study).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PREFIXES = "+~"  # `+key=` adds a key, `++key=` forces it, `~key` deletes it: the key is the same


def override_key(override: str) -> str:
    """`"+task.num_marked=3"` -> `"task.num_marked"`."""
    return override.partition("=")[0].lstrip(PREFIXES)


def override_value(override: str) -> str:
    """`"seq_len=10,20"` -> `"10,20"` (as written; "" where the override has no `=`)."""
    return override.partition("=")[2]


def override_keys(overrides: Iterable[str]) -> list[str]:
    """The keys of Hydra's `key=value` overrides, without the `+`/`~` prefixes, in their order."""
    return [override_key(override) for override in overrides]


def parse_overrides(overrides: Iterable[str]) -> dict[str, str]:
    """`["+a.b=1", "model=torch"]` -> `{"a.b": "1", "model": "torch"}` (the values as written)."""
    return {override_key(override): override.partition("=")[2] for override in overrides}


def hydra_overrides(overrides: Iterable[str]) -> list[Any]:
    """Overrides in Hydra's grammar (`seed=0,1`, `choice(…)`, `model=torch`) as Hydra's own parser reads them: its
    `Override` objects (key, group, sweep); Hydra's error where the syntax breaks."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(list(overrides))
