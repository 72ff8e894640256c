"""A record is read through its type, never by string key: `record["status"]` outside the record's own parser is a
field a rename would leave behind, unchecked by mypy. Each record's JSON is read by key in one place, its
`from_json` (and rnnlab/record/run_record.py, the run record's home)."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

from rnnlab.record import eval_record, notes, run_record

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rnnlab"
HOME = Path(run_record.__file__).resolve()
PARSERS = {Path(module.__file__).resolve() for module in (eval_record, notes)}  # their `from_json` reads keys

# The keys of every record the lab writes: metrics.json (and its timing section and the keys of how a run ended),
# eval*.json, and a sweep's note of a job that did not run.
KEYS = (
    {f.name for f in fields(run_record.RunRecord)} - {"extra"}
    | {"error", "diverged_at_step", "wall_time_s", "resumed_from_step", "finished_at", "unreadable_checkpoints"}
    | set(eval_record.REQUIRED_KEYS)
    | {f.name for f in fields(notes.Note)}
)
# Receivers that are no record though they are read by one of its keys: tables (pandas DataFrames of the report,
# the eval table), Lightning's checkpoint and step outputs, the benchmark's JSON. (path, receiver as written)
NOT_RECORDS = {
    ("rnnlab/sweeps/plots.py", "cell"),
    ("rnnlab/sweeps/plots.py", "table"),
    ("rnnlab/sweeps/spread.py", "group"),
    ("rnnlab/sweeps/report_files.py", "table"),
    ("rnnlab/sweeps/length.py", "evals"),
    ("rnnlab/sweeps/length.py", "data"),
    ("rnnlab/sweeps/length.py", "group.groupby('seq_len')"),
    ("rnnlab/bench/targets.py", "entry"),
    ("rnnlab/bench/tables.py", "e"),
    ("rnnlab/bench/targets.py", "startup['against']"),
    ("rnnlab/training/checkpoint.py", "checkpoint.get(RECORD_KEY) or {}"),
    ("rnnlab/training/module.py", "checkpoint"),
    ("rnnlab/training/run_summary.py", "outputs"),
    ("rnnlab/training/run_summary.py", "state_dict"),
}


def _parser_lines(tree: ast.AST) -> set[int]:
    """The lines of the `from_json` functions in `tree`: a record's one reading of its JSON."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "from_json":
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def keyed_reads(source: str) -> list[tuple[int, str, str]]:
    """(line, receiver, key) for every `x["key"]`, `x.get("key")`, `x.pop("key")` whose key is a record's."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            receiver, key = node.value, node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            receiver, key = node.func.value, node.args[0].value
        else:
            continue
        if isinstance(key, str) and key in KEYS:
            found.append((node.lineno, ast.unparse(receiver), key))
    return found


def record_reads() -> tuple[list[str], set[tuple[str, str]]]:
    """Every string-key read of a record in rnnlab/ outside its homes, and the NOT_RECORDS entries that were met."""
    reads, met = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.resolve() == HOME:
            continue
        source = path.read_text()
        allowed = _parser_lines(ast.parse(source)) if path.resolve() in PARSERS else set()
        name = path.relative_to(ROOT).as_posix()
        for line, receiver, key in keyed_reads(source):
            if (name, receiver) in NOT_RECORDS:
                met.add((name, receiver))
            elif line not in allowed:
                reads.append(f"{name}:{line}: {receiver}[{key!r}]")
    return reads, met


def test_no_record_is_read_by_string_key_outside_its_parser():
    reads, met = record_reads()
    assert reads == [], "read the typed record's field instead (rnnlab.record.run_record.RunRecord, ...)"
    assert met == NOT_RECORDS, f"no longer read, drop from NOT_RECORDS: {sorted(NOT_RECORDS - met)}"


def test_the_check_finds_every_form_of_a_keyed_read():
    source = (
        "status = record['status']\n"
        "best = previous.get('best', {})\n"
        "job.metrics['timing']['wall_time_s']\n"
        "note.pop('why')\n"
        "cfg['lr']\n"  # not a record's key
        "record[key]\n"  # not a literal
    )
    assert sorted(keyed_reads(source)) == [
        (1, "record", "status"),
        (2, "previous", "best"),
        (3, "job.metrics", "timing"),
        (3, "job.metrics['timing']", "wall_time_s"),
        (4, "note", "why"),
    ]
