"""The guard on the Lightning private counter that rnnlab.training.resume sets."""

import lightning as L
import pytest
from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop

from rnnlab.training.resume import PRIVATE_COUNTER, StepAligned, check_lightning


def test_the_installed_lightning_is_one_the_guard_knows_and_its_loop_has_the_counter():
    check_lightning()
    StepAligned()
    loop = _TrainingEpochLoop(
        L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    )
    assert isinstance(getattr(loop, PRIVATE_COUNTER), int)


@pytest.mark.parametrize("version", ["2.5.6", "2.7.0", "3.0.0"])
def test_an_unchecked_lightning_is_refused_loudly(version):
    with pytest.raises(RuntimeError, match=f"this is lightning {version}"):
        check_lightning(version)


def test_a_loop_without_the_counter_is_refused():
    class Loop:
        def __init__(self):
            self.steps = 0

    with pytest.raises(RuntimeError, match="_batches_that_stepped"):
        check_lightning(L.__version__, Loop)
