"""The Optuna study of `hparams_search=optuna`: its storage opened with heartbeats, a damaged one named in one line,
and the study rebuilt from the job directories' records.

`python -m rnnlab.sweeps.optuna_study rebuild SWEEP_DIR` writes a new study database from the trials' metrics.json
files (their configuration and best value), after moving a damaged one aside: the job directories, not the
database, are the record of what ran. The sweeper (hydra_plugins/rnnlab_sweepers) opens the storage here.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

# A trial whose process stops recording heartbeats for GRACE_S seconds is stale: the next search process marks it
# failed and enqueues its values again (Optuna's RetryFailedTrialCallback). The sweeper also recognises at once a
# trial whose owner was a process of this machine that is gone.
HEARTBEAT_S = 10
GRACE_S = 30
SQLITE_TIMEOUT_S = 60  # two search processes on one SQLite file wait for each other's writes


# What SQLite says of a file that is no database or a damaged one; anything else (a table two processes create at
# once, a lock) is a race that passes.
DAMAGE = ("malformed", "not a database", "file is encrypted", "disk image")
OPEN_TRIES = 20


class DamagedStudy(RuntimeError):
    """The study database cannot be read; the message is the one line to show."""


def is_damage(error: Exception) -> bool:
    return any(word in str(error) for word in DAMAGE)


def storage_file(url: str) -> str:
    """The file of a sqlite:/// URL (what a user moves aside), or the URL itself."""
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url


def damaged(url: str, error: Exception) -> DamagedStudy:
    cause = str(getattr(error, "orig", None) or error).splitlines()[0]
    where = storage_file(url)
    sweep_dir = Path(where).parent if url.startswith("sqlite:///") else "SWEEP_DIR"
    return DamagedStudy(
        f"rnnlab: the study database {where} is damaged ({cause}); move it aside "
        f"(mv {where} {where}.damaged) and rebuild it from the trials' records: "
        f"python -m rnnlab.sweeps.optuna_study rebuild {sweep_dir}"
    )


def open_storage(url: str):
    """An RDBStorage with heartbeats and retries of stale trials; DamagedStudy if the database cannot be read.

    Two processes opening a new database at once race to create its tables (one of them is told "table already
    exists"): such an error is tried again, up to OPEN_TRIES times.
    """
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
    for attempt in range(OPEN_TRIES):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=GRACE_S,
                    failed_trial_callback=optuna.storages.RetryFailedTrialCallback(),
                )
            except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as error:
                if is_damage(error):
                    raise damaged(url, error) from error
                if attempt == OPEN_TRIES - 1:
                    raise
                time.sleep(0.1 + 0.2 * random.random())


def rebuild(sweep_dir: str | Path, storage_url: str | None = None) -> int:
    """Write the study of `sweep_dir` anew from its job directories' metrics.json; return the trials added.

    The study's name, search space and direction come from a job's .hydra/hydra.yaml, the metric from its
    .hydra/config.yaml; the storage is `storage_url`, by default the search's own sqlite:///SWEEP_DIR/optuna.db,
    which must not hold the study yet (move a damaged one aside first).
    """
    import optuna
    from hydra_plugins.hydra_optuna_sweeper._impl import create_optuna_distribution_from_override
    from omegaconf import OmegaConf

    from rnnlab.record.jobs import find_jobs
    from rnnlab.record.overrides import hydra_overrides

    sweep_dir = Path(sweep_dir)
    jobs = [job for job in find_jobs(sweep_dir) if (job.dir / ".hydra" / "hydra.yaml").is_file()]
    if not jobs:
        raise FileNotFoundError(2, "no job directory with a .hydra/hydra.yaml", str(sweep_dir))
    sweeper = OmegaConf.load(jobs[0].dir / ".hydra" / "hydra.yaml").hydra.sweeper
    metric = OmegaConf.load(jobs[0].dir / ".hydra" / "config.yaml").optimized_metric
    swept = hydra_overrides(f"{key}={value}" for key, value in sweeper.params.items())
    distributions = {str(p.key_or_group): create_optuna_distribution_from_override(p) for p in swept}
    url = storage_url or f"sqlite:///{sweep_dir.resolve()}/optuna.db"
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=sweeper.study_name, storage=open_storage(url), direction=str(sweeper.direction).lower()
    )
    added = 0
    for job in jobs:
        record = job.record
        if record is None:
            continue  # never ended (the search enqueues nothing for it: run it again by hand or let it be)
        config = record.config
        # a key fixed on the command line (hidden_size=8) is no parameter of the trials
        params = {
            key: config[key] for key in distributions if key in config and _within(distributions[key], config[key])
        }
        dists = {key: distributions[key] for key in params}
        if record.finished:
            value = record.objective(metric)
            state, values = optuna.trial.TrialState.COMPLETE, [value]
        else:
            state, values = optuna.trial.TrialState.FAIL, None
        study.add_trial(
            optuna.trial.create_trial(
                state=state, params=params, distributions=dists, values=values, system_attrs={"rnnlab_dir": job.name}
            )
        )
        added += 1
    return added


def _within(distribution, value) -> bool:
    try:
        return distribution._contains(distribution.to_internal_repr(value))
    except (ValueError, TypeError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.sweeps.optuna_study", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild_parser = commands.add_parser("rebuild", help="a new study database from the job directories' records")
    rebuild_parser.add_argument("sweep_dir")
    rebuild_parser.add_argument("--storage", help="an SQLAlchemy URL (default: sqlite:///SWEEP_DIR/optuna.db)")
    args = parser.parse_args(argv)
    try:
        added = rebuild(args.sweep_dir, args.storage)
    except DamagedStudy as error:
        print(str(error), file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(
            f"rnnlab: {args.sweep_dir}: {error.strerror or error} (is it a search's sweep directory?)", file=sys.stderr
        )
        return 2
    except Exception as error:  # noqa: BLE001 (optuna's DuplicatedStudyError and kin: one line)
        print(f"rnnlab: cannot rebuild the study of {args.sweep_dir}: {error}", file=sys.stderr)
        return 1
    print(f"rnnlab: rebuilt the study of {args.sweep_dir} from {added} trial records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
