"""Which tasks exist: the classes marked `@register_task`, each matched to its YAML in conf/task/.

A task is a plug-in: one class (anywhere importable, marked with the decorator) and one file `conf/task/NAME.yaml`
whose `_target_` names it. The CLI's choices, `--help`, the configuration checks and the tests read this module;
nothing else lists task names. Importing it imports neither torch nor Lightning (`--help` answers without them):
`task_choices()` reads the YAML files only; `registered_tasks()` imports the classes.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from omegaconf import OmegaConf

from rnnlab.config import CONF_DIR

_REGISTERED: dict[str, type] = {}


def register_task(cls: type) -> type:
    """Class decorator: make `cls` (a SyntheticTask with a unique `name`) a task of the lab."""
    name = cls.__dict__.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__qualname__}: a registered task sets its own class attribute `name`")
    other = _REGISTERED.get(name)
    if other is not None and (other.__module__, other.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"task name {name!r} is taken by {other.__module__}.{other.__qualname__}")
    _REGISTERED[name] = cls
    return cls


def task_files(conf_dir: Path = CONF_DIR) -> dict[str, Path]:
    """NAME -> conf/task/NAME.yaml for every choice of the group (base.yaml is the shared part, not a choice)."""
    return {p.stem: p for p in sorted((conf_dir / "task").glob("*.yaml")) if p.stem != "base"}


def task_choices(conf_dir: Path = CONF_DIR) -> list[str]:
    """The names `task=` accepts, sorted: what the CLI, --help and the checks offer."""
    return sorted(task_files(conf_dir))


def task_target(path: Path) -> str:
    """The `_target_` a task's YAML names (its `task:` node, the group being `@package _global_`)."""
    return str(OmegaConf.load(path).task._target_)


def registered_tasks(conf_dir: Path = CONF_DIR) -> dict[str, type]:
    """NAME -> class of every registered task, sorted by name.

    Imports the modules of this package and the class each conf/task/*.yaml names, so a task defined outside the
    package is registered once its YAML exists.
    """
    package = importlib.import_module("rnnlab.tasks")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"rnnlab.tasks.{module.name}")
    for path in task_files(conf_dir).values():
        module_name = task_target(path).rpartition(".")[0]
        importlib.import_module(module_name)
    return dict(sorted(_REGISTERED.items()))


# `--help` lists the choices from here (conf/hydra/help/rnnlab.yaml: ${rnnlab_tasks:}); rnnlab.training.checks
# imports this module, so the resolver exists before Hydra renders the help.
OmegaConf.register_new_resolver("rnnlab_tasks", lambda: " | ".join(task_choices()), replace=True)
