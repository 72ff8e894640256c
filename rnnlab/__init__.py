"""rnnlab: an experiment lab for vanilla (Elman) RNNs.

The Python API (rnnlab.api): `run`, `load`, `evaluate`, `read_run`, `read_sweep`, `read_evals`. Imported on first
use, so that `import rnnlab` (and every `python -m rnnlab.…` command) stays cheap.
"""

__all__ = ["run", "load", "evaluate", "read_run", "read_sweep", "read_evals", "run_config", "Run", "LoadedRun"]


def __getattr__(name: str):
    if name in __all__:
        from rnnlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
