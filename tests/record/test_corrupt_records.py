"""Every reader of a record meets a file that is none (emptied, truncated, foreign) the same way: one line naming
the file, raised or printed, and never a traceback from inside or a record half-read."""

from __future__ import annotations

import json

import pytest
import yaml

import rnnlab
from rnnlab.record.eval_record import CorruptEval, read_eval_record, read_eval_records
from rnnlab.record.identity import check_record
from rnnlab.record.jobs import find_jobs
from rnnlab.record.notes import NOTES, read_notes
from rnnlab.record.run_record import CorruptMetrics
from tests.helpers import compose_run

RECORD = {"status": "completed", "steps": 3, "final": {}, "best": {}, "config": {}, "timing": {}}
CORRUPT = {
    "empty": b"",
    "truncated": b'{"status": "compl',
    "binary": bytes(range(256)),
    "a list": b"[1, 2]",
    "no status": json.dumps({k: v for k, v in RECORD.items() if k != "status"}).encode(),
    "a foreign status": json.dumps({**RECORD, "status": "done"}).encode(),
    "final not an object": json.dumps({**RECORD, "final": [0.1]}).encode(),
    "overrides not a list": json.dumps({**RECORD, "overrides": "lr=0.1"}).encode(),
}


def _one_line_naming(message: str, path) -> bool:
    return str(path) in message and "\n" not in message.strip()


@pytest.fixture(params=sorted(CORRUPT))
def corrupt_run(request, tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["seed=0"]))
    (run_dir / "metrics.json").write_bytes(CORRUPT[request.param])
    return run_dir


def test_the_check_phase_names_it_and_runs_again(corrupt_run, capsys):
    assert check_record(compose_run(corrupt_run), corrupt_run) is None
    err = capsys.readouterr().err
    assert _one_line_naming(err, corrupt_run / "metrics.json") and "treated as not finished" in err


def test_a_sweep_lists_it_as_a_corrupt_job(corrupt_run):
    (job,) = find_jobs(corrupt_run.parent)
    assert job.status == "corrupt" and job.record is None and _one_line_naming(job.error, corrupt_run / "metrics.json")


def test_the_api_raises_one_line(corrupt_run):
    for read in (rnnlab.read_run, rnnlab.run_config):  # run_config: no .hydra/config.yaml, so metrics.json
        with pytest.raises(CorruptMetrics) as error:
            read(corrupt_run)
        assert _one_line_naming(str(error.value), corrupt_run / "metrics.json")


EVAL = {
    "run": "r",
    "overrides": [],
    "split": "val",
    "batches": 1,
    "seq_len": 5,
    "trained_seq_len": 5,
    "step": 2,
    "weights": "weights.pt",
    "loss": 0.5,
    "acc": None,
    "baseline": 0.25,
    "loss_over_baseline": 2.0,
}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        json.dumps([EVAL]).encode(),
        json.dumps({**EVAL, "loss": "0.5"}).encode(),
        json.dumps({k: v for k, v in EVAL.items() if k != "split"}).encode(),
    ],
)
def test_an_eval_file_that_is_no_eval_record_is_one_line_and_hides_no_other(tmp_path, content):
    (tmp_path / "eval.json").write_text(json.dumps({**EVAL, "from_later": 1}, indent=2) + "\n")
    (tmp_path / "eval-seq_len=9.json").write_bytes(content)
    with pytest.raises(CorruptEval) as error:
        read_eval_record(tmp_path / "eval-seq_len=9.json")
    assert _one_line_naming(str(error.value), tmp_path / "eval-seq_len=9.json")
    (good,) = read_eval_records(tmp_path)
    assert (
        good.loss_over_baseline == 2.0 and good.extra == {"from_later": 1} and good.file == str(tmp_path / "eval.json")
    )


def test_an_eval_record_read_and_written_again_is_the_same_file(tmp_path):
    from rnnlab.record.eval_record import eval_text

    path = tmp_path / "eval.json"
    path.write_text(json.dumps({**EVAL, "from_later": {"x": [1, None]}}, indent=2) + "\n")
    assert eval_text(read_eval_record(path)) == path.read_text()


def test_a_note_that_is_none_is_left_out(tmp_path):
    notes = tmp_path / NOTES
    notes.mkdir(parents=True)
    (notes / "seed=0.json").write_text('{"status": "refused", "why": "another configuration"}')
    (notes / "seed=1.json").write_text("[]")
    (notes / "seed=2.json").write_text("{")
    (notes / "seed=3.json").write_text('{"why": "no status"}')
    assert {name: (note.status, note.why) for name, note in read_notes(tmp_path).items()} == {
        "seed=0": ("refused", "another configuration")
    }
