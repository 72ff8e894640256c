"""TensorBoard's tabs, as docs/dashboards.md describes them, read at a glance on an 18-job sweep in a real
(headless) browser: run names whole, the init profiles first, trial ids whole on a real study's name.

Needs Chromium (`apt-get install -y chromium`; .ci/run installs it) and aiohttp (the DevTools WebSocket). Set
RNNLAB_SCREENSHOTS=DIR to keep a PNG of each tab (the docs' pictures: docs/dashboards/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(sweep_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--samples_per_plugin",
            "images=100",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/data/environment", 120)
        with headless_page(find_browser()) as page:
            yield page, f"http://127.0.0.1:{port}", sweep_dir
    finally:
        server.kill()
        server.wait()


def open_tab(tensorboard, tab: str, ready, timeout: float = 90.0) -> dict:
    """Load TensorBoard afresh on `tab`, wait until `ready(scan)`, keep a screenshot if asked; the page's scan."""
    page, url, _ = tensorboard
    page.goto("about:blank")
    page.goto(f"{url}/#{tab}")
    found = page.wait_for(ready, timeout=timeout)
    time.sleep(2)  # let the last charts finish drawing before the picture
    found = page.scan()
    if os.environ.get("RNNLAB_SCREENSHOTS"):
        folder = Path(os.environ["RNNLAB_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(folder / f"{tab}.png")
    return found


def matches(found: dict) -> list[int]:
    """The custom-scalars charts' `Matches (N)` counters: N = runs x tags the chart drew."""
    return [int(m.group(1)) for t in found["text"] if (m := re.fullmatch(r"Matches \((\d+)\)", t))]


def test_time_series_names_each_run_by_the_keys_the_sweep_varies_whole(tensorboard):
    found = open_tab(tensorboard, "timeseries", lambda f: all(name in f["text"] for name in RUN_NAMES))
    assert all(name in found["text"] for name in RUN_NAMES), found["text"][:80]
    assert not [t for t in found["text"] if "model=" in t or "max_steps=" in t]  # given one value: not in a name
    assert not [t for t in found["clipped"] if "init_scale=" in t], found["clipped"]  # whole in the run selector


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


def test_scalars_show_the_losses_and_the_diagnostics(tensorboard):
    categories = ["activations", "baseline", "grad_h", "grad_norm", "spectrum", "train", "val"]
    found = open_tab(tensorboard, "scalars", lambda f: set(categories) <= set(f["text"]) and f["lines"] >= RUNS)
    assert set(categories) <= set(found["text"])  # a pane per tag family, each tag a chart
    assert "activations/layer0/saturated_fraction" in found["text"]  # the first pane's charts, drawn
    assert found["lines"] >= RUNS


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
