"""Forward + backward time per batch of every implementation and variant, as a ratio to nn.RNN's.

One training step's RNN work: the forward over a time-major batch, then the backward of a fixed upstream gradient
into output and h_n, so every parameter's gradient is computed (the loss and the optimizer are not the RNN's cost).
The reference is `torch.nn.RNN` itself; `torch` (rnnlab's thin wrapper of it) is timed as a candidate too, so the
table shows how far two runs of the same kernel drift apart on this machine: the noise floor of every ratio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from rnnlab.bench.timing import interleaved, median
from rnnlab.models import IMPLEMENTATIONS

REFERENCE = "nn.RNN"


@dataclass(frozen=True)
class Shape:
    """One benchmark point: sequence length, batch, input and hidden sizes, layers, directions."""

    steps: int
    batch: int
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False

    def __str__(self) -> str:
        bi = " bi" if self.bidirectional else ""
        return f"T{self.steps} B{self.batch} I{self.input_size} H{self.hidden_size} L{self.num_layers}{bi}"


# the speed targets' shape: T=100, batch 64, input 2, hidden 128, one and three layers
TARGET_SHAPES = (Shape(100, 64, 2, 128, 1), Shape(100, 64, 2, 128, 3))
# small to large, not the Cartesian product: each point moves one thing that matters for the loops
FULL_SHAPES = (
    Shape(50, 16, 2, 64, 1),  # small: Python's per-step overhead dominates
    *TARGET_SHAPES,
    Shape(400, 32, 2, 64, 1),  # long and thin: 400 steps of tiny products
    Shape(100, 64, 2, 128, 2, True),  # bidirectional
    Shape(200, 128, 32, 256, 2),  # medium
    Shape(400, 256, 64, 512, 1),  # large: the products dominate
)
QUICK_SHAPES = (Shape(50, 16, 2, 64, 1), Shape(50, 16, 2, 64, 2, True))


def implementations() -> dict[str, tuple[type, dict]]:
    """Every registered implementation and variant, labelled `name` (its default) or `name/variant`."""
    found = {}
    for name, cls in IMPLEMENTATIONS.items():
        for variant, kwargs in cls.variants.items():
            found[name if variant == "default" else f"{name}/{variant}"] = (cls, kwargs)
    return found


def training_step(
    rnn: nn.Module, x: torch.Tensor, grad_output: torch.Tensor, grad_h_n: torch.Tensor
) -> Callable[[], None]:
    """A call that runs rnn's forward and backward on x, as a training step does (gradients set to None first)."""

    def step() -> None:
        rnn.zero_grad(set_to_none=True)
        output, h_n = rnn(x)
        torch.autograd.backward((output, h_n), (grad_output, grad_h_n))

    return step


def time_shape(
    shape: Shape,
    repeats: int,
    device: torch.device = torch.device("cpu"),
    names: list[str] | None = None,
    warmup: int = 1,
    seed: int = 0,
) -> dict:
    """Median seconds per forward+backward of nn.RNN and each implementation (all on the same weights and data),
    and each one's ratio to nn.RNN; `names` picks some of `implementations()` (default: all)."""
    generator = torch.Generator().manual_seed(seed)
    reference = nn.RNN(shape.input_size, shape.hidden_size, shape.num_layers, bidirectional=shape.bidirectional)
    state = reference.state_dict()
    directions = 2 if shape.bidirectional else 1
    x = torch.randn(shape.steps, shape.batch, shape.input_size, generator=generator)
    grad_output = torch.randn(shape.steps, shape.batch, directions * shape.hidden_size, generator=generator)
    grad_h_n = torch.randn(directions * shape.num_layers, shape.batch, shape.hidden_size, generator=generator)
    x, grad_output, grad_h_n = x.to(device), grad_output.to(device), grad_h_n.to(device)

    candidates = {REFERENCE: training_step(reference.to(device), x, grad_output, grad_h_n)}
    for label, (cls, kwargs) in implementations().items():
        if names is not None and label not in names:
            continue
        rnn = cls(shape.input_size, shape.hidden_size, shape.num_layers, bidirectional=shape.bidirectional, **kwargs)
        rnn.load_torch_state_dict(state)
        candidates[label] = training_step(rnn.to(device), x, grad_output, grad_h_n)

    times = interleaved(candidates, repeats, warmup, device)
    reference_median = median(times[REFERENCE])
    return {
        "shape": asdict(shape),
        "label": str(shape),
        "reference": REFERENCE,
        "device": device.type,
        "threads": torch.get_num_threads(),
        "repeats": repeats,
        "results": [
            {
                "impl": label,
                "median_ms": median(seconds) * 1e3,
                "ratio": median(seconds) / reference_median,
                "times_ms": [s * 1e3 for s in seconds],
            }
            for label, seconds in times.items()
        ],
    }


def devices() -> list[torch.device]:
    """CPU always; CUDA as well when this machine has it."""
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
