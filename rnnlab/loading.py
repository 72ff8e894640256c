"""A run directory back as a model: its configuration and its weights (read with weights_only=True) in the network
that configuration builds. Its own module so that evaluation and the API both read it, neither through the other."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the heavy imports happen inside the functions: `import rnnlab` stays cheap
    from omegaconf import DictConfig
    from torch import nn

    from rnnlab.record.run_record import RunRecord
    from rnnlab.tasks.base import SyntheticTask
    from rnnlab.training.module import RNNModule

PathLike = str | os.PathLike


@dataclass
class LoadedRun:
    """A run loaded back: `module` (the LightningModule: `rnn`, `head`, loss) in eval mode, its task and config.

    `step` is the optimizer step its weights were saved at; `weights` the file they came from (weights.pt for a run
    that ended, a checkpoint for an interrupted one); `record` is its metrics.json, None for an interrupted run.
    """

    dir: Path
    config: DictConfig = field(repr=False)
    module: RNNModule = field(repr=False)
    task: SyntheticTask = field(repr=False)
    step: int
    weights: Path
    record: RunRecord | None = field(default=None, repr=False)

    @property
    def rnn(self) -> nn.Module:
        """The trained network: a drop-in for nn.RNN (batch_first=True)."""
        return self.module.rnn

    @property
    def head(self) -> nn.Linear:
        """The linear readout from the RNN's output to the task's targets."""
        return self.module.head


def run_config(run_dir: PathLike) -> DictConfig:
    """The run's configuration: `.hydra/config.yaml` (interpolations kept, so `seq_len=…` reaches the task), else
    the resolved config in its metrics.json."""
    from omegaconf import DictConfig, OmegaConf, open_dict

    from rnnlab.record.run_record import read_record

    run_dir = Path(run_dir)
    saved = run_dir / ".hydra" / "config.yaml"
    if saved.is_file():
        cfg = OmegaConf.load(saved)
    else:
        record = read_record(run_dir)
        if record is None:
            raise FileNotFoundError(f"{run_dir} is no run directory: neither .hydra/config.yaml nor metrics.json")
        cfg = OmegaConf.create(record.config)
    if not isinstance(cfg, DictConfig):
        raise ValueError(f"{run_dir}'s configuration is not a mapping")
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    return cfg


def load(run_dir: PathLike, config: DictConfig | None = None) -> LoadedRun:
    """A finished or interrupted run back as a model: its weights (read with weights_only=True) in the network its
    config builds. `config` (default: the run's own) may change the task, as `rnnlab.evaluate` does."""
    import lightning  # noqa: F401  (imported before rnnlab.training.module, which needs it anyway)

    from rnnlab.record.run_record import CorruptMetrics, read_record
    from rnnlab.training.build import build_module
    from rnnlab.training.console import quiet_third_party
    from rnnlab.training.weights import read_weights

    quiet_third_party()
    run_dir = Path(run_dir)
    cfg = config if config is not None else run_config(run_dir)
    state, step, weights = read_weights(run_dir)
    task, module = build_module(cfg)
    module.load_state_dict(state)
    module.eval()
    try:
        record = read_record(run_dir)
    except CorruptMetrics:
        record = None
    return LoadedRun(run_dir, cfg, module, task, step, weights, record)
