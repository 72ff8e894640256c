"""A run is its configuration: which keys decide a run's numbers, and how a command's configuration is compared
with the one a run directory's record (metrics.json, a checkpoint) was made with.

The rule: every key of the resolved configuration decides the numbers, except bookkeeping, the keys that only say
where the run is written, what is shown or logged and how often, and when the run is checkpointed. Checkpoints
resume exactly and the diagnostics only observe (design notes §3), so their cadence cannot change a number;
`optimized_metric` only chooses which recorded number a sweeper is given; `threads` is, as for the job directory
names (conf/hydra/default.yaml), a property of the machine's use, not of the run. Everything else,
`trainer.fast_dev_run` (a smoke test is another run) included, is identity.

Standard library and OmegaConf only: the CLI compares before Lightning or torch is imported.
"""

from __future__ import annotations

import fnmatch
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnnlab.record.run_record import RunRecord

# Key paths (dotted, `*` matching one level) that are bookkeeping; a pattern covers the key and all below it.
BOOKKEEPING = (
    "hydra",
    "paths",
    "logger",
    "checkpoint",
    "optimized_metric",
    "threads",
    "trainer.default_root_dir",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.enable_checkpointing",
    "trainer.log_every_n_steps",
    "trainer.logger",
    "callbacks.*.every_n_steps",
    "callbacks.*.image_every_n_steps",
)
OUTPUT_DIR_PLACEHOLDER = "<output_dir>"  # what the record writes for paths.output_dir


def is_bookkeeping(key: str) -> bool:
    """Whether the dotted key `key` (e.g. `trainer.log_every_n_steps`) is bookkeeping under the rule above."""
    parts = key.split(".")
    for pattern in BOOKKEEPING:
        head = pattern.split(".")
        if len(parts) >= len(head) and all(fnmatch.fnmatchcase(p, h) for p, h in zip(parts, head)):
            return True
    return False


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted key: leaf value} of a nested dict (lists are leaves)."""
    if not isinstance(config, dict):
        return {prefix: config}
    if not config and prefix:
        return {prefix: {}}
    leaves: dict[str, Any] = {}
    for key, value in config.items():
        leaves.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return leaves


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """{dotted key: value} of what decides the numbers of a run whose resolved configuration is `config`."""
    return {key: value for key, value in flatten(config).items() if not is_bookkeeping(key)}


def resolved(cfg: Any) -> dict[str, Any]:  # a DictConfig (omegaconf is imported only when called)
    """A composed DictConfig as the record stores it: resolved, without Hydra's node, output_dir as a placeholder
    (where a run ran is not part of what it was). A value whose interpolation does not resolve stays unresolved."""
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)
        if "paths" in cfg and "output_dir" in cfg.paths:
            cfg.paths.output_dir = OUTPUT_DIR_PLACEHOLDER
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:
        container = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(container, dict)  # a DictConfig's container
    return container  # type: ignore[return-value]  # its keys are the config's: strings


def differences(recorded: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """[(key, recorded value, value now)] for every identity key whose values differ (a missing key: `<unset>`)."""
    old, new = identity(recorded), identity(now)
    missing = "<unset>"
    return [
        (key, old.get(key, missing), new.get(key, missing))
        for key in sorted(old.keys() | new.keys())
        if old.get(key, missing) != new.get(key, missing)
    ]


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def describe(changes: list[tuple[str, Any, Any]], limit: int = 8) -> str:
    """`lr: 0.003 -> 0.1, hidden_size: 64 -> 32` (recorded -> now), the first `limit` of them and how many more."""
    shown = ", ".join(f"{key}: {_show(old)} -> {_show(new)}" for key, old, new in changes[:limit])
    more = len(changes) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")


def skipped(where: str | os.PathLike[str], record: RunRecord) -> str:
    """The one line of a re-run into `where`, whose finished record (of this configuration) stands."""
    return f"rnnlab: {where} already {record.status} (metrics.json): skipped"


def refusal(where: str, what: str, changes: list[tuple[str, Any, Any]]) -> str:
    """The one line a command gets when `where` (a directory or file) holds a run of another configuration."""
    return (
        f"rnnlab: {where} holds a {what} of another configuration ({describe(changes)}; recorded -> now): "
        "nothing was changed; run it in a new directory (hydra.run.dir=..., or hydra.sweep.dir=... for a sweep)"
    )


class OtherConfiguration(ValueError):
    """A run directory whose record (metrics.json or checkpoint) is of another configuration; the message is the
    one line to print."""

    def __init__(self, message: str, changes: list[tuple[str, Any, Any]]) -> None:
        super().__init__(message)
        self.changes = changes


def check_record(cfg: Any, output_dir: str | os.PathLike[str], finished: RunRecord | None = None) -> RunRecord | None:
    """The check phase's verdict on the run directory: its finished record if it is of `cfg`'s configuration (a
    re-run skips it), None if the run has not finished (it runs, resuming what it can), OtherConfiguration if it
    finished with another configuration. A corrupt metrics.json is named in one line and counts as not finished.

    `finished`: the directory's finished record, already read in this process (no run rewrites one): not read
    again."""
    import sys

    from rnnlab.record.run_record import CorruptMetrics, read_record, remove_metrics_leftovers

    remove_metrics_leftovers(output_dir)
    try:
        record = finished if finished is not None else read_record(output_dir)
    except CorruptMetrics as error:
        print(f"rnnlab: {error}: the run is treated as not finished", file=sys.stderr)
        return None
    if record is None or not record.finished:
        return None
    changes = differences(record.config, resolved(cfg))
    if changes:
        raise OtherConfiguration(refusal(str(output_dir), f"{record.status} run", changes), changes)
    return record
