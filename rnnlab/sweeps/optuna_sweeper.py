"""The Hydra sweeper of `hparams_search=optuna`: Optuna's sweeper with the lab's ContinuingStudy inside.

Hydra imports every plugin module on each start, `--help` and a refused configuration included; Hydra's own
OptunaSweeper therefore imports Optuna only when it is built, and so does this one (Optuna and its samplers cost
about 1.6 s of every command otherwise). The study itself is rnnlab.sweeps.continuing_optuna.
"""

from __future__ import annotations

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper


class ContinuingOptunaSweeper(OptunaSweeper):
    """hydra.sweeper._target_ for conf/hparams_search/optuna.yaml: Optuna's sweeper with ContinuingStudy inside."""

    def __init__(self, sampler, direction, storage, study_name, n_trials, n_jobs, max_failure_rate, search_space,
                 custom_search_space, params) -> None:  # fmt: skip
        from rnnlab.sweeps.continuing_optuna import ContinuingStudy  # Optuna: only for a search

        self.sweeper = ContinuingStudy(
            sampler,
            direction,
            storage,
            study_name,
            n_trials,
            n_jobs,
            max_failure_rate,
            search_space,
            custom_search_space,
            params,
        )
