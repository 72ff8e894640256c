"""Tasks are plug-ins: the registry and conf/task/ agree, the CLI and --help read them, and a new task is exactly
two files (one class, one YAML), proven on a copy of the lab."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from hydra.utils import get_class

from rnnlab.config import CONF_DIR
from rnnlab.tasks import TASKS
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.registry import register_task, task_choices, task_files, task_target
from tests.helpers import ROOT, compose_run


def test_every_registered_task_has_a_yaml_and_every_yaml_a_registered_task():
    assert list(TASKS) == task_choices() and len(TASKS) >= 7
    for name, path in task_files().items():
        assert get_class(task_target(path)) is TASKS[name], path
        assert TASKS[name].name == name


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_composes_and_builds(name, tmp_path):
    cfg = compose_run(tmp_path, [f"task={name}"])
    assert get_class(cfg.task._target_) is TASKS[name]


def test_a_task_needs_its_own_name_and_a_free_one():
    class Nameless(SyntheticTask):
        pass

    with pytest.raises(TypeError, match="class attribute `name`"):
        register_task(Nameless)

    class Impostor(SyntheticTask):
        name = "adding"

    with pytest.raises(ValueError, match="task name 'adding' is taken by rnnlab.tasks.adding.AddingTask"):
        register_task(Impostor)
    assert TASKS["adding"].__module__ == "rnnlab.tasks.adding"


def test_help_and_the_checks_offer_the_registered_tasks():
    shown = subprocess.run(
        [sys.executable, "-m", "rnnlab.train", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert " | ".join(sorted(TASKS)) in shown
    refused = subprocess.run(
        [sys.executable, "-m", "rnnlab.train", "task=base"], cwd=ROOT, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert f"task=base is not a choice of the task group; allowed: {', '.join(sorted(TASKS))}" in refused.stderr


# The docs' worked example in miniature (docs/tasks.md, "Adding a task"): these two files and nothing else.
NEW_CLASS = '''"""The last input bit, as a class: a one-step memory test."""

import torch

from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.registry import register_task


@register_task
class LastBitTask(SyntheticTask):
    name = "last_bit"
    kind = "classification"
    readout = "last"
    input_size = 1
    output_size = 2

    def generate(self, generator, batch_size):
        bits = torch.randint(0, 2, (batch_size, self.seq_len), generator=generator)
        return {"x": bits.unsqueeze(-1).float(), "y": bits[:, -1]}

    @property
    def baseline(self):
        return 0.6931471805599453
'''
NEW_YAML = """# @package _global_
defaults:
  - base
  - _self_

task:
  _target_: rnnlab.tasks.last_bit.LastBitTask
"""


@pytest.mark.slow
def test_adding_a_task_touches_exactly_two_files(tmp_path):
    for part in ("rnnlab", "conf", "hydra_plugins"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "rnnlab" / "tasks" / "last_bit.py").write_text(NEW_CLASS)
    (tmp_path / "conf" / "task" / "last_bit.yaml").write_text(NEW_YAML)

    def run(*args):
        return subprocess.run(
            [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
        )

    listed = run("-c", "import rnnlab, rnnlab.tasks as t; print(rnnlab.__file__); print(sorted(t.TASKS))")
    assert listed.stdout.splitlines()[0].startswith(str(tmp_path)), listed  # the copy, not the checkout
    assert listed.stdout.splitlines()[1] == str(sorted([*TASKS, "last_bit"]))
    assert "last_bit" in run("-m", "rnnlab.train", "--help").stdout
    trained = run(
        "-m",
        "rnnlab.train",
        "task=last_bit",
        "seq_len=3",
        "max_steps=60",
        "hidden_size=8",
        "lr=0.03",
        "task.train_batches=60",
        "trainer.enable_progress_bar=false",
        "hydra.run.dir=run",
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "rnnlab: completed after 60 steps" in trained.stdout
    assert (CONF_DIR / "task" / "last_bit.yaml").exists() is False  # the checkout itself is untouched
