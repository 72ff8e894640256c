"""Every override of a command line checked against the configuration it composes, before anything is written.

Hydra refuses a key its struct mode does not know in four lines of its own (exit 1), accepts `+key=value` for any
key (the run then trains without ever reading it: `+init_scal=0.1` ran the default init_scale) and `~key` for any key
(the run then fails on what read it, naming an internal key). So each override is applied here, in order and the way
Hydra applies it, to the configuration its group choices compose, under the lab's rules:

- `key=value` (and `++key=value` of a key that exists) sets a key the configuration has;
- `+key=value` adds a key only where something reads it: an argument of the constructor the section builds
  (`+trainer.X`: lightning.Trainer's arguments, as rnnlab.training.trainer_values' rules list them, without importing
  Lightning; `+model.X`, `+task.X`, `+optimizer.X`, `+scheduler.X`, `+callbacks.NAME.X`, `+logger.NAME.X`: the
  signature of the section's `_target_`), a new callback or logger (`+callbacks.NAME._target_=CLASS`: the run builds
  every entry with a `_target_`), a recipe (`recipes` is free-form), and Hydra's own keys (`hydra.*`, Hydra reads them);
- `~key` deletes only what the lab can do without: an optional group (`~scheduler`), a callback or a logger entry,
  a constructor's argument that has a default; never a key conf/config.yaml declares, a `_target_`, a required
  argument, nor a value the lab interpolates from another key (`model.nonlinearity: ${nonlinearity}`).

A sweep is checked for each choice of each group it varies (its sweeper's `params` included), so one bad key refuses
the whole sweep before a job is launched. Unknown group choices are refused here too (rnnlab.training.choices).
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from rnnlab.config import CONF_DIR
from rnnlab.errors import ConfigError
from rnnlab.record.overrides import hydra_overrides
from rnnlab.training.choices import group_choices, unknown_choice
from rnnlab.training.known_keys import declared
from rnnlab.training.trainer_values import RULES

_ABSENT = object()
# Arguments the lab itself passes when it builds these sections (they are `_partial_`): not the command line's to add
PASSED_BY_THE_LAB = {"model": ("input_size", "batch_first"), "optimizer": ("params",), "scheduler": ("optimizer",)}
FREE_FORM = ("recipes",)  # conf/config.yaml: a study's named bundles of settings, whatever their names
ENTRY_SECTIONS = ("callbacks", "logger")  # the run builds every entry of these that has a _target_
ADDITIONS = (
    "+trainer.ARG (lightning.Trainer's arguments), +model.ARG, +task.ARG, +optimizer.ARG, +scheduler.ARG, "
    "+callbacks.NAME.ARG, +logger.NAME.ARG (their constructors' arguments), +callbacks.NAME._target_=CLASS, "
    "+recipes.NAME, hydra.*"
)
DELETIONS = (
    "~GROUP of an optional group ({groups}), ~callbacks.NAME, ~logger.NAME, a constructor's argument that has a default"
)


def refusal(argv: list[str]) -> str | None:
    """The one line refusing the command line `argv` of `python -m rnnlab.train` (its first bad override), or None."""
    from hydra._internal.utils import get_args_parser

    args, _ = get_args_parser().parse_known_args(argv)
    try:
        check_overrides(args.overrides, config_dir=args.config_dir, multirun=bool(args.multirun))
    except ConfigError as error:
        return str(error)
    return None


def check_overrides(overrides: Sequence[str], config_dir: str | Path | None = None, multirun: bool = False) -> None:
    """Raise ConfigError naming the first override that chooses no file of its group, names no key of the
    configuration, adds a key nothing reads or deletes one the lab needs (see the module's docstring)."""
    from hydra.errors import HydraException
    from hydra.types import RunMode

    config_dirs = [CONF_DIR] + ([Path(config_dir).resolve()] if config_dir else [])
    try:
        parsed = hydra_overrides(overrides)
    except HydraException:
        return  # Hydra's own message says where the syntax breaks
    groups, keys = _split(parsed, config_dirs)
    if not (multirun or any(g.key_or_group in ("experiment", "hparams_search") for g in groups)) and all(
        _sets_a_declared_key(o) for o in keys
    ):
        return  # the usual command line (`lr=0.1 seed=0,1`): conf/config.yaml alone answers, without composing
    base = _compose(groups, {}, config_dirs)
    if base is None:
        return  # composing failed for a reason of Hydra's own: it says so when it runs
    for override in keys:
        _apply(override, base)
    if not (multirun or OmegaConf.select(base, "hydra.mode") == RunMode.MULTIRUN):
        combos = _combinations(groups)[1:]
    else:  # the sweeper's params (an experiment's, a search space) are overrides of each job too
        params = OmegaConf.select(base, "hydra.sweeper.params") or {}
        swept_groups, swept_keys = _split(hydra_overrides([f"{k}={v}" for k, v in params.items()]), config_dirs)
        for override in swept_keys:
            _apply(override, base)
        chosen = {g.key_or_group for g in groups}  # the command line's choice of a group wins over the sweeper's
        groups = [g for g in swept_groups if g.key_or_group not in chosen] + groups
        keys = swept_keys + keys
        combos = _combinations(groups)[0 if len(groups) > len(chosen) else 1 :]
    for choices in combos:
        cfg = _compose(groups, choices, config_dirs)
        if cfg is not None:
            for override in keys:
                _apply(override, cfg)


def _split(parsed: list, config_dirs: list[Path]) -> tuple[list, list]:
    """(group overrides, key overrides); an unknown choice or a needed group's deletion refused on the way."""
    groups, keys = [], []
    for override in parsed:
        name = override.key_or_group
        if override.package is not None:
            continue  # `group@pkg=choice`: Hydra's
        if name.startswith("hydra/"):
            groups.append(override)  # Hydra's groups come from its plugins too; it names their choices itself
            continue
        choices = group_choices(name, config_dirs)
        if choices is None:
            keys.append(override)
        elif override.is_delete():
            _check_group_deletion(name, choices)
        else:
            line = unknown_choice(override, choices, optional=name in _optional_groups())
            if line is not None:
                raise ConfigError(line)
            groups.append(override)
    return groups, keys


def _sets_a_declared_key(override) -> bool:
    """`key=value` of a key conf/config.yaml declares (top level or a plain section): known without composing."""
    return not (override.is_delete() or override.is_add()) and _declared_key(override.key_or_group)


def _declared_key(key: str) -> bool:
    """`key` is one conf/config.yaml declares, at the top level or in a plain section (`checkpoint.every_n_steps`)."""
    node: Any = declared()
    for part in key.split("."):
        if not OmegaConf.is_dict(node) or part not in node:
            return False
        node = node._get_node(part)
    return key.split(".")[0] not in FREE_FORM


@cache
def _optional_groups() -> tuple[str, ...]:
    """The groups conf/config.yaml's defaults list leaves empty or optional: the only ones `~GROUP` may delete."""
    entries = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml").defaults)
    assert isinstance(entries, list)
    names = []
    for entry in entries:
        if isinstance(entry, dict):
            ((key, value),) = entry.items()
            if not key.startswith("override ") and (value is None or key.startswith("optional ")):
                names.append(key.removeprefix("optional "))
    return tuple(names)


def _check_group_deletion(group: str, choices: list[str]) -> None:
    if group not in _optional_groups():
        raise ConfigError(
            f"~{group} deletes the {group} group, which the lab needs; allowed: {group}=CHOICE, one of "
            f"{', '.join(choices)}; deletions: {DELETIONS.format(groups=', '.join(_optional_groups()))}"
        )


def _choice_list(override) -> list:
    """The choices a group override makes (a glob or a range: none, the group's default stands in)."""
    from hydra.core.override_parser.types import ChoiceSweep

    value = override.value()
    if isinstance(value, ChoiceSweep):
        return list(value.list)
    return [] if override.is_sweep_override() else [value]


def _combinations(groups: list) -> list[dict[str, Any]]:
    """Each choice of each swept group at least once, the other groups at their first choice ({}: all first)."""
    combos: list[dict[str, Any]] = [{}]
    for override in groups:
        for choice in _choice_list(override)[1:]:
            combos.append({override.key_or_group: choice})
    return combos


def _compose(groups: list, choices: dict[str, Any], config_dirs: list[Path]) -> DictConfig | None:
    """The configuration the group overrides compose, each at its first choice unless `choices` names another."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rnnlab.config import compose_config

    lines = [f"hydra.searchpath=[file://{d}]" for d in config_dirs[1:]]
    for override in groups:
        made = _choice_list(override)
        if not made:
            continue
        choice = choices.get(override.key_or_group, made[0])
        if choice is None:
            continue  # null: no file of the group (its default in the lab's optional groups)
        prefix = "++" if override.is_force_add() else "+" if override.is_add() else ""
        lines.append(f"{prefix}{override.key_or_group}={choice}")
    try:
        return compose_config(lines)
    except (HydraException, OmegaConfBaseException, ValueError):
        return None  # Hydra's own refusal, which it words when it composes


def _apply(override, cfg: DictConfig) -> None:
    """Apply `override` to `cfg` as Hydra would, or raise ConfigError with the lab's line for it."""
    key = override.key_or_group
    value = _one_value(override)
    present = _raw(cfg, key)
    written = (
        "~" if override.is_delete() else "++" if override.is_force_add() else "+" if override.is_add() else ""
    ) + key
    if override.is_delete():
        if present is _ABSENT:
            raise ConfigError(unknown_key(key, cfg, written))
        _check_deletion(key, cfg, written)
        if present is None:
            return  # Hydra deletes only a key that holds a value, and says so
        parent, _, leaf = key.rpartition(".")
        with open_dict(cfg):
            node = OmegaConf.select(cfg, parent) if parent else cfg
            del node[leaf]
        return
    if override.is_add() or override.is_force_add():
        if present is not _ABSENT and present is not None and override.is_add() and not isinstance(value, dict | list):
            raise ConfigError(
                f"{override.input_line} adds {key}, which the configuration already has; allowed: "
                f"{override.input_line[1:]} (sets it), or +{override.input_line}"
            )
        if present is _ABSENT:
            _check_addition(key, value, cfg, written)
        _update(cfg, key, value, force_add=True)
        return
    if present is _ABSENT:
        raise ConfigError(unknown_key(key, cfg, written))
    _update(cfg, key, value, force_add=False)


def _update(cfg: DictConfig, key: str, value: Any, force_add: bool) -> None:
    """Set `key` as Hydra would. A value of the wrong type for its key is Hydra's to refuse, in its own words, when it
    composes (the checks here are about keys): the key is then left as it was."""
    from omegaconf.errors import OmegaConfBaseException

    with open_dict(cfg) if force_add else contextlib.nullcontext():
        try:
            OmegaConf.update(cfg, key, value, merge=True, force_add=force_add)
        except OmegaConfBaseException:
            pass


def _raw(cfg: DictConfig, key: str) -> Any:
    """The value at `key` as written (an interpolation unresolved: `paths.output_dir` resolves only in a Hydra
    run), None for null, `_ABSENT` where `cfg` has no such key."""
    node: Any = cfg
    for part in key.split("."):
        child = node._get_node(part) if isinstance(node, DictConfig) and part in node else None
        if child is None:
            return _ABSENT
        node = child
    return None if node._is_none() else node if isinstance(node, DictConfig) else node._value()


def _one_value(override) -> Any:
    """The override's value, or a sweep's first choice (an interval or a range: None, enough to apply its key)."""
    from hydra.core.override_parser.types import ChoiceSweep

    value = override.value()
    if override.is_sweep_override():  # its text, for a key that holds a sweep (the sweeper's params)
        return value.list[0] if isinstance(value, ChoiceSweep) and value.list else override.get_value_string()
    return value


def _deepest(key: str, cfg: DictConfig) -> tuple[DictConfig, str, str]:
    """(the deepest mapping `key` reaches in `cfg`, its path ("" for the top), the first part of `key` it lacks)."""
    node, path = cfg, ""
    parts = key.split(".")
    for part in parts[:-1]:
        child = node._get_node(part) if part in node else None
        if not isinstance(child, DictConfig) or child._is_none():
            return node, path, part
        node, path = child, f"{path}{part}."
    return node, path, parts[-1]


def _target_arguments(node: DictConfig) -> tuple[str, list[str] | None]:
    """(the `_target_` `node` builds, the keyword arguments its constructor takes: None where it takes any)."""
    target = node.get("_target_") if "_target_" in node else None
    if not isinstance(target, str):
        return "", []
    return target, _arguments(target)


@cache
def _arguments(target: str) -> list[str] | None:
    """The named arguments of `target`'s constructor, following `**kwargs` up the classes it inherits from (a
    task's `**kwargs` go to its base task); None where no class names them or the target cannot be imported."""
    from hydra.utils import get_object

    if target in ("lightning.Trainer", "lightning.pytorch.Trainer"):  # its rules, kept equal to its signature by a
        return [k for k in RULES if not k.startswith("_")]  # test: a typo never waits for Lightning's import
    try:
        built = get_object(target)
    except Exception:  # noqa: BLE001 (not importable: the stand-in build says why, in one line)
        return None
    classes = inspect.getmro(built) if inspect.isclass(built) else (built,)
    names: list[str] = []
    for cls in classes:
        function = cls.__init__ if inspect.isclass(cls) else cls
        if inspect.isclass(cls) and "__init__" not in vars(cls):
            continue
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return None
        names += [p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"]
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return list(dict.fromkeys(names))
    return None


def _allowed_in(node: DictConfig, path: str, cfg: DictConfig) -> tuple[str, list[str], list[str]]:
    """(what the mapping at `path` is, in words; its keys; the arguments `+` may add to it)."""
    keys = [str(k) for k in node]
    if not path:
        groups = [str(k) for k in cfg if str(k) not in declared() and k != "hydra"]
        return "the keys conf/config.yaml declares", [str(k) for k in declared()] + groups, []
    section = path.rstrip(".")
    top = section.split(".")[0]
    if top in declared() and top not in FREE_FORM:
        return f"the keys conf/config.yaml declares under {section}", keys, []
    target = "lightning.Trainer" if section == "trainer" else _target_arguments(node)[0]
    arguments = (_arguments(target) or []) if target else []
    passed = PASSED_BY_THE_LAB.get(section, ())
    return (
        _with_choice(f"the keys of {section}", section, cfg),
        keys,
        [a for a in arguments if a not in keys + list(passed)],
    )


def _with_choice(what: str, section: str, cfg: DictConfig) -> str:
    """`what`, with the file of the group that filled `section` (`optimizer=adam`, `hydra/sweeper=optuna`)."""
    parts = section.split(".")
    group = "/".join(parts[:2]) if parts[0] == "hydra" and len(parts) > 1 else parts[0]
    choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None) or {}
    choice = choices.get(group) if group != "hydra" else None
    return f"{what} ({group}={choice})" if choice else what


def _hint(missing: str, path: str, keys: list[str], arguments: list[str]) -> str:
    close = difflib.get_close_matches(missing, keys + arguments, n=1)
    if not close:
        return ""
    return f" (did you mean {'' if close[0] in keys else '+'}{path}{close[0]}?)"


def unknown_key(key: str, cfg: DictConfig, written: str | None = None, additions: bool = True) -> str:
    """The one line for `key`, which `cfg` does not have (`written`: the override as the user wrote its key;
    `additions`: whether to name the arguments `+` could add, where the command adds any)."""
    written = written or key
    node, path, missing = _deepest(key, cfg)
    what, keys, arguments = _allowed_in(node, path, cfg)
    arguments = arguments if additions else []
    more = f"; +{path}KEY=VALUE adds another argument: {', '.join(arguments)}" if arguments else ""
    return (
        f"{written} is not a key of the lab's configuration{_hint(missing, path, keys, arguments)}; allowed: "
        f"{what}: {', '.join(keys)}{more}"
    )


def _check_addition(key: str, value: Any, cfg: DictConfig, written: str) -> None:
    """Refuse `+key` (a key `cfg` lacks) unless something reads it (see the module's docstring)."""
    parts = key.split(".")
    if parts[0] == "hydra" or parts[0] in FREE_FORM:
        return
    node, path, missing = _deepest(key, cfg)
    depth = len(path.split(".")) - 1 if path else 0
    if depth == 1 and parts[0] in ENTRY_SECTIONS and len(parts) == 3 and parts[2] == "_target_":
        return  # a new callback or logger: the run builds every entry with a _target_
    if depth == len(parts) - 1 and depth >= 1:  # the mapping that receives it exists
        what, keys, arguments = _allowed_in(node, path, cfg)
        if path == "trainer." or "_target_" in node:
            target = "lightning.Trainer" if path == "trainer." else _target_arguments(node)[0]
            allowed = _arguments(target)
            passed = PASSED_BY_THE_LAB.get(path.rstrip("."), ())
            if missing in passed:
                raise ConfigError(
                    f"{written} is an argument the lab passes itself when it builds {path.rstrip('.')}; allowed: "
                    f"{', '.join(a for a in allowed or [] if a not in passed)}"
                )
            allowed = None if allowed is None else [a for a in allowed if a not in passed]
            if allowed is None or missing in allowed:
                return  # None: the constructor takes any keyword; the stand-in build refuses what it does not take
            raise ConfigError(
                f"{written} is not an argument of {target}{_hint(missing, path, keys, arguments)}; allowed: "
                f"{', '.join(allowed)}"
            )
        if isinstance(value, dict) and "_target_" in value and path.rstrip(".") in ENTRY_SECTIONS:
            return  # `+callbacks.NAME={_target_: ...}`
    node, path, missing = _deepest(key, cfg)
    what, keys, arguments = _allowed_in(node, path, cfg)
    raise ConfigError(
        f"{written} adds a key nothing in the lab reads{_hint(missing, path, keys, arguments)}; allowed: "
        f"{what}: {', '.join(keys)} (set with KEY=VALUE); additions: {ADDITIONS}"
    )


def _check_deletion(key: str, cfg: DictConfig, written: str) -> None:
    """Refuse `~key` of a key the lab needs (see the module's docstring)."""
    parts = key.split(".")
    if parts[0] == "hydra":
        return
    deletions = DELETIONS.format(groups=", ".join(_optional_groups()))
    reason = None
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    raw = _raw(cfg, key)
    if _declared_key(key):
        reason = "conf/config.yaml declares it and the lab reads it"
    elif leaf in ("_target_", "_partial_"):
        reason = f"it says how {parent} is built"
    elif isinstance(raw, str) and "${" in raw:
        reason = f"the lab sets it from {raw}"
    elif len(parts) == 1:
        reason = "the run builds it"
    elif len(parts) == 2 and parts[0] in ENTRY_SECTIONS:
        reason = None  # one callback or logger fewer
    elif isinstance(node, DictConfig) and "_target_" in node:
        target = _target_arguments(node)[0]
        required = _required_arguments(target)
        if leaf in required:
            reason = f"{target} requires it"
    if reason is not None:
        raise ConfigError(
            f"{written} deletes a key the lab needs ({reason}); allowed: {key}=VALUE; deletions: {deletions}"
        )


@cache
def _required_arguments(target: str) -> tuple[str, ...]:
    from hydra.utils import get_object

    try:
        parameters = inspect.signature(get_object(target)).parameters.values()
    except Exception:  # noqa: BLE001
        return ()
    return tuple(p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
