"""The lab from Python: run an experiment, load a run back into a model, evaluate it, read a sweep as a table.

    import rnnlab
    run = rnnlab.run(["task=adding", "max_steps=200"], run_dir="runs/adding")
    model = rnnlab.load(run.dir)              # the trained RNN and its head, with the run's config
    rnnlab.evaluate(run.dir, ["seq_len=100"])  # the same network on sequences of another length
    rnnlab.read_sweep("multirun/vanishing_quick")  # one row per job (pandas)

Each call does what the command line does (`python -m rnnlab.train`, `python -m rnnlab.eval`, `python -m
rnnlab.report`) and is as quiet: third-party banners are filtered, the run prints its one result line. Works from
any directory (a notebook anywhere): the config tree and Hydra's launchers are found through the installed package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy imports happen inside the functions: `import rnnlab` stays cheap
    import pandas as pd

    from rnnlab.record.eval_record import EvalRecord
    from rnnlab.record.run_record import RunRecord

from rnnlab.loading import LoadedRun, PathLike, load, run_config

__all__ = ["LoadedRun", "Run", "evaluate", "load", "read_evals", "read_run", "read_sweep", "run", "run_config"]


@dataclass(frozen=True)
class Run:
    """A run's record (its metrics.json, a `RunRecord`) and where it is: `status`, `final`/`best` metrics, `steps`,
    `baseline`, `config`."""

    dir: Path
    record: RunRecord = field(repr=False)

    @property
    def status(self) -> str:
        """How the run ended: `completed`, `diverged` or `failed`."""
        return self.record.status

    @property
    def steps(self) -> int:
        """The optimizer steps it took."""
        return self.record.steps

    @property
    def final(self) -> dict[str, float | None]:
        """The metrics at its last step (`val/loss`, `train/loss`, ...; None where not finite)."""
        return self.record.final

    @property
    def best(self) -> dict[str, float | None]:
        """The best value of each metric over the run."""
        return self.record.best

    @property
    def baseline(self) -> float | None:
        """The task's baseline: the loss of the best predictor that ignores the input."""
        return self.record.baseline

    @property
    def config(self) -> dict[str, Any]:
        """The run's resolved configuration, as its record holds it."""
        return self.record.config


def run(overrides=(), run_dir: PathLike | None = None, progress: bool = False) -> Run:
    """Run one experiment in-process, as `python -m rnnlab.train *overrides hydra.run.dir=run_dir`; its record.

    `run_dir` defaults to the CLI's `outputs/DATE/TIME` under the current directory. A run that already completed
    there is skipped (its record returned); an interrupted one resumes. A bad configuration raises
    `rnnlab.training.checks.ConfigError` (one line naming the key) before anything is written.
    """
    from omegaconf import OmegaConf

    from rnnlab.config import compose_config, in_output_dir
    from rnnlab.record.identity import check_record, skipped
    from rnnlab.record.lock import RunLock
    from rnnlab.training.checks import check_config
    from rnnlab.training.console import quiet_third_party
    from rnnlab.training.override_checks import check_overrides

    quiet_third_party()  # first: the checks below may import what warns at import time (tqdm.auto in a notebook)
    overrides = [str(o) for o in ([overrides] if isinstance(overrides, str) else overrides)]
    if not progress and not any(o.startswith("trainer.enable_progress_bar=") for o in overrides):
        overrides.append("trainer.enable_progress_bar=false")
    check_overrides(overrides)  # as the command line's: a misspelt key, an addition nothing reads (ConfigError)
    cfg = compose_config(overrides)
    run_dir = Path(run_dir if run_dir is not None else cfg.hydra.run.dir).absolute()
    cfg = in_output_dir(cfg, run_dir)
    # The run's phases as the CLI runs them, each once: the values before anything is written, then, holding the
    # directory's lock, its record (a finished run of this configuration is returned as it stands).
    task = check_config(cfg)
    with RunLock(run_dir):
        previous = check_record(cfg, run_dir)
        if previous is not None:
            print(skipped(run_dir, previous))
            return Run(run_dir, previous)
        hydra_dir = run_dir / ".hydra"  # what Hydra writes for a CLI run: rnnlab.load, eval and the report read it
        hydra_dir.mkdir(parents=True, exist_ok=True)
        job = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])
        OmegaConf.save(job, hydra_dir / "config.yaml")
        OmegaConf.save(OmegaConf.create(list(cfg.hydra.overrides.task)), hydra_dir / "overrides.yaml")
        quiet_third_party()
        from rnnlab.training.run import run_checked

        quiet_third_party()  # Lightning's import set its loggers back to INFO
        return Run(run_dir, run_checked(cfg, task))


def read_run(run_dir: PathLike) -> Run:
    """The record of a finished run (FileNotFoundError if it has not ended: no metrics.json)."""
    from rnnlab.record.run_record import read_record

    record = read_record(run_dir)
    if record is None:
        raise FileNotFoundError(f"{run_dir} has no metrics.json: the run has not ended (or never started)")
    return Run(Path(run_dir), record)


def evaluate(run_dir: PathLike, overrides=(), split: str = "val", write: bool = True) -> EvalRecord:
    """Evaluate the run's trained network on its task, or a variant (`seq_len=200`, `seed=7`, `task.*`), on the
    task's `split` (val, or test: batches never used in training or validation); the eval record (`loss`, `acc`,
    `baseline`, `loss_over_baseline`, ...), also written beside metrics.json unless `write=False`. See `python -m
    rnnlab.eval`."""
    from rnnlab.evaluation import evaluate_run

    return evaluate_run(Path(run_dir), list(overrides), split=split, write=write)


def read_sweep(sweep_dir: PathLike) -> pd.DataFrame:
    """One row per job of the sweep: its swept values, status, final and best metrics, baseline, gradient ratios.

    `df.attrs["varied"]` names the swept keys (the first columns). The same table as `python -m rnnlab.report`.
    """
    from rnnlab.sweeps.table import sweep_table

    return sweep_table(Path(sweep_dir))[0]


def read_evals(sweep_dir: PathLike) -> pd.DataFrame:
    """Every eval record under `sweep_dir` (one row per run and variant): the job, what it was evaluated on, its loss."""
    from rnnlab.evaluation import eval_table

    return eval_table(Path(sweep_dir))
