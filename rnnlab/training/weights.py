"""A run's trained weights: `weights.pt` at its end, read back from it or from a checkpoint without unpickling.

The checkpoints hold the weights every N steps (rnnlab.training.checkpoint), not at the run's last step; so that
`rnnlab.load` gives back the network the run ended with, the run writes its final state_dict beside metrics.json,
atomically and just before it. Only tensors, a step and a status are stored, and everything is read with
`torch.load(weights_only=True)`: loading a run never executes code from its files.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from rnnlab.record.atomic import write_atomically

WEIGHTS_FILE = "weights.pt"
_CHECKPOINTS = ("checkpoints/last.ckpt", "checkpoints/previous.ckpt")


def save_final_weights(output_dir: str | os.PathLike, module: nn.Module, step: int) -> Path:
    """Write `module`'s state_dict and the step it was reached at as output_dir/weights.pt, atomically."""
    path = Path(output_dir) / WEIGHTS_FILE
    state = {"state_dict": module.state_dict(), "global_step": int(step)}
    write_atomically(path, lambda f: torch.save(state, f))
    return path


def read_weights(run_dir: str | os.PathLike) -> tuple[dict[str, torch.Tensor], int, Path]:
    """(state_dict, step, file) of the run: its final weights, else its newest checkpoint (an interrupted run).

    FileNotFoundError names what was looked for when the run has none (it stopped before its first checkpoint).
    """
    run_dir = Path(run_dir)
    for name in (WEIGHTS_FILE, *_CHECKPOINTS):
        path = run_dir / name
        if not path.is_file():
            continue
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or not isinstance(state.get("state_dict"), dict):
            raise ValueError(f"{path} holds no state_dict: not an rnnlab run's weights")
        return state["state_dict"], int(state.get("global_step", 0)), path
    raise FileNotFoundError(
        f"{run_dir} has no weights: neither {WEIGHTS_FILE} (written when a run ends) nor a checkpoint "
        f"({', '.join(_CHECKPOINTS)}, written every checkpoint.every_n_steps steps)"
    )
