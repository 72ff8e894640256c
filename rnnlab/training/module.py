"""The LightningModule: any rnnlab implementation, the task's linear head and loss, the configured optimizer."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torchmetrics import Accuracy, MeanMetric, MeanSquaredError

from rnnlab.models.base import LabRNN
from rnnlab.models.init import initialise
from rnnlab.models.sequences import length_mask
from rnnlab.record import tags
from rnnlab.tasks.base import SyntheticTask


class RNNModule(L.LightningModule):
    """An RNN (`rnn`, batch-first) read out by a linear `head`, trained on a `SyntheticTask`.

    `rnn` is a callable that builds the network given `input_size` and `batch_first` (a Hydra partial of any
    rnnlab implementation); its weights are `rnnlab.models.init.initialise(rnn, init, init_scale, seed)`, so every
    implementation starts from the same function. `optimizer` and `scheduler` are partials taking the parameters
    and the optimizer. A non-finite training loss stops the run and sets `diverged_at_step`.

    Diagnostics may recompute the loss from a substituted output: `loss_from_rnn_output(rnn_output(batch), batch)`
    is exactly the training loss.
    """

    def __init__(
        self,
        rnn: Callable[..., LabRNN],
        task: SyntheticTask,
        optimizer: Callable,
        scheduler: Callable | None = None,
        init: str = "torch",
        init_scale: float = 1.0,
        seed: int = 0,
        init_input_scale: float | None = None,
        init_bias_scale: float = 0.0,
    ) -> None:
        super().__init__()
        self.kind, self.readout = task.kind, task.readout
        self.baseline = float(task.baseline)
        self.baseline_acc = getattr(task, "baseline_acc", None)  # the new attributes: older task-likes may lack them
        self.rnn = rnn(input_size=task.input_size, batch_first=True)
        initialise(self.rnn, init, init_scale, seed, init_input_scale, init_bias_scale)
        self.head = nn.Linear(self.rnn.num_directions * self.rnn.hidden_size, task.output_size)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.val_loss: MeanMetric | MeanSquaredError
        if self.kind == "classification":
            self.val_loss = MeanMetric()  # cross-entropy, weighted by the positions each batch scores
            self.train_acc = Accuracy(task="multiclass", num_classes=task.output_size)
            self.val_acc = Accuracy(task="multiclass", num_classes=task.output_size)
            if getattr(task, "has_test_split", False):
                self.test_loss = MeanMetric()
                self.test_acc = Accuracy(task="multiclass", num_classes=task.output_size)
            if getattr(
                task, "balanced_accuracy", False
            ):  # macro-averaged recall: each class counts alike, however rare
                self.val_balanced_acc = Accuracy(task="multiclass", num_classes=task.output_size, average="macro")
                self.test_balanced_acc = Accuracy(task="multiclass", num_classes=task.output_size, average="macro")
        else:
            self.val_loss = MeanSquaredError()  # the loss itself, over all validation elements
        self.diverged_at_step: int | None = None

    # ---- the contract diagnostics rely on ------------------------------------------------------------------

    def rnn_output(self, batch: dict[str, Tensor]) -> Tensor:
        """The RNN's output (B, T, D * H), zero past each sequence's length; packed through the RNN if `lengths`."""
        x, lengths = batch["x"], batch.get("lengths")
        if lengths is None:
            return self.rnn(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.size(1))
        return output

    def loss_from_rnn_output(self, output: Tensor, batch: dict[str, Tensor]) -> Tensor:
        """The task's loss given the RNN's padded output: MSE over elements, or cross-entropy over positions."""
        prediction, target = self.predictions(output, batch)
        return self.loss_fn(prediction, target)

    # ---- readout and loss ----------------------------------------------------------------------------------

    def predictions(self, output: Tensor, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """(prediction, target) at the positions the loss covers, flattened to (N, output_size) and (N, ...)."""
        lengths, target = batch.get("lengths"), batch["y"]
        if self.readout == "last":
            if lengths is None:
                features = output[:, -1]
            else:  # each sequence's own last step; for two directions, both directions' outputs there
                features = output[torch.arange(output.size(0), device=output.device), lengths.to(output.device) - 1]
            return self.head(features), target
        prediction = self.head(output)  # every_step: (B, T, output_size)
        mask = batch.get("mask")
        if mask is None and lengths is not None:
            mask = length_mask(lengths, output.size(1), output.device)
        if mask is None:
            return prediction.flatten(0, 1), target.flatten(0, 1)
        return prediction[mask], target[mask]

    def loss_fn(self, prediction: Tensor, target: Tensor) -> Tensor:
        if self.kind == "classification":
            return nn.functional.cross_entropy(prediction, target)
        return nn.functional.mse_loss(prediction, target.to(prediction.dtype))

    # ---- Lightning hooks -----------------------------------------------------------------------------------

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor | None:
        prediction, target = self.predictions(self.rnn_output(batch), batch)
        loss = self.loss_fn(prediction, target)
        self.log(tags.TRAIN_LOSS, loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=target.size(0))
        if self.kind == "classification":
            self.train_acc(prediction, target)
            self.log(tags.TRAIN_ACC, self.train_acc, on_step=True, on_epoch=False)
        if not torch.isfinite(loss):
            # A diverged run is a result, not a crash: stop here, and skip this step's backward and update.
            self.diverged_at_step = self.global_step
            self.trainer.should_stop = True
            return None
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        prediction, target = self.predictions(self.rnn_output(batch), batch)
        if self.kind == "classification":
            assert isinstance(self.val_loss, MeanMetric)  # a classification's (__init__)
            self.val_loss.update(self.loss_fn(prediction, target), weight=target.size(0))
            self.val_acc(prediction, target)
            self.log(tags.VAL_ACC, self.val_acc, on_step=False, on_epoch=True, prog_bar=True)
            if hasattr(self, "val_balanced_acc"):
                self.val_balanced_acc(prediction, target)
                self.log(tags.VAL_BALANCED_ACC, self.val_balanced_acc, on_step=False, on_epoch=True)
            if self.baseline_acc is not None:
                self.log(tags.BASELINE_ACC, self.baseline_acc, on_step=False, on_epoch=True)
        else:
            self.val_loss.update(prediction, target.to(prediction.dtype))
        self.log(tags.VAL_LOSS, self.val_loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log(tags.BASELINE, self.baseline, on_step=False, on_epoch=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        """The held-out test split (tasks with `has_test_split`), scored once after training."""
        prediction, target = self.predictions(self.rnn_output(batch), batch)
        self.test_loss.update(self.loss_fn(prediction, target), weight=target.size(0))
        self.test_acc(prediction, target)
        self.log(tags.TEST_LOSS, self.test_loss, on_step=False, on_epoch=True)
        self.log(tags.TEST_ACC, self.test_acc, on_step=False, on_epoch=True)
        if hasattr(self, "test_balanced_acc"):
            self.test_balanced_acc(prediction, target)
            self.log(tags.TEST_BALANCED_ACC, self.test_balanced_acc, on_step=False, on_epoch=True)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_start(self) -> None:
        # Weights that are already non-finite (an init_scale near the dtype's limit) or a checkpoint written after
        # divergence: the run has diverged; nothing may train on, nor diagnose such weights.
        if self.diverged_at_step is None and not weights_finite(self):
            self.diverged_at_step = self.global_step
        if self.diverged_at_step is not None:
            self.trainer.should_stop = True

    # The global RNG drives dropout (the dataloaders have their own generators): keeping it in the checkpoint lets
    # a resumed run draw the masks the original would. A diverged run stays diverged when resumed.
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["rng_state"] = torch.get_rng_state()
        checkpoint["diverged_at_step"] = self.diverged_at_step

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["rng_state"])
        self.diverged_at_step = checkpoint.get("diverged_at_step")


def weights_finite(module: nn.Module) -> bool:
    """Whether every parameter of `module` is finite."""
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())
