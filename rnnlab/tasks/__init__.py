"""Sequence tasks: `TASKS` maps a name to its class (rnnlab.tasks.registry), the classes by name.

Lazy on purpose: `import rnnlab.tasks.registry` (the CLI's --help and checks) must not import torch.
"""

from __future__ import annotations

import importlib

_CLASSES = {
    "SyntheticTask": "base",
    "DatasetTask": "dataset",
    "AddingTask": "adding",
    "CopyMemoryTask": "copy_memory",
    "XorTask": "xor",
    "SineTask": "sine",
    "LookaheadTask": "lookahead",
}


def __getattr__(name: str):
    if name == "TASKS":
        from rnnlab.tasks.registry import registered_tasks

        return registered_tasks()
    if name in _CLASSES:
        return getattr(importlib.import_module(f"rnnlab.tasks.{_CLASSES[name]}"), name)
    raise AttributeError(f"module 'rnnlab.tasks' has no attribute {name!r}")


__all__ = ["TASKS", *_CLASSES]
