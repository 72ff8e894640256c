"""An unknown key in any config file — the lab's or a user's own (`--config-dir`) — refused in one line.

Hydra sets struct mode only once the config is composed, so a file merged during composition (an experiment file
with `hiden_size: 32`) adds its misspelt key silently, and the run trains with the default it meant to change. The
top-level keys and the plain sections (checkpoint, paths) must be those conf/config.yaml declares; the sections of
config groups are checked by what they build (model, task, optimizer and scheduler by their constructors on
stand-ins, trainer by rnnlab.training.trainer_values; an unexpected argument is a refusal there). The command
line's own overrides are checked before composing, against the composed configuration
(rnnlab.training.override_checks): an addition nothing reads is refused there, so none is exempt here.
"""

from __future__ import annotations

import difflib
from functools import cache

from omegaconf import DictConfig, OmegaConf

from rnnlab.config import CONF_DIR

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
    """Raise `error` naming the first key of `cfg` that conf/config.yaml does not declare (group sections aside)."""
    _check_node(cfg, declared(), "", error)


def _check_node(node: DictConfig, schema: DictConfig, prefix: str, error: type[ValueError]) -> None:
    known = [k for k in schema] + (list(GROUP_SECTIONS) if not prefix else [])
    for key in node:
        full = prefix + str(key)
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
            _check_node(node[key], sub, f"{full}.", error)
