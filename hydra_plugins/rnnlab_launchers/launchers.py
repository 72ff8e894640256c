"""The lab's launchers registered with Hydra (`hydra/launcher=rnnlab_basic`, the default, and `rnnlab_joblib`): this
package is only their registration; the launchers themselves live in rnnlab.sweeps.resilient_launchers."""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf

from rnnlab.sweeps import resilient_launchers


class ResilientBasicLauncher(resilient_launchers.ResilientBasicLauncher):
    """rnnlab.sweeps.resilient_launchers.ResilientBasicLauncher, where Hydra's plugin scan finds it."""


class ResilientJoblibLauncher(resilient_launchers.ResilientJoblibLauncher):
    """rnnlab.sweeps.resilient_launchers.ResilientJoblibLauncher, where Hydra's plugin scan finds it."""


@dataclass
class ResilientBasicLauncherConf:
    _target_: str = "hydra_plugins.rnnlab_launchers.launchers.ResilientBasicLauncher"


@dataclass
class ResilientJoblibLauncherConf(JobLibLauncherConf):
    _target_: str = "hydra_plugins.rnnlab_launchers.launchers.ResilientJoblibLauncher"


ConfigStore.instance().store(
    group="hydra/launcher", name="rnnlab_basic", node=ResilientBasicLauncherConf, provider="rnnlab"
)
ConfigStore.instance().store(
    group="hydra/launcher", name="rnnlab_joblib", node=ResilientJoblibLauncherConf, provider="rnnlab"
)
