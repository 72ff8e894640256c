"""Files that are either whole or absent: written beside their final name, fsynced, renamed; readable by the group.

Used for the checkpoint and for metrics.json. Free of Lightning, so that reading a run's record (a re-run into a
finished directory, a sweep's summary) stays fast.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def readable_mode() -> int:
    """The mode an ordinary new file gets (0666 less the umask): mkstemp's 0600 would hide results from the group."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: Path, write: Callable[[BinaryIO], object], keep_previous: Path | None = None) -> None:
    """Write `path` through `write(file)`: a temporary file beside it, fsync, rename; the old file to keep_previous."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, readable_mode())
        if keep_previous is not None and path.exists():
            os.replace(path, keep_previous)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the renames themselves survive a power cut
    finally:
        os.close(dir_fd)


def remove_leftovers(directory: Path, name: str) -> None:
    """Delete the temporary files a kill during write_atomically left for `name` in `directory`."""
    for tmp in directory.glob(f".{name}.*.tmp"):
        tmp.unlink(missing_ok=True)
