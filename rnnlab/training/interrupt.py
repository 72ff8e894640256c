"""SIGTERM and SIGINT end a run as an interruption: exit 143 / 130, a checkpoint saved when one can be, no record.

Lightning alone turns SIGTERM into `SIGTERMException`, a SystemExit without a code (exit 0, as if the run had
succeeded), and catches KeyboardInterrupt to `sys.exit(1)`. Here both signals raise `Interrupted`, which carries
the conventional exit status 128 + signal number. While the trainer fits, the signal is deferred to the end of the
optimizer step under way: StepCheckpoint then saves the step (as it saves a periodic one, so the resume is
exact) and raises. A second signal while one is pending ends the run at once.

A handler already installed by someone else (submitit's, which lets Slurm's requeue signal decide) is kept: the
lab's handler only replaces the default ones. Standard library only: the CLI installs it before importing torch.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    """The run was stopped by a signal (a BaseException, like KeyboardInterrupt: no `except Exception` records it
    as a failure)."""

    def __init__(self, signum: int, step: int | None = None, saved: bool = False) -> None:
        self.signum, self.step, self.saved = signum, step, saved
        super().__init__(f"{signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def line(self, where: str) -> str:
        name = signal.Signals(self.signum).name
        at = f" at step {self.step}" if self.step is not None else ""
        saved = "; checkpoint saved" if self.saved else ""
        return f"rnnlab: interrupted by {name}{at}{saved}: run the same command again to resume ({where})"


_pending: int | None = None
_deferring = False


def _handler(signum: int, frame) -> None:
    global _pending
    if _deferring and _pending is None:
        _pending = signum
        return
    raise Interrupted(signum)


def install() -> None:
    """Make SIGTERM and SIGINT raise Interrupted, where their handler is still Python's default."""
    defaults = {signal.SIGTERM: (signal.SIG_DFL,), signal.SIGINT: (signal.default_int_handler, signal.SIG_DFL)}
    for signum in SIGNALS:
        if signal.getsignal(signum) in defaults[signum]:
            signal.signal(signum, _handler)


def pending() -> int | None:
    """The signal received while deferring, if any."""
    return _pending


@contextmanager
def deferred():
    """Within: a signal is noted (pending()) instead of raised, for the training loop to stop at a step's end."""
    global _deferring, _pending
    _deferring, _pending = True, None
    try:
        yield
    finally:
        _deferring = False
