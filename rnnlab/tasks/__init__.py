"""Synthetic sequence tasks, generated from a seed: `TASKS` maps a name to its class."""

from rnnlab.tasks.adding import AddingTask
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.copy_memory import CopyMemoryTask
from rnnlab.tasks.lookahead import LookaheadTask
from rnnlab.tasks.sine import SineTask
from rnnlab.tasks.xor import XorTask

TASKS = {task.name: task for task in (AddingTask, CopyMemoryTask, XorTask, SineTask, LookaheadTask)}

__all__ = ["TASKS", "SyntheticTask", "AddingTask", "CopyMemoryTask", "XorTask", "SineTask", "LookaheadTask"]
