"""The landing view's URL and `python -m rnnlab.dashboard`, without a browser: which cards are pinned, which runs
share a colour (the regex read as TensorBoard reads it: a run's colour group is its capture groups), bad input.
The browser check (tests/browser) shows TensorBoard does what the URL asks."""

from __future__ import annotations

import json
import re
import urllib.parse
from itertools import product

import pytest

from rnnlab import dashboard
from rnnlab.record import tags
from rnnlab.sweeps.landing import (
    LANDING_TAGS,
    color_groups,
    color_keys,
    color_regex,
    default_color_keys,
    landing_query,
    landing_url,
    run_names,
    scalars_url,
    value_counts,
)

GRID = {"nonlinearity": ("tanh", "relu"), "init_scale": ("0.5", "1.0", "1.5")}


def make_sweep(root, params: dict, cli: dict, runs: bool = True):
    """A sweep directory as the lab leaves it: multirun.yaml, and a job folder (named by the varied keys, sorted)
    with an event file per combination of values."""
    lines = ["hydra:", "  sweeper:", "    params:"]
    lines += [f"      {key}: {','.join(values)}" for key, values in params.items()]
    lines += ["  overrides:", "    task:" + ("" if cli else " []")]
    lines += [f"    - {key}={','.join(values)}" for key, values in cli.items()]
    root.mkdir(parents=True, exist_ok=True)
    (root / "multirun.yaml").write_text("\n".join(lines) + "\n")
    axes = {**params, **cli}
    varied = [key for key, values in axes.items() if len(values) > 1]
    for combination in product(*(axes[key] for key in varied)) if runs else ():
        name = ",".join(sorted(f"{key}={value}" for key, value in zip(varied, combination, strict=True)))
        (root / name).mkdir()
        (root / name / "events.out.tfevents.1.host.1.0").write_bytes(b"")
    return root


def test_the_url_pins_the_loss_and_gradient_cards_and_colours_by_regex():
    url = landing_url("http://127.0.0.1:6006/", ["init_scale"])
    parsed = urllib.parse.urlsplit(url)
    assert (parsed.netloc, parsed.path, parsed.fragment) == ("127.0.0.1:6006", "/", "timeseries")
    query = dict(urllib.parse.parse_qsl(parsed.query))
    assert query == landing_query(["init_scale"])
    pins = json.loads(query["pinnedCards"])
    # TensorBoard's pinnedCards: a scalar card is pinned by plugin and tag, with no runId (else it drops it)
    assert pins == [{"plugin": "scalars", "tag": tag} for tag in LANDING_TAGS]
    assert [p["tag"] for p in pins[:2]] == [tags.VAL_LOSS, tags.TRAIN_LOSS]
    assert tags.grad_h_log10_ratio(0) in [p["tag"] for p in pins]
    assert query["runColorGroup"] == "regex:" + color_regex(["init_scale"])
    assert query["smoothing"] == "0"
    # a base URL without its slash, smoothing asked for, no colour keys: TensorBoard's colour per run
    other = landing_url("http://127.0.0.1:7000", [], smoothing=0.6)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(other).query))
    assert other.startswith("http://127.0.0.1:7000/?") and "runColorGroup" not in query
    assert query["smoothing"] == "0.6"


def test_the_scalars_url_filters_to_the_landing_tags_exactly():
    url = scalars_url("http://127.0.0.1:6006/")
    base, _, state = url.partition("#")
    assert base == "http://127.0.0.1:6006/" and state.startswith("scalars&tagFilter=")
    pattern = re.compile(urllib.parse.unquote(state.partition("=")[2]))
    every = [*LANDING_TAGS, tags.BASELINE, tags.grad_h_log10_ratio(1), tags.grad_h_first_over_last(0), "xval/loss"]
    assert [tag for tag in every if pattern.search(tag)] == list(LANDING_TAGS)


def test_runs_of_one_value_share_a_group_whatever_the_keys_order_and_folder():
    names = [
        "init_scale=0.5,nonlinearity=relu,num_layers=1",
        "init_scale=0.5,nonlinearity=tanh,num_layers=3",
        "init_scale=1.5,nonlinearity=relu,num_layers=1",
        "sweep_a/init_scale=1.5,nonlinearity=tanh",  # a logdir above the sweeps: the name under a folder
        "nonlinearity=relu,num_layers=2",  # no init_scale: not matched (grey)
        "scale=0.5,nonlinearity=relu",  # a key that ends another key's name is not it
        "2026-12-04/08-00-00_123-ab",  # a single run, named by its time
    ]
    groups = color_groups(names, ["init_scale"])
    assert groups == {
        names[0]: ("0.5",),
        names[1]: ("0.5",),
        names[2]: ("1.5",),
        names[3]: ("1.5",),
        names[4]: None,
        names[5]: None,
        names[6]: None,
    }
    # two keys: a group per combination, the capture groups in the keys' order however the name orders them
    both = color_groups(names[:4], ["num_layers", "init_scale"])
    assert both[names[0]] == ("1", "0.5") and both[names[1]] == ("3", "0.5") and both[names[3]] is None
    dotted = color_groups(["task.seq_len=20,taskXseq_len=5", "a=1,task.seq_len=50"], ["task.seq_len"])
    assert list(dotted.values()) == [("20",), ("50",)]  # the dot is a dot, not any character


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"nonlinearity": 2, "init_scale": 3, "num_layers": 3}, ["init_scale"]),  # most values; tie: study order
        ({"init_scale": 3, "nonlinearity": 2, "seed": 5}, ["init_scale"]),  # seeds of a setting share its colour
        ({"lr": 12, "hidden_size": 9}, ["hidden_size"]),  # none fits the 7 colours: the fewest values
        ({"lr": 12, "hidden_size": 7}, ["hidden_size"]),  # 7 fits
        ({"seed": 3}, []),  # only seeds: a colour per run
        ({}, []),
    ],
)
def test_the_default_colour_key(counts, expected):
    assert default_color_keys(counts) == expected


def test_colour_keys_of_a_sweep_directory(tmp_path):
    # the vanishing study's quick grid with num_layers swept on the command line, and a fixed model=torch
    sweep = make_sweep(tmp_path / "vanishing_quick", GRID, {"num_layers": ("1", "2", "3"), "model": ("torch",)})
    assert len(run_names(sweep)) == 18
    assert value_counts(sweep, []) == {"nonlinearity": 2, "init_scale": 3, "num_layers": 3}  # model: fixed
    assert color_keys(sweep) == ["init_scale"]
    assert color_keys(sweep, "nonlinearity") == ["nonlinearity"]
    assert color_keys(sweep, "nonlinearity, num_layers") == ["nonlinearity", "num_layers"]
    assert color_keys(sweep, "run") == []
    groups = color_groups(run_names(sweep), color_keys(sweep))
    assert sorted({g for g in groups.values()}) == [("0.5",), ("1.0",), ("1.5",)]
    assert sum(g == ("0.5",) for g in groups.values()) == 6
    with pytest.raises(ValueError, match=r"--color-by='seed' is invalid; allowed: nonlinearity, init_scale, num_la"):
        color_keys(sweep, "init_scale,seed")
    # three seeds per setting (the full study): the seeds share their setting's colour
    seeded = make_sweep(tmp_path / "vanishing", {**GRID, "seed": ("0", "1", "2")}, {})
    assert color_keys(seeded) == ["init_scale"]
    assert len(set(color_groups(run_names(seeded), ["init_scale"]).values())) == 3
    # before its first job, the keys and their counts come from multirun.yaml alone
    empty = make_sweep(tmp_path / "starting", GRID, {}, runs=False)
    assert run_names(empty) == [] and color_keys(empty) == ["init_scale"]


def test_the_command_prints_the_landing_url(tmp_path, capsys):
    sweep = make_sweep(tmp_path / "vanishing_quick", GRID, {})
    assert dashboard.main([str(sweep), "--url-only", "--port", "7007", "--color-by", "nonlinearity"]) == 0
    url = capsys.readouterr().out.strip()
    assert url == landing_url("http://127.0.0.1:7007/", ["nonlinearity"])
    assert dashboard.tensorboard_argv(str(sweep), None) == [
        "--logdir",
        str(sweep),
        "--host",
        "127.0.0.1",
        "--samples_per_plugin",
        "images=100",
    ]
    assert dashboard.tensorboard_argv(str(sweep), 7007)[-2:] == ["--port", "7007"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--color-by", "init_scal"], "--color-by='init_scal' is invalid; allowed: nonlinearity, init_scale, run"),
        (["--smoothing", "1"], "--smoothing=1.0 is invalid; allowed: 0 <= smoothing < 1"),
        (["--port", "70000"], "--port=70000 is invalid; allowed: 1 to 65535"),
    ],
)
def test_bad_input_says_one_line_and_exits_2(tmp_path, capsys, args, message):
    sweep = make_sweep(tmp_path / "vanishing_quick", GRID, {})
    assert dashboard.main([str(sweep), "--url-only", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rnnlab.dashboard: {message}"), lines


def test_a_missing_directory_exits_2(tmp_path, capsys):
    assert dashboard.main([str(tmp_path / "nowhere"), "--url-only"]) == 2
    missing = str(tmp_path / "nowhere")
    expected = f"rnnlab.dashboard: SWEEP_DIR={missing!r} is invalid; allowed: an existing directory\n"
    assert capsys.readouterr().err == expected


def test_the_command_serves_and_prints_where_to_look(tmp_path, capsys, monkeypatch):
    sweep = make_sweep(tmp_path / "vanishing_quick", GRID, {})
    served = []
    monkeypatch.setattr(dashboard, "serve", lambda argv: served.append(argv) or "http://127.0.0.1:6123/")

    def stop(seconds):
        raise KeyboardInterrupt  # Ctrl+C while TensorBoard serves

    monkeypatch.setattr(dashboard.time, "sleep", stop)
    assert dashboard.main([str(sweep)]) == 0
    assert served == [dashboard.tensorboard_argv(str(sweep), None)]
    said, landing, scalars = capsys.readouterr().out.splitlines()
    assert said.startswith(f"TensorBoard on {sweep} at http://127.0.0.1:6123/ (runs coloured by init_scale)")
    assert landing == landing_url("http://127.0.0.1:6123/", ["init_scale"])
    assert scalars.endswith(scalars_url("http://127.0.0.1:6123/"))
