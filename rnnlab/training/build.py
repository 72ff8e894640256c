"""Config -> objects: the task and the LightningModule of a composed configuration, built one way for every caller.

`rnnlab.training.run` trains what this builds and the benchmark times it, so both run the same module (its
optimizer and scheduler included).
"""

from __future__ import annotations

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from rnnlab.tasks.base import SyntheticTask
from rnnlab.training.checks import ConfigError
from rnnlab.training.module import RNNModule


def build_module(cfg: DictConfig) -> tuple[SyntheticTask, RNNModule]:
    """The task and the module; their constructors' argument checks become one-line configuration errors."""
    try:
        task = instantiate(cfg.task)
        module = RNNModule(
            rnn=instantiate(cfg.model),
            task=task,
            optimizer=instantiate(cfg.optimizer),
            scheduler=instantiate(cfg.scheduler) if "scheduler" in cfg else None,
            init=cfg.init,
            init_scale=cfg.init_scale,
            seed=cfg.seed,
        )
    except (InstantiationException, ValueError, TypeError) as error:
        raise config_error(error) from error
    return task, module


def config_error(error: Exception, where: str | None = None) -> ConfigError:
    """The one line to show for a constructor's refusal: the cause's first line, prefixed by the config key `where`
    when the cause does not name it (a callback's or a logger's own message)."""
    cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
    message = (str(cause).splitlines() or [type(cause).__name__])[0]
    return ConfigError(message if where is None else f"{where}: {message}")
