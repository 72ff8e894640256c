"""The package's own structure: no import circle worked around by deferred imports, and one owner of nn.RNN's
parameter names (`rnnlab/models/naming.py`), as nn.RNN builds its `_flat_weights_names` once."""

import ast
import re
from pathlib import Path

import pytest

RNNLAB = Path(__file__).resolve().parents[2] / "rnnlab"
MODELS = sorted((RNNLAB / "models").glob("*.py"))


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_models_import_at_the_top_only(path):
    """A function-level import is how an import circle gets hidden; the models have none."""
    tree = ast.parse(path.read_text())
    deferred = [
        node.lineno
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    assert not deferred, f"{path.name}: imports inside functions at lines {deferred}"


def test_parameter_names_are_built_only_in_naming():
    """No f-string builds `..._l{layer}...` outside naming.py: every other module asks naming for the name."""
    pattern = re.compile(r"""f["'][^"']*_l\{""")
    offenders = [
        f"{path.relative_to(RNNLAB)}:{number}"
        for path in RNNLAB.rglob("*.py")
        if path.name != "naming.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders
