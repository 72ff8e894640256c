"""pyproject.toml ships every package and every config directory (the installed run is tested by .ci/installed);
the installed lab runs from any directory."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rnnlab.config import CONF_DIR
from tests.helpers import ROOT


def test_every_package_and_config_group_is_listed_for_the_wheel():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    code = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("rnnlab", "hydra_plugins")
        for p in (ROOT / top).rglob("__init__.py")
    }
    conf = {
        ".".join(("rnnlab", "conf", *d.relative_to(CONF_DIR).parts)).rstrip(".")
        for d in [CONF_DIR, *CONF_DIR.rglob("*")]
        if d.is_dir() and any(d.glob("*.yaml"))
    }
    assert set(setuptools["packages"]) == code | conf
    assert setuptools["package-dir"] == {"rnnlab.conf": "conf"} and CONF_DIR == ROOT / "conf"
    assert setuptools["package-data"] == {"*": ["*.yaml"], "rnnlab.tasks": ["*.tsv"]}
    # data files the code reads (the names task's surnames) ship with their package
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rnnlab").rglob("*.tsv")}
    assert shipped == {"rnnlab/tasks/surnames.tsv"}


def _outside_env() -> dict:
    """The environment of a user's shell: no PYTHONPATH pointing into the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR")}


def _installed_from_this_checkout(cwd: Path) -> bool:
    """Whether this interpreter imports this checkout's rnnlab when run from `cwd` (an editable install of it)."""
    probe = "import importlib.util as u; print(u.find_spec('rnnlab').origin)"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, env=_outside_env(), capture_output=True, text=True, timeout=60
    )
    return out.returncode == 0 and Path(out.stdout.strip()).resolve() == ROOT / "rnnlab" / "__init__.py"


def test_the_installed_lab_runs_and_sweeps_from_outside_the_checkout(tmp_path):
    """From a directory outside the checkout (and from a subfolder of it, as a notebook runs) the lab's launchers
    are found: an editable install hides them from Hydra's plugin scan unless the lab registers them."""
    if not _installed_from_this_checkout(tmp_path):
        pytest.skip("this interpreter's rnnlab is not an install of this checkout (CI installs it editable)")
    small = ["max_steps=2", "task.train_batches=2", "task.val_batches=1", "callbacks=none"]
    for cwd in (tmp_path, ROOT / "tests" / "helpers"):
        help_ = subprocess.run(
            [sys.executable, "-m", "rnnlab.train", "--help"], cwd=cwd, env=_outside_env(), capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert help_.returncode == 0 and "rnnlab" in help_.stdout, help_.stderr[-2000:]
    sweep = subprocess.run(
        [sys.executable, "-m", "rnnlab.train", "-m", *small, "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, env=_outside_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    for seed in (0, 1):
        (job,) = (tmp_path / "sweep").glob(f"*seed={seed}*")
        assert json.loads((job / "metrics.json").read_text())["steps"] == 2
