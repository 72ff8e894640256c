"""mypy's configuration stays honest: no error code switched off for a whole module of the network's layers, and
every `# type: ignore` names its code and says why (mypy itself, run by .ci/run, fails on a stale one)."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The modules whose codes were switched off module-wide until issue 16 turned them back on.
CHECKED_IN_FULL = [
    "rnnlab.models.base",
    "rnnlab.models.composed",
    "rnnlab.conformance.surface",
    "rnnlab.diagnostics.probe",
    "rnnlab.diagnostics.through_time",
    "rnnlab.training.module",
    "rnnlab.training.resume",
]
# ...and their files, where every ignore is explained (the rest of rnnlab/: its owners')
CHECKED_FILES = [
    "rnnlab/models",
    "rnnlab/conformance",
    "rnnlab/diagnostics",
    "rnnlab/training/module.py",
    "rnnlab/training/resume.py",
]
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<after>.*)$")


def test_no_error_code_is_switched_off_for_the_network_layers():
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"].get("overrides", [])
    switched_off = [
        (module, override["disable_error_code"])
        for override in overrides
        if "disable_error_code" in override
        for pattern in ([override["module"]] if isinstance(override["module"], str) else override["module"])
        for module in CHECKED_IN_FULL
        if fnmatch.fnmatchcase(module, pattern)
    ]
    assert not switched_off


def test_every_type_ignore_names_its_code_and_says_why():
    """The reason is a comment after the ignore, or on the line above where the ignore must end its line (a
    TorchScript-compiled def: TorchScript reads any other `# type:` comment there as the signature)."""
    unexplained = []
    paths = [ROOT / name for name in CHECKED_FILES]
    for path in sorted(p for top in paths for p in ([top] if top.is_file() else top.rglob("*.py"))):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            match = IGNORE.search(line)
            if match is None:
                continue
            reason = match["after"].strip().lstrip("#").strip() or (
                lines[number - 2].strip().startswith("#") if number > 1 else False
            )
            if not match["codes"] or not reason:
                unexplained.append(f"{path.relative_to(ROOT)}:{number}")
    assert not unexplained
