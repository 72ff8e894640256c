"""The lab's one format for a bad argument of its own: `key=value is invalid; allowed: ...`.

Tasks, diagnostics and the config checks all say it this way, so a user meets one shape of message whichever layer
refuses the value. (The models keep nn.RNN's own messages: they are drop-ins for it.)
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value outside what the experiment accepts; its message is the one line to show."""


def invalid(key: str, value: object, allowed: str, error: type[ValueError] = ValueError) -> ValueError:
    """The exception to raise for `key=value`; `allowed` says, in words, what would be accepted."""
    return error(f"{key}={value!r} is invalid; allowed: {allowed}")


def require(ok: bool, key: str, value: object, allowed: str, error: type[ValueError] = ValueError) -> None:
    """Raise `invalid(key, value, allowed)` unless `ok`."""
    if not ok:
        raise invalid(key, value, allowed, error)
