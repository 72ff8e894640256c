"""The lab's Hydra sweepers: Optuna's, made to continue a study (optuna_sweeper.py)."""
