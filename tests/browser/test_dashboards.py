"""TensorBoard's tabs, as the README describes them, render a small sweep's data in a real (headless) browser.

Needs Chromium (`apt-get install -y chromium`; .ci/run installs it) and aiohttp (the DevTools WebSocket). Set
RNNLAB_SCREENSHOTS=DIR to keep a PNG of each tab (the README's pictures: docs/dashboards/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.helpers.browser import find_browser, free_port, headless_page, wait_for_http

pytestmark = pytest.mark.slow  # a 4-job sweep, TensorBoard and Chromium (a minute or two)

# The vanishing study's quick grid (init_scale x nonlinearity, from its config), shortened: the fixed settings stay
# out of the job directories (TensorBoard's run names), which name the grid alone.
STUDY = "experiment=vanishing_quick"
FIXED = [
    "max_steps=200",
    "hidden_size=16",
    "seq_len=20",
    "task.train_batches=25",
    "task.val_batches=2",
    "callbacks.grad_through_time.image_every_n_steps=50",
    "callbacks.spectrum.image_every_n_steps=50",
]
NAMED_BY_GRID = "hydra.job.config.override_dirname.exclude_keys=[threads,experiment,{}]".format(
    ",".join(o.split("=")[0] for o in FIXED)
)
RUNS = 6  # init_scale 0.5, 1.0, 1.5 x nonlinearity tanh, relu


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
    sweep_dir = tmp_path_factory.mktemp("dashboards") / "sweep"
    result = subprocess.run(
        [sys.executable, "-m", "rnnlab.train", "-m", f"hydra.sweep.dir={sweep_dir}", STUDY, *FIXED, NAMED_BY_GRID],
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
            yield page, f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()


def open_tab(tensorboard, tab: str, ready, timeout: float = 90.0) -> dict:
    """Load TensorBoard afresh on `tab`, wait until `ready(scan)`, keep a screenshot if asked; the page's scan."""
    page, url = tensorboard
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


def test_custom_scalars_draw_each_chart_with_one_line_per_run(tensorboard):
    found = open_tab(tensorboard, "custom_scalars", lambda f: len(matches(f)) >= 6)
    for title in (
        "validation loss and the baseline",
        "training loss and the baseline",
        "layer 0: spectral radius of W_hh (> 1: a direction grows each step)",
    ):
        assert title in found["text"], title
    # 2 loss charts (the loss and the baseline: 2 tags), 4 one-tag charts; each tag drawn for every run
    assert sorted(matches(found)) == [RUNS] * 4 + [2 * RUNS] * 2, found["text"][-80:]
    assert found["lines"] >= 6 * RUNS


def test_images_show_the_gradient_profile_and_the_eigenvalues_of_every_run(tensorboard):
    found = open_tab(tensorboard, "images", lambda f: f["images"] >= RUNS)
    # grad_h/profile, one per run, loaded (the page loads the images in view; spectrum/eigenvalues is further down)
    assert found["images"] >= RUNS
    assert "grad_h/profile" in found["text"] and "spectrum/eigenvalues" in found["text"]
    assert "step 150" in " ".join(found["text"])  # the slider's last image step (images at 0, 50, 100, 150)


def test_scalars_show_the_losses_and_the_diagnostics(tensorboard):
    categories = ["activations", "baseline", "grad_h", "grad_norm", "spectrum", "train", "val"]
    found = open_tab(tensorboard, "scalars", lambda f: set(categories) <= set(f["text"]) and f["lines"] >= RUNS)
    assert set(categories) <= set(found["text"])  # a pane per tag family, each tag a chart
    assert "activations/layer0/saturated_fraction" in found["text"]  # the first pane's charts, drawn
    assert found["lines"] >= RUNS


def test_hparams_lists_the_study_and_its_metrics_first(tensorboard):
    # each trial named by the values the study varies (the sweeper's order: nonlinearity, init_scale) and its sweep
    trials = [f"{n} {s}  sweep" for s in ("0.5", "1.0", "1.5") for n in ("relu", "tanh")]
    found = open_tab(tensorboard, "hparams", lambda f: all(t in f["text"] for t in trials))
    assert all(trial in found["text"] for trial in trials), found["text"][-80:]
    assert not [t for t in found["clipped"] if t in trials], found["clipped"]  # whole in the 10em Trial ID column
    assert "hp/final_over_baseline" in found["text"] and "hp/final_loss" in found["text"]
    assert "hp/grad_log10_ratio_init" in found["text"]  # "vanishing or exploding?", in view beside the loss
    for bookkeeping in ("callbacks", "logger", "experiment", "hparams_search"):
        assert bookkeeping not in found["text"]
    # the swept keys rank first (and are ticked by default): before the alphabet's hidden_size
    names = [t for t in found["text"] if t in ("init_scale", "nonlinearity", "hidden_size")]
    assert names[:3] == ["init_scale", "nonlinearity", "hidden_size"], names
