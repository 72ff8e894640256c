"""What a study varies, asked in one place (rnnlab.record.study): the HParams trial names, the sweep's progress lines
and the report's table name a job by the same keys, in the same order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from rnnlab.record.overrides import override_keys, parse_overrides
from rnnlab.record.study import MULTIRUN_FILE, differing_keys, read_multirun, study_keys
from tests.helpers import ROOT


def test_the_override_parser_keeps_values_as_written_and_drops_the_prefixes():
    overrides = ["+a.b=1e+20", "++model=torch", "~x", "c=x=y", "d="]
    assert parse_overrides(overrides) == {"a.b": "1e+20", "model": "torch", "x": "", "c": "x=y", "d": ""}
    assert override_keys(overrides) == ["a.b", "model", "x", "c", "d"]


def test_differing_keys_in_order_of_first_appearance():
    jobs = [{"seed": "0", "lr": "0.1", "n": "3"}, {"seed": "1", "lr": "0.1", "n": "3", "extra": "1"}]
    assert differing_keys(jobs) == ["seed", "extra"]  # a key one job lacks differs
    assert differing_keys(jobs[:1]) == ["seed", "lr", "n"]  # a lone job: all it sets
    assert differing_keys([]) == []


def save_multirun(sweep_dir, task, params=None, **sweeper):
    sweep_dir.mkdir(parents=True, exist_ok=True)
    config = {"hydra": {"sweeper": {"params": params, **sweeper}, "overrides": {"task": task}}}
    OmegaConf.save(OmegaConf.create(config), sweep_dir / MULTIRUN_FILE)


def test_the_study_is_its_multirun_yaml_then_what_else_differs(tmp_path):
    jobs = [{"seed": s, "lr": lr, "max_steps": "5"} for s in "01" for lr in ("0.1", "0.2")]
    save_multirun(tmp_path, ["max_steps=5", "seed=0,1"], {"lr": "0.1,0.2"})
    assert study_keys(tmp_path, jobs) == ["lr", "seed"]  # params first, as Hydra's basic sweeper combines them
    assert study_keys(tmp_path) == ["lr", "seed"]  # a job, before any other has run
    # swept again with other values of a fixed key: that key varies too
    assert study_keys(tmp_path, [*jobs, {"seed": "0", "lr": "0.1", "max_steps": "9"}]) == ["lr", "seed", "max_steps"]
    save_multirun(tmp_path, [], {"+lr": "interval(0.1,1)"}, n_trials=3)  # Optuna: its search space
    assert study_keys(tmp_path, jobs) == ["lr", "seed"]  # (seed differs between these jobs too)
    assert study_keys(tmp_path) == ["lr"]


def test_without_a_readable_multirun_yaml_the_jobs_say_what_differs(tmp_path):
    jobs = [{"seed": "0", "lr": "0.1"}, {"seed": "1", "lr": "0.1"}]
    assert read_multirun(tmp_path) is None
    assert study_keys(tmp_path, jobs) == ["seed"]
    (tmp_path / MULTIRUN_FILE).write_text("hydra: [unclosed")
    assert read_multirun(tmp_path) is None
    assert study_keys(tmp_path, jobs) == ["seed"]
    (tmp_path / MULTIRUN_FILE).write_text("[1, 2]\n")  # YAML, but no multirun config
    assert study_keys(tmp_path, jobs) == ["seed"]
    assert study_keys(None, jobs[:1]) == ["seed", "lr"]


TINY = [
    "hidden_size=4",
    "seq_len=5",
    "batch_size=8",
    "max_steps=2",
    "task.train_batches=2",
    "task.val_batches=1",
    "trainer.enable_progress_bar=false",
]


@pytest.mark.slow
def test_a_real_sweeps_trial_names_progress_lines_and_report_rows_name_the_same_keys(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    from rnnlab.sweeps.table import sweep_table
    from rnnlab.training.hparams import sweep_mark

    sweep_dir = tmp_path / "study"
    # the depth study's grid (num_layers, seed in its sweeper's params), num_layers fixed and lr swept on the
    # command line, which Hydra's basic sweeper combines after the params
    command = [sys.executable, "-m", "rnnlab.train", "-m", "experiment=depth", f"hydra.sweep.dir={sweep_dir}", *TINY]
    command += ["num_layers=1", "lr=0.01,0.1"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert run.returncode == 0, run.stderr[-3000:]
    keys = ["seed", "lr"]

    table, _ = sweep_table(sweep_dir)
    assert table.attrs["varied"] == keys
    assert list(table.columns[1:3]) == keys
    rows = {(str(int(row.seed)), f"{row.lr:g}") for row in table.itertuples()}
    assert rows == {(s, lr) for s in "0123" for lr in ("0.01", "0.1")}  # the depth study's four seeds

    lines = [line.split("] ", 1)[1].split(":", 1)[0] for line in run.stdout.splitlines() if "  |  " in line]
    assert sorted(lines) == sorted(f"seed={s},lr={lr}" for s, lr in rows)

    trials = set()
    for job_dir in (sweep_dir / name for name in table["job"]):
        events = EventAccumulator(str(job_dir))
        events.Reload()
        content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        trials.add(plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.group_name)
    assert trials == {f"{s} {lr} {sweep_mark(str(sweep_dir))}" for s, lr in rows}


def test_no_override_parsing_outside_the_record_layer():
    """A second parser would be a second answer to a job's name: `partition("=")`, `split("=")` or Hydra's
    OverridesParser anywhere in the package but rnnlab/record/ is one."""
    import ast

    found = []
    for path in (ROOT / "rnnlab").rglob("*.py"):
        if "record" in path.relative_to(ROOT / "rnnlab").parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                first = node.args[0] if node.args else None
                if node.func.attr in ("partition", "split", "rpartition", "rsplit") and (
                    isinstance(first, ast.Constant) and first.value == "="
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and any(alias.name == "OverridesParser" for alias in node.names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
