"""A misspelt choice of any config group refused in one line that lists the group's real choices, before Hydra.

Hydra answers `model=nosuchmodel` with a 13-line listing (exit 1), and for an optional group (`experiment`,
`hparams_search`: `optional ...: null` in conf/config.yaml) it skips the missing file silently: a misspelt study
runs one default job and ends `completed`. So the command line's group choices are checked first, against the
files of the lab's config directory and of a user's `--config-dir`, with Hydra's own override parser; and its plain
keys against conf/config.yaml (Hydra's struct refusal of `hiden_size=3` is five lines, exit 1).
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.config import CONF_DIR
from rnnlab.record.overrides import hydra_overrides
from rnnlab.training.known_keys import unknown_override

NOT_CHOICES = ("base",)  # conf/<group>/base.yaml: the part a group's files share, not a choice by itself


def group_choices(group: str, config_dirs: list[Path]) -> list[str] | None:
    """The choices of `group` (e.g. `model`, `hydra/launcher`) in `config_dirs`, or None if no directory has it."""
    found = [d / group for d in config_dirs if (d / group).is_dir()]
    if not found:
        return None
    return sorted({p.stem for d in found for p in d.glob("*.yaml") if p.stem not in NOT_CHOICES})


def refusal(argv: list[str]) -> str | None:
    """The one line refusing the first unknown group choice among the command line `argv`, or None."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.types import ChoiceSweep
    from hydra.errors import HydraException

    args, _ = get_args_parser().parse_known_args(argv)
    config_dirs = [CONF_DIR] + ([Path(args.config_dir).resolve()] if args.config_dir else [])
    try:
        overrides = hydra_overrides(args.overrides)
    except HydraException:
        return None  # Hydra's own message says where the syntax breaks
    for override in overrides:
        group = override.key_or_group
        if override.is_delete() or override.package is not None or group.startswith("hydra"):
            continue  # Hydra's groups come from its plugins too; it names their choices itself
        choices = group_choices(group, config_dirs)
        if choices is None:  # a key, not a group: one the lab declares, unless the command line adds it
            unknown = None if override.is_add() or override.is_force_add() else unknown_override(group)
            if unknown is not None:
                return unknown
            continue
        value = override.value()
        values = list(value.list) if isinstance(value, ChoiceSweep) else [value]
        for choice in values:
            if choice is None or not isinstance(choice, str) or "*" in choice:
                continue  # null (no choice, for the optional groups) or a glob
            if choice not in choices:
                return f"{group}={choice} is not a choice of the {group} group; allowed: {', '.join(choices)}"
    return None
