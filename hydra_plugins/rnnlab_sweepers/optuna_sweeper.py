"""The lab's Optuna sweeper registered with Hydra (`hparams_search=optuna`): this package is only its registration;
the sweeper itself lives in rnnlab.sweeps.continuing_optuna."""

from rnnlab.sweeps import continuing_optuna


class ContinuingOptunaSweeper(continuing_optuna.ContinuingOptunaSweeper):
    """rnnlab.sweeps.continuing_optuna.ContinuingOptunaSweeper, where Hydra's plugin scan finds it."""
