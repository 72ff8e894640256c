"""`hydra/launcher=slurm`: hydra-submitit-launcher's Slurm launcher, made to behave like the lab's local launchers.

What it adds to the plugin's launcher (whose job function, and `checkpoint()` that submitit calls to requeue a job at
its time limit or preemption, it keeps as they are):
- a sweep submitted again skips the jobs whose metrics.json says they finished, before queueing anything;
- sbatch's refusal (memory, CPUs, partition, GPUs...) is one line naming the `hydra.launcher.*` key to change,
  exit status 2, and the sweep directory is left as it was;
- one line per submitted job (its Slurm id and log) and per finished job (its status), instead of submitit's
  warnings, four per job, when the cluster has no accounting (`sacct`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as SubmititSlurmLauncher
from omegaconf import OmegaConf

from rnnlab.record.identity import differences, resolved
from rnnlab.record.jobs import find_jobs
from rnnlab.record.run_record import read_record

POLL_SECONDS = 2.0

# sbatch's refusals, the first words of its message -> the launcher keys that decide them
REFUSALS = {
    "memory specification can not be satisfied": ("mem_gb",),
    "invalid partition": ("partition",),
    "invalid generic resource": ("gpus_per_node",),
    "invalid gres": ("gpus_per_node",),
    "requested node configuration is not available": ("cpus_per_task", "gpus_per_node", "mem_gb"),
    "cpu count per node can not be satisfied": ("cpus_per_task",),
    "more processors requested than permitted": ("cpus_per_task",),
    "requested time limit is invalid": ("timeout_min",),
    "invalid account": ("account",),
    "invalid qos": ("qos",),
}


class SubmissionRefused(Exception):
    """sbatch refused the sweep's jobs; the message names the launcher keys to change."""


class NeverStarts(Exception):
    """A submitted job waits for a reason no wait can end (a cluster that does not refuse at submission what its
    partition cannot run: no EnforcePartLimits); the message is the one line to show."""


# Pending reasons that say the job can never start as submitted (squeue's %r): the request exceeds a partition's or
# an association's per-job limit, or names something that does not exist. Waiting reasons (Resources, Priority,
# BeginTime, Dependency, a drained node...) are left to wait.
NEVER_STARTS = {
    "PartitionConfig": "the request exceeds what the partition allows (cpus_per_task, mem_gb, gpus_per_node)",
    "PartitionNodeLimit": "the request needs more nodes than the partition has",
    "PartitionTimeLimit": "timeout_min exceeds the partition's time limit",
    "BadConstraints": "the request's constraints match no node (cpus_per_task, mem_gb, gpus_per_node)",
    "InvalidAccount": "the account is not valid (account)",
    "InvalidQOS": "the QOS is not valid (qos)",
    "QOSMaxCpuPerJobLimit": "cpus_per_task exceeds the QOS's per-job limit",
    "QOSMaxMemoryPerJob": "mem_gb exceeds the QOS's per-job limit",
    "QOSMaxWallDurationPerJobLimit": "timeout_min exceeds the QOS's per-job limit",
    "AssocMaxCpuPerJobLimit": "cpus_per_task exceeds the association's per-job limit",
    "AssocMaxWallDurationPerJobLimit": "timeout_min exceeds the association's per-job limit",
}


def never_starts_message(job_id: str, reason: str, params: dict[str, Any]) -> str:
    """One line: which job, Slurm's reason and what it means, and the launcher's settings that decide it."""
    settings = ", ".join(
        f"hydra.launcher.{key}={params.get(key)}" for key in ("partition", "cpus_per_task", "mem_gb", "timeout_min")
    )
    return (
        f"Slurm cannot start job {job_id}: pending with reason {reason} ({NEVER_STARTS[reason]}); its jobs were "
        f"cancelled; change {settings}"
    )


def slurm_executor(params: dict[str, Any]):
    """The submitit executor for the launcher's parameters, as the plugin builds it (shared with the tests, which
    read its sbatch script without submitting)."""
    import submitit

    init_keys = {"submitit_folder", "max_num_timeout"}
    executor = submitit.AutoExecutor(
        cluster="slurm", folder=params["submitit_folder"], slurm_max_num_timeout=params.get("max_num_timeout", 0)
    )
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(
        **{key if key in base else f"slurm_{key}": value for key, value in params.items() if key not in init_keys}
    )
    return executor


def refusal_message(sbatch_error: str, params: dict[str, Any]) -> str:
    """One line: what sbatch said, and the `hydra.launcher.*` keys (with their values) that decide it."""
    said = [line.split("error:", 1)[-1].strip() for line in sbatch_error.splitlines() if line.strip()]
    for line in said:  # sbatch's first lines are the specific ones ("Memory specification can not be satisfied")
        keys = next((keys for start, keys in REFUSALS.items() if start in line.lower()), None)
        if keys is not None:
            settings = ", ".join(
                f"hydra.launcher.{key}={params.get(key)}"
                + (" (= threads unless set)" if key == "cpus_per_task" else "")
                for key in keys
            )
            return f"Slurm refused the jobs: {line}: change {settings}"
    return f"Slurm refused the jobs: {'; '.join(said)} (see the hydra.launcher.* keys)"


class SlurmLauncher(SubmititSlurmLauncher):
    """Submit each job of the sweep as a Slurm array task; skip finished jobs; report each job in one line."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import submitit  # noqa: F401  (first: importing it sets its logger's level)

        logging.getLogger("submitit").setLevel(logging.ERROR)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        self._job_dirs: dict[tuple, Path] = {}
        returns: list[JobReturn | None] = []
        to_submit = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            finished = self._finished(list(overrides))
            returns.append(finished)
            if finished is None:
                to_submit.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
            else:
                job_dir = self._job_dir(list(overrides))
                print(f"rnnlab: #{idx} {job_dir}: already {self._status(job_dir)}, not submitted", flush=True)
        if not to_submit:  # every job had finished: every entry is its result
            return [ret for ret in returns if ret is not None]

        sweep_dir.mkdir(parents=True, exist_ok=True)
        try:
            jobs = self._submit(to_submit)
        except SubmissionRefused as refused:
            _remove_if_empty(sweep_dir)
            print(f"rnnlab: {refused}", file=sys.stderr, flush=True)
            sys.exit(2)
        submitted = {job.job_id: params for job, params in zip(jobs, to_submit)}
        for job, (overrides, _, idx, _, _) in zip(jobs, to_submit):
            print(
                f"rnnlab: #{idx} Slurm job {job.job_id}: {' '.join(filter_overrides(overrides)) or '(no overrides)'}"
                f" (log {job.paths.stdout})",
                flush=True,
            )

        results: dict[str, JobReturn] = {}
        for job in self._as_ended_or_exit(jobs):
            overrides, _, idx, _, _ = submitted[job.job_id]
            job_dir = self._job_dir(overrides)
            result = _result(job)
            if result is not None:
                print(f"rnnlab: #{idx} Slurm job {job.job_id} {self._status(job_dir)}: {job_dir}", flush=True)
            else:  # killed, cancelled, out of requeues: no metrics.json, the sweep's summary lists it incomplete
                # COMPLETED with no value, as rnnlab.train returns for a failed job: Hydra's basic sweeper would stop
                # at a FAILED one before the summary; Optuna records a trial without a value as FAIL.
                result = JobReturn(overrides=overrides, status=JobStatus.COMPLETED, _return_value=None)
                print(
                    f"rnnlab: #{idx} Slurm job {job.job_id} ended without a result: {job_dir} (log {job.paths.stderr})",
                    flush=True,
                )
            results[job.job_id] = result
        by_overrides = {tuple(submitted[job_id][0]): result for job_id, result in results.items()}
        return [
            ret if ret is not None else by_overrides[tuple(overrides)]
            for ret, overrides in zip(returns, (list(o) for o in job_overrides))
        ]

    def _as_ended_or_exit(self, jobs: list) -> Iterator:
        """`_as_ended(jobs)`; a job that can never start cancels the sweep's jobs and ends it in one line, exit 2."""
        try:
            yield from _as_ended(jobs)
        except NeverStarts as never:
            job_id, reason = never.args
            subprocess.run(["scancel", *sorted({job.job_id.split("_")[0] for job in jobs})], capture_output=True)
            print(f"rnnlab: {never_starts_message(job_id, reason, self.params)}", file=sys.stderr, flush=True)
            sys.exit(2)

    def _finished(self, overrides: list[str]) -> JobReturn | None:
        """The job's result if its directory holds a finished run's metrics.json, else None (to be submitted)."""
        config = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        job_dir = Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
        self._job_dirs[tuple(overrides)] = job_dir
        record = read_record(job_dir)
        if record is None or not record.finished:
            return None
        if differences(record.config, resolved(config)):
            return None  # another configuration's run: submitted, the job refuses it and the summary lists it
        return JobReturn(
            overrides=overrides,
            cfg=config,
            working_dir=str(job_dir),
            task_name=config.hydra.job.name,
            status=JobStatus.COMPLETED,
            _return_value=record.objective(config.optimized_metric),
        )

    def _job_dir(self, overrides: list[str]) -> Path:
        return self._job_dirs[tuple(overrides)]

    @staticmethod
    def _status(job_dir: str | Path | None) -> str:
        record = read_record(job_dir) if job_dir else None
        return record.status if record is not None else "ended without metrics.json"

    def _submit(self, job_params: list[tuple]) -> list:
        """Submit the jobs as one array; on sbatch's refusal, remove what the attempt wrote and raise
        SubmissionRefused."""
        from submitit.core.utils import FailedJobError

        executor = slurm_executor(self.params)
        folder = Path(executor.folder)
        while any(tag in folder.name for tag in ("%j", "%t", "%A", "%a")):
            folder = folder.parent
        before = set(folder.iterdir()) if folder.is_dir() else None
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # submitit echoes sbatch's errors; we say it in one line
                return executor.map_array(self, *zip(*job_params))
        except FailedJobError as error:
            if before is None:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                for path in set(folder.iterdir()) - before:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            raise SubmissionRefused(refusal_message(str(error), self.params)) from None


def _as_ended(jobs: list) -> Iterator:
    """Yield each job once it has ended: its result file is written, or Slurm says it ended without one.

    Asks squeue, never sacct: a cluster without accounting answers sacct with an error per call.
    """
    waiting = {job.job_id: job for job in jobs}
    seen_ended: set[str] = set()  # ended by Slurm's account, no result file yet: the next poll decides
    while waiting:
        states = _job_states({job_id.split("_")[0] for job_id in waiting})
        for job_id, state in (states or {}).items():
            if job_id in waiting and state.startswith("PENDING|") and state.split("|", 1)[1] in NEVER_STARTS:
                raise NeverStarts(job_id, state.split("|", 1)[1])
        states = {job_id: state.split("|", 1)[0] for job_id, state in states.items()} if states is not None else None
        for job_id, job in list(waiting.items()):
            # a job Slurm no longer lists has ended too (forgotten after MinJobAge)
            ended = states is not None and states.get(job_id, "GONE") in ENDED_STATES | {"GONE"}
            if job.paths.result_pickle.exists() or (ended and job_id in seen_ended):
                del waiting[job_id]
                yield job
            elif ended:  # its result file may take a moment to show on a shared file system
                seen_ended.add(job_id)
        if waiting:
            time.sleep(POLL_SECONDS)


def _result(job) -> JobReturn | None:
    """The job's JobReturn, or None if it wrote none (killed) or an error (its process died outside the run)."""
    if not job.paths.result_pickle.exists():
        return None
    try:
        return job.results()[0]
    except Exception:  # submitit's FailedJobError/UncompletedJobError: the traceback is in the job's log
        return None


# Slurm's final job states; a requeued job (PREEMPTED, REQUEUED...) goes back to PENDING.
ENDED_STATES = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "SPECIAL_EXIT",
}


def _job_states(array_ids: set[str]) -> dict[str, str] | None:
    """Each job's `STATE|REASON` by id (ARRAY_TASK form), ended jobs included while Slurm remembers them; None if
    squeue could not be asked."""
    done = subprocess.run(
        ["squeue", "-h", "-r", "-t", "all", "-o", "%i|%T|%r", "-j", ",".join(sorted(array_ids))],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        # squeue refuses ids it has forgotten ("Invalid job id specified"): none of them is queued
        return {} if "Invalid job id" in done.stderr else None
    return dict(line.split("|", 1) for line in done.stdout.splitlines() if "|" in line)


def _remove_if_empty(sweep_dir: Path) -> None:
    """Remove a sweep directory that holds no job, only Hydra's multirun.yaml and an empty .submitit."""
    leftovers = {path.name for path in sweep_dir.iterdir()} if sweep_dir.is_dir() else set()
    submitit_dir = sweep_dir / ".submitit"
    if (
        leftovers <= {"multirun.yaml", ".submitit"}
        and not find_jobs(sweep_dir)
        and not (submitit_dir.is_dir() and any(submitit_dir.iterdir()))
    ):
        shutil.rmtree(sweep_dir)
