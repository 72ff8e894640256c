"""A sweep job's directory (TensorBoard's run name) names the keys the sweep varies, and only those."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rnnlab.record.run_names import register_resolver, varied_only


def _job(sweep_dir, overrides: list[str], exclude=("threads",)):
    register_resolver()
    dirname = ",".join(sorted(o for o in overrides if o.split("=")[0].lstrip("+~") not in exclude))
    return OmegaConf.create(
        {
            "hydra": {
                "sweep": {"dir": str(sweep_dir), "subdir": "${rnnlab_varied_dirname:}"},
                "overrides": {"task": overrides},
                "job": {
                    "override_dirname": dirname,
                    "config": {"override_dirname": {"exclude_keys": list(exclude), "item_sep": ",", "kv_sep": "="}},
                },
            }
        }
    )


def _multirun(sweep_dir, task: list[str], sweeper: dict) -> None:
    OmegaConf.save(
        OmegaConf.create({"hydra": {"sweeper": sweeper, "overrides": {"task": task}}}), sweep_dir / "multirun.yaml"
    )


def test_the_command_lines_fixed_keys_stay_out_of_the_name(tmp_path):
    # the docs' 18-job grid: model=torch is given one value, it is not varied
    _multirun(tmp_path, ["model=torch", "num_layers=1,2,3", "nonlinearity=tanh,relu", "init_scale=0.01,0.1,1"], {})
    job = _job(tmp_path, ["model=torch", "num_layers=2", "nonlinearity=relu", "init_scale=0.01", "threads=1"])
    assert OmegaConf.select(job, "hydra.sweep.subdir") == "init_scale=0.01,nonlinearity=relu,num_layers=2"


def test_an_experiments_grid_counts_as_varied_and_plus_keys_keep_their_prefix(tmp_path):
    _multirun(tmp_path, ["max_steps=5", "+foo=1,2"], {"params": {"init_scale": "0.5,1.0", "seed": "0"}})
    job = _job(tmp_path, ["init_scale=1.0", "seed=0", "max_steps=5", "+foo=2"])
    assert OmegaConf.select(job, "hydra.sweep.subdir") == "+foo=2,init_scale=1.0"


@pytest.mark.parametrize(
    "sweeper, task, why",
    [
        ({"n_trials": 4, "params": {"lr": "interval(1e-4, 1e-1)"}}, ["lr=0.01"], "Optuna: values sampled, unknown"),
        ({}, ["seed=0"], "nothing varied: the job would be the sweep directory itself"),
        ({}, ["threads=1,2", "seed=0"], "the only varied key is one Hydra's naming excludes"),
    ],
)
def test_hydras_name_where_the_varied_keys_name_nothing(tmp_path, sweeper, task, why):
    _multirun(tmp_path, task, sweeper)
    job = _job(tmp_path, [t.split(",")[0] for t in task])
    assert OmegaConf.select(job, "hydra.sweep.subdir") == job.hydra.job.override_dirname, why


def test_without_multirun_yaml_the_name_is_hydras(tmp_path):
    job = _job(tmp_path / "absent", ["seed=1", "lr=0.1"])
    assert OmegaConf.select(job, "hydra.sweep.subdir") == "lr=0.1,seed=1"


def test_varied_only_sorts_and_joins_as_hydra_does():
    assert varied_only(["b=2", "a=1", "c=3"], {"a", "b"}, [], "__", ":") == "a:1__b:2"


def test_a_directory_holding_a_run_of_other_fixed_settings_is_not_taken(tmp_path):
    """The study re-run into its sweep directory with max_steps=500 after max_steps=100: the earlier job's directory
    (whose finished run a re-run would skip as done) is not this job's; the same overrides again are."""
    _multirun(tmp_path, ["max_steps=500", "nonlinearity=tanh,relu"], {})
    earlier = tmp_path / "nonlinearity=relu" / ".hydra"
    earlier.mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(["max_steps=100", "nonlinearity=relu"]), earlier / "overrides.yaml")
    job = _job(tmp_path, ["max_steps=500", "nonlinearity=relu", "threads=1"])
    assert OmegaConf.select(job, "hydra.sweep.subdir") == "max_steps=500,nonlinearity=relu"
    OmegaConf.save(OmegaConf.create(["nonlinearity=relu", "max_steps=500"]), earlier / "overrides.yaml")
    assert OmegaConf.select(job, "hydra.sweep.subdir") == "nonlinearity=relu"  # the same run: resumed or skipped


def test_a_name_the_file_system_refuses_is_still_given(tmp_path):
    """Making it fails later, where the launcher records the job as failed under this name."""
    long = "x" * 300
    _multirun(tmp_path, [f"+note=ok,{long}"], {})
    job = _job(tmp_path, [f"+note={long}"])
    assert OmegaConf.select(job, "hydra.sweep.subdir") == f"+note={long}"
