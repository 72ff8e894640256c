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

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from rnnlab.training.atomic import remove_leftovers, write_atomically

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


def checkpoint_callback(cfg: DictConfig) -> ModelCheckpoint:
    """Lightning's ModelCheckpoint writing checkpoints/last.ckpt every `checkpoint.every_n_steps` optimizer steps.

    Part of the run whatever `callbacks=` says: resuming relies on it. (`save_last` only follows a top-k save, so
    the one kept checkpoint is simply named "last".)
    """
    return ModelCheckpoint(dirpath=str(checkpoint_dir(cfg.paths.output_dir)), filename=Path(LAST).stem,
                           enable_version_counter=False, save_top_k=-1,
                           every_n_train_steps=cfg.checkpoint.every_n_steps)


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
