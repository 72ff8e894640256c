"""Each default has one value: a task's or a model's argument that its config file sets and its class defaults too
must be the same in both (a user building `CopyMemoryTask()` in Python gets the run's `task=copy_memory`).

The arguments the config interpolates from a top-level key (`seq_len: ${seq_len}`, `bidirectional: ${bidirectional}`)
are the study's knobs, which a choice may preset (each task its seq_len, model=bidirectional its direction): those
are compared with nothing."""

from __future__ import annotations

import inspect

import pytest
from hydra.utils import get_class
from omegaconf import OmegaConf

from rnnlab.config import CONF_DIR
from tests.helpers import compose_run


def code_defaults(cls: type) -> dict:
    """Every keyword default of `cls` and of the classes its __init__ passes **kwargs on to, the nearest first."""
    defaults: dict = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for name, parameter in inspect.signature(init).parameters.items():
            if parameter.default is not inspect.Parameter.empty:
                defaults.setdefault(name, parameter.default)
    return defaults


def choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if p.stem != "base")


@pytest.mark.parametrize("group,choice", [(g, c) for g in ("task", "model") for c in choices(g)])
def test_the_configs_values_are_the_codes_defaults(tmp_path, group, choice):
    cfg = compose_run(tmp_path, [f"{group}={choice}"])
    node = OmegaConf.to_container(cfg[group], resolve=False)
    assert isinstance(node, dict)
    defaults = code_defaults(get_class(node["_target_"]))
    literal = {k: v for k, v in node.items() if not (isinstance(v, str) and v.startswith("${"))}
    shared = {key: value for key, value in literal.items() if key in defaults}
    assert shared == {key: defaults[key] for key in shared}


def test_the_comparison_sees_the_arguments_a_class_and_its_bases_default():
    from rnnlab.tasks.copy_memory import CopyMemoryTask

    defaults = code_defaults(CopyMemoryTask)
    assert defaults["copy_len"] == CopyMemoryTask().copy_len and "train_batches" in defaults  # the base's too
