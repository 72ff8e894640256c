"""The run's checkpoint in-process: atomic writes that keep the previous one, the choice of a sound checkpoint,
the file modes, the checkpoint whatever `callbacks=` says, and the divergence it carries."""

from __future__ import annotations

import pytest
import torch

from rnnlab.record.atomic import readable_mode, write_atomically
from rnnlab.training.checkpoint import LAST, PREVIOUS, AtomicCheckpointIO, find_resume_point
from rnnlab.training.module import RNNModule
from rnnlab.training.run import train
from tests.helpers import compose_run

TINY = [
    "hidden_size=8",
    "seq_len=8",
    "batch_size=8",
    "task.train_batches=5",
    "task.val_batches=2",
    "trainer.enable_progress_bar=false",
]


def fake_checkpoint(step: int) -> dict:
    return {"state_dict": {}, "global_step": step, "loops": {}, "optimizer_states": []}


def test_each_save_keeps_the_one_before_and_leaves_no_temporary_file(tmp_path):
    io = AtomicCheckpointIO()
    for step in (5, 10, 15):
        io.save_checkpoint(fake_checkpoint(step), tmp_path / LAST)
    assert torch.load(tmp_path / LAST, weights_only=False)["global_step"] == 15
    assert torch.load(tmp_path / PREVIOUS, weights_only=False)["global_step"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == [LAST, PREVIOUS]
    assert (tmp_path / LAST).stat().st_mode & 0o777 == readable_mode()


def test_a_failing_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "x.bin"
    write_atomically(path, lambda f: f.write(b"old"))

    def fail(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(path, fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_the_newest_sound_checkpoint_is_chosen_and_an_unreadable_one_set_aside(tmp_path):
    directory = tmp_path / "checkpoints"
    io = AtomicCheckpointIO()
    io.save_checkpoint(fake_checkpoint(7), directory / LAST)
    io.save_checkpoint(fake_checkpoint(14), directory / LAST)
    (directory / ".last.ckpt.abc.tmp").write_bytes(b"half")  # a kill's leftover
    point = find_resume_point(tmp_path)
    assert (point.path, point.step, point.unreadable) == (directory / LAST, 14, [])
    assert not (directory / ".last.ckpt.abc.tmp").exists()

    (directory / LAST).write_bytes((directory / LAST).read_bytes()[:100])
    point = find_resume_point(tmp_path)
    assert (point.path, point.step) == (directory / PREVIOUS, 7)
    assert len(point.unreadable) == 1 and point.unreadable[0].startswith("last.ckpt: ")
    assert (directory / "last.ckpt.unreadable").exists() and not (directory / LAST).exists()

    torch.save({"not": "a checkpoint"}, directory / PREVIOUS)
    point = find_resume_point(tmp_path)
    assert (point.path, point.step) == (None, None)
    assert point.unreadable == ["previous.ckpt: not a Lightning checkpoint"]
    assert find_resume_point(tmp_path / "nothing_yet").path is None


def test_callbacks_none_still_writes_the_checkpoint_resume_relies_on(tmp_path):
    train(compose_run(tmp_path, [*TINY, "callbacks=none", "max_steps=12", "checkpoint.every_n_steps=5"]))
    steps = [
        torch.load(tmp_path / "checkpoints" / name, weights_only=False)["global_step"] for name in (LAST, PREVIOUS)
    ]
    assert steps == [10, 5]
    assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == readable_mode()


def test_a_checkpoint_taken_after_divergence_resumes_diverged(tmp_path):
    cfg = compose_run(tmp_path, TINY)
    from hydra.utils import instantiate

    task = instantiate(cfg.task)
    module = RNNModule(instantiate(cfg.model), task, instantiate(cfg.optimizer))
    module.diverged_at_step = 3
    checkpoint = {}
    module.on_save_checkpoint(checkpoint)
    resumed = RNNModule(instantiate(cfg.model), task, instantiate(cfg.optimizer))
    resumed.on_load_checkpoint(checkpoint)
    assert resumed.diverged_at_step == 3


def test_non_finite_initial_weights_end_the_run_diverged_at_step_0(tmp_path):
    train(compose_run(tmp_path, [*TINY, "init=normal", "init_scale=1e38", "hidden_size=64", "max_steps=5"]))
    import json

    record = json.loads((tmp_path / "metrics.json").read_text())
    assert (record["status"], record["diverged_at_step"], record["steps"]) == ("diverged", 0, 0)


# ---- loading never executes data -------------------------------------------------------------------------------


class _Payload:
    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return (self.call, self.args)


@pytest.mark.parametrize(
    "where,call",
    [("top", "os.system"), ("state_dict", "builtins.exec"), ("callbacks", "subprocess.call")],
)
def test_a_crafted_checkpoint_is_refused_naming_what_it_would_run_and_never_runs_it(where, call, tmp_path):
    import builtins
    import os
    import subprocess

    from rnnlab.training.checkpoint import read_checkpoint

    marker = tmp_path / "ran"
    payload = {
        "os.system": _Payload(os.system, (f"touch {marker}",)),
        "builtins.exec": _Payload(builtins.exec, (f"open({str(marker)!r}, 'w').close()",)),
        "subprocess.call": _Payload(subprocess.call, (["touch", str(marker)],)),
    }[call]
    checkpoint = {"state_dict": {}, "global_step": 3, "loops": {}, "optimizer_states": [], "callbacks": {}}
    if where == "top":
        checkpoint["hyper_parameters"] = payload
    else:
        checkpoint[where]["x"] = payload
    path = tmp_path / "last.ckpt"
    torch.save(checkpoint, path)
    loaded, problem = read_checkpoint(path)
    assert loaded is None and not marker.exists()
    assert problem.startswith("refused: it asks to load ") and "none of it was run" in problem
    assert call.split(".")[-1] in problem or "posix.system" in problem
