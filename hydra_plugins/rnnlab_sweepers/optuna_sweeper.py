"""The lab's Optuna sweeper registered with Hydra (`hparams_search=optuna`): this package is only its registration;
the sweeper lives in rnnlab.sweeps.optuna_sweeper (cheap to import: Hydra imports it on every start)."""

from rnnlab.sweeps import optuna_sweeper


class ContinuingOptunaSweeper(optuna_sweeper.ContinuingOptunaSweeper):
    """rnnlab.sweeps.optuna_sweeper.ContinuingOptunaSweeper, where Hydra's plugin scan finds it."""
