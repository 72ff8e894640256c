"""Hydra launchers whose sweeps outlive their jobs (`hydra/launcher=rnnlab_basic` (the default), `rnnlab_joblib`)."""
