"""The checks that build: the task, the model, the optimizer and the scheduler check their own arguments on
stand-ins that cost nothing, and the network must fit in memory on an accelerator this machine has.

Imported by rnnlab.training.checks once the plain values have passed, so a mistyped value never waits for torch.
"""

from __future__ import annotations

import os
import warnings

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from rnnlab.errors import ConfigError, require
from rnnlab.training.refusals import constructed
from rnnlab.vocabulary import weight_dtype

# Bytes per parameter while training: weights, gradients and up to two optimizer moments, float32 (float64: twice).
BYTES_PER_PARAMETER = 4 * 4


def check_stand_ins(cfg: DictConfig):
    """Raise ConfigError for the first part that refuses its arguments, a network too large, a missing accelerator;
    return the task, which is real, not a stand-in: the run builds it once, here (rnnlab.training.run reuses it).

    The task is built as the run builds it (it is cheap; its own checks cover seq_len, whose minimum may depend on
    its arguments), the model on the meta device, the optimizer on the model's parameters.
    """
    task = constructed(instantiate, cfg.task, where="task")
    check_trainer(cfg)
    # The default device while it is built (any nn.Module: no memory, no initialisation); its warnings (dropout on
    # one layer...) are the run's to show, once, when it builds the real one.
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = constructed(lambda: instantiate(cfg.model)(input_size=task.input_size, batch_first=True), where="model")
    check_memory(cfg, sum(parameter.numel() for parameter in model.parameters()))
    # the model's own parameters (shapes and all: Muon, for one, takes only matrices), still without memory
    optimizer = constructed(lambda: instantiate(cfg.optimizer)(list(model.parameters())), where="optimizer")
    if cfg.get("scheduler"):
        constructed(lambda: instantiate(cfg.scheduler)(optimizer), where="scheduler")
    return task


def memory_bytes() -> int:
    """The machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(cfg: DictConfig, parameters: int) -> None:
    """The weights, gradients and optimizer state of a network of `parameters` (counted on the meta-device model,
    as built; the task's head is negligible beside it) fit in this machine's memory (a larger network would be
    killed by the kernel mid-run, or swap for hours)."""
    dtype, _ = weight_dtype(cfg.trainer.get("precision", "32"))
    needed = parameters * BYTES_PER_PARAMETER * (2 if dtype == "float64" else 1)
    require(
        needed <= memory_bytes(),
        "hidden_size",
        cfg.hidden_size,
        f"a network that fits in this machine's memory ({memory_bytes() / 2**30:.0f} GiB; this one needs "
        f"{needed / 2**30:.3g} GiB for weights, gradients and optimizer state)",
        ConfigError,
    )


def check_trainer(cfg: DictConfig) -> None:
    """An accelerator this machine has."""
    accelerator = str(cfg.trainer.get("accelerator", "cpu"))
    available = (
        ["cpu", "auto"]
        + (["gpu", "cuda"] if torch.cuda.is_available() else [])
        + (["mps"] if torch.backends.mps.is_available() else [])
    )
    require(
        accelerator in available,
        "trainer.accelerator",
        accelerator,
        f"one of {', '.join(available)} on this machine",
        ConfigError,
    )
