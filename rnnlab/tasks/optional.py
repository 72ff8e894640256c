"""Optional packages a task needs: one line that names the package and the command that installs it."""

from __future__ import annotations

import importlib.util

INSTALL = "pip install 'rnnlab[tasks]'"


class MissingPackage(LookupError):
    """An optional package is not installed; the message is the one line to show (a configuration error)."""


def require_package(package: str, purpose: str, module: str | None = None) -> None:
    """Raise MissingPackage unless `module` (default: `package`) can be imported."""
    if importlib.util.find_spec(module or package) is None:
        raise MissingPackage(f"{package} is not installed, and is needed {purpose}; install it: {INSTALL}")
