"""Every input nn.RNN refuses, every implementation refuses: the same exception type, a message naming what was
expected."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.models import IMPLEMENTATIONS

CASES = [(name, variant) for name, cls in IMPLEMENTATIONS.items() for variant in cls.variants]
BATCHED = dict(input_size=3, hidden_size=4, num_layers=2)


def packed(*shape):
    return pack_padded_sequence(torch.randn(*shape), torch.tensor([5, 3, 2]))


# (id, constructor arguments, (input, h0) or None for a constructor-only case, pattern the message must match)
REFUSALS = [
    ("nonlinearity", dict(BATCHED, nonlinearity="sigmoid"), None, r"Unknown nonlinearity 'sigmoid'.*'tanh' or 'relu'"),
    ("num_layers=0", dict(BATCHED, num_layers=0), None, r"num_layers must be greater than zero"),
    (
        "num_layers=1.5",
        dict(BATCHED, num_layers=1.5),
        None,
        r"num_layers should be of type int|cannot be interpreted as an integer",
    ),  # ours | nn.RNN's own
    ("hidden_size=0", dict(BATCHED, hidden_size=0), None, r"hidden_size must be greater than zero"),
    ("input_size=0", dict(BATCHED, input_size=0), None, r"input_size must be greater than zero"),
    ("dropout=1.5", dict(BATCHED, dropout=1.5), None, r"dropout should be a number in range \[0, 1\]"),
    ("dropout=-0.1", dict(BATCHED, dropout=-0.1), None, r"dropout should be a number in range \[0, 1\]"),
    ("input 1-D", BATCHED, lambda: (torch.randn(5), None), r"Expected input to be 2D or 3D, got 1D"),
    ("input 4-D", BATCHED, lambda: (torch.randn(5, 3, 3, 1), None), r"Expected input to be 2D or 3D, got 4D"),
    (
        "feature size",
        BATCHED,
        lambda: (torch.randn(5, 3, 5), None),
        r"input.size\(-1\) must be equal to input_size. Expected 3, got 5",
    ),
    ("unbatched feature size", BATCHED, lambda: (torch.randn(5, 2), None), r"Expected 3, got 2"),
    (
        "h0 batch",
        BATCHED,
        lambda: (torch.randn(5, 3, 3), torch.randn(2, 2, 4)),
        r"Expected hidden size \(2, 3, 4\), got \[2, 2, 4\]",
    ),
    (
        "h0 layers",
        BATCHED,
        lambda: (torch.randn(5, 3, 3), torch.randn(3, 3, 4)),
        r"Expected hidden size \(2, 3, 4\), got \[3, 3, 4\]",
    ),
    (
        "h0 hidden",
        BATCHED,
        lambda: (torch.randn(5, 3, 3), torch.randn(2, 3, 5)),
        r"Expected hidden size \(2, 3, 4\), got \[2, 3, 5\]",
    ),
    (
        "h0 directions",
        dict(BATCHED, bidirectional=True),
        lambda: (torch.randn(5, 3, 3), torch.randn(2, 3, 4)),
        r"Expected hidden size \(4, 3, 4\), got \[2, 3, 4\]",
    ),
    (
        "unbatched h0 layers",
        BATCHED,
        lambda: (torch.randn(5, 3), torch.randn(3, 4)),
        r"Expected hidden size \(2, 1, 4\), got \[3, 1, 4\]",
    ),
    (
        "unbatched h0 hidden",
        BATCHED,
        lambda: (torch.randn(5, 3), torch.randn(2, 5)),
        r"Expected hidden size \(2, 1, 4\), got \[2, 1, 5\]",
    ),
    (
        "h0 2-D for batched input",
        BATCHED,
        lambda: (torch.randn(5, 3, 3), torch.randn(2, 4)),
        r"For batched 3-D input, hx should also be 3-D but got 2-D",
    ),
    (
        "h0 3-D for unbatched input",
        BATCHED,
        lambda: (torch.randn(5, 3), torch.randn(2, 1, 4)),
        r"For unbatched 2-D input, hx should also be 2-D but got 3-D",
    ),
    (
        "packed h0 batch",
        BATCHED,
        lambda: (packed(5, 3, 3), torch.randn(2, 2, 4)),
        r"Expected hidden size \(2, 3, 4\), got \[2, 2, 4\]",
    ),
    ("packed h0 2-D", BATCHED, lambda: (packed(5, 3, 3), torch.randn(2, 4)), r"hx should be 3-D|\(2, 3, 4\)"),
    ("packed feature size", BATCHED, lambda: (packed(5, 3, 2), None), r"Expected 3, got 2"),
    (
        "dtype",
        BATCHED,
        lambda: (torch.randn(5, 3, 3, dtype=torch.float64), None),
        r"input dtype \(torch.float64\) does not match weight dtype \(torch.float32\)",
    ),
]


def attempt(make_network, arguments, inputs):
    network = make_network(**arguments)
    if inputs is not None:
        network(*inputs())


@pytest.mark.parametrize(("label", "arguments", "inputs", "pattern"), REFUSALS, ids=[r[0] for r in REFUSALS])
@pytest.mark.parametrize(("name", "variant"), CASES)
def test_refused_like_nn_rnn(name, variant, label, arguments, inputs, pattern):
    torch.manual_seed(0)
    with pytest.raises(Exception) as refusal:
        attempt(nn.RNN, arguments, inputs)
    impl_cls = IMPLEMENTATIONS[name]
    torch.manual_seed(0)
    with pytest.raises(refusal.type, match=pattern):
        attempt(lambda **a: impl_cls(**a, **impl_cls.variants[variant]), arguments, inputs)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_good_input_is_accepted(name, variant):
    """The refusals above come from the bad argument, not from a network that refuses everything."""
    impl_cls = IMPLEMENTATIONS[name]
    network = impl_cls(**BATCHED, **impl_cls.variants[variant])
    assert network(torch.randn(5, 3, 3), torch.randn(2, 3, 4))[0].shape == (5, 3, 4)
    assert network(torch.randn(5, 3), torch.randn(2, 4))[1].shape == (2, 4)
    assert network(packed(5, 3, 3), torch.randn(2, 3, 4))[1].shape == (2, 3, 4)
