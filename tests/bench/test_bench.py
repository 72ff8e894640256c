"""The benchmark harness on tiny configurations: the structure of its tables and JSON, never its speed."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab.bench import cli as bench
from rnnlab.bench import models, startup, targets, timing, training
from rnnlab.bench.sweep import sweep_command
from tests.helpers import ROOT

TINY = models.Shape(4, 2, 3, 5, 2)


def test_interleaved_calls_every_candidate_once_per_round_in_rotating_order():
    calls = []
    times = timing.interleaved({name: (lambda name=name: calls.append(name)) for name in "abc"}, repeats=3, warmup=1)
    assert calls == list("abc") + list("abc") + list("bca") + list("cab")
    assert {name: len(seconds) for name, seconds in times.items()} == {"a": 3, "b": 3, "c": 3}
    assert all(s >= 0 for seconds in times.values() for s in seconds)
    with pytest.raises(ValueError, match="repeats"):
        timing.interleaved({"a": lambda: None}, repeats=0)


def test_implementations_list_every_registered_variant():
    labels = models.implementations()
    assert {
        "torch",
        "myrnn",
        "myrnn/time-major",
        "myrnn/fast",
        "concat",
        "concat/fast",
        "stacked/cell=myrnn",
        "bidirectional/cell=concat",
    } <= set(labels)
    cls, kwargs = labels["myrnn/fast"]
    assert cls.__name__ == "MyRNN" and kwargs == {"loop_order": "layer", "backward": "manual"}


def test_training_step_computes_the_gradient_of_every_parameter():
    rnn = torch.nn.RNN(3, 5, 2)
    x, grad_output, grad_h_n = torch.randn(4, 2, 3), torch.randn(4, 2, 5), torch.randn(2, 2, 5)
    models.training_step(rnn, x, grad_output, grad_h_n)()
    first = {name: p.grad.clone() for name, p in rnn.named_parameters()}
    output, h_n = rnn(x)
    expected = torch.autograd.grad((output, h_n), list(rnn.parameters()), (grad_output, grad_h_n))
    for (name, grad), want in zip(first.items(), expected):
        torch.testing.assert_close(grad, want, msg=name)
    models.training_step(rnn, x, grad_output, grad_h_n)()  # grads are reset, not accumulated
    for name, p in rnn.named_parameters():
        torch.testing.assert_close(p.grad, first[name])


@pytest.mark.parametrize("shape", [TINY, models.Shape(4, 2, 3, 5, 2, bidirectional=True)], ids=str)
def test_time_shape_gives_every_implementation_a_median_and_its_ratio_to_nn_rnn(shape):
    entry = models.time_shape(shape, repeats=2, warmup=0)
    assert entry["shape"] == {
        "steps": 4,
        "batch": 2,
        "input_size": 3,
        "hidden_size": 5,
        "num_layers": 2,
        "bidirectional": shape.bidirectional,
    }
    assert entry["device"] == "cpu" and entry["repeats"] == 2 and entry["label"] == str(shape)
    results = {r["impl"]: r for r in entry["results"]}
    assert list(results) == [models.REFERENCE, *models.implementations()]
    reference = results[models.REFERENCE]["median_ms"]
    for impl, result in results.items():
        assert len(result["times_ms"]) == 2 and all(t > 0 for t in result["times_ms"])
        assert result["median_ms"] == pytest.approx(sum(result["times_ms"]) / 2)  # the median of two
        assert result["median_ms"] > 0 and result["ratio"] == pytest.approx(result["median_ms"] / reference), impl
    assert results[models.REFERENCE]["ratio"] == 1.0


def test_time_shape_can_pick_implementations():
    entry = models.time_shape(TINY, repeats=1, warmup=0, names=["myrnn/fast"])
    assert [r["impl"] for r in entry["results"]] == [models.REFERENCE, "myrnn/fast"]


def fake_report():
    """A report with made-up numbers at the target shapes, to check what the targets and tables read from it."""

    def entry(shape, threads, ratios):
        results = [
            {"impl": impl, "median_ms": 10.0 * ratio, "ratio": ratio, "times_ms": [10.0 * ratio]}
            for impl, ratio in {models.REFERENCE: 1.0, **ratios}.items()
        ]
        return {
            "shape": vars(shape),
            "label": str(shape),
            "reference": models.REFERENCE,
            "device": "cpu",
            "threads": threads,
            "repeats": 1,
            "results": results,
        }

    one, three = models.TARGET_SHAPES
    return {
        "meta": {"sections": ["models", "train", "sweep"]},
        "models": [
            entry(one, 2, {"torch": 1.03, "myrnn": 1.2, "myrnn/fast": 0.7}),
            entry(three, 2, {"torch": 0.98, "myrnn": 1.4, "myrnn/fast": 1.0}),
            entry(models.Shape(50, 16, 2, 64), 2, {"torch": 1.0, "myrnn": 9.0}),
        ],
        "train": [
            {
                "num_layers": 1,
                "threads": 2,
                "repeats": 3,
                "steps": 100,
                "lab_ms_per_step": 11.0,
                "bare_ms_per_step": 10.0,
                "ratio": 1.1,
            }
        ],
        "sweep": {"jobs": 8, "job": ["max_steps=500"], "n_jobs": 2, "basic_s": 100.0, "joblib_s": 70.0, "ratio": 0.7},
    }


def test_targets_read_the_target_shapes_and_say_met_or_not():
    rows = targets.evaluate(fake_report())
    verdicts = [(r["target"].split(" ")[0], r["layers"], r["measured"], r["met"]) for r in rows]
    assert verdicts == [
        ("readable", 1, 1.2, True),
        ("readable", 3, 1.4, False),
        ("fast", 1, 0.7, True),
        ("fast", 3, 1.0, True),
        ("rnnlab.train", 1, 1.1, True),
        ("8-job", None, 0.7, False),
    ]
    assert targets.evaluate({}) == []


def test_render_prints_every_table_with_the_numbers():
    report = fake_report()
    report["targets"] = targets.evaluate(report)
    text = bench.render(report)
    assert "| nn.RNN (ms) | 10.0 | 10.0 | 10.0 |" in text
    assert "| myrnn | 1.20 | 1.40 | 9.00 |" in text
    assert "| myrnn/fast | 0.70 | 1.00 |  |" in text  # not timed at the third shape
    assert "Noise floor: `torch` (the same kernel as nn.RNN, timed again) at 0.98–1.03 of it." in text
    assert "| 1 | 2 | 11.0 | 10.0 | 1.0 | 1.10 |" in text  # the lab's ms, the bare loop's, their difference, ratio
    assert "| joblib, n_jobs=2 | 70.0 | 8.8 | 0.70 |" in text  # 70 s for 8 jobs
    assert "| readable myrnn step / nn.RNN | 2 | 3 | 1.40 | <= 1.3 | NOT met | T100 B64 I2 H128 L3 |" in text


def test_per_step_divides_the_window_by_its_steps():
    assert training.per_step([0.0, 1.0, 3.0, 6.0, 10.0], warmup=1, steps=3) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="need 5"):
        training.per_step([0.0, 1.0], warmup=1, steps=3)


def test_sweep_command_is_the_real_cli_with_the_launcher():
    basic = sweep_command("basic", 3, ("max_steps=5",), Path("/tmp/s"))
    joblib = sweep_command("joblib", 3, ("max_steps=5",), Path("/tmp/s"))
    assert basic[1:] == ["-m", "rnnlab.train", "-m", "max_steps=5", "seed=0,1,2", "hydra.sweep.dir=/tmp/s"]
    assert joblib[4:6] == ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    with pytest.raises(ValueError, match="launcher must be one of"):
        sweep_command("slurm", 3, (), Path("/tmp/s"))


@pytest.mark.slow  # a real rnnlab.train run and a bare loop (seconds)
def test_training_compare_times_the_lab_and_the_bare_loop(tmp_path):
    entry = training.compare(
        1,
        threads=1,
        repeats=1,
        warmup=1,
        steps=2,
        workdir=tmp_path,
        extra_overrides=("hidden_size=8", "seq_len=5", "task.train_batches=2", "task.val_batches=1"),
    )
    assert entry["lab_ms_per_step"] > 0 and entry["bare_ms_per_step"] > 0
    assert entry["ratio"] == pytest.approx(entry["lab_ms_per_step"] / entry["bare_ms_per_step"])
    record = json.loads(next(tmp_path.glob("lab-*/metrics.json")).read_text())
    assert record["status"] == "completed" and record["steps"] == 4  # warmup + steps + 1
    assert "grad_through_time" in record["config"]["callbacks"]  # the diagnostics were on
    committed = json.loads((ROOT / "docs" / "bench" / "cpu.json").read_text())["train"][0]
    assert set(entry) == set(committed)  # the docs' report has the shape the bench writes now


@pytest.mark.slow  # the CLI on the quick shapes (about half a minute)
def test_cli_quick_models_writes_valid_json(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnlab.bench",
            "--quick",
            "--section",
            "models",
            "--threads",
            "1",
            "--repeats",
            "2",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["meta"]["sections"] == ["models"] and report["meta"]["quick"] is True
    assert (
        report["meta"]["command"]
        == f"python -m rnnlab.bench --quick --section models --threads 1 --repeats 2 --out {out}"
    )
    assert [path.name for path in tmp_path.iterdir()] == ["bench.json"]  # written whole, through a .partial
    assert [e["label"] for e in report["models"]] == [str(s) for s in models.QUICK_SHAPES]
    for entry in report["models"]:
        reference = entry["results"][0]
        assert reference["impl"] == models.REFERENCE and entry["threads"] == 1
        assert {r["impl"] for r in entry["results"]} == {models.REFERENCE, *models.implementations()}
        for timed in entry["results"]:
            assert timed["median_ms"] > 0 and math.isclose(timed["ratio"], timed["median_ms"] / reference["median_ms"])
    assert "train" not in report and "sweep" not in report
    assert report["targets"] == []  # the quick shapes are not the target shapes
    assert "| nn.RNN (ms) |" in result.stdout and "| myrnn/fast |" in result.stdout


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--section", "everything"])
    assert "invalid choice: 'everything'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--threads", "0"])
    assert "--threads must be >= 1" in capsys.readouterr().err


def fake_startup() -> dict:
    results = [
        ("import torch", 2.0),
        ("import torch, hydra", 2.5),
        ("--help", 1.0),
        ("a configuration error", 3.5),
        ("a value the task refuses", 2.75),
        ("a re-run into a finished directory", 1.5),
        ("a default run of 1 step", 6.0),
        ("a default run of 1 step at abc1234", 8.0),
    ]
    return {
        "repeats": 5,
        "reference": startup.REFERENCE,
        "against": {"checkout": "/tmp/before", "run": "a default run of 1 step at abc1234"},
        "results": [
            {"command": name, "argv": name, "median_s": s, "ratio": s / 2.5, "times_s": [s]} for name, s in results
        ],
    }


def test_startup_targets_are_the_quick_answers_against_import_torch_hydra():
    rows = targets.evaluate({"startup": fake_startup()})
    assert [(r["target"], r["measured"], r["met"]) for r in rows] == [
        ("start-up: --help / import torch, hydra", 0.4, True),
        ("start-up: a configuration error / import torch, hydra", 1.4, False),
        ("start-up: a value the task refuses / import torch, hydra", 1.1, True),
        ("start-up: a re-run into a finished directory / import torch, hydra", 0.6, True),
        ("start-up: a default run of 1 step / the same at abc1234", 0.75, False),  # a quarter lower, not a third
    ]
    text = bench.render({"startup": fake_startup(), "targets": rows})
    assert "| a default run of 1 step | `a default run of 1 step` | 6.00 | 2.40 |" in text
    assert "| import torch, hydra | `import torch, hydra` | 2.50 | 1.00 |" in text


def test_startup_commands_are_the_real_cli_and_a_finished_directory(tmp_path):
    lines = startup.commands(tmp_path)
    assert lines["--help"][1:] == ["-m", "rnnlab.train", "--help"]
    assert lines["a configuration error"][3] == "num_layers=0"
    finished = lines["a re-run into a finished directory"][-1].split("=", 1)[1]
    assert json.loads((Path(finished) / "metrics.json").read_text())["status"] == "completed"
    assert set(startup.QUICK) <= set(lines) and startup.REFERENCE in lines
    assert lines["a value the task refuses"][3] == "seq_len=1"
    earlier = tmp_path / "before"  # not a git checkout: named by its directory
    with_earlier = startup.commands(tmp_path, against=earlier)
    assert with_earlier["a default run of 1 step at before"] == with_earlier["a default run of 1 step"]


def test_startup_shows_each_command_as_typed_without_its_scratch_directory():
    shown = startup.shown(
        ["/venv/bin/python", "-m", "rnnlab.train", "seq_len=1", "hydra.run.dir=/tmp/b-1/startup/error"]
    )
    assert shown == "python -m rnnlab.train seq_len=1 hydra.run.dir=error"
    assert startup.shown(["/venv/bin/python", "-c", "import torch, hydra"]) == "python -c 'import torch, hydra'"


def test_the_report_names_the_command_that_made_it(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "benchmark", lambda *args, **kwargs: {"meta": {"command": kwargs["command"]}})
    assert bench.main(["--section", "sweep", "--out", str(tmp_path / "new" / "r.json")]) == 0
    written = json.loads((tmp_path / "new" / "r.json").read_text())
    assert written == {"meta": {"command": f"python -m rnnlab.bench --section sweep --out {tmp_path}/new/r.json"}}


def test_startup_against_must_be_a_checkout_of_the_lab(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--section", "startup", "--startup-against", str(tmp_path)])
    assert f"--startup-against {tmp_path}: not a checkout of rnnlab" in capsys.readouterr().err
