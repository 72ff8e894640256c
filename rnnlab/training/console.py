"""What a run prints: the lab's own lines, without other projects' banners, and its result in a few digits.

Light on purpose (no torch, no Lightning): the entry point uses it before Lightning is imported.
"""

from __future__ import annotations

import logging
import warnings

from rnnlab.record import tags
from rnnlab.record.formatting import significant

# Third-party messages that are not the user's concern, by the start of their text. Filtered only at the lab's
# entry points (rnnlab.train's main), never globally for code that imports rnnlab.
_NOISE_WARNINGS = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # torch's pytree, from inside Lightning
    r"The `srun` command is available on your system but is not used",  # Lightning's Slurm detection
    # a diverged job: the lab stops it and records `diverged` (rnnlab.training.module); skipping the step is on purpose
    r"`training_step` returned `None`",
    r"IProgress not found",  # tqdm.auto in a notebook without ipywidgets (Lightning imports it); the lab draws no bar there
)
_NOISE_LOGS = ("💡 Tip:",)  # Lightning's advertisement for its cloud logger
# Lightning's INFO lines ("GPU available: False", "`Trainer.fit` stopped: `max_steps=500` reached") repeat what the
# config says; its warnings stay. A logger's filter sees only the records logged on it, not its children's, so the
# filter goes on the loggers that emit (rank_zero_info's).
_QUIET_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")
_EMITTING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
# A sweep's `[HYDRA] Launching N jobs` and `#k : overrides` lines interleave with the lab's own progress lines, which
# say the same per job (rnnlab.sweeps.sweep_progress); alembic (under Optuna's SQL storage) announces each of its plugins.
_LAUNCH_LOGGERS = (
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher",
    "hydra_plugins.rnnlab_launchers",
    "rnnlab.sweeps.resilient_launchers",
    "alembic",
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_NOISE_LOGS)


def quiet_third_party() -> None:
    """Silence third-party banners, INFO chatter and deprecation warnings aimed at other projects' developers.

    Call it again once Lightning is imported: importing it sets its loggers back to INFO. Repeated calls add nothing
    twice.
    """
    for message in _NOISE_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for name in (*_QUIET_LOGGERS, *_LAUNCH_LOGGERS):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _EMITTING_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())


def result_line(status: str, steps: int, final: dict, baseline: float | None, metrics_path) -> str:
    """The run's last line: status, steps, final validation loss and its ratio to the task's baseline."""
    loss = final.get(tags.VAL_LOSS)
    ratio = f" = {significant(loss / baseline, 3)} x baseline" if loss is not None and baseline else ""
    accuracy = f", {tags.VAL_ACC} {significant(final[tags.VAL_ACC])}" if final.get(tags.VAL_ACC) is not None else ""
    if final.get(tags.TEST_ACC) is not None:  # tasks with a held-out test split
        accuracy += f", {tags.TEST_ACC} {significant(final[tags.TEST_ACC])}"
    return (
        f"rnnlab: {status} after {steps} steps: {tags.VAL_LOSS} {significant(loss)} (baseline {significant(baseline)})"
        f"{ratio}{accuracy} -> {metrics_path}"
    )
