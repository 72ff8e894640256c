"""A misspelt choice of any config group refused in one line that lists the group's real choices, before Hydra.

Hydra answers `model=nosuchmodel` with a 13-line listing (exit 1), and for an optional group (`experiment`,
`hparams_search`: `optional ...: null` in conf/config.yaml) it skips the missing file silently: a misspelt study
runs one default job and ends `completed`. So the command line's group choices are checked first, against the
files of the lab's config directory and of a user's `--config-dir` (rnnlab.training.override_checks asks, for each
override of the command line).
"""

from __future__ import annotations

from pathlib import Path

NOT_CHOICES = ("base",)  # conf/<group>/base.yaml: the part a group's files share, not a choice by itself


def group_choices(group: str, config_dirs: list[Path]) -> list[str] | None:
    """The choices of `group` (e.g. `model`, `hydra/launcher`) in `config_dirs`, or None if no directory has it."""
    found = [d / group for d in config_dirs if (d / group).is_dir()]
    if not found:
        return None
    return sorted({p.stem for d in found for p in d.glob("*.yaml") if p.stem not in NOT_CHOICES})


def unknown_choice(override, choices: list[str], optional: bool = False) -> str | None:
    """The one line refusing the group override `override` (Hydra's parsed Override) if one of the values it
    chooses is not among `choices`, or None. `optional`: the group may be left out (`~group`)."""
    from hydra.core.override_parser.types import ChoiceSweep

    group, value = override.key_or_group, override.value()
    values = list(value.list) if isinstance(value, ChoiceSweep) else [value]
    for choice in values:
        if choice is None:  # Hydra raises a ValueError traceback for it: deselecting a group is `~group`
            none = f", or ~{group} to use none" if optional else ""
            return f"{group}=null is not a choice of the {group} group; allowed: {', '.join(choices)}{none}"
        if not isinstance(choice, str) or "*" in choice:
            continue  # a glob
        if choice not in choices:
            return f"{group}={choice} is not a choice of the {group} group; allowed: {', '.join(choices)}"
    return None
