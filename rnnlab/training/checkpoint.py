"""The run's checkpoint: written every N optimizer steps so that no kill loses it, read back only if sound.

`checkpoints/last.ckpt` is written to a temporary file beside it, fsynced, and renamed over it; the checkpoint it
replaces becomes `checkpoints/previous.ckpt` first, so at every moment of a save one complete checkpoint is on disk.
(Lightning's own `_atomic_save` goes through fsspec, whose temporary file lives in $TMPDIR: on another filesystem
the final move is a copy, and a kill during it leaves a truncated last.ckpt.) A re-run resumes from the newest
checkpoint that loads; an unreadable one is set aside as `*.unreadable`, named in one line, and recorded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from rnnlab.record.atomic import remove_leftovers, write_atomically

LAST, PREVIOUS = "last.ckpt", "previous.ckpt"
UNREADABLE_SUFFIX = ".unreadable"
REQUIRED_KEYS = ("state_dict", "global_step", "loops", "optimizer_states")


def checkpoint_dir(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / "checkpoints"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, made atomic in the checkpoint's own directory and keeping the previous one."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        path = Path(path)
        write_atomically(path, lambda f: torch.save(checkpoint, f), keep_previous=path.with_name(PREVIOUS))


class StepCheckpoint(L.Callback):
    """checkpoints/last.ckpt every `every_n_steps` optimizer steps, each holding what a resumed run needs.

    A step that ends an epoch is saved at the epoch's end, after its validation: Lightning does not replay an
    epoch-end validation on resume, so a checkpoint taken between the step and its validation would give a resumed
    run one validation fewer than the original (its best and final metrics could differ). Part of the run whatever
    `callbacks=` says: resuming relies on it. Written through the trainer, so through AtomicCheckpointIO.
    """

    def __init__(self, output_dir: str | os.PathLike, every_n_steps: int) -> None:
        self.path = checkpoint_dir(output_dir) / LAST
        self.every_n_steps = every_n_steps
        self._due_at_epoch_end = False

    def on_train_batch_end(self, trainer: L.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if trainer.global_step % self.every_n_steps:
            return
        if batch_idx + 1 == trainer.num_training_batches:
            self._due_at_epoch_end = True
        else:
            trainer.save_checkpoint(self.path)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module) -> None:
        if self._due_at_epoch_end:
            self._due_at_epoch_end = False
            trainer.save_checkpoint(self.path)


@dataclass
class ResumePoint:
    """Where a re-run starts: the checkpoint to load (None: from scratch), its step, what was set aside and why."""

    path: Path | None = None
    step: int | None = None
    unreadable: list[str] = field(default_factory=list)


def _global_step(path: Path) -> tuple[int | None, str | None]:
    """(the checkpoint's global step, None) if `path` loads as a Lightning checkpoint; else (None, what is wrong)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # truncated, empty, random bytes: EOFError, UnpicklingError, RuntimeError...
        return None, (f"{type(error).__name__}: {error}".splitlines() or [type(error).__name__])[0][:200]
    if not isinstance(checkpoint, dict) or any(key not in checkpoint for key in REQUIRED_KEYS):
        return None, "not a Lightning checkpoint"
    return int(checkpoint["global_step"]), None


def find_resume_point(output_dir: str | os.PathLike) -> ResumePoint:
    """The newest sound checkpoint of the run (last, then previous); unreadable ones are renamed `*.unreadable`."""
    directory = checkpoint_dir(output_dir)
    point = ResumePoint()
    if not directory.is_dir():
        return point
    remove_leftovers(directory, LAST)
    for name in (LAST, PREVIOUS):
        path = directory / name
        if not path.exists():
            continue
        step, problem = _global_step(path)
        if problem is None:
            point.path, point.step = path, step
            return point
        os.replace(path, path.with_name(name + UNREADABLE_SUFFIX))  # kept for inspection, never resumed from
        point.unreadable.append(f"{name}: {problem}")
    return point
