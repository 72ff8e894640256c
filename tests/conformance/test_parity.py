"""Parity with nn.RNN in float64 for every registered implementation and variant, through `rnnlab.parity.check`."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab.conformance import parity, surface
from rnnlab.conformance.parity import INPUT_MODES, Config, check, grid
from rnnlab.models import IMPLEMENTATIONS, TorchRNN

ROOT = Path(__file__).resolve().parents[2]
CASES = [(name, variant) for name, cls in IMPLEMENTATIONS.items() for variant in cls.variants]


@pytest.mark.parametrize("mode", INPUT_MODES)
@pytest.mark.parametrize(("name", "variant"), CASES)
def test_equal_to_nn_rnn_over_the_grid(name, variant, mode):
    impl_cls = IMPLEMENTATIONS[name]
    failures = []
    for config in grid((mode,)):
        result = check(impl_cls, impl_cls.variants[variant], config, torch.float64)
        errors = (result.forward, result.h_n, result.gradients)
        if result.error is not None or not all(error <= 1e-10 for error in errors):
            failures.append(f"{config}: {result}")
    assert not failures, f"{len(failures)} of {len(grid((mode,)))} configurations differ:\n" + "\n".join(failures)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_equal_to_nn_rnn_in_float32(name, variant):
    impl_cls = IMPLEMENTATIONS[name]
    for mode in INPUT_MODES:
        config = Config(mode, 2, True, "tanh", True, mode == "batched", True)
        result = check(impl_cls, impl_cls.variants[variant], config, torch.float32)
        assert result.passed(1e-5), f"{config}: {result}"


def test_the_command_line_reports_a_table_and_exits_zero():
    completed = subprocess.run(
        [sys.executable, "-m", "rnnlab.parity", "--impl", "torch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = [line.split() for line in completed.stdout.splitlines() if line.startswith("torch ")]
    assert [row[2] for row in rows] == list(INPUT_MODES)
    assert all(row[3] == str(len(grid((row[2],)))) and row[-1] == "ok" for row in rows)
    assert "largest error" in completed.stdout and "all equal to nn.RNN" in completed.stdout
    # the second table: every surface item, one column for the implementation asked for
    items = [
        line
        for line in completed.stdout.splitlines()
        if line.split(":")[0] in {item.name.split(":")[0] for item in surface.ITEMS} and ": " in line
    ]
    assert len(items) == len(surface.ITEMS)
    assert all(line.split()[-1] in ("=", "differs") for line in items)
    assert "surface checks" in completed.stdout and "no failure" in completed.stdout


class SignFlipped(TorchRNN):
    """Broken on purpose: h_n has the wrong sign."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        return output, -h_n


class WrongGradient(TorchRNN):
    """Broken on purpose: right outputs, but the gradient reaching the network is 1.5 times too large."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        return output + 0.5 * (output - output.detach()), h_n


class Raising(TorchRNN):
    def forward(self, input, hx=None):
        raise RuntimeError("deliberately broken")


def test_a_broken_implementation_makes_the_command_fail(monkeypatch, capsys):
    monkeypatch.setitem(IMPLEMENTATIONS, "broken", SignFlipped)
    assert parity.main(["--impl", "broken"]) == 1
    out = capsys.readouterr().out
    assert "FAIL 96/96" in out and "MISMATCHES" in out
    assert "FAILURES" in out  # its surface too: h_n's sign breaks every check that compares outputs
    assert "broken default batched L1 uni tanh bias time_first no_h0: forward 0.0e+00, h_n" in out


def test_wrong_gradients_alone_are_caught():
    config = Config("batched", 2, True, "tanh", True, False, True)
    result = check(WrongGradient, {}, config)
    assert result.forward == 0 and result.h_n == 0
    assert result.gradients > 1e-3 and not result.passed(1e-10)


def test_an_exception_is_a_failure_with_its_message():
    result = check(Raising, {}, Config("packed", 1, False, "relu", False, True, False))
    assert result.error == "RuntimeError: deliberately broken" and not result.passed(1e-10)


def test_the_command_line_refuses_an_unknown_implementation(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parity.main(["--impl", "nope"])
    assert exit_info.value.code == 2
    assert "--impl: unknown nope; allowed: torch" in capsys.readouterr().err
