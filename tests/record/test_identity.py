"""The identity rule (rnnlab.record.identity): which keys decide a run's numbers, and the comparison a re-run makes
with the record of its directory."""

import pytest

from rnnlab.record.identity import (
    OtherConfiguration,
    check_record,
    describe,
    differences,
    identity,
    is_bookkeeping,
    resolved,
)
from rnnlab.record.run_record import run_record, write_metrics
from tests.helpers import compose_run

BOOKKEEPING_KEYS = [
    "paths.output_dir",
    "logger.tensorboard.save_dir",
    "checkpoint.every_n_steps",
    "optimized_metric",
    "threads",
    "trainer.enable_progress_bar",
    "trainer.log_every_n_steps",
    "trainer.default_root_dir",
    "trainer.enable_model_summary",
    "callbacks.grad_norms.every_n_steps",
    "callbacks.spectrum.image_every_n_steps",
]
IDENTITY_KEYS = [
    "lr",
    "hidden_size",
    "seed",
    "max_steps",
    "trainer.max_steps",
    "trainer.fast_dev_run",
    "trainer.gradient_clip_val",
    "trainer.deterministic",
    "model._target_",
    "optimizer.lr",
    "task.seq_len",
    "callbacks.grad_norms.norm_type",
    "callbacks.grad_norms._target_",
]


@pytest.mark.parametrize("key", BOOKKEEPING_KEYS)
def test_bookkeeping_keys_are_not_identity(key):
    assert is_bookkeeping(key)


@pytest.mark.parametrize("key", IDENTITY_KEYS)
def test_every_other_key_is_identity(key):
    assert not is_bookkeeping(key)


def test_every_key_of_the_default_config_falls_under_the_rule_as_named(tmp_path):
    """The composed default config: its identity holds exactly the keys the rule does not name."""
    config = resolved(compose_run(tmp_path, []))
    keys = identity(config).keys()
    assert {"lr", "hidden_size", "seed", "trainer.max_steps", "model._target_"} <= keys
    assert not any(k.startswith(("paths.", "logger.", "checkpoint.")) or k == "optimized_metric" for k in keys)
    assert "trainer.log_every_n_steps" not in keys and "callbacks.grad_norms.every_n_steps" not in keys
    assert config["paths"]["output_dir"] == "<output_dir>"


def test_differences_name_each_key_with_its_two_values(tmp_path):
    old = resolved(compose_run(tmp_path, []))
    new = resolved(compose_run(tmp_path, ["lr=0.1", "hidden_size=32", "trainer.log_every_n_steps=1"]))
    changes = differences(old, new)
    assert ("lr", 0.003, 0.1) in changes and ("hidden_size", 64, 32) in changes
    assert ("optimizer.lr", 0.003, 0.1) in changes  # the interpolated copy, resolved
    assert all(key != "trainer.log_every_n_steps" for key, _, _ in changes)
    assert "hidden_size: 64 -> 32" in describe(changes) and "lr: 0.003 -> 0.1" in describe(changes)


def test_a_key_only_one_side_has_is_a_difference():
    assert differences({"a": 1}, {"a": 1, "b": {"c": None}}) == [("b.c", "<unset>", None)]
    assert describe([("b", "<unset>", True)]) == "b: <unset> -> true"
    assert describe([(f"k{i}", 0, 1) for i in range(10)], limit=2) == "k0: 0 -> 1, k1: 0 -> 1 (and 8 more)"


def _finished(tmp_path, overrides, status="completed"):
    cfg = compose_run(tmp_path, overrides)
    write_metrics(tmp_path, run_record(cfg, status, None, None, None, 0.0))


def test_check_record_skips_the_same_configuration_whatever_its_bookkeeping(tmp_path):
    _finished(tmp_path, ["lr=0.01"])
    cfg = compose_run(tmp_path, ["lr=0.01", "trainer.enable_progress_bar=false", "checkpoint.every_n_steps=7"])
    record = check_record(cfg, tmp_path)
    assert record is not None and record.status == "completed"


@pytest.mark.parametrize("status", ["completed", "diverged"])
@pytest.mark.parametrize("change", [["lr=0.1"], ["model=myrnn", "num_layers=3"], ["trainer.fast_dev_run=true"]])
def test_check_record_refuses_a_finished_run_of_another_configuration(status, change, tmp_path):
    _finished(tmp_path, [], status)
    before = (tmp_path / "metrics.json").read_bytes()
    with pytest.raises(OtherConfiguration) as refused:
        check_record(compose_run(tmp_path, change), tmp_path)
    line = str(refused.value)
    assert "\n" not in line and str(tmp_path) in line and f"{status} run of another configuration" in line
    key = change[0].split("=")[0]
    assert any(k == key or k.startswith(key + ".") for k, _, _ in refused.value.changes), refused.value.changes
    assert "hydra.run.dir" in line
    assert (tmp_path / "metrics.json").read_bytes() == before


def test_a_failed_or_missing_record_is_not_finished(tmp_path):
    assert check_record(compose_run(tmp_path, []), tmp_path) is None
    _finished(tmp_path, ["lr=0.5"], "failed")
    assert check_record(compose_run(tmp_path, []), tmp_path) is None  # the run goes on: the checkpoint is checked
