"""Hydra finds launchers only in the `hydra_plugins` package: the lab's Slurm launcher, as a plugin."""

from rnnlab.sweeps import slurm_launcher


class SlurmLauncher(slurm_launcher.SlurmLauncher):
    """rnnlab.sweeps.slurm_launcher.SlurmLauncher, registered with Hydra (`hydra/launcher=slurm`)."""
