"""Hydra imports every module of the hydra_plugins namespace on each start (`--help` and a refused configuration
too), so the lab's launchers and sweeper must import their heavy libraries only when Hydra builds them: Optuna alone
cost `--help` 1.6 s of its 3 s before the sweeper was split (rnnlab/sweeps/optuna_sweeper.py)."""

import json
import subprocess
import sys

HEAVY = ("optuna", "torch", "lightning", "submitit", "joblib", "pandas", "sqlalchemy", "matplotlib", "scipy")


def test_hydras_plugin_scan_imports_no_heavy_library():
    code = (
        "import json, sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.sweeper import Sweeper\n"
        "names = [p.__name__ for p in Plugins.instance().discover(Sweeper)]\n"
        f"print(json.dumps([names, sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    sweepers, heavy = json.loads(result.stdout.splitlines()[-1])
    assert "ContinuingOptunaSweeper" in sweepers  # the scan did see the lab's plugins
    assert heavy == [], heavy


def test_the_sweeper_builds_its_study_when_hydra_instantiates_it():
    from hydra_plugins.rnnlab_sweepers.optuna_sweeper import ContinuingOptunaSweeper
    from rnnlab.sweeps.continuing_optuna import ContinuingStudy

    sampler = {"_target_": "optuna.samplers.TPESampler", "seed": 0}
    sweeper = ContinuingOptunaSweeper(sampler, "minimize", None, "s", 2, 1, 0.0, None, None, {"lr": "range(0.1, 1)"})
    assert isinstance(sweeper.sweeper, ContinuingStudy) and sweeper.sweeper.n_trials == 2
