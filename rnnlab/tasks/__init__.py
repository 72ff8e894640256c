"""Synthetic sequence tasks, generated from a seed: `TASKS` maps a name to its LightningDataModule."""

from rnnlab.tasks.adding import AddingTask
from rnnlab.tasks.base import SyntheticTask

TASKS = {
    "adding": AddingTask,
}

__all__ = ["TASKS", "SyntheticTask", "AddingTask"]
