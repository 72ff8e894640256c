"""Hydra launchers whose sweeps outlive their jobs (`hydra/launcher=rnnlab_basic` (the default), `rnnlab_joblib`)."""

from rnnlab.record.run_names import register_resolver

register_resolver()  # a worker resolves its job's directory (hydra.sweep.subdir) itself
