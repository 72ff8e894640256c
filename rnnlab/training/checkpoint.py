"""The run's checkpoint: written every N optimizer steps so that no kill loses it, read back only if sound.

`checkpoints/last.ckpt` is written to a temporary file beside it, fsynced, and renamed over it; the checkpoint it
replaces becomes `checkpoints/previous.ckpt` first, so at every moment of a save one complete checkpoint is on disk.
(Lightning's own `_atomic_save` goes through fsspec, whose temporary file lives in $TMPDIR: on another filesystem
the final move is a copy, and a kill during it leaves a truncated last.ckpt.) A re-run resumes from the newest
checkpoint that loads; an unreadable one is set aside as `*.unreadable`, named in one line, and recorded.

Every checkpoint carries the resolved configuration that trained it (`rnnlab.config`), which a re-run compares with
its own before resuming (rnnlab.record.identity). Checkpoints are read with `weights_only=True` only, here and in
Lightning's own restore (rnnlab.training.run passes it to `fit`): the lab's checkpoints hold tensors, numbers,
strings and containers, and a file that needs anything else to load (a crafted `__reduce__`) is refused unrun.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from rnnlab.record.atomic import remove_leftovers, write_atomically
from rnnlab.training.interrupt import Interrupted, pending

LAST, PREVIOUS = "last.ckpt", "previous.ckpt"
UNREADABLE_SUFFIX = ".unreadable"
REQUIRED_KEYS = ("state_dict", "global_step", "loops", "optimizer_states")
RECORD_KEY = "rnnlab"  # {"config": the resolved configuration that trained the run}


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

    def __init__(self, output_dir: str | os.PathLike, every_n_steps: int, config: dict | None = None) -> None:
        self.path = checkpoint_dir(output_dir) / LAST
        self.every_n_steps = every_n_steps
        self.config = config
        self._due_at_epoch_end = False
        self._saved_at: int | None = None

    def _save(self, trainer: L.Trainer) -> None:
        trainer.save_checkpoint(self.path)
        self._saved_at = trainer.global_step

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[RECORD_KEY] = {"config": self.config}

    def on_train_batch_end(self, trainer: L.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        ends_epoch = batch_idx + 1 == trainer.num_training_batches
        if trainer.global_step % self.every_n_steps == 0:
            if ends_epoch:
                self._due_at_epoch_end = True
            else:
                self._save(trainer)
        signum = pending()
        if (
            signum is not None and not ends_epoch and not _done(trainer)
        ):  # interrupted: this step saved, as a periodic one would be
            if self._saved_at != trainer.global_step:
                self._save(trainer)
            raise Interrupted(signum, trainer.global_step, saved=True)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module) -> None:
        signum = pending()
        if self._due_at_epoch_end or signum is not None:
            self._due_at_epoch_end = False
            self._save(trainer)  # after the epoch's validation
        if signum is not None and not _done(trainer):
            raise Interrupted(signum, trainer.global_step, saved=True)


def _done(trainer: L.Trainer) -> bool:
    """Whether the step just taken was the run's last (a signal then changes nothing: the run ends as it would)."""
    return 0 <= trainer.max_steps <= trainer.global_step


@dataclass
class ResumePoint:
    """Where a re-run starts: the checkpoint to load (None: from scratch), its step, what was set aside and why."""

    path: Path | None = None
    step: int | None = None
    unreadable: list[str] = field(default_factory=list)
    config: dict | None = None  # the configuration the checkpoint was trained with (None: an older checkpoint)


def _refusal(error: Exception) -> str | None:
    """What a weights-only load refused to build, if that is why it failed (a crafted or foreign pickle)."""
    text = str(error)
    if "Weights only load failed" not in text:
        return None
    found = re.search(r"GLOBAL ([\w.]+)", text)
    what = found.group(1) if found else "an object that is neither a tensor nor plain data"
    return f"refused: it asks to load {what}, code rather than data; none of it was run"


def read_checkpoint(path: Path) -> tuple[dict | None, str | None]:
    """(the checkpoint, None) if `path` loads, weights only, as a Lightning checkpoint; else (None, what is wrong)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, empty, random bytes, a pickle of code: EOFError, UnpicklingError...
        refused = _refusal(error)
        if refused is not None:
            return None, refused
        return None, (f"{type(error).__name__}: {error}".splitlines() or [type(error).__name__])[0][:200]
    if not isinstance(checkpoint, dict) or any(key not in checkpoint for key in REQUIRED_KEYS):
        return None, "not a Lightning checkpoint"
    return checkpoint, None


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
        checkpoint, problem = read_checkpoint(path)
        if checkpoint is not None:
            point.path, point.step = path, int(checkpoint["global_step"])
            point.config = (checkpoint.get(RECORD_KEY) or {}).get("config")
            return point
        os.replace(path, path.with_name(name + UNREADABLE_SUFFIX))  # kept for inspection, never resumed from
        point.unreadable.append(f"{name}: {problem}")
    return point
