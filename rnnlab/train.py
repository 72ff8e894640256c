"""`python -m rnnlab.train KEY=VALUE ...` (add `-m` to sweep): one experiment from the Hydra config in `conf/`.

The entry point: Hydra composes the config, `rnnlab.training.run.train` runs it. A configuration error is one line
and exit 2; in a sweep, a failing job is recorded in its metrics.json and the other jobs still run.
"""

from __future__ import annotations

import logging
import sys
import time

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from rnnlab.training.checks import ConfigError
from rnnlab.training.results import RunSummary, write_metrics
from rnnlab.training.run import run_record, train


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    sweeping = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        return train(cfg)
    except ConfigError as error:  # a user's mistake, not a bug: one line, no traceback
        message = f"rnnlab: bad configuration: {error}"
        print(message, file=sys.stderr)
        if not sweeping:
            sys.exit(2)
        # In a sweep, the job failed before training: recorded as such, the other jobs still run.
        write_metrics(cfg.paths.output_dir, run_record(cfg, "failed", RunSummary(), None, None, time.time(),
                                                    error=message))
        return None
    except Exception:
        # In a sweep one job's failure must not hide the others (Hydra would stop at the first failed job and skip
        # its on_multirun_end): metrics.json records it, the traceback goes to the job's log, and
        # rnnlab.sweeps.summary lists every failure at the end and fails the sweep. None: no objective (Optuna: FAIL).
        if not sweeping:
            raise
        logging.getLogger(__name__).exception("rnnlab: job failed; the sweep goes on")
        return None


if __name__ == "__main__":
    main()
