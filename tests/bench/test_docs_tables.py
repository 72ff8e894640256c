"""docs/speed.md's figures come from the committed bench report (docs/bench/cpu.json) through its markers, and that
report is what the bench writes: the docs cannot quote a number the bench did not measure, nor go stale silently."""

import json
import re
from pathlib import Path

import pytest

from rnnlab.bench import cli as bench
from rnnlab.bench import docs_tables, models, startup, sweep, tables, targets
from tests.helpers import ROOT

DOCS = ROOT / "docs"
SPEED = DOCS / "speed.md"
REPORT = DOCS / "bench" / "cpu.json"
# the command the page documents as the one that regenerates every figure on it
COMMAND = "python -m rnnlab.bench --out docs/bench/cpu.json"


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads(REPORT.read_text())


def test_speed_page_renders_every_section_from_the_committed_report(report):
    source = SPEED.read_text()
    assert {section for _, section in docs_tables.markers(source)} == set(tables.SECTIONS)
    assert {path for path, _ in docs_tables.markers(source)} == {"bench/cpu.json"}
    assert COMMAND in source
    page = docs_tables.expand(source, SPEED.parent, "speed.md")
    assert not [line for line in page.splitlines() if line.startswith("<!-- bench")]
    # the figures are the report's: the first shape's nn.RNN median, every implementation's ratio at it
    first = report["models"][0]
    ratios = " | ".join(f"{r['ratio']:.2f}" for r in first["results"][1:])
    assert f"| {first['label']} |" in page and f"| nn.RNN (ms) | {first['results'][0]['median_ms']:.1f} |" in page
    assert all(f"| {r['impl']} | {r['ratio']:.2f} |" in page for r in first["results"][1:]), ratios
    floor = [r["ratio"] for entry in report["models"] for r in entry["results"] if r["impl"] == "torch"]
    assert f"at {min(floor):.2f}–{max(floor):.2f} of it." in page
    train = report["train"][0]
    assert f"| {train['lab_ms_per_step']:.1f} | {train['bare_ms_per_step']:.1f} |" in page
    assert f"| {report['sweep']['basic_s']:.1f} |" in page
    assert f"Measured with `{report['meta']['command']}`" in page
    assert report["meta"]["started"].replace("T", " ") in page and report["meta"]["machine"]["torch"] in page


def test_every_bench_marker_in_the_docs_renders():
    pages = [page for page in DOCS.rglob("*.md") if docs_tables.markers(page.read_text())]
    assert SPEED in pages
    for page in pages:
        docs_tables.expand(page.read_text(), page.parent, str(page.relative_to(DOCS)))


def write_report(path: Path, **sections) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sections))
    return path


def test_a_marker_naming_a_missing_file_or_section_fails_naming_it(tmp_path, report):
    write_report(tmp_path / "bench" / "part.json", sweep=report["sweep"])
    with pytest.raises(docs_tables.MarkerError, match=r"page.md: <!-- bench: bench/gone.json sweep --> names .*gone"):
        docs_tables.expand("# Speed\n\n<!-- bench: bench/gone.json sweep -->\n", tmp_path, "page.md")
    with pytest.raises(docs_tables.MarkerError, match=r"holds no 'models' section \(it holds sweep\)"):
        docs_tables.expand("<!-- bench: bench/part.json models -->", tmp_path)
    with pytest.raises(docs_tables.MarkerError, match=r"no section 'speed': one of meta, models, train, sweep"):
        docs_tables.expand("<!-- bench: bench/part.json speed -->", tmp_path)
    with pytest.raises(docs_tables.MarkerError, match="is no bench marker: write <!-- bench: PATH SECTION -->"):
        docs_tables.expand("text\n<!-- bench: bench/part.json -->\n", tmp_path)
    (tmp_path / "bench" / "bad.json").write_text("{")
    with pytest.raises(docs_tables.MarkerError, match=r"bad.json is no JSON report: Expecting property name"):
        docs_tables.expand("<!-- bench: bench/bad.json sweep -->", tmp_path)


def test_a_marker_is_replaced_only_on_a_line_of_its_own(tmp_path, report):
    write_report(tmp_path / "r.json", sweep=report["sweep"])
    quoted = "Write `<!-- bench: r.json sweep -->` on a line of its own.\n"
    assert docs_tables.expand(quoted, tmp_path) == quoted
    page = docs_tables.expand("before\n\n<!-- bench: r.json sweep -->\n\nafter\n", tmp_path)
    assert page == "before\n\n" + tables.sweep_table(report["sweep"]) + "\n\nafter\n"
    assert "| joblib, n_jobs=2 |" in page


def test_the_mkdocs_hook_expands_the_page_and_stops_the_build_on_a_bad_marker(tmp_path, report):
    from mkdocs.exceptions import PluginError

    write_report(tmp_path / "bench" / "r.json", sweep=report["sweep"])

    class File:
        abs_src_path = str(tmp_path / "speed.md")
        src_path = "speed.md"

    class Page:
        file = File()

    assert "| basic |" in docs_tables.on_page_markdown("<!-- bench: bench/r.json sweep -->", page=Page(), config={})
    with pytest.raises(PluginError, match="speed.md: .* holds no 'train'"):
        docs_tables.on_page_markdown("<!-- bench: bench/r.json train -->", page=Page(), config={})


def test_the_committed_report_is_a_whole_run_of_the_documented_command(report):
    meta = report["meta"]
    assert meta["command"].startswith("python -m rnnlab.bench") and "--out docs/bench/cpu.json" in meta["command"]
    assert "--section" not in meta["command"] and meta["sections"] == list(bench.SECTIONS)
    assert all(report.get(section) for section in bench.SECTIONS)
    assert report["targets"] == targets.evaluate(report)  # the verdicts are the current targets' reading of it
    for entry in report["models"]:
        reference = entry["results"][0]
        assert reference["impl"] == entry["reference"] == models.REFERENCE and reference["ratio"] == 1.0
        for result in entry["results"]:
            assert result["median_ms"] == pytest.approx(sorted(result["times_ms"])[len(result["times_ms"]) // 2])
            assert result["ratio"] == pytest.approx(result["median_ms"] / reference["median_ms"])
    for entry in report["train"]:
        assert entry["ratio"] == pytest.approx(entry["lab_ms_per_step"] / entry["bare_ms_per_step"])
    assert report["sweep"]["ratio"] == pytest.approx(report["sweep"]["joblib_s"] / report["sweep"]["basic_s"])


def keys(value):
    """The shape of a JSON value: dicts as their keys (recursively), lists as their first item's shape."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value and isinstance(value[0], dict | list) else []
    return None


def test_the_committed_report_has_the_shape_the_bench_writes_now(report, monkeypatch, tmp_path):
    fresh_meta = bench.benchmark((), quick=True, workdir=tmp_path)
    assert keys(fresh_meta["meta"]) == keys(report["meta"])
    assert keys(models.time_shape(models.Shape(3, 2, 2, 4), repeats=1, warmup=0)) == keys(report["models"][0])
    monkeypatch.setattr(sweep, "time_sweep", lambda launcher, jobs, job, workdir: 1.0)
    assert keys(sweep.compare(8, sweep.QUICK_JOB, tmp_path)) == keys(report["sweep"])
    monkeypatch.setattr(startup, "interleaved", lambda calls, repeats, warmup: {name: [1.0] for name in calls})
    assert keys(startup.measure(1, tmp_path)) == keys(report["startup"])
    # train's entries: in tests/bench/test_bench.py::test_training_compare_times_the_lab_and_the_bare_loop (slow)


def table_headers(markdown: str) -> set[str]:
    """The header line of every markdown table in `markdown` (the line above a `|---|` line)."""
    lines = markdown.splitlines()
    return {lines[i - 1].strip() for i, line in enumerate(lines) if i and re.fullmatch(r"\|(-+\|)+", line.strip())}


def test_no_table_of_bench_figures_is_typed_by_hand_in_the_docs(report):
    # what pasting the bench's output would leave: one of its headers, or nn.RNN's row of the models tables
    rendered = table_headers("\n\n".join(tables.render_section(report, section) for section in tables.SECTIONS))
    assert (
        "| launcher | seconds | seconds per job | ratio |" in rendered and len(rendered) >= 5
    )  # a models table per thread count, then train, sweep, startup, targets
    reference_row = f"| {models.REFERENCE} (ms) |"
    for page in [*DOCS.rglob("*.md"), ROOT / "README.md"]:
        source = page.read_text()
        typed = table_headers(source) & rendered
        typed |= {line for line in source.splitlines() if line.strip().startswith(reference_row)}
        assert not typed, f"{page.relative_to(ROOT)} types the bench's tables by hand: {sorted(typed)[:3]}"


def test_the_speed_page_states_no_measured_number_of_its_own():
    source = SPEED.read_text()
    assert not [line for line in source.splitlines() if line.startswith("|")], "a hand-written table"
    # a time, a ratio or a share quoted in the prose (settings such as `T=100` or `2 threads` are not measurements)
    quoted = re.findall(r"\b\d+(?:\.\d+)?\s*(?:×|x\b|ms\b|s\b|µs\b|%|min\b|minutes\b|seconds\b)", source)
    assert not quoted, quoted
