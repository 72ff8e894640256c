"""The lab's Hydra launchers, registered by hand so that every install finds them, run from any directory.

Hydra discovers plugins by walking the `hydra_plugins` namespace package with pkgutil, which lists only plain
directories on sys.path. An editable install (`pip install -e .`) exposes `hydra_plugins.rnnlab_launchers` through
setuptools' import hook instead, which that walk cannot list: run from outside the checkout (a notebook, a script in
a subfolder, `cd /tmp`), `hydra/launcher=rnnlab_basic` was "not found". Importing the package stores its launcher
configs (ConfigStore), and `Plugins.register` (Hydra's documented way to register a plugin by hand) adds its
classes; a launcher the scan already found is left as it is.
"""

from __future__ import annotations

import inspect

_MODULES = (
    "hydra_plugins.rnnlab_launchers.launchers",
    "hydra_plugins.rnnlab_launchers.slurm",
    "hydra_plugins.rnnlab_sweepers.optuna_sweeper",  # hparams_search=optuna's sweeper (docs/searches.md)
)


def register_launchers() -> None:
    """Make `hydra/launcher=rnnlab_basic|rnnlab_joblib|slurm` resolvable; idempotent, cheap after the first call."""
    import importlib

    from hydra.core.plugins import Plugins
    from hydra.plugins.launcher import Launcher
    from hydra.plugins.sweeper import Sweeper

    from rnnlab.record.run_names import register_resolver

    register_resolver()  # the sweep's job directories (conf/hydra/default.yaml) name the varied keys only
    plugins = Plugins.instance()  # Hydra's own scan first: what it finds (from the checkout's root) stays
    for name in _MODULES:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and cls.__module__ == name
                and issubclass(cls, (Launcher, Sweeper))
                and not inspect.isabstract(cls)
                and f"{name}.{cls.__name__}" not in plugins.class_name_to_class
            ):
                plugins.register(cls)
