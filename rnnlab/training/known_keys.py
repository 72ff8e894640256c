"""An unknown key in any config file — the lab's or a user's own (`--config-dir`) — refused in one line.

Hydra sets struct mode only once the config is composed, so a file merged during composition (an experiment file
with `hiden_size: 32`) adds its misspelt key silently, and the run trains with the default it meant to change. The
top-level keys and the plain sections (checkpoint, paths) must be those conf/config.yaml declares; the sections of
config groups are checked by what they build (model, task, optimizer and scheduler by their constructors on
stand-ins, trainer by rnnlab.training.trainer_values; an unexpected argument is a refusal there). A key added on
the command line with `+key=value` (or `++`) is the user's explicit addition (a tag such as `+note=baseline`) and
passes.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from rnnlab.config import CONF_DIR
from rnnlab.record.overrides import override_key

# Sections owned by a config group (a file of conf/<group>/ sets them) and Hydra's own node.
GROUP_SECTIONS = ("model", "task", "optimizer", "scheduler", "trainer", "logger", "callbacks", "hydra")


@cache
def declared() -> DictConfig:
    """conf/config.yaml's own keys (its defaults list aside), the schema every other file may only set."""
    primary = OmegaConf.load(CONF_DIR / "config.yaml")
    assert isinstance(primary, DictConfig)  # the lab's own file, a mapping
    primary.pop("defaults", None)
    return primary


def check_known_keys(cfg: DictConfig, error: type[ValueError]) -> None:
    """Raise `error` naming the first key of `cfg` that conf/config.yaml does not declare (group sections and keys
    added on the command line with `+` aside)."""
    _check_node(cfg, declared(), "", error, added_on_command_line())


def added_on_command_line() -> set[str]:
    """The keys the run's command line adds with `+key=value` or `++key=value` (none outside a Hydra run)."""
    try:
        overrides = HydraConfig.get().overrides.task
    except ValueError:
        return set()
    return {override_key(str(o)) for o in overrides if str(o).startswith("+")}


def _check_node(node: DictConfig, schema: DictConfig, prefix: str, error: type[ValueError], added: set[str]) -> None:
    known = [k for k in schema] + (list(GROUP_SECTIONS) if not prefix else [])
    for key in node:
        full = prefix + str(key)
        if full in added:
            continue
        if key not in known:
            close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise error(
                f"{full} is not a key of the lab's configuration{hint}; allowed: the keys conf/config.yaml declares"
                f"{' under ' + prefix.rstrip('.') if prefix else ''}: {', '.join(str(k) for k in schema)}"
            )
        if prefix == "" and key in GROUP_SECTIONS:
            continue
        sub = schema[key] if OmegaConf.is_dict(schema._get_node(key)) else None
        value = node._get_node(key)
        if sub is not None and OmegaConf.is_dict(value):
            _check_node(node[key], sub, f"{full}.", error, added)


def unknown_override(key: str) -> str | None:
    """The one line refusing a command line's `key=value` whose key conf/config.yaml does not declare, or None.

    Only the top-level keys and the plain sections are known without composing; a group's section (`trainer.x`)
    is left to Hydra's struct mode and the checks of what it builds.
    """
    parts = key.split(".")
    if parts[0] in GROUP_SECTIONS:
        return None
    schema: Any = declared()  # a config node as the walk goes down
    prefix = ""
    for part in parts:
        if not OmegaConf.is_dict(schema):
            return None  # below a plain value: Hydra says what is wrong
        if part not in schema:
            known = [str(k) for k in schema] + (list(GROUP_SECTIONS[:-1]) if not prefix else [])
            close = difflib.get_close_matches(part, known, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            return (
                f"{key} is not a key of the lab's configuration{hint}; allowed: the keys conf/config.yaml declares"
                f"{' under ' + prefix.rstrip('.') if prefix else ''}: {', '.join(known)} (+{key}=VALUE adds one)"
            )
        schema, prefix = schema._get_node(part), f"{prefix}{part}."
    return None
