"""A single run's configuration checked before Hydra makes its directory: a refused run leaves nothing behind.

Hydra creates the run directory, its .hydra/ and an empty train.log before the task function starts, so a refusal
in rnnlab.train's main left `outputs/DATE/TIME/` behind for every typo. Hydra calls `on_run_start` before any of
that (conf/hydra/default.yaml registers this callback). Sweeps are left to each job: a refused job is recorded in
its directory and the others run. A directory that already holds a finished run is left to main, which skips it
without importing torch.
"""

from __future__ import annotations

import os
import sys

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict


class Preflight(Callback):
    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        from rnnlab.record.run_record import CorruptMetrics, read_record
        from rnnlab.training.checks import ConfigError, check_config

        run_dir = os.path.abspath(str(config.hydra.run.dir))
        try:
            previous = read_record(run_dir)
        except CorruptMetrics:
            previous = None
        if previous is not None and previous.finished:
            return
        # paths.output_dir is ${hydra:runtime.output_dir}, which Hydra sets only when it makes the directory
        probe = config.copy()
        with open_dict(probe):
            probe.hydra.runtime.output_dir = run_dir
        HydraConfig.instance().set_config(probe)
        try:
            check_config(probe)
        except ConfigError as error:
            print(f"rnnlab: bad configuration: {error}", file=sys.stderr)
            sys.exit(2)
