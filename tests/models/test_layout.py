"""The package's own structure: no import circle worked around by deferred imports, and one owner of nn.RNN's
parameter names (`rnnlab/models/naming.py`), as nn.RNN builds its `_flat_weights_names` once."""

import ast
import re
from pathlib import Path

import pytest

from rnnlab.models import naming

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


@pytest.mark.parametrize(
    "name, parts",
    [
        ("weight_ih_l0", ("weight_ih", 0, "")),
        ("bias_hh_l12_reverse", ("bias_hh", 12, "_reverse")),
        ("weight_l3", ("weight", 3, "")),
    ],
)
def test_a_built_name_reads_back_as_its_parts(name, parts):
    assert naming.parts(name) == parts and naming.rename(name, 2, naming.REVERSE) == naming.name(
        parts[0], 2, "_reverse"
    )


@pytest.mark.parametrize("text", ["weight_ih", "weight_ih_l", "weight_ih_lx", "weight_ih_l0_forward", ""])
def test_a_name_that_is_no_parameter_name_is_refused_by_name(text):
    """Where the lab reads a name it built, a stray one is a ValueError naming it, not a None unpacked later."""
    with pytest.raises(ValueError, match=rf"^not a parameter name {{kind}}_l{{layer}}\[_reverse\]: {text!r}$"):
        naming.parts(text)
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        naming.rename(text, 0, "")
