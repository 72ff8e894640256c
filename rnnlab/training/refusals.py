"""A constructor's refusal of its arguments (the task's, the model's, the optimizer's, a callback's) as the lab's
one-line ConfigError, prefixed by the config key that holds the arguments.

Its own module, below both the plain value checks (rnnlab.training.checks) and the stand-ins that build
(rnnlab.training.stand_ins), so that neither imports the other to use it.
"""

from __future__ import annotations

from hydra.errors import InstantiationException

from rnnlab.errors import ConfigError


def constructed(build, *args, where: str | None = None, **kwargs):
    """`build(*args, **kwargs)`, a constructor's refusal of its arguments turned into a one-line ConfigError."""
    try:
        return build(*args, **kwargs)
    except (InstantiationException, ValueError, TypeError, LookupError) as error:
        cause = error.__cause__ if isinstance(error, InstantiationException) else None
        if isinstance(cause, Exception) and not isinstance(cause, (ValueError, TypeError, LookupError, ImportError)):
            raise cause from None  # not a refusal of the arguments (out of memory, a bug): the job fails as what it is
        raise config_error(error, where) from error


def config_error(error: Exception, where: str | None = None) -> ConfigError:
    """The one line to show for a constructor's refusal: the cause's first line, prefixed by the config key `where`
    unless it already starts with it (`task.offset=0 is invalid...`)."""
    cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
    text = cause.args[0] if isinstance(cause, KeyError) and cause.args else str(cause)  # a KeyError's str is a repr
    lines = [line.strip() for line in str(text).splitlines() if line.strip()] or [type(cause).__name__]
    # Hydra's "Error loading 'x.Y':" says why on its next line
    message = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    if where is None or message.startswith((f"{where}.", f"{where}:")):
        return ConfigError(message)
    return ConfigError(f"{where}: {message}")
