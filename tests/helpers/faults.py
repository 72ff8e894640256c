"""Faults the CLI tests inject into real runs (the CLI imports this from the repository root). Test-only.

Every run of a comparison carries the same `+callbacks.faults._target_=tests.helpers.faults.Faults`, so the killed
and the uninterrupted run have the same configuration; the environment says when (and whether) to kill.
"""

import io
import os
import signal
import tempfile
from pathlib import Path

import lightning as L
import torch

EXIT_AT_STEP = "RNNLAB_TEST_EXIT_AT_STEP"  # read from the environment, so the job's overrides (its directory) stay put
EXIT_AT_VALIDATION = "RNNLAB_TEST_EXIT_AT_VALIDATION"  # at the first validation at or after this step
EXIT_IN_SAVE = "RNNLAB_TEST_EXIT_IN_SAVE"  # "N:write" or "N:swap": during the N-th checkpoint save of the process
EXIT_AT_TRAIN_END = "RNNLAB_TEST_EXIT_AT_TRAIN_END"  # after training, before metrics.json
SIGNAL_AT_STEP = "RNNLAB_TEST_SIGNAL_AT_STEP"  # "N:TERM" or "N:INT": the process signals itself after step N
KILLED = 3  # the exit status of an injected kill


def _env_int(name: str) -> int | None:
    return int(os.environ[name]) if os.environ.get(name) else None


class Faults(L.Callback):
    """Raise at optimizer step `raise_at_step` (a failing job); SIGKILL the process at `kill_at_step` (the
    out-of-memory killer); hard-exit it (a crash or a cluster's time limit, which no `except` sees) at the moment
    the environment names."""

    def __init__(
        self, raise_at_step: int | None = None, kill_at_step: int | None = None, term_at_step: int | None = None
    ) -> None:
        self.raise_at_step, self.kill_at_step = raise_at_step, kill_at_step
        self.term_at_step = term_at_step  # SIGTERM, at every run that reaches it (as a recurring `kill PID`)
        self.exit_at_step = _env_int(EXIT_AT_STEP)
        self.exit_at_validation = _env_int(EXIT_AT_VALIDATION)
        self.exit_at_train_end = bool(os.environ.get(EXIT_AT_TRAIN_END))
        save = os.environ.get(EXIT_IN_SAVE)
        self.exit_in_save = (int(save.split(":")[0]), save.split(":")[1]) if save else None
        self.saves = 0
        signal_at = os.environ.get(SIGNAL_AT_STEP)
        self.signal_at = (int(signal_at.split(":")[0]), signal_at.split(":")[1]) if signal_at else None

    def on_fit_start(self, trainer, pl_module) -> None:
        if self.exit_in_save is not None:
            io_plugin = trainer.strategy.checkpoint_io
            original = io_plugin.save_checkpoint

            def save_checkpoint(checkpoint, path, storage_options=None):
                self.saves += 1
                if self.saves == self.exit_in_save[0]:
                    _die_saving(checkpoint, Path(path), self.exit_in_save[1])
                return original(checkpoint, path, storage_options)

            io_plugin.save_checkpoint = save_checkpoint

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.raise_at_step is not None and trainer.global_step >= self.raise_at_step:
            raise RuntimeError(f"injected fault at step {trainer.global_step}")
        if self.kill_at_step is not None and trainer.global_step >= self.kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        if self.term_at_step is not None and trainer.global_step >= self.term_at_step:
            os.kill(os.getpid(), signal.SIGTERM)
        if self.exit_at_step is not None and trainer.global_step >= self.exit_at_step:
            os._exit(KILLED)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.signal_at is not None and trainer.global_step == self.signal_at[0]:
            os.kill(os.getpid(), getattr(signal, "SIG" + self.signal_at[1]))  # as `kill` or Ctrl-C would

    def on_validation_start(self, trainer, pl_module) -> None:
        if self.exit_at_validation is not None and trainer.global_step >= self.exit_at_validation:
            os._exit(KILLED)

    def on_train_end(self, trainer, pl_module) -> None:
        if self.exit_at_train_end:
            os._exit(KILLED)


def _die_saving(checkpoint: dict, path: Path, stage: str) -> None:
    """Leave the checkpoint directory as a kill at `stage` of rnnlab's atomic save would, then exit.

    write: half the bytes in the temporary file; swap: the temporary file complete, last.ckpt already moved to
    previous.ckpt, not yet replaced.
    """
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data[: len(data) // 2] if stage == "write" else data)
    if stage == "swap" and path.exists():
        os.replace(path, path.with_name("previous.ckpt"))
    os._exit(KILLED)


class ExitAfterSteps(L.Callback):
    """Kill the process after `steps` optimizer steps, as a crash or a cluster's time limit would."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.steps:
            os._exit(KILLED)


class FailToBuild(L.Callback):
    """A callback whose construction raises (if `fail`) as an allocation under a memory limit would: a job failing
    in setup."""

    def __init__(self, fail: bool = True) -> None:
        if fail:
            raise MemoryError("injected: cannot allocate memory while building the run")
