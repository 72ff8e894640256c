"""pyproject.toml ships every package and every config directory (the installed run is tested by .ci/run)."""

import tomllib

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
