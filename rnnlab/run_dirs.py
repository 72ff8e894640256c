"""`${rnnlab_process:}`: a tag unique to this process, so default run directories never collide.

Hydra's default `outputs/DATE/HH-MM-SS` is shared by two runs started in the same second (a shell loop with `&`,
a job array): both trained into one directory, one metrics.json overwrote the other. conf/hydra/default.yaml
appends this tag (`HH-MM-SS_<pid>-<4 hex>`): still sorted by time and readable, unique per process, and across
machines on a shared filesystem (the random part), where pids repeat. Cached like Hydra's `${now:}`: a config
resolved once keeps its value when it travels to a launcher's worker.
"""

from __future__ import annotations

import os
import secrets

from omegaconf import OmegaConf

_TAG: str | None = None


def process_tag() -> str:
    """`<pid>-<4 hex>`, the same for every call in this process."""
    global _TAG
    if _TAG is None:
        _TAG = f"{os.getpid()}-{secrets.token_hex(2)}"
    return _TAG


OmegaConf.register_new_resolver("rnnlab_process", process_tag, use_cache=True, replace=True)
