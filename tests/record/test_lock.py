"""One process per run directory (rnnlab.record.lock), with real processes: a live holder refuses a second one in
one line naming it; a dead one (killed at any moment, even between creating the file and writing it) does not."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rnnlab.record.lock import LOCK_FILE, RunLock, RunLocked, read_holder
from tests.helpers import ROOT

HOLD = """
import sys, time
from rnnlab.record.lock import RunLock
with RunLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def hold(run_dir, env=None):
    """A process that takes the lock and keeps it; returns once it holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_process_is_refused_in_one_line_naming_the_holder(tmp_path):
    holder = hold(tmp_path, {"SLURM_JOB_ID": "4242"})
    try:
        with pytest.raises(RunLocked) as refused:
            RunLock(tmp_path).acquire()
        line = str(refused.value)
        assert "\n" not in line and str(tmp_path) in line
        assert f"pid {holder.pid}" in line and "Slurm job 4242" in line and "nothing was written" in line
        assert read_holder(tmp_path)["pid"] == holder.pid  # the refused process changed nothing
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_lock_of_a_killed_process_is_taken_over_and_named_stale(how, tmp_path, capsys):
    holder = hold(tmp_path)
    holder.send_signal(how)
    holder.wait()
    assert (tmp_path / LOCK_FILE).exists()  # killed: nothing removed the file
    with RunLock(tmp_path) as lock:
        assert lock.stale["pid"] == holder.pid
        assert read_holder(tmp_path)["pid"] == os.getpid()
    assert f"stale lock of pid {holder.pid}" in capsys.readouterr().err
    assert not (tmp_path / LOCK_FILE).exists()  # released: removed


def test_a_stale_lock_file_from_another_host_is_taken_over_when_no_one_holds_it(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "node-17", "started": "x", "slurm_job_id": "9"}))
    with RunLock(tmp_path) as lock:
        assert lock.stale["host"] == "node-17"


def test_a_kill_between_creating_the_lock_file_and_writing_it_leaves_no_lock(tmp_path):
    (tmp_path / LOCK_FILE).write_text("")  # the state such a kill leaves
    with RunLock(tmp_path) as lock:
        assert lock.stale == {}
        assert read_holder(tmp_path)["pid"] == os.getpid()


def test_the_lock_is_released_on_an_exception_and_taken_again(tmp_path):
    with pytest.raises(ZeroDivisionError), RunLock(tmp_path):
        raise ZeroDivisionError
    assert not (tmp_path / LOCK_FILE).exists()
    with RunLock(tmp_path):
        pass


def test_a_requeued_slurm_job_waits_for_its_own_earlier_life(tmp_path, monkeypatch):
    """The same SLURM_JOB_ID holds the lock (a requeue while the dying job or the NFS lease still holds it): the
    new life waits for it rather than refusing; another job id is refused at once."""
    holder = hold(tmp_path, {"SLURM_JOB_ID": "77"})
    try:
        monkeypatch.setenv("SLURM_JOB_ID", "78")
        with pytest.raises(RunLocked):
            RunLock(tmp_path, requeue_wait_s=30).acquire()
        monkeypatch.setenv("SLURM_JOB_ID", "77")
        started = time.monotonic()
        subprocess.Popen(["sh", "-c", f"sleep 1; kill {holder.pid}"])
        with RunLock(tmp_path, requeue_wait_s=30):
            waited = time.monotonic() - started
        assert 0.5 < waited < 20
        with pytest.raises(RunLocked):  # a wait is bounded: a holder that never ends is refused after it
            other = hold(tmp_path, {"SLURM_JOB_ID": "77"})
            try:
                RunLock(tmp_path, requeue_wait_s=0.5).acquire()
            finally:
                other.kill()
                other.wait()
    finally:
        holder.kill()
        holder.wait()
