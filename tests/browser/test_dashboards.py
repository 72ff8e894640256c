"""TensorBoard's tabs, as docs/dashboards.md describes them, read at a glance on an 18-job sweep in a real
(headless) browser: the landing view (`python -m rnnlab.dashboard`'s URL) on the loss and gradient cards with a
colour per init_scale, run names whole, the init profiles first, trial ids whole on a real study's name.

Needs Chromium (`apt-get install -y chromium`; .ci/run installs it) and aiohttp (the DevTools WebSocket). Set
RNNLAB_SCREENSHOTS=DIR to keep a PNG of each tab (the docs' pictures: docs/dashboards/).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.sweeps.landing import LANDING_TAGS
from rnnlab.training.hparams import sweep_mark
from tests.helpers import ROOT
from tests.helpers.browser import find_browser, free_port, headless_page, wait_for_http

pytestmark = pytest.mark.slow  # an 18-job sweep (about 2 min of CPU), TensorBoard and Chromium

# The docs' 18-job grid shape (3 layers x 2 nonlinearities x 3 scales), as the vanishing study's quick grid
# (init_scale x nonlinearity, from its config; its seeds fixed to one) with num_layers=1,2,3 on the command line, in a sweep directory named
# as the real study's: its name is what TensorBoard showed cut in the Trial ID column. The fixed settings (model=torch
# among them) are given one value each: the run names must leave them out.
STUDY = ["experiment=vanishing_quick", "num_layers=1,2,3", "model=torch"]
FIXED = [
    "seed=0",  # the study's seed axis fixed: one run per cell of the grid
    "max_steps=40",
    "hidden_size=16",
    "seq_len=20",
    "task.train_batches=10",  # validation every 10 steps
    "task.val_batches=2",
    "callbacks.grad_through_time.every_n_steps=10",
    "callbacks.grad_through_time.image_every_n_steps=20",
    "callbacks.spectrum.every_n_steps=10",
    "callbacks.spectrum.image_every_n_steps=20",
    "callbacks.activations.every_n_steps=10",
]
SWEEP = "vanishing_quick"
SCALES, NONLINEARITIES, LAYERS = ("0.5", "1.0", "1.5"), ("relu", "tanh"), ("1", "2", "3")
RUNS = len(SCALES) * len(NONLINEARITIES) * len(LAYERS)  # 18
RUN_NAMES = [f"init_scale={s},nonlinearity={n},num_layers={k}" for s in SCALES for n in NONLINEARITIES for k in LAYERS]


def _cannot_run() -> str | None:
    if find_browser() is None:
        return "no Chromium on this machine (apt-get install -y chromium)"
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return "aiohttp is not installed (the DevTools WebSocket client)"
    return None


@pytest.fixture(scope="module")
def tensorboard(tmp_path_factory):
    reason = _cannot_run()
    if reason:
        print(f"\nbrowser check not run: {reason}", file=sys.stderr)
        pytest.skip(f"browser check not run: {reason}")
    sweep_dir = tmp_path_factory.mktemp("dashboards") / SWEEP
    result = subprocess.run(
        [sys.executable, "-m", "rnnlab.train", "-m", f"hydra.sweep.dir={sweep_dir}", *STUDY, *FIXED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # the documented command: TensorBoard on the sweep (127.0.0.1, every image step) and its landing URL
    server = subprocess.Popen(
        [sys.executable, "-m", "rnnlab.dashboard", str(sweep_dir), "--port", str(free_port())],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        said = server.stdout.readline()
        landing = server.stdout.readline().strip()
        scalars = server.stdout.readline().strip().rpartition(" ")[2]
        assert landing.startswith("http://127.0.0.1:"), said + landing
        url = landing.split("?")[0].rstrip("/")
        assert scalars.startswith(f"{url}/#scalars&tagFilter="), scalars
        wait_for_http(f"{url}/data/environment", 120)
        with headless_page(find_browser()) as page:
            yield page, url, sweep_dir, landing, scalars
    finally:
        server.kill()
        server.wait()


def open_tab(tensorboard, tab: str, ready, timeout: float = 90.0, url: str | None = None, scan=None) -> dict:
    """Load TensorBoard afresh on `tab` (or on `url`, its picture named `tab`), wait until `ready(scan)`, keep a
    screenshot if asked; the page's scan (`scan(page)`, the deep scan by default)."""
    page, base, *_ = tensorboard
    scan = scan or (lambda p: p.scan())
    page.goto("about:blank")
    page.goto(url or f"{base}/#{tab}")
    deadline = time.monotonic() + timeout
    while not ready(found := scan(page)) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)  # let the last charts finish drawing before the picture
    found = scan(page)
    if os.environ.get("RNNLAB_SCREENSHOTS"):
        folder = Path(os.environ["RNNLAB_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(folder / f"{tab}.png")
    return found


def matches(found: dict) -> list[int]:
    """The custom-scalars charts' `Matches (N)` counters: N = runs x tags the chart drew."""
    return [int(m.group(1)) for t in found["text"] if (m := re.fullmatch(r"Matches \((\d+)\)", t))]


# The landing view's own reading: each run's colour swatch in the run selector (the row's text is the run's name)
# and each card's title with its place on the page (pinned cards come first, in the Pinned section at the top).
LANDING_SCAN = """
(() => {
  const found = {swatches: {}, cards: []};
  function visit(root) {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) visit(el.shadowRoot);
      if (el.classList.contains('run-color-swatch')) {
        let row = el.parentElement;
        while (row && !row.textContent.trim()) row = row.parentElement;
        if (row) found.swatches[row.textContent.trim()] = getComputedStyle(el).backgroundColor;
      }
      if (el.tagName === 'TB-TRUNCATED-PATH') {
        const box = el.getBoundingClientRect();
        found.cards.push([el.textContent.trim(), Math.round(box.top), Math.round(box.left)]);
      }
    }
  }
  visit(document);
  return JSON.stringify(found);
})()
"""
GREY = "rgb(224, 224, 224)"  # TIME SERIES' colour of a run its colour groups do not match


def _landing_scan(page) -> dict:
    return {**page.scan(), **json.loads(page.evaluate(LANDING_SCAN))}


def _landing_drawn(found: dict) -> bool:
    titles = {title for title, *_ in found["cards"]}
    return (
        set(LANDING_TAGS) <= titles
        and set(RUN_NAMES) <= set(found["swatches"])
        and found["canvases"] >= len(LANDING_TAGS)
    )


def test_the_landing_view_opens_on_the_loss_and_gradient_coloured_by_init_scale(tensorboard):
    landing = tensorboard[3]
    found = open_tab(tensorboard, "timeseries", _landing_drawn, url=landing, scan=_landing_scan)
    assert _landing_drawn(found), (found["cards"][:8], sorted(found["swatches"])[:3])
    # what a reader sees first: the pinned loss and gradient cards, in their order, on the first screen (1080 px)
    first = [title for title, *_ in sorted(found["cards"], key=lambda card: (card[1], card[2]))][: len(LANDING_TAGS)]
    assert first == list(LANDING_TAGS), first
    assert max(top for title, top, _ in found["cards"] if title in LANDING_TAGS) < 1080
    assert "Pinned" in found["text"]
    # colours that mean something: the 18 runs in 3 colours, one per init_scale (the key with the most values)
    colours = {name: found["swatches"][name] for name in RUN_NAMES}
    by_scale = {scale: {c for name, c in colours.items() if f"init_scale={scale}," in name} for scale in SCALES}
    assert all(len(c) == 1 for c in by_scale.values()), by_scale  # one group, one colour
    assert len(set().union(*by_scale.values())) == len(SCALES), by_scale  # groups apart
    assert GREY not in colours.values()
    # the run selector names the runs by the keys the sweep varies, whole, none naming a fixed key
    assert all(name in found["text"] for name in RUN_NAMES), found["text"][:80]
    assert not [t for t in found["text"] if "model=" in t or "max_steps=" in t]
    assert not [t for t in found["clipped"] if "init_scale=" in t], found["clipped"]


def _all_drawn(counts: list[int]) -> bool:
    """The 2 loss charts draw 2 tags (the loss and the baseline) of every run; the one-tag charts of layer 0 every
    run (gradient total, ratio, radius, activations), those of layer 2 the 6 three-layer runs only."""
    return counts.count(2 * RUNS) == 2 and counts.count(RUNS) >= 3 and RUNS // 3 in counts


def test_custom_scalars_draw_each_chart_with_one_line_per_run(tensorboard):
    found = open_tab(tensorboard, "custom_scalars", lambda f: _all_drawn(matches(f)))
    for title in (
        "validation loss and the baseline",
        "training loss and the baseline",
        "layer 0: spectral radius of W_hh (> 1: a direction grows each step)",
        "layer 2: spectral radius of W_hh (> 1: a direction grows each step)",
    ):
        assert title in found["text"], title
    assert _all_drawn(matches(found)), matches(found)
    assert found["lines"] >= 6 * RUNS


def test_images_open_on_the_profiles_at_initialisation_on_one_y_range(tensorboard):
    found = open_tab(tensorboard, "images", lambda f: f["images"] >= 12)
    # TensorBoard pages a tag group by 12 images: the first page holds the init profiles (grad_h/init_profile sorts
    # before grad_h/profile), every one at step 0 and on the same fixed axes (see grad_init_profile_figure)
    assert found["images"] >= 12
    first = next(t for t in found["text"] if t.startswith("grad_h/") and "profile" in t)
    assert first == "grad_h/init_profile", first
    assert "grad_h/profile" not in found["text"]  # on the next pages, with the step slider
    assert "step 0" in " ".join(found["text"])


def test_scalars_open_on_the_landing_tags_then_every_family(tensorboard):
    # the command's SCALARS URL: a pane of the landing view's tags first (the filter's), then a pane per family
    categories = ["activations", "baseline", "grad_h", "grad_norm", "spectrum", "train", "val"]
    found = open_tab(
        tensorboard,
        "scalars",
        lambda f: set(categories) <= set(f["text"]) and f["lines"] >= len(LANDING_TAGS) * RUNS,
        url=tensorboard[4],
    )
    assert set(categories) <= set(found["text"])  # a pane per tag family, each tag a chart
    pane = next((i for i, t in enumerate(found["text"]) if t.startswith("Tags matching")), None)
    assert pane is not None and pane < found["text"].index("activations"), found["text"][:60]
    # the pane's charts, each named twice (its title and its tag line), before the families repeat them
    first = list(dict.fromkeys(t for t in found["text"][pane:] if t in LANDING_TAGS))
    assert sorted(first) == sorted(LANDING_TAGS) and first == sorted(first), first  # the pane sorts its tags
    assert found["lines"] >= len(LANDING_TAGS) * RUNS  # a line per run in each, drawn


def test_hparams_lists_the_study_and_its_metrics_first(tensorboard):
    # each trial named by the values the study varies (the sweeper's order: nonlinearity, init_scale, then the
    # command line's num_layers) and its sweep's mark, whole in the 10em Trial ID column on a real study's name
    mark = sweep_mark(str(tensorboard[2]))
    trials = [f"{n} {s} {k} {mark}" for s in SCALES for n in NONLINEARITIES for k in LAYERS]
    found = open_tab(tensorboard, "hparams", lambda f: all(t in f["text"] for t in trials))
    assert all(trial in found["text"] for trial in trials), found["text"][-80:]
    assert not [t for t in found["clipped"] if t in trials], found["clipped"]
    assert found["text"].count(SWEEP) >= RUNS  # the sweep column names the directory the mark stands for
    assert "hp/final_over_baseline" in found["text"] and "hp/final_loss" in found["text"]
    assert "hp/grad_log10_ratio_init" in found["text"]  # "vanishing or exploding?", in view beside the loss
    for bookkeeping in ("callbacks", "logger", "experiment", "hparams_search"):
        assert bookkeeping not in found["text"]
    # the swept keys and the sweep rank first (and are ticked by default): before the alphabet's hidden_size
    names = [t for t in found["text"] if t in ("init_scale", "nonlinearity", "num_layers", "sweep", "hidden_size")]
    assert names[:5] == ["init_scale", "nonlinearity", "num_layers", "sweep", "hidden_size"], names
