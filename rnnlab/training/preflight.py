"""A single run's configuration checked before Hydra makes its directory: a refused run leaves nothing behind.

Hydra creates the run directory, its .hydra/ and an empty train.log before the task function starts, so a refusal
in rnnlab.train's main left `outputs/DATE/TIME/` behind for every typo. Hydra calls `on_run_start` before any of
that (conf/hydra/default.yaml registers this callback). Sweeps are left to each job: a refused job is recorded in
its directory and the others run. A directory that already holds a finished run is left to main, which skips it
without importing torch.

What the preflight found is handed to main (`take`), so that the run's check phase does each check and each read
once: the task the configuration checks built, and a finished record (which no run rewrites: main skips or
refuses it without reading it again). A record that is not finished is read again under the directory's lock,
where another process may have finished it meanwhile.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict

if TYPE_CHECKING:
    from rnnlab.record.run_record import RunRecord


@dataclass(frozen=True)
class Found:
    """What the preflight of the run in `run_dir` found: the task the checks built (None if they did not run) or
    the finished record it read (None if there was none)."""

    run_dir: str
    task: Any = None
    finished: RunRecord | None = None


_found: Found | None = None  # one single run per process: Hydra's RUN mode


def take(output_dir: str | os.PathLike[str]) -> Found | None:
    """What the preflight found for the run in `output_dir`, once (None in a sweep, from the API, or taken)."""
    global _found
    found, _found = _found, None
    if found is None or found.run_dir != os.path.abspath(str(output_dir)):
        return None
    return found


class Preflight(Callback):
    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        global _found
        from rnnlab.record.run_record import CorruptMetrics, read_record
        from rnnlab.training.checks import ConfigError, check_config

        run_dir = os.path.abspath(str(config.hydra.run.dir))
        try:
            previous = read_record(run_dir)
        except CorruptMetrics:
            previous = None  # main names it, under the lock
        if previous is not None and previous.finished:
            _found = Found(run_dir, finished=previous)
            return
        # paths.output_dir is ${hydra:runtime.output_dir}, which Hydra sets only when it makes the directory
        probe = config.copy()
        with open_dict(probe):
            probe.hydra.runtime.output_dir = run_dir
        HydraConfig.instance().set_config(probe)
        try:
            task = check_config(probe)
        except ConfigError as error:
            print(f"rnnlab: bad configuration: {error}", file=sys.stderr)
            sys.exit(2)
        _found = Found(run_dir, task=task)
