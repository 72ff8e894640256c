"""`python -m rnnlab.parity`: prove every registered implementation equal to nn.RNN over the configuration grid.

For each implementation, each of its `variants` and each configuration, nn.RNN's weights are loaded into the
implementation; both run the same input and backpropagate the same random upstream gradient from output and h_n;
outputs, h_n and the gradients with respect to the input, h0 and every parameter are compared. `check` is the one
harness; the tests call it too. A second table audits nn.RNN's whole public surface (`rnnlab.conformance.surface`): each item
on each implementation is the same as nn.RNN's, a documented difference (checked), or a failure. Exit status 1 on
any mismatch (float64: 1e-10, float32: 1e-5), exception or surface failure.

    python -m rnnlab.parity                       # everything in rnnlab.models.IMPLEMENTATIONS
    python -m rnnlab.parity --impl myrnn --dtype float32
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import sys
import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from rnnlab.conformance import surface
from rnnlab.models import IMPLEMENTATIONS

INPUT_MODES = ("batched", "unbatched", "packed")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
STEPS, BATCH, INPUT_SIZE, HIDDEN_SIZE = 5, 3, 3, 4
LENGTHS = (3, 5, 1)  # the longest not first (packing must sort and unsort the batch); one of a single step


@dataclass(frozen=True)
class Config:
    """One point of the grid: nn.RNN's constructor arguments, whether h0 is given, and the input mode."""

    mode: str
    num_layers: int
    bidirectional: bool
    nonlinearity: str
    bias: bool
    batch_first: bool
    h0: bool

    def __str__(self) -> str:
        flags = [
            f"L{self.num_layers}",
            "bi" if self.bidirectional else "uni",
            self.nonlinearity,
            "bias" if self.bias else "nobias",
            "batch_first" if self.batch_first else "time_first",
            "h0" if self.h0 else "no_h0",
        ]
        return f"{self.mode} " + " ".join(flags)


def grid(modes: tuple[str, ...] = INPUT_MODES) -> list[Config]:
    """Every combination of num_layers 1-3, bidirectional, nonlinearity, bias, batch_first and h0, per mode."""
    axes = (modes, (1, 2, 3), (False, True), ("tanh", "relu"), (True, False), (False, True), (False, True))
    return [Config(*point) for point in itertools.product(*axes)]


@dataclass
class Result:
    """Largest absolute differences from nn.RNN; `error` says what broke when no number could be had."""

    forward: float = math.nan
    h_n: float = math.nan
    gradients: float = math.nan
    worst_gradient: str = ""
    error: str | None = None

    @property
    def max_error(self) -> float:
        return max(self.forward, self.h_n, self.gradients)  # nan when unmeasured

    def passed(self, tolerance: float) -> bool:
        return self.error is None and all(e <= tolerance for e in (self.forward, self.h_n, self.gradients))


def check(impl_cls: type, kwargs: dict, config: Config, dtype: torch.dtype = torch.float64, seed: int = 0) -> Result:
    """Compare `impl_cls(**nn.RNN's arguments, **kwargs)` with nn.RNN on one configuration; never raises."""
    try:
        return _check(impl_cls, kwargs, config, dtype, seed)
    except Exception as error:  # an implementation that raises has failed the check, not crashed the report
        return Result(error=f"{type(error).__name__}: {error}")


@functools.cache
def reference(config: Config, dtype: torch.dtype, seed: int) -> dict:
    """nn.RNN's side of a check: weights, inputs, upstream gradients, and its answers (the same for every
    implementation, so computed once per configuration)."""
    g = torch.Generator().manual_seed(seed)
    network = nn.RNN(**_arguments(config)).to(dtype)
    with torch.no_grad():
        for parameter in network.parameters():  # nonzero biases, so that b_ih and b_hh are both exercised
            parameter.copy_(torch.rand(parameter.shape, generator=g, dtype=dtype) * 1.2 - 0.6)
    x, h0 = _inputs(config, dtype, g)
    run = _run(network, x, h0, config)
    upstream = {name: torch.randn(run[name].shape, generator=g, dtype=dtype) for name in ("output", "h_n")}
    _backward(run, upstream)
    grads = {"input": run["x"].grad, "h0": None if h0 is None else run["h0"].grad}
    grads |= {name: parameter.grad for name, parameter in network.named_parameters()}
    return {
        "state_dict": network.state_dict(),
        "x": x,
        "h0": h0,
        "upstream": upstream,
        "layout": _layout(run["raw_output"]),
        "output": run["output"].detach(),
        "h_n": run["h_n"].detach(),
        "grads": {name: grad for name, grad in grads.items() if grad is not None},
    }


def _check(impl_cls, kwargs, config: Config, dtype, seed) -> Result:
    expected = reference(config, dtype, seed)
    model = impl_cls(**_arguments(config), **kwargs).to(dtype)
    model.load_torch_state_dict({name: value.clone() for name, value in expected["state_dict"].items()})
    actual = _run(model, expected["x"], expected["h0"], config)
    if (layout := _layout(actual["raw_output"])) != expected["layout"]:
        return Result(error=f"output layout {layout}, expected nn.RNN's {expected['layout']}")
    for name in ("output", "h_n"):
        if actual[name].shape != expected[name].shape:
            return Result(error=f"{name} shape {list(actual[name].shape)}, expected {list(expected[name].shape)}")
    _backward(actual, expected["upstream"])

    parameter_grads = model.torch_grad_dict()
    if set(parameter_grads) != set(expected["state_dict"]):
        return Result(
            error=f"torch_grad_dict names {sorted(parameter_grads)}, expected {sorted(expected['state_dict'])}"
        )
    actual_grads = {"input": actual["x"].grad, "h0": None if actual["h0"] is None else actual["h0"].grad}
    actual_grads |= parameter_grads
    grad_errors = {}
    for name, want in expected["grads"].items():
        if actual_grads[name] is None:
            return Result(error=f"no gradient for {name}")
        grad_errors[name] = _max_difference(actual_grads[name], want)
    worst = max(grad_errors, key=lambda name: grad_errors[name])
    return Result(
        forward=_max_difference(actual["output"], expected["output"]),
        h_n=_max_difference(actual["h_n"], expected["h_n"]),
        gradients=grad_errors[worst],
        worst_gradient=worst,
    )


def _arguments(config: Config) -> dict:
    return dict(
        input_size=INPUT_SIZE,
        hidden_size=HIDDEN_SIZE,
        num_layers=config.num_layers,
        nonlinearity=config.nonlinearity,
        bias=config.bias,
        batch_first=config.batch_first,
        dropout=0.0,
        bidirectional=config.bidirectional,
    )


def _inputs(config: Config, dtype, g) -> tuple[Tensor, Tensor | None]:
    directions = 2 if config.bidirectional else 1
    if config.mode == "unbatched":
        x = torch.randn(STEPS, INPUT_SIZE, generator=g, dtype=dtype)
        h0_shape: tuple[int, ...] = (config.num_layers * directions, HIDDEN_SIZE)
    else:
        x = torch.randn(STEPS, BATCH, INPUT_SIZE, generator=g, dtype=dtype)
        if config.mode == "packed":
            x = x * (torch.arange(STEPS).unsqueeze(1) < torch.tensor(LENGTHS)).unsqueeze(-1)
        x = x.transpose(0, 1).contiguous() if config.batch_first else x
        h0_shape = (config.num_layers * directions, BATCH, HIDDEN_SIZE)
    h0 = torch.randn(h0_shape, generator=g, dtype=dtype) if config.h0 else None
    return x, h0


def _run(model: nn.Module, x: Tensor, h0: Tensor | None, config: Config) -> dict:
    """Forward on fresh leaf copies of the inputs, so each model's input gradients are its own."""
    x = x.detach().clone().requires_grad_()
    h0 = None if h0 is None else h0.detach().clone().requires_grad_()
    model_input: Tensor | PackedSequence = x
    if config.mode == "packed":
        model_input = pack_padded_sequence(
            x, torch.tensor(LENGTHS), batch_first=config.batch_first, enforce_sorted=False
        )
    output, h_n = model(model_input, h0)
    data = output.data if isinstance(output, PackedSequence) else output
    return {"x": x, "h0": h0, "raw_output": output, "output": data, "h_n": h_n}


def _backward(run: dict, upstream: dict[str, Tensor]) -> None:
    """The same upstream gradient for both models: d(loss)/d(output) and d(loss)/d(h_n) are `upstream`."""
    sum((run[name] * grad).sum() for name, grad in upstream.items()).backward()


def _layout(output) -> tuple:
    """A packed output must carry nn.RNN's batch sizes and orderings, not just the same numbers."""
    if not isinstance(output, PackedSequence):
        return (type(output).__name__,)
    fields = (output.batch_sizes, output.sorted_indices, output.unsorted_indices)
    return ("PackedSequence", *(None if f is None else tuple(f.tolist()) for f in fields))


def _max_difference(a: Tensor, b: Tensor) -> float:
    if a.shape != b.shape:
        raise ValueError(f"shape {list(a.shape)}, expected {list(b.shape)}")
    return (a.detach() - b.detach()).abs().max().item() if a.numel() else 0.0


# ---- the command line ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.parity", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--impl",
        action="append",
        metavar="NAME",
        help=f"implementation to check (repeatable); default all: {', '.join(IMPLEMENTATIONS)}",
    )
    parser.add_argument("--dtype", choices=DTYPES, default="float64")
    args = parser.parse_args(argv)
    names = args.impl or list(IMPLEMENTATIONS)
    if unknown := [name for name in names if name not in IMPLEMENTATIONS]:
        parser.error(f"--impl: unknown {', '.join(unknown)}; allowed: {', '.join(IMPLEMENTATIONS)}")
    dtype = DTYPES[args.dtype]
    tolerance = TOLERANCE[dtype]

    start = time.perf_counter()
    header = (
        f"{'implementation':<16}{'variant':<20}{'input':<11}{'configs':>8}{'forward':>10}{'h_n':>10}"
        f"{'gradients':>11}  result"
    )
    print(f"parity with torch.nn.RNN in {args.dtype}, tolerance {tolerance:.0e}\n\n{header}\n{'-' * len(header)}")
    failures, largest, checks = [], (0.0, ""), 0
    for name in names:
        impl_cls = IMPLEMENTATIONS[name]
        for variant, kwargs in impl_cls.variants.items():
            for mode in INPUT_MODES:
                results = [(config, check(impl_cls, kwargs, config, dtype)) for config in grid((mode,))]
                checks += len(results)
                failed = [(config, result) for config, result in results if not result.passed(tolerance)]
                failures += [(name, variant, config, result) for config, result in failed]
                measured = [result for _, result in results if result.error is None]
                worst = [
                    max((getattr(r, field) for r in measured), default=math.nan)
                    for field in ("forward", "h_n", "gradients")
                ]
                for config, result in results:
                    if result.error is None and not result.max_error <= largest[0]:
                        largest = (result.max_error, f"{name} {variant} {config}")
                verdict = "ok" if not failed else f"FAIL {len(failed)}/{len(results)}"
                print(
                    f"{name:<16}{variant:<20}{mode:<11}{len(results):>8}"
                    + "".join(f"{e:>10.1e}" for e in worst[:2])
                    + f"{worst[2]:>11.1e}  {verdict}"
                )

    if failures:
        print(f"\n{len(failures)} failing configurations:")
        for name, variant, config, result in failures[:40]:
            detail = result.error or (
                f"forward {result.forward:.1e}, h_n {result.h_n:.1e}, "
                f"gradients {result.gradients:.1e} ({result.worst_gradient})"
            )
            print(f"  {name} {variant} {config}: {detail}")
        if len(failures) > 40:
            print(f"  ... and {len(failures) - 40} more")
    print(f"\nlargest error: {largest[0]:.2e} ({largest[1]})")
    print(
        f"{checks} checks in {time.perf_counter() - start:.1f} s: "
        + ("all equal to nn.RNN" if not failures else f"{len(failures)} MISMATCHES")
    )
    surface_failures = print_surface(names)
    return 1 if failures or surface_failures else 0


def print_surface(names: list[str]) -> int:
    """The surface audit as a table (item x implementation, every variant); returns the number of failures."""
    start = time.perf_counter()
    unclassified = surface.unclassified()
    outcomes = {
        name: [surface.audit(IMPLEMENTATIONS[name], kwargs) for kwargs in IMPLEMENTATIONS[name].variants.values()]
        for name in names
    }
    width = max(len(item.name) for item in surface.ITEMS) + 2
    header = f"{'nn.RNN surface item':<{width}}" + "".join(f"{name:>15}" for name in names)
    print(
        f"\nnn.RNN's public surface: same (=), documented difference (differs), or FAIL; every variant\n\n"
        f"{header}\n{'-' * len(header)}"
    )
    failures: list[str] = []
    differences: dict[str, set[str]] = {}
    for item in surface.ITEMS:
        cells = []
        for name in names:
            verdicts = [audit[item.name] for audit in outcomes[name]]
            failed = [outcome.detail for outcome in verdicts if outcome.verdict == "FAIL"]
            failures += [f"{item.name} on {name}: {detail}" for detail in failed]
            for outcome in verdicts:
                if outcome.verdict == "differs":
                    differences.setdefault(outcome.detail, set()).add(name)
            cells.append("FAIL" if failed else "differs" if any(o.verdict == "differs" for o in verdicts) else "=")
        print(f"{item.name:<{width}}" + "".join(f"{cell:>15}" for cell in cells))
    if differences:
        print("\ndocumented differences (each checked to be the documented behaviour):")
        for detail, where in differences.items():
            print(f"  [{', '.join(name for name in names if name in where)}] {detail}")
    if unclassified:
        failures.append(f"nn.RNN exposes items the audit does not classify: {unclassified}")
    for failure in failures[:40]:
        print(f"  FAIL {failure}")
    checks = len(surface.ITEMS) * sum(len(audits) for audits in outcomes.values())
    print(
        f"\n{checks} surface checks in {time.perf_counter() - start:.1f} s: "
        + ("no failure" if not failures else f"{len(failures)} FAILURES")
    )
    return len(failures)


if __name__ == "__main__":
    sys.exit(main())
