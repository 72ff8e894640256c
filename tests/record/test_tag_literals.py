"""Every metric name is spelled once, in rnnlab.record.tags: a literal elsewhere is a tag that a rename would leave
behind (a chart, a column or a console line that silently empties)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from rnnlab.record import tags

ROOT = Path(__file__).resolve().parents[2]
TAGS_FILE = Path(tags.__file__).resolve()
# the namespaces of the tags module: a string naming one of them is a metric name
PREFIXES = sorted(
    {value.split("/")[0] for name, value in vars(tags).items() if name.isupper() and isinstance(value, str)}
)
TAG = re.compile(rf"(?<![\w.])(?:{'|'.join(map(re.escape, PREFIXES))})/")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def tag_literals(path: Path) -> list[str]:
    """`file:line: 'literal'` for every string constant (docstrings aside) in `path` that names a metric."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if TAG.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return sorted(found)


def test_the_prefixes_are_the_tags_namespaces():
    assert {"train", "val", "baseline", "hp", "grad_norm", "grad_h", "spectrum"} <= set(PREFIXES)


def test_the_finder_finds_a_literal(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    source = tmp_path / "m.py"
    source.write_text(
        '"""val/loss in a docstring is prose."""\nx = f"{a} val/acc"\ny = "hp/final_loss"\nz = "a.val/"\n'
    )
    assert tag_literals(source) == ["m.py:2: ' val/acc'", "m.py:3: 'hp/final_loss'"]


def test_no_metric_name_literal_outside_the_tags_module():
    files = [p for d in ("rnnlab", "experiments", "hydra_plugins") for p in (ROOT / d).rglob("*.py")]
    assert len(files) > 50
    found = [hit for path in files if path.resolve() != TAGS_FILE for hit in tag_literals(path)]
    assert found == []
