"""metrics.json: written atomically and readable by the group, read back only if it is a run record."""

import json

import pytest

from rnnlab.record.atomic import readable_mode
from rnnlab.record.run_record import (
    CorruptMetrics,
    RunRecord,
    read_metrics,
    read_record,
    remove_metrics_leftovers,
    write_metrics,
)

RECORD = {
    "status": "completed",
    "steps": 3,
    "final": {"val/loss": float("nan")},
    "best": {},
    "config": {},
    "timing": {},
}


def test_a_record_is_written_mode_0644_and_read_back_with_nan_as_null(tmp_path):
    path = write_metrics(tmp_path, RECORD)
    assert path.stat().st_mode & 0o777 == readable_mode() and [p.name for p in tmp_path.iterdir()] == [path.name]
    assert read_metrics(tmp_path) == {**RECORD, "final": {"val/loss": None}}
    assert read_metrics(tmp_path / "not_yet") is None


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "is unreadable (JSONDecodeError"),
        (b'{"status": "comp', "is unreadable (JSONDecodeError"),
        (bytes(range(256)), "is unreadable ("),
        (b"[]", "is not a run record: a JSON list, not an object"),
        (b"{}", "is not a run record: 'status' is missing or not a str"),
        (json.dumps({**RECORD, "final": None}).encode(), "'final' is missing or not a dict"),
        (json.dumps({**RECORD, "status": "done"}).encode(), "status 'done' is none of completed, diverged, failed"),
    ],
)
def test_a_corrupt_or_foreign_file_is_one_error_naming_it(tmp_path, content, reason):
    (tmp_path / "metrics.json").write_bytes(content)
    with pytest.raises(CorruptMetrics) as error:
        read_metrics(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'metrics.json'} ") and reason in message and "\n" not in message


def test_leftovers_of_killed_writes_are_removed(tmp_path):
    write_metrics(tmp_path, RECORD)
    for name in (".metrics.abc.tmp", ".metrics.json.x1.tmp"):
        (tmp_path / name).write_text("{")
    remove_metrics_leftovers(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


FULL = {
    "status": "diverged",
    "overrides": ["init_scale=10", "+task.num_marked=3"],
    "choices": {"model": "torch", "task": "adding"},
    "steps": 12,
    "diverged_at_step": 11,
    "baseline": 0.25,
    "final": {"val/loss": 0.05, "train/loss": None},
    "best": {"val/loss": 0.04},
    "config": {"lr": 0.1},
    "timing": {"wall_time_s": 1.5, "resumed_from_step": None},
}


def test_the_typed_record_is_metrics_json_and_back(tmp_path):
    record = RunRecord.from_json(FULL)
    assert record.to_json() == FULL and list(record.to_json()) == list(FULL)  # same keys, same order
    assert (record.status, record.steps, record.diverged_at_step, record.error) == ("diverged", 12, 11, None)
    assert record.final_over_baseline == pytest.approx(0.2) and record.wall_time_s == 1.5 and record.finished
    assert record.objective("val/loss") == 0.04 and record.objective("val/acc") == float("inf")
    write_metrics(tmp_path, record)
    assert read_record(tmp_path) == record and read_metrics(tmp_path) == FULL
    failed = RunRecord.from_json({**RECORD, "status": "failed", "error": "ValueError: boom"})
    assert (failed.error, failed.finished, failed.final_over_baseline, failed.baseline) == (
        "ValueError: boom",
        False,
        None,
        None,
    )
    assert read_record(tmp_path / "not_yet") is None


def test_a_record_of_no_known_status_is_not_written(tmp_path):
    with pytest.raises(ValueError, match="status must be one of completed, diverged, failed, got 'done'"):
        write_metrics(tmp_path, {**RECORD, "status": "done"})
    assert list(tmp_path.iterdir()) == []
