"""metrics.json: written atomically and readable by the group, read back only if it is a run record."""

import json
from dataclasses import replace

import pytest

from rnnlab.record.atomic import readable_mode
from rnnlab.record.run_record import (
    CorruptMetrics,
    RunRecord,
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
    path = write_metrics(tmp_path, RunRecord.from_json(RECORD))
    assert path.stat().st_mode & 0o777 == readable_mode() and [p.name for p in tmp_path.iterdir()] == [path.name]
    assert json.loads(path.read_text())["final"] == {"val/loss": None}
    record = read_record(tmp_path)
    assert record is not None and record.final == {"val/loss": None} and record.final_over_baseline is None
    assert read_record(tmp_path / "not_yet") is None


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
        (json.dumps({**RECORD, "steps": "3"}).encode(), "'steps' is missing or not a int"),
        (json.dumps({**RECORD, "overrides": "lr=0.1"}).encode(), "'overrides' is not a list"),
        (json.dumps({**RECORD, "baseline": "0.5"}).encode(), "'baseline' is not a float"),
    ],
)
def test_a_corrupt_or_foreign_file_is_one_error_naming_it(tmp_path, content, reason):
    (tmp_path / "metrics.json").write_bytes(content)
    with pytest.raises(CorruptMetrics) as error:
        read_record(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'metrics.json'} ") and reason in message and "\n" not in message


def test_leftovers_of_killed_writes_are_removed(tmp_path):
    write_metrics(tmp_path, RunRecord.from_json(RECORD))
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
    assert read_record(tmp_path) == record and json.loads((tmp_path / "metrics.json").read_text()) == FULL
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
        write_metrics(tmp_path, replace(RunRecord.from_json(RECORD), status="done"))
    assert list(tmp_path.iterdir()) == []


# A record as the lab writes it (rnnlab.training.run.record), with keys this version does not know (a later
# version's), in the places those can be: after `steps` (how a run ended) and inside every section.
WRITTEN = {
    **{k: FULL[k] for k in ("status", "overrides", "choices", "steps", "diverged_at_step")},
    "from_a_later_version": {"kept": [1, 2.5, None]},
    "baseline": 0.25,
    "final": {"val/loss": 0.05, "train/loss": None, "val/new_metric": 1e-300},
    "best": {"val/loss": 0.04},
    "config": {"lr": 0.1, "model": {"_target_": "rnnlab.models.TorchRNN", "cell": None}, "tags": ["a", 1]},
    "timing": {"wall_time_s": 1.5, "resumed_from_step": 10, "unreadable_checkpoints": ["x.ckpt"], "new": True},
    "gradient": {"start": {"grad_h/layer0/log10_ratio": -3.25}, "end": {"grad_h/layer0/log10_ratio": -0.5}},
}


def test_a_record_read_and_written_again_is_the_same_file(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "metrics.json").parent.mkdir()
    (first / "metrics.json").write_text(json.dumps(WRITTEN, indent=2) + "\n")  # as write_metrics writes it
    record = read_record(first)
    assert record is not None and record.extra == {
        "diverged_at_step": 11,
        "from_a_later_version": {"kept": [1, 2.5, None]},
    }
    assert record.gradient == WRITTEN["gradient"] and record.resumed_from_step == 10
    write_metrics(second, record)
    assert (second / "metrics.json").read_bytes() == (first / "metrics.json").read_bytes()
    again = read_record(second)
    assert again == record
    write_metrics(first, again)
    assert (second / "metrics.json").read_bytes() == (first / "metrics.json").read_bytes()


def test_a_failed_record_without_gradient_round_trips_without_one(tmp_path):
    failed = RunRecord.from_json({**RECORD, "final": {}, "status": "failed", "error": "ValueError: boom"})
    path = write_metrics(tmp_path, failed)
    assert "gradient" not in json.loads(path.read_text()) and read_record(tmp_path) == failed
