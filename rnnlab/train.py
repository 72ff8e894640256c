"""`python -m rnnlab.train KEY=VALUE ...` (add `-m` to sweep): one experiment from the Hydra config in `conf/`.

The entry point: Hydra composes the config, `rnnlab.training.run.train` runs it. A configuration error is one line
and exit 2; in a sweep, a failing job is recorded in its metrics.json and the other jobs still run.

Kept light: `--help`, a configuration error and a re-run into a finished directory answer before Lightning (about
3,500 modules) is imported, and a mistyped value before torch; only a run that trains imports rnnlab.training.run.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":
    # The command's imports (torch, Hydra, and for a run Lightning) create millions of long-lived objects; the
    # collector's passes over them during start-up are wasted work. Enabled again, with them frozen, once the run's
    # code is imported (_import_train).
    gc.disable()

import logging
import sys
import time

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from rnnlab.config import CONF_DIR
from rnnlab.plugins import register_launchers
from rnnlab.record.identity import OtherConfiguration, check_record, skipped
from rnnlab.record.lock import RunLock, RunLocked
from rnnlab.record.notes import REFUSED, RUNNING_ELSEWHERE, clear_note, note_job
from rnnlab.training import interrupt, preflight
from rnnlab.training.checks import ConfigError, check_config
from rnnlab.training.console import quiet_third_party


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> float | None:
    """One run as four phases: check once (lock, record, values) here, before Lightning is imported, going on from
    what a single run's preflight found (rnnlab.training.preflight); then build, fit and record
    (rnnlab.training.run.run_checked). Refusals are one line and exit 2 (in a sweep: the job is
    noted and the others run); a signal is exit 128 + its number; any other error is recorded `failed`."""
    quiet_third_party()
    interrupt.install()
    output_dir = cfg.paths.output_dir
    sweeping = HydraConfig.get().mode == RunMode.MULTIRUN
    started = time.time()
    found = preflight.take(output_dir)  # a single run's preflight checked the values and read the record already
    try:
        with RunLock(output_dir):
            previous = check_record(cfg, output_dir, found.finished if found else None)
            if sweeping:
                clear_note(output_dir)
            if previous is not None:  # the same configuration's result stands: nothing to check or import
                print(skipped(output_dir, previous))
                return previous.objective(cfg.optimized_metric)
            task = found.task if found is not None and found.task is not None else check_config(cfg)
            return _import_train()(cfg, task).objective(cfg.optimized_metric)
    except ConfigError as error:  # a user's mistake, not a bug: one line, no traceback
        message = f"rnnlab: bad configuration: {error}"
        print(message, file=sys.stderr)
        if not sweeping:
            sys.exit(2)
        # In a sweep, the job failed before training: recorded as such, the other jobs still run.
        _record_failure(cfg, message, started)
        return None
    except (OtherConfiguration, RunLocked) as refused:  # the directory is another run's: untouched
        print(str(refused), file=sys.stderr)
        if not sweeping:
            sys.exit(2)
        status = REFUSED if isinstance(refused, OtherConfiguration) else RUNNING_ELSEWHERE
        note_job(output_dir, status, str(refused).removeprefix("rnnlab: "))
        return None
    except interrupt.Interrupted as stop:  # exit 143 / 130, in a sweep too: an interrupted sweep never exits 0
        print(stop.line(output_dir), file=sys.stderr, flush=True)
        sys.exit(stop.exit_code)
    except Exception as error:
        if not getattr(error, "recorded", False):  # raised before the run's own record: setup, the lock's I/O...
            _record_failure(cfg, f"{type(error).__name__}: {error}", started)
        # In a sweep one job's failure must not hide the others (Hydra would stop at the first failed job and skip
        # its on_multirun_end): metrics.json records it, the traceback goes to the job's log, and
        # rnnlab.sweeps.job_statuses lists every failure at the end and fails the sweep. None: no objective (Optuna: FAIL).
        if not sweeping:
            raise
        logging.getLogger(__name__).exception("rnnlab: job failed; the sweep goes on")
        return None


def _import_train():
    """rnnlab.training.run.run_checked, imported with the garbage collector paused and its objects then frozen.

    The import creates millions of long-lived objects (torch, Lightning, torchmetrics); collecting during it and
    re-scanning them at every later full collection costs about a second and a half of a short run. Frozen objects
    are never collected, which for modules and their functions is what happens anyway.
    """
    if "rnnlab.training.run" not in sys.modules:  # once per process: a later freeze would keep a job's garbage
        gc.disable()
        try:
            import rnnlab.training.run  # noqa: F401
        finally:
            gc.freeze()
            gc.enable()
        quiet_third_party()  # Lightning's import set its loggers back to INFO
    from rnnlab.training.run import run_checked

    return run_checked


def _record_failure(cfg: DictConfig, message: str, started: float) -> None:
    """metrics.json saying `failed` with `message`, for a run that failed before its own record could."""
    from rnnlab.record.run_record import run_record, write_metrics

    write_metrics(cfg.paths.output_dir, run_record(cfg, "failed", None, None, None, started, error=message))


def refuse_unknown_choices(argv: list[str]) -> None:
    """Exit 2 with one line if the command line chooses a file no config group has (rnnlab.training.choices)."""
    from rnnlab.training.override_checks import refusal

    line = refusal(argv)
    if line is not None:
        print(f"rnnlab: bad configuration: {line}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    refuse_unknown_choices(sys.argv[1:])
    register_launchers()  # before Hydra composes: an editable install run from elsewhere hides them from its scan
    quiet_third_party()  # before the launcher's first line, not only in each job
    main()
