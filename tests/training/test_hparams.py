"""The HParams dashboard's content: the main hyper-parameters and what the study varies, metrics first."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from rnnlab.record import tags
from rnnlab.record.run_record import RunRecord
from rnnlab.training.hparams import (
    MAIN,
    TRIAL_ID_CHARS,
    curated_hparams,
    final_metrics,
    hparams_summaries,
    sweep_mark,
    trial_id,
    with_sweep,
)
from tests.helpers import compose_run


def test_main_keys_then_the_overrides_without_bookkeeping(tmp_path):
    overrides = [
        "model=myrnn",
        "model.loop_order=time",
        "lr=0.01",
        "scheduler=cosine",
        "callbacks=none",
        "threads=2",
        "trainer.enable_progress_bar=false",
        "experiment=vanishing_quick",
    ]
    cfg = compose_run(tmp_path, overrides)
    choices = {"model": "myrnn", "task": "adding", "scheduler": "cosine", "callbacks": "none", "logger": "tensorboard"}
    hparams = curated_hparams(cfg, choices, overrides)
    assert list(hparams) == [*MAIN, "model.loop_order", "scheduler"]
    assert hparams["model"] == "myrnn" and hparams["task"] == "adding" and hparams["model.loop_order"] == "time"
    assert hparams["lr"] == 0.01 and hparams["num_layers"] == cfg.num_layers and hparams["seed"] == cfg.seed
    assert hparams["scheduler"] == "cosine"


def test_a_null_value_is_shown_as_the_string_null(tmp_path):
    cfg = compose_run(tmp_path, ["grad_clip=null"])
    assert curated_hparams(cfg, {"model": "torch", "task": "adding"}, ["grad_clip=null"])["grad_clip"] == "null"


def test_final_metrics_lead_with_the_final_loss_and_its_ratio_to_the_baseline():
    record = RunRecord(
        status="completed",
        steps=3,
        baseline=0.2,
        final={"val/loss": 0.05, "train/loss": 0.06},
        best={"val/loss": 0.04},
        config={},
        timing={},
    )
    metrics = final_metrics(record)
    assert list(metrics)[:2] == [tags.HP_FINAL_LOSS, tags.HP_FINAL_OVER_BASELINE]
    assert metrics[tags.HP_FINAL_OVER_BASELINE] == 0.25 and metrics[tags.HP_BEST_VAL_LOSS] == 0.04
    assert metrics[tags.HP_DIVERGED] == 0.0 and tags.HP_FINAL_ACC not in metrics
    diverged = final_metrics(replace(record, status="diverged", final={"val/loss": None}))
    assert math.isnan(diverged[tags.HP_FINAL_LOSS]) and math.isnan(diverged[tags.HP_FINAL_OVER_BASELINE])
    assert diverged[tags.HP_DIVERGED] == 1.0


def test_the_experiment_summary_ranks_the_varied_keys_first():
    from tensorboard.plugins.hparams import plugin_data_pb2

    hparams = {"model": "torch", "init_scale": 0.5, "nonlinearity": "relu", "hidden_size": 16}
    experiment, start, end = hparams_summaries(hparams, {tags.HP_FINAL_LOSS: 0.1}, ["nonlinearity", "init_scale"])
    data = plugin_data_pb2.HParamsPluginData.FromString(experiment.value[0].metadata.plugin_data.content)
    differs = {info.name: info.differs for info in data.experiment.hparam_infos}
    assert differs == {"model": False, "init_scale": True, "nonlinearity": True, "hidden_size": False}
    assert [m.name.tag for m in data.experiment.metric_infos] == [tags.HP_FINAL_LOSS]
    session = plugin_data_pb2.HParamsPluginData.FromString(start.value[0].metadata.plugin_data.content)
    assert session.session_start_info.hparams["init_scale"].number_value == 0.5
    assert session.session_start_info.group_name == ""  # no trial name given: TensorBoard names it by its path
    _, named, _ = hparams_summaries(hparams, {tags.HP_FINAL_LOSS: 0.1}, [], trial="0.5 relu  19-02-33")
    session = plugin_data_pb2.HParamsPluginData.FromString(named.value[0].metadata.plugin_data.content)
    assert session.session_start_info.group_name == "0.5 relu  19-02-33"


def test_a_sweep_job_is_named_by_its_varied_values_and_its_sweeps_mark(tmp_path):
    overrides = ["max_steps=200", "init_scale=0.5", "+task.num_marked=3", "nonlinearity=relu"]
    sweep = str(tmp_path / "vanishing_quick")
    job = f"{sweep}/init_scale=0.5,nonlinearity=relu,task.num_marked=3"
    varied = ["nonlinearity", "init_scale", "task.num_marked"]  # in the sweeper's order
    mark = sweep_mark(sweep)
    assert re.fullmatch("#[0-9a-f]{4}", mark)
    assert trial_id(job, overrides, varied, sweep, job_num=4) == f"relu 0.5 3 {mark}"
    # the mark is the directory's, wherever it is named from; another sweep of the same name elsewhere differs
    assert sweep_mark(f"{tmp_path}/./vanishing_quick") == mark != sweep_mark(str(tmp_path / "x" / "vanishing_quick"))
    # every job of a study differs in its first characters and fits the 10em column whole, whatever the sweep's name
    long_sweep = str(tmp_path / "a_study_with_a_long_descriptive_name")
    names = {
        trial_id(job, [f"init_scale={s}", f"nonlinearity={n}"], varied, long_sweep, 0) for s in (0.5, 1) for n in "ab"
    }
    mark = sweep_mark(long_sweep)
    assert names == {f"a 0.5 {mark}", f"b 0.5 {mark}", f"a 1 {mark}", f"b 1 {mark}"}
    assert all(len(name) <= TRIAL_ID_CHARS for name in names)
    # values too long for the column (Optuna's floats): the job's number in its sweep, as distinct and whole
    sampled = ["lr=0.0012345678901", "init_scale=0.987654321"]
    assert trial_id(job, sampled, ["lr", "init_scale"], sweep, job_num=12) == f"job 12 {sweep_mark(sweep)}"
    # a single run: its directory's name; a job that varies nothing it was given: its number
    assert trial_id("outputs/2026-11-22/19-02-33", ["max_steps=3"], ["max_steps"]) == "19-02-33"
    assert trial_id(job, ["seed=1"], ["lr"], sweep, job_num=0) == f"job 0 {sweep_mark(sweep)}"


def test_a_sweep_jobs_hparams_name_its_sweep_in_a_column_ranked_with_the_varied_keys():
    hparams, varied = with_sweep({"model": "torch", "init_scale": 0.5}, ["init_scale"], "multirun/vanishing_quick")
    assert hparams == {"model": "torch", "init_scale": 0.5, "sweep": "vanishing_quick"}
    assert varied == ["init_scale", "sweep"]


def test_a_sweep_job_reads_what_varies_from_the_sweeps_multirun_yaml(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from rnnlab.training import run

    hydra = SimpleNamespace(sweep=SimpleNamespace(dir=str(tmp_path)), sweeper={})
    monkeypatch.setattr(run, "_sweeping", lambda: True)
    monkeypatch.setattr(run.HydraConfig, "get", staticmethod(lambda: hydra))
    multirun = {"hydra": {"sweeper": {"params": None}, "overrides": {"task": ["num_layers=1,2", "lr=0.1"]}}}
    OmegaConf.save(OmegaConf.create(multirun), tmp_path / "multirun.yaml")
    assert run._varied_keys(["num_layers=2", "lr=0.1"]) == ["num_layers"]  # lr has one value: not varied
    (tmp_path / "multirun.yaml").write_text("hydra: [unclosed")  # unreadable: the job's own overrides, no failure
    assert run._varied_keys(["num_layers=2", "lr=0.1"]) == ["num_layers", "lr"]
    (tmp_path / "multirun.yaml").unlink()
    assert run._varied_keys(["num_layers=2", "lr=0.1"]) == ["num_layers", "lr"]
    monkeypatch.setattr(run, "_sweeping", lambda: False)  # a single run: what its command line sets
    assert run._varied_keys(["max_steps=100", "+task.num_marked=3"]) == ["max_steps", "task.num_marked"]


def test_the_gradient_indicator_and_the_radius_at_init_are_metric_columns(tmp_path):
    """Their first logged values, third and fourth after the final loss and its ratio: "vanishing or exploding?"."""
    from rnnlab.sweeps.table import read_scalars
    from rnnlab.training.run import train

    overrides = ["hidden_size=8", "batch_size=8", "seq_len=12", "init_scale=0.5", "max_steps=6",
                 "task.train_batches=3", "task.val_batches=1", "trainer.enable_progress_bar=false",
                 "callbacks.grad_through_time.every_n_steps=2", "callbacks.grad_through_time.image_every_n_steps=0",
                 "callbacks.spectrum.every_n_steps=2", "callbacks.spectrum.image_every_n_steps=0"]  # fmt: skip
    train(compose_run(tmp_path, overrides))
    scalars = read_scalars(tmp_path)
    ratio, radius = scalars[tags.grad_h_log10_ratio(0)], scalars[tags.spectrum("layer0", "radius")]
    assert list(ratio.index) == [0, 2, 4] and ratio.iloc[0] < -1  # scale 0.5 over 12 steps: vanishing
    assert radius.iloc[0] == pytest.approx(0.5, rel=1e-6)  # orthogonal x 0.5: every |eigenvalue| 0.5
    assert scalars[tags.HP_GRAD_LOG10_RATIO_INIT].iloc[-1] == ratio.iloc[0]
    assert scalars[tags.HP_SPECTRAL_RADIUS_INIT].iloc[-1] == radius.iloc[0]
    assert scalars[tags.HP_GRAD_LOG10_RATIO_FINAL].iloc[-1] == ratio.iloc[-1]
    record = RunRecord("completed", 3, final={"val/loss": 0.1}, best={}, config={}, timing={}, baseline=0.2)
    columns = list(final_metrics(record, {tags.grad_h_log10_ratio(0): (-3.0, -1.0)}))
    assert columns[:4] == [tags.HP_FINAL_LOSS, tags.HP_FINAL_OVER_BASELINE, tags.HP_GRAD_LOG10_RATIO_INIT,
                           tags.HP_SPECTRAL_RADIUS_INIT]  # fmt: skip
    assert math.isnan(final_metrics(record)[tags.HP_GRAD_LOG10_RATIO_INIT])  # diagnostics off: no value


def test_metrics_json_records_the_gradient_indicator_at_init_and_at_the_end(tmp_path):
    """metrics.json's `gradient`: the first logged probe's number at initialisation (the initial weights rebuilt
    from the seed, so a resumed run records the same), the final weights' at the end, each with how to read it."""
    import json

    from rnnlab.sweeps.table import read_scalars
    from rnnlab.training.run import train

    overrides = ["hidden_size=8", "batch_size=8", "seq_len=12", "init_scale=0.5", "max_steps=4",
                 "task.train_batches=2", "task.val_batches=1", "trainer.enable_progress_bar=false",
                 "callbacks.grad_through_time.every_n_steps=2", "callbacks.grad_through_time.image_every_n_steps=0"]  # fmt: skip
    train(compose_run(tmp_path, overrides))
    gradient = json.loads((tmp_path / "metrics.json").read_text())["gradient"]
    logged = read_scalars(tmp_path)[tags.grad_h_log10_ratio(0)]
    start, end = gradient["start"]["layer0"], gradient["end"]["layer0"]
    assert start["reading"] == end["reading"] == "exact"
    assert start["log10_first_over_last"] == pytest.approx(logged.iloc[0], abs=1e-5)  # the step-0 probe's number
    assert start["log10_first_over_last"] < -1  # orthogonal x 0.5 over 12 steps: vanishing
    assert end["log10_first_over_last"] != start["log10_first_over_last"]  # trained weights
