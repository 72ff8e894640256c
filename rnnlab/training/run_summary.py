"""The callback that gathers a run's final and best metrics for its record (rnnlab.record.run_record)."""

from __future__ import annotations

import math
from typing import Any

import lightning as L

from rnnlab.record import tags


class RunSummary(L.Callback):
    """The final and best value of the training loss and of every validation metric, kept in checkpoints.

    Being part of the checkpoint, a resumed run's summary covers the whole run, not just its resumed part.
    """

    def __init__(self) -> None:
        self.final: dict[str, float] = {}
        self.best: dict[str, float] = {}
        self.last_val_step: int | None = None

    def _record(self, name: str, value: float) -> None:
        self.final[name] = value
        if math.isfinite(value):
            better = max if name.endswith("acc") else min
            self.best[name] = better(self.best.get(name, value), value)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # trainer.callback_metrics is only refreshed after this hook; the step's own output is current.
        # A step that returned no loss (a non-finite one, see RNNModule.training_step) records nan.
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        self._record(tags.TRAIN_LOSS, float(loss) if loss is not None else math.nan)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        for name, value in trainer.callback_metrics.items():
            if name.startswith(tags.VAL):
                self._record(name, float(value))
        self.last_val_step = trainer.global_step

    def on_test_end(self, trainer, pl_module) -> None:
        # the held-out split, scored once after training (rnnlab.training.run): a final value only
        for name, value in trainer.callback_metrics.items():
            if name.startswith("test/"):
                self.final[name] = float(value)

    def state_dict(self) -> dict[str, Any]:
        return {"final": dict(self.final), "best": dict(self.best), "last_val_step": self.last_val_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.final = dict(state_dict["final"])
        self.best = dict(state_dict["best"])
        self.last_val_step = state_dict["last_val_step"]
