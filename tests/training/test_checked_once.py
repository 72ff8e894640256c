"""One run's check phase does each check once and reads metrics.json once (issue 16): the configuration's checks
(`check_config`, which builds the task) and the record's read, counted, for `rnnlab.run` and for the CLI's main
(its preflight and main share what they found), on a fresh directory and on a re-run into a finished one."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

import rnnlab
import rnnlab.record.run_record as run_record
import rnnlab.train as cli
import rnnlab.training.checks as checks
import rnnlab.training.run as run

TINY = [
    "hidden_size=8",
    "batch_size=8",
    "seq_len=6",
    "task.train_batches=2",
    "task.val_batches=1",
    "max_steps=2",
    "callbacks=none",
]


@pytest.fixture
def counts(monkeypatch) -> Counter:
    """Calls of check_config, and reads of a metrics.json that exists, wherever the lab makes them."""
    counted: Counter = Counter()
    check_config, read_record = checks.check_config, run_record.read_record

    def counting_check(cfg):
        counted["check_config"] += 1
        return check_config(cfg)

    def counting_read(output_dir):
        if (Path(output_dir) / run_record.METRICS_FILE).exists():
            counted["metrics.json read"] += 1
        return read_record(output_dir)

    for module in (checks, cli, run):  # where it is imported by name at import time (the others import it late)
        monkeypatch.setattr(module, "check_config", counting_check)
    monkeypatch.setattr(run_record, "read_record", counting_read)
    return counted


def test_the_api_checks_the_configuration_once_and_reads_the_record_once(counts, tmp_path):
    first = rnnlab.run(TINY, run_dir=tmp_path)
    assert first.status == "completed" and first.steps == 2
    assert counts == {"check_config": 1}  # the record it returns is the one it wrote: not read back
    counts.clear()
    again = rnnlab.run(TINY, run_dir=tmp_path)  # finished: skipped, its record read once
    assert again.record == first.record and counts == {"check_config": 1, "metrics.json read": 1}


def _cli(monkeypatch, run_dir: Path, *overrides: str) -> None:
    monkeypatch.setattr(cli.interrupt, "install", lambda: None)  # pytest keeps its own signal handlers
    monkeypatch.setattr(sys, "argv", ["rnnlab.train", *TINY, *overrides, f"hydra.run.dir={run_dir}"])
    cli.main()


def test_the_cli_checks_once_between_its_preflight_and_main(counts, monkeypatch, tmp_path):
    _cli(monkeypatch, tmp_path)
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / ".hydra" / "config.yaml").is_file()
    assert counts == {"check_config": 1}  # the preflight's task is main's
    counts.clear()
    _cli(monkeypatch, tmp_path)  # finished: the preflight's read is main's; nothing checked
    assert counts == {"metrics.json read": 1}


def test_the_preflight_hands_over_only_to_its_own_run(tmp_path):
    from rnnlab.training import preflight

    preflight._found = preflight.Found(str(tmp_path / "a"), task="task")
    assert preflight.take(tmp_path / "b") is None and preflight.take(tmp_path / "a") is None  # taken once, or never
    preflight._found = preflight.Found(str(tmp_path / "a"), task="task")
    assert preflight.take(tmp_path / "a") == preflight.Found(str(tmp_path / "a"), task="task")
