"""One process per run directory: `RUN_DIR/.rnnlab.lock`, an flock held for as long as a run writes its directory.

Why flock: the kernel drops it when its process ends, however it ends (an exception, SIGKILL, the out-of-memory
killer), so a dead process never leaves a lock held on its own host, and no pid has to be probed. On NFS (v4, or
v3 with lockd), Linux maps flock to the server's POSIX locks: a lock of a client that died is dropped by the server
once the client's lease expires (90 s by default). The file itself holds who took the lock (pid, host, start time,
Slurm job id), for the one line a second process prints; its content never decides anything.

A Slurm requeue restarts the same job id while the server may still hold the dead node's lock for a lease: a
process whose SLURM_JOB_ID equals the holder's waits for it (REQUEUE_WAIT_S) instead of refusing, since that holder
is its own earlier life. A filesystem that has no locks at all (ENOLCK, EOPNOTSUPP) is said in one line and the
run goes on unlocked.

Standard library only: the CLI takes the lock before Lightning or torch is imported.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOCK_FILE = ".rnnlab.lock"
REQUEUE_WAIT_S = 150.0  # longer than NFS's default 90 s lease: the requeued job's dead first life lets go
POLL_S = 0.5


class RunLocked(RuntimeError):
    """Another process holds the run directory; the message is the one line to print, naming it."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def lock_path(run_dir: str | os.PathLike[str]) -> Path:
    return Path(run_dir) / LOCK_FILE


def who() -> dict[str, Any]:
    """This process, as the lock file records it."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


def read_holder(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What the lock file says about its taker ({} if absent, empty or unreadable: e.g. killed before writing)."""
    try:
        holder = json.loads(lock_path(run_dir).read_text())
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def describe_holder(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process (not yet named in the lock file)"
    slurm = f", Slurm job {holder['slurm_job_id']}" if holder.get("slurm_job_id") else ""
    return f"pid {holder.get('pid')} on {holder.get('host')} (since {holder.get('started')}{slurm})"


class RunLock:
    """The run directory's lock: `with RunLock(run_dir):` raises RunLocked if another live process holds it."""

    def __init__(self, run_dir: str | os.PathLike[str], requeue_wait_s: float = REQUEUE_WAIT_S) -> None:
        self.run_dir = Path(run_dir)
        self.path = lock_path(run_dir)
        self.requeue_wait_s = requeue_wait_s
        self._fd: int | None = None
        self.unlocked_reason: str | None = None  # set when the filesystem has no locks
        self.stale: dict[str, Any] = {}  # the lock file's earlier taker, when it ended without removing it

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        deadline = None
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    self.unlocked_reason = f"{self.run_dir} is on a filesystem without locks ({error.strerror})"
                    print(f"rnnlab: {self.unlocked_reason}: the run goes on unlocked", file=sys.stderr)
                    return self
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = read_holder(self.run_dir)
                mine = os.environ.get("SLURM_JOB_ID")
                if mine and holder.get("slurm_job_id") == mine:  # our own earlier life, dying or lease-held
                    deadline = deadline or time.monotonic() + self.requeue_wait_s
                    if time.monotonic() < deadline:
                        time.sleep(POLL_S)
                        continue
                raise RunLocked(
                    f"rnnlab: {self.run_dir} is being run by {describe_holder(holder)}: nothing was written; "
                    "wait for it, or stop it, and run again",
                    holder,
                ) from None
            # The file may have been unlinked by its previous holder between our open and our flock: then the lock
            # we hold is on a name nobody else sees. Take it again on the file that is there now.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            self._fd = fd
            stale = read_holder(self.run_dir)
            if stale:  # a holder named, yet the lock was free: that process ended without removing the file
                print(f"rnnlab: stale lock of {describe_holder(stale)}, which has ended, taken over", file=sys.stderr)
            self.stale = stale
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(who()) + "\n").encode(), 0)
            return self

    def release(self) -> None:
        """Remove the lock file and let go (unlinked while still held, so no one can lock the old file after)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
