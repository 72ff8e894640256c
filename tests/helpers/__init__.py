"""Test helpers: the config as the CLI composes it, the repository's root (the CLI tests run there), and the faults
the CLI tests inject (`faults.py`)."""

import functools
from pathlib import Path

from omegaconf import DictConfig

from rnnlab.config import compose_config, in_output_dir

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _composed(overrides: tuple[str, ...]) -> DictConfig:
    return compose_config(overrides)


def compose_run(output_dir, overrides=()) -> DictConfig:
    """`rnnlab.config.compose_run`, with each distinct list of overrides composed once per test session.

    Composing costs a few tenths of a second; a copy costs a few hundredths. Each call gets its own copy.
    """
    return in_output_dir(_composed(tuple(overrides)), output_dir)
