"""The held-out test split of a dataset task: scored once after training, its accuracy and class-balanced accuracy
the ones computed by hand from the network's predictions."""

import json

import lightning as L
import pytest
import torch

from rnnlab.training.build import build_module
from rnnlab.training.run import train
from tests.helpers import compose_run

TINY = ["hidden_size=8", "batch_size=128", "task.train_batches=3", "trainer.enable_progress_bar=false"]


def balanced_accuracy(predicted: torch.Tensor, true: torch.Tensor, classes: int) -> float:
    recalls = [float((predicted[true == c] == c).double().mean()) for c in range(classes) if (true == c).any()]
    return sum(recalls) / len(recalls)


@pytest.mark.parametrize("task", ["names", "digits"])
def test_test_metrics_are_the_predictions_scored_by_hand(task, tmp_path):
    task_obj, module = build_module(compose_run(tmp_path, [f"task={task}", *TINY]))
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    metrics = trainer.test(module, dataloaders=task_obj.test_dataloader(), verbose=False)[0]
    predicted, true, losses = [], [], []
    with torch.no_grad():
        for batch in task_obj.test_dataloader():
            logits, target = module.predictions(module.rnn_output(batch), batch)
            predicted.append(logits.argmax(-1))
            true.append(target)
            losses.append(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
    predicted, true = torch.cat(predicted), torch.cat(true)
    assert len(true) == len(task_obj.split["test"])
    assert metrics["test/acc"] == pytest.approx(float((predicted == true).double().mean()), abs=1e-6)
    assert metrics["test/balanced_acc"] == pytest.approx(
        balanced_accuracy(predicted, true, 10 if task == "digits" else 12), abs=1e-6
    )
    assert metrics["test/loss"] == pytest.approx(float(sum(losses)) / len(true), rel=1e-5)


def test_a_run_records_test_metrics_and_the_majority_baseline(tmp_path):
    train(compose_run(tmp_path, ["task=digits", "task.mode=rows", *TINY, "max_steps=6"]))
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "completed" and record["steps"] == 6
    assert {"test/acc", "test/balanced_acc", "test/loss", "val/balanced_acc"} <= set(record["final"])
    assert not any(k.startswith("test/") for k in record["best"])  # scored once: no "best" of it


def test_a_synthetic_task_has_no_test_split(tmp_path):
    train(compose_run(tmp_path, ["task=xor", "seq_len=4", *TINY, "max_steps=3"]))
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert not any(k.startswith("test/") or "balanced" in k for k in record["final"])
