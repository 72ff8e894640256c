"""The lab's overhead: a training step of `rnnlab.train` (Lightning, logging, checkpoints, every diagnostic) against
a bare PyTorch loop on the same model, task, optimizer and gradient clipping.

Both sides are built from the same composed configuration, the one `python -m rnnlab.train OVERRIDES` runs: the lab
side calls `rnnlab.train.train(cfg)` itself; the bare side instantiates the same task, model and optimizer and runs
forward, loss, backward, clipping and the optimizer step over the task's own training batches. The time per step
is the wall time from the start of batch `warmup` to the start of batch `warmup + steps`, divided by `steps`:
everything that happens between (validation at epoch ends, checkpoints, diagnostics every N steps, logging) counts.
Startup (imports, building the trainer) does not: it is paid once per run, not per step.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from omegaconf import OmegaConf, open_dict

from rnnlab.bench.timing import median
from rnnlab.config import compose_run
from rnnlab.tasks.base import StepSampler
from rnnlab.training.build import build_module

# The target shape: the adding problem (input 2) at T=100, batch 64, hidden 128; nn.RNN. No progress bar: a
# benchmark's output is its table, and sweeps (which run many such jobs) turn it off too.
TARGET_OVERRIDES = (
    "model=torch",
    "hidden_size=128",
    "seq_len=100",
    "batch_size=64",
    "trainer.enable_progress_bar=false",
)


class StepClock(L.Callback):
    """Record the time at the start of every training batch; write them to `path` (JSON) when fitting ends."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.times: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.times.append(time.perf_counter())

    def on_fit_end(self, trainer, pl_module) -> None:
        self.path.write_text(json.dumps(self.times))


def optimizer_and_scheduler(module: L.LightningModule):
    """The optimizer and the (per-step) scheduler or None, from the module's own `configure_optimizers`."""
    configured = module.configure_optimizers()
    if isinstance(configured, dict):
        return configured["optimizer"], configured["lr_scheduler"]["scheduler"]  # type: ignore[typeddict-item]
    return configured, None


def per_step(times: list[float], warmup: int, steps: int) -> float:
    """Seconds per step from batch-start times: (start of batch warmup + steps - start of batch warmup) / steps."""
    if len(times) < warmup + steps + 1:
        raise ValueError(f"need {warmup + steps + 1} batch start times, got {len(times)}")
    return (times[warmup + steps] - times[warmup]) / steps


def lab_step_time(overrides: list[str], warmup: int, steps: int, workdir: Path) -> float:
    """Seconds per training step of `rnnlab.train.train` with the default callbacks (every diagnostic on)."""
    from rnnlab.training.run import train  # imports Hydra's and Lightning's machinery: only when this section runs

    run_dir = Path(tempfile.mkdtemp(dir=workdir, prefix="lab-"))
    clock_path = run_dir / "clock.json"
    cfg = compose_run(run_dir, [*overrides, f"max_steps={warmup + steps + 1}"])
    with open_dict(cfg):  # the clock first, so each batch's time is taken before any diagnostic's work on it
        clock = {"_target_": f"{StepClock.__module__}.StepClock", "path": str(clock_path)}
        cfg.callbacks = OmegaConf.merge({"step_clock": clock}, cfg.callbacks)
    with contextlib.redirect_stdout(io.StringIO()):  # train's one-line summary would land among the tables
        train(cfg)
    return per_step(json.loads(clock_path.read_text()), warmup, steps)


def bare_step_time(overrides: list[str], warmup: int, steps: int, workdir: Path) -> float:
    """Seconds per training step of a plain loop on the same task, model, optimizer, scheduler and clipping as the
    lab's (the module `build_module` makes for both)."""
    cfg = compose_run(workdir, [*overrides, f"max_steps={warmup + steps + 1}"])
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    L.seed_everything(cfg.seed, verbose=False)
    task, model = build_module(cfg)
    optimizer, scheduler = optimizer_and_scheduler(model)
    loader = task.train_dataloader()
    sampler = loader.sampler
    assert isinstance(sampler, StepSampler)  # the lab's: it starts at a step
    times: list[float] = []
    epoch = 0
    while len(times) < cfg.max_steps:
        sampler.start_at(len(times))  # batch s for step s, as the lab's sampler draws them
        for batch in loader:
            times.append(time.perf_counter())
            loss = model.loss_from_rnn_output(model.rnn_output(batch), batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()  # every optimizer step, as the module configures it for Lightning
            if len(times) == cfg.max_steps:
                break
        epoch += 1
    return per_step(times, warmup, steps)


def compare(
    num_layers: int,
    threads: int,
    repeats: int,
    warmup: int,
    steps: int,
    workdir: Path,
    extra_overrides: tuple[str, ...] = (),
) -> dict:
    """Median seconds per step of the lab and of the bare loop, alternating which runs first each repeat."""
    overrides = [*TARGET_OVERRIDES, f"num_layers={num_layers}", f"threads={threads}", *extra_overrides]
    runs = {"lab": lab_step_time, "bare": bare_step_time}
    times: dict[str, list[float]] = {name: [] for name in runs}
    threads_before = torch.get_num_threads()  # each run sets the configured count: leave the caller's as it was
    try:
        for repeat in range(repeats):
            for name in list(runs) if repeat % 2 == 0 else list(runs)[::-1]:
                times[name].append(runs[name](overrides, warmup, steps, workdir))
    finally:
        torch.set_num_threads(threads_before)
    lab, bare = median(times["lab"]), median(times["bare"])
    return {
        "num_layers": num_layers,
        "threads": threads,
        "repeats": repeats,
        "warmup": warmup,
        "steps": steps,
        "overrides": overrides,
        "lab_ms_per_step": lab * 1e3,
        "bare_ms_per_step": bare * 1e3,
        "ratio": lab / bare,
        "lab_ms": [t * 1e3 for t in times["lab"]],
        "bare_ms": [t * 1e3 for t in times["bare"]],
    }
