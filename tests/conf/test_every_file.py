"""Every file under conf/ composes, names importable classes, and keeps its group's package convention."""

from pathlib import Path

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from rnnlab.config import CONF_DIR
from tests.helpers import compose_run

# The root config and Hydra's defaults are in every composition; every other file is one choice.
ALWAYS = {Path("config.yaml"), Path("hydra/default.yaml")}
FILES = sorted(p.relative_to(CONF_DIR) for p in CONF_DIR.rglob("*.yaml") if p.relative_to(CONF_DIR) not in ALWAYS)
BASES = {Path("model/base.yaml"), Path("task/base.yaml")}


def choice(path: Path) -> str:
    return f"{path.parent.as_posix()}={path.stem}"


def targets(node) -> list[str]:
    """Every _target_ in a plain container, depth first."""
    if isinstance(node, dict):
        found = [node["_target_"]] if isinstance(node.get("_target_"), str) else []
        return found + [t for value in node.values() for t in targets(value)]
    if isinstance(node, list):
        return [t for value in node for t in targets(value)]
    return []


def test_every_group_is_covered():
    assert {p.parts[0] for p in FILES} == {
        "callbacks",
        "experiment",
        "hparams_search",
        "hydra",
        "logger",
        "model",
        "optimizer",
        "scheduler",
        "task",
        "trainer",
    }


@pytest.mark.parametrize("path", [p for p in FILES if p not in BASES], ids=choice)
def test_file_composes_and_its_targets_import(path):
    cfg = compose_run("/OUT", [choice(path)])
    run = OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    run.pop("hydra")
    hydra = OmegaConf.to_container(cfg.hydra, resolve=False)
    found = targets(run) + targets({k: hydra[k] for k in ("sweeper", "launcher", "callbacks")})
    assert {"rnnlab.models", "rnnlab.tasks"} <= {t.rsplit(".", 2)[0] for t in found}  # a model and a task
    for target in found:
        assert callable(get_object(target)), target
    if path.parts[:2] == ("hydra", "launcher"):  # a launcher preset: the launcher it names is the one composed
        assert cfg.hydra.launcher._target_.split(".")[-1].lower().startswith(("joblib", "local", "slurm"))


@pytest.mark.parametrize("group", ["model", "task"])
def test_base_is_the_shared_part_of_every_file_of_its_group(group):
    base = compose_run("/OUT", [f"{group}=base"])
    assert OmegaConf.is_missing(base[group], "_target_")  # not a choice by itself
    shared = {k: v for k, v in OmegaConf.to_container(base[group]).items() if k != "_target_"}
    for path in (CONF_DIR / group).glob("*.yaml"):
        if path.stem != "base":
            composed = OmegaConf.to_container(compose_run("/OUT", [f"{group}={path.stem}"])[group])
            # a file may set a shared key for its choice (a real-data task's lengths come from its data), in writing
            own = OmegaConf.to_container(OmegaConf.load(path)).get(group, {})
            assert {k: composed[k] for k in shared if k not in own} == {k: v for k, v in shared.items() if k not in own}
            assert set(shared) <= set(composed), path.stem
            assert "defaults:\n  - base\n" in path.read_text(), path.stem  # written once, in the base


GLOBAL_GROUPS = {"model", "task", "experiment", "hparams_search"}  # their files set top-level keys (conf/config.yaml)


@pytest.mark.parametrize("group", sorted({p.parts[0] for p in FILES}))
def test_one_package_convention(group):
    headers = {(CONF_DIR / p).read_text().startswith("# @package _global_") for p in FILES if p.parts[0] == group}
    assert headers == {group in GLOBAL_GROUPS}, f"conf/{group}/: every file _global_ or none, as config.yaml says"
