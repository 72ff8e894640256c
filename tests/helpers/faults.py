"""Faults the sweep tests inject into real CLI runs (the CLI imports this from the repository root). Test-only."""

import os

import lightning as L

EXIT_AT_STEP = "RNNLAB_TEST_EXIT_AT_STEP"  # read from the environment, so the job's overrides (its directory) stay put


class Faults(L.Callback):
    """Raise at optimizer step `raise_at_step` (a failing job); hard-exit the process at step $RNNLAB_TEST_EXIT_AT_STEP
    (a crash or a cluster's time limit, which no `except` sees)."""

    def __init__(self, raise_at_step: int | None = None) -> None:
        self.raise_at_step = raise_at_step
        self.exit_at_step = int(os.environ[EXIT_AT_STEP]) if os.environ.get(EXIT_AT_STEP) else None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.raise_at_step is not None and trainer.global_step >= self.raise_at_step:
            raise RuntimeError(f"injected fault at step {trainer.global_step}")
        if self.exit_at_step is not None and trainer.global_step >= self.exit_at_step:
            os._exit(3)


class ExitAfterSteps(L.Callback):
    """Kill the process after `steps` optimizer steps, as a crash or a cluster's time limit would."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.steps:
            os._exit(3)
