"""Config -> objects: the task and the LightningModule of a composed configuration, built one way for every caller.

`rnnlab.training.run` trains what this builds and the benchmark times it, so both run the same module (its
optimizer and scheduler included).
"""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from rnnlab.tasks.base import SyntheticTask
from rnnlab.training.module import RNNModule
from rnnlab.training.refusals import constructed


def build_module(cfg: DictConfig, task: SyntheticTask | None = None) -> tuple[SyntheticTask, RNNModule]:
    """The task (unless the checks built it already) and the module; their constructors' argument checks become
    one-line configuration errors."""
    if task is None:
        task = constructed(instantiate, cfg.task, where="task")
    module = constructed(
        lambda: RNNModule(
            rnn=instantiate(cfg.model),
            task=task,
            optimizer=instantiate(cfg.optimizer),
            scheduler=instantiate(cfg.scheduler) if "scheduler" in cfg else None,
            init=cfg.init,
            init_scale=cfg.init_scale,
            seed=cfg.seed,
            init_input_scale=cfg.get("init_input_scale"),
            init_bias_scale=cfg.get("init_bias_scale", 0.0),
        )
    )
    return task, module
