"""The landing view of a sweep in TensorBoard: TIME SERIES opened on the loss and gradient cards, its runs coloured
by a key the sweep varies, as one URL.

TensorBoard opens on TIME SERIES, whose sections follow the tags' alphabet (`activations` first), and colours 18
runs from a 7-colour palette, so colours repeat without meaning. Its TIME SERIES keeps its state in the URL's query
(its deep-link provider, tensorboard 2.21: `pinnedCards`, `runColorGroup`, `smoothing`, `tagFilter`, `runFilter`),
so the landing view is a URL and needs no change to TensorBoard: `pinnedCards` puts the cards below first, in their
order, in the Pinned section at the top; `runColorGroup=regex:RE` gives every run whose name's capture groups of RE
agree one colour (a run RE does not match is grey); `smoothing=0` draws each point as logged (the diagnostics are
sampled every N steps, and a smoothed line beside its faint raw one doubles the lines of a crowded chart).

SCALARS (a Polymer dashboard) keeps its state in the URL's fragment instead (`#scalars&tagFilter=RE`): filtered,
it opens on a pane of the tags RE matches before the families' alphabet; it colours by run, with no grouping.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from rnnlab.errors import require
from rnnlab.record import tags
from rnnlab.record.overrides import parse_overrides
from rnnlab.record.study import read_multirun, study_keys, swept_values
from rnnlab.sweeps.spread import SEED

# what a researcher asks first of a sweep: did it learn, and does the gradient vanish or explode (layer 0: every run
# has one); the Pinned section shows them in this order, the task's baseline being in HPARAMS and CUSTOM SCALARS
LANDING_TAGS = (
    tags.VAL_LOSS,
    tags.TRAIN_LOSS,
    tags.GRAD_NORM_TOTAL,
    tags.grad_h_log10_ratio(0),
    tags.spectrum("layer0", "radius"),
)
PALETTE = 7  # TIME SERIES' default palette: more colour groups than this repeat its colours
BY_RUN = "run"  # TensorBoard's own colouring, a colour per run
EVENTS = "events.out.tfevents.*"


def pinned_cards(tag_names: Iterable[str] = LANDING_TAGS) -> str:
    """The `pinnedCards` value: scalar cards are pinned by tag (a card across runs, no `runId`)."""
    return json.dumps([{"plugin": "scalars", "tag": tag} for tag in tag_names], separators=(",", ":"))


def color_regex(keys: Sequence[str]) -> str:
    """A regex (JavaScript's and Python's alike) whose capture groups are the values of `keys` in a run's name
    (`init_scale=0.5,nonlinearity=relu`, under a folder or not), whatever the keys' order in it."""
    return "^" + "".join(rf"(?=(?:.*[,/])?{re.escape(key)}=([^,/]*))" for key in keys)


def landing_query(color_keys: Sequence[str], smoothing: float = 0.0) -> dict[str, str]:
    """The TIME SERIES query parameters of the landing view; no `runColorGroup` with no keys (a colour per run)."""
    query = {"pinnedCards": pinned_cards(), "smoothing": f"{smoothing:g}"}
    if color_keys:
        query["runColorGroup"] = f"regex:{color_regex(color_keys)}"
    return query


def landing_url(base_url: str, color_keys: Sequence[str], smoothing: float = 0.0) -> str:
    """`base_url` (a TensorBoard's, `http://127.0.0.1:6006/`) opened on the landing view."""
    query = urllib.parse.urlencode(landing_query(color_keys, smoothing), quote_via=urllib.parse.quote)
    return f"{base_url.rstrip('/')}/?{query}#timeseries"


def scalars_url(base_url: str, tag_names: Iterable[str] = LANDING_TAGS) -> str:
    """`base_url` opened on SCALARS filtered to `tag_names` (a chart each, alphabetical, a colour per run)."""
    pattern = "^(" + "|".join(re.escape(tag) for tag in tag_names) + ")$"
    return f"{base_url.rstrip('/')}/#scalars&tagFilter={urllib.parse.quote(pattern, safe='')}"


def run_names(sweep_dir: str | Path) -> list[str]:
    """The runs TensorBoard shows for `sweep_dir`: its folders that hold event files, relative to it, sorted."""
    root = Path(sweep_dir)
    return sorted({str(events.parent.relative_to(root)) for events in root.rglob(EVENTS)})


def run_values(name: str) -> dict[str, str]:
    """`key -> value` of a job's run name (`init_scale=0.5,nonlinearity=relu`; its last folder): the items without
    `=` (a single run's time) give none."""
    return parse_overrides(item for item in Path(name).name.split(",") if "=" in item)


def value_counts(sweep_dir: str | Path, runs: Sequence[Mapping[str, str]]) -> dict[str, int]:
    """key -> how many values the study in `sweep_dir` gives it: as its runs' names have them, else (no run yet)
    as its multirun.yaml sweeps them."""
    keys = study_keys(sweep_dir, runs)
    if runs:
        return {key: len({run.get(key) for run in runs}) for key in keys}
    config = read_multirun(sweep_dir)
    counts = (swept_values(config) if config is not None else None) or {}
    return {key: counts.get(key, 0) for key in keys}


def default_color_keys(counts: Mapping[str, int]) -> list[str]:
    """The key to colour by: of the varied keys but `seed` (the seeds of a setting share its colour), the one with
    the most values that the palette tells apart (first in the study's order on a tie); with none that fits, the one
    with the fewest values; none without a varied key."""
    keys = [key for key in counts if key != SEED]
    fitting = [key for key in keys if counts[key] <= PALETTE]
    if fitting:
        return [max(fitting, key=lambda key: (counts[key], -fitting.index(key)))]
    return [min(keys, key=lambda key: counts[key])] if keys else []


def color_keys(sweep_dir: str | Path, requested: str | None = None) -> list[str]:
    """The keys the landing view colours the runs of `sweep_dir` by: `requested` (`KEY[,KEY...]`, each a key the
    study varies, or `run`), else `default_color_keys`; ValueError naming the key and the allowed ones."""
    runs = [run_values(name) for name in run_names(sweep_dir)]
    counts = value_counts(sweep_dir, runs)
    if requested is None:
        return default_color_keys(counts)
    if requested == BY_RUN:
        return []
    keys = [key.strip() for key in requested.split(",")]
    allowed = ", ".join([*counts, BY_RUN]) if counts else BY_RUN
    for key in keys:
        require(key in counts, "--color-by", key, f"{allowed} (the keys the sweep varies, comma-separated)")
    return keys


def color_groups(names: Iterable[str], keys: Sequence[str]) -> dict[str, tuple[str, ...] | None]:
    """run name -> the values that choose its colour under `color_regex(keys)` (None: not matched, grey), as
    TensorBoard groups them: what the landing view promises, checkable without a browser."""
    pattern = re.compile(color_regex(keys))
    return {name: (m.groups() if (m := pattern.search(name)) else None) for name in names}
