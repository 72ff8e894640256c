"""A sweep's jobs read back typed: each finished job's RunRecord, and a job its launcher could not start as a failed
record of its own."""

from __future__ import annotations

import yaml

from rnnlab.record.jobs import find_jobs
from rnnlab.record.run_record import RunRecord, write_metrics
from rnnlab.record.unlaunched import update_unlaunched


def make_job(sweep_dir, name, overrides, record=None):
    job_dir = sweep_dir / name
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if record is not None:
        write_metrics(job_dir, RunRecord.from_json(record))


def test_every_job_has_its_typed_record_or_none(tmp_path):
    done = {"status": "completed", "steps": 7, "final": {"val/loss": 0.1}, "best": {}, "config": {}, "timing": {}}
    make_job(tmp_path, "seed=0", ["seed=0"], {**done, "baseline": 0.5})
    make_job(tmp_path, "seed=1", ["seed=1"])  # running, or interrupted
    update_unlaunched(tmp_path, {"seed=2": "OSError: [Errno 36] File name too long"}, started=[])
    jobs = {job.name: job for job in find_jobs(tmp_path)}
    assert sorted(jobs) == ["seed=0", "seed=1", "seed=2"]
    finished = jobs["seed=0"].record
    assert finished is not None and (finished.steps, finished.final_over_baseline) == (7, 0.2)
    assert jobs["seed=1"].record is None and jobs["seed=1"].status == "incomplete"
    unlaunched = jobs["seed=2"].record
    assert unlaunched is not None and (unlaunched.status, unlaunched.steps, unlaunched.error) == (
        "failed",
        0,
        "OSError: [Errno 36] File name too long",
    )
    assert jobs["seed=2"].overrides == {"seed": "2"} and jobs["seed=2"].error == unlaunched.error
