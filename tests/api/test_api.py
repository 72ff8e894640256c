"""The Python API (rnnlab.api): a run's record, the run loaded back, its evaluation, a sweep as a table."""

import json
import subprocess
import sys

import pytest
import torch

import rnnlab
from rnnlab.record.eval_record import read_eval_records
from rnnlab.record.identity import OtherConfiguration
from rnnlab.training.checks import ConfigError
from tests.helpers import ROOT
from tests.helpers.cli import EXPLODING

TINY = ["hidden_size=8", "batch_size=8", "seq_len=10", "task.train_batches=5", "task.val_batches=2"]


def test_import_rnnlab_is_cheap():
    probe = (
        "import rnnlab, sys; print(sorted(m for m in ('torch', 'hydra', 'lightning', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
    assert set(rnnlab.__all__) <= set(dir(rnnlab))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("api") / "run"
    return rnnlab.run([*TINY, "max_steps=12", "checkpoint.every_n_steps=5"], run_dir=run_dir)


def test_run_returns_its_record_and_loads_back_at_its_last_step(finished, capsys):
    assert finished.status == "completed" and finished.steps == 12 and finished.baseline == pytest.approx(2 / 12)
    assert json.loads((finished.dir / "metrics.json").read_text())["final"] == finished.final
    loaded = rnnlab.load(finished.dir)
    assert loaded.step == 12 and loaded.weights.name == "weights.pt"  # the last step, not the checkpoint's 10
    assert loaded.rnn.hidden_size == 8 and loaded.head.in_features == 8 and not loaded.module.training
    assert loaded.config.seq_len == 10 and loaded.record is not None and loaded.record.status == "completed"


def test_evaluation_reproduces_the_runs_final_loss_and_varies_the_length(finished):
    same = rnnlab.evaluate(finished.dir)
    assert same.loss == pytest.approx(finished.final["val/loss"], rel=1e-6)
    assert json.loads((finished.dir / "eval.json").read_text())["loss"] == same.loss
    assert same.file == str(finished.dir / "eval.json") and read_eval_records(finished.dir) == [same]
    longer = rnnlab.evaluate(finished.dir, ["seq_len=40"])
    assert longer.seq_len == 40 and longer.trained_seq_len == 10 and longer.loss != same.loss
    assert (finished.dir / "eval-seq_len=40.json").is_file()
    unseen = rnnlab.evaluate(finished.dir, split="test", write=False)
    assert unseen.loss != same.loss and unseen.file is None


def test_an_interrupted_run_loads_from_its_checkpoint(finished, tmp_path):
    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    for name in (".hydra", "checkpoints"):
        subprocess.run(["cp", "-r", str(finished.dir / name), str(interrupted)], check=True)
    loaded = rnnlab.load(interrupted)
    assert loaded.step == 10 and loaded.weights.name == "last.ckpt" and loaded.record is None
    saved = torch.load(interrupted / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(loaded.module.state_dict()[k], v) for k, v in saved.items())


def test_weights_that_would_run_code_are_refused(finished, tmp_path):
    run_dir = tmp_path / "planted"
    subprocess.run(["cp", "-r", str(finished.dir), str(run_dir)], check=True)
    torch.save({"state_dict": {}, "global_step": 1, "payload": ConfigError("pickled object")}, run_dir / "weights.pt")
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        rnnlab.load(run_dir)


def test_a_bad_configuration_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="nonlinearity"):
        rnnlab.run([*TINY, "nonlinearity=sigmoid"], run_dir=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_a_classification_runs_evaluation_matches_its_accuracy(tmp_path):
    run = rnnlab.run(["task=xor", *TINY[:2], "seq_len=4", "max_steps=6", "task.val_batches=2"], run_dir=tmp_path)
    record = rnnlab.evaluate(run.dir, write=False)
    assert record.loss == pytest.approx(run.final["val/loss"], rel=1e-6)
    assert record.acc == pytest.approx(run.final["val/acc"], abs=1e-6)


def test_the_record_a_run_returns_is_the_one_read_back_even_when_it_diverged(tmp_path):
    run = rnnlab.run([*TINY, *EXPLODING, "max_steps=30"], run_dir=tmp_path)
    assert run.status == "diverged" and run.final["train/loss"] is None  # not NaN: as metrics.json holds it
    assert rnnlab.read_run(tmp_path) == run and run.record.diverged_at_step is not None


def test_another_configuration_into_a_finished_run_is_refused_before_anything_is_written(finished):
    before = {p: p.read_bytes() for p in finished.dir.rglob("*") if p.is_file() and p.name != ".rnnlab.lock"}
    with pytest.raises(OtherConfiguration, match="lr: 0.003 -> 0.5"):
        rnnlab.run([*TINY, "max_steps=12", "checkpoint.every_n_steps=5", "lr=0.5"], run_dir=finished.dir)
    after = {p: p.read_bytes() for p in finished.dir.rglob("*") if p.is_file() and p.name != ".rnnlab.lock"}
    assert after == before  # .hydra/config.yaml too: still the finished run's
