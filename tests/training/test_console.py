"""What a run prints: third-party noise filtered, the result in 4 significant digits, a bar counted in steps."""

from __future__ import annotations

import logging
import warnings

import lightning as L
import torch

from rnnlab.record.formatting import significant
from rnnlab.training.console import quiet_third_party, result_line
from rnnlab.training.progress_bar import StepProgressBar


def test_significant_and_the_result_line():
    assert significant(0.019911613315343857) == "0.01991"
    assert significant(None) == "nan"
    line = result_line("completed", 500, {"val/loss": 0.019911613315343857}, 2 / 12, "out/metrics.json")
    assert line == (
        "rnnlab: completed after 500 steps: val/loss 0.01991 (baseline 0.1667) = 0.119 x baseline -> out/metrics.json"
    )
    diverged = result_line("diverged", 7, {"val/loss": None}, 0.5, "m.json")
    assert diverged == "rnnlab: diverged after 7 steps: val/loss nan (baseline 0.5) -> m.json"
    assert ", val/acc 0.9375 ->" in result_line("completed", 5, {"val/loss": 0.2, "val/acc": 0.9375}, 0.69, "m")


def test_quiet_filters_the_named_noise_and_nothing_of_the_users(caplog):
    saved = {
        name: (logging.getLogger(name).level, list(logging.getLogger(name).filters))
        for name in (
            "lightning.pytorch",
            "lightning.fabric",
            "lightning",
            "lightning.pytorch.utilities.rank_zero",
            "lightning.fabric.utilities.rank_zero",
        )
    }
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            quiet_third_party()
            warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use TreeSpec", FutureWarning, stacklevel=1)
            warnings.warn("my own deprecation", DeprecationWarning, stacklevel=1)
            warnings.warn("my own warning", UserWarning, stacklevel=1)
        assert [str(w.message) for w in caught] == ["my own deprecation", "my own warning"]
        quiet_third_party()  # twice, as rnnlab.train does after importing Lightning: one filter, not two
        logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")  # where Lightning's rank_zero_* log
        # one filter of the lab's, however often it is installed (an earlier test in this process may have)
        assert sum(type(f).__name__ == "_DropNoise" for f in logger.filters) == 1
        with caplog.at_level(logging.INFO):
            logger.warning("💡 Tip: try installing litlogger")
            logger.info("GPU available: False, used: False")
            logger.warning("a real warning from Lightning")
            logging.getLogger("user.code").info("the user's own info line")
        assert [r.getMessage() for r in caplog.records] == ["a real warning from Lightning", "the user's own info line"]
    finally:
        for name, (level, filters) in saved.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).filters[:] = filters


class _Tiny(L.LightningModule):
    baseline = 0.25

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def training_step(self, batch, batch_idx):
        loss = (self.weight * batch).pow(2).mean()
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_the_bar_counts_optimizer_steps_across_epochs_and_shows_loss_and_baseline(capsys):
    bar = StepProgressBar(refresh_every=5)
    trainer = L.Trainer(
        max_steps=12,
        max_epochs=-1,
        callbacks=[bar],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(_Tiny(), train_dataloaders=torch.utils.data.DataLoader(torch.ones(5, 1), batch_size=None))
    err = capsys.readouterr().err.replace("\r", "\n")
    frames = [line for line in err.splitlines() if line.startswith("step ")]
    assert frames[-1].startswith("step 12/12 ") and "Epoch" not in err  # 12 steps over 3 epochs of 5 batches
    assert {f.split()[1] for f in frames} >= {"0/12", "5/12", "10/12", "12/12"}
    loss = float(trainer.callback_metrics["train/loss"])
    assert f"loss {significant(loss)}" in frames[-1] and "baseline 0.25" in frames[-1]
