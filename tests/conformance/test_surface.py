"""nn.RNN's whole public surface on every implementation and variant (`rnnlab.conformance.surface`).

The enumeration is read from the installed torch, so a torch that adds a constructor keyword, an attribute or a
method to nn.RNN fails `test_every_item_nn_rnn_exposes_is_classified` until the audit checks it. Every documented
difference is listed here, where it is expected, so that a difference appearing or vanishing anywhere else fails.
"""

import pytest
import torch
from torch import nn

from rnnlab.conformance import surface
from rnnlab.models import IMPLEMENTATIONS, MyRNN, StackedRNN, TorchRNN

CASES = [(name, variant) for name, cls in IMPLEMENTATIONS.items() for variant in cls.variants]


def expected_difference(item: str, name: str, variant: str) -> bool:
    """Where the README's drop-in paragraph says an implementation differs from nn.RNN, and nowhere else."""
    concat_layout = name == "concat" or variant == "cell=concat"
    if item in surface.CONCAT_LAYOUT_ITEMS:
        return concat_layout
    if item.startswith("write: "):
        return item.removeprefix("write: ") in surface.STRUCTURAL  # refused on all five, nn.RNN included
    if item.startswith("accepts: "):
        return name != "torch"  # computes where nn.RNN's own forward fails
    if item in surface.CONCAT_LAYOUT_ITEMS:
        return concat_layout
    if item in surface.BEYOND_NN_RNN_ITEMS:
        return name != "torch"  # computes where nn.RNN's own kernel fails
    return False


def test_every_item_nn_rnn_exposes_is_classified():
    assert surface.unclassified() == {}
    surface_now = surface.torch_surface()
    assert {"device", "dtype", "dropout"} <= surface_now["constructor"]
    assert {"flatten_parameters", "all_weights"} <= surface_now["method"]


def test_a_new_torch_attribute_would_fail_the_audit(monkeypatch):
    """The enumeration is live: an attribute nn.RNN gains shows up as unclassified."""
    monkeypatch.setattr(nn.RNN, "future_method", lambda self: None, raising=False)
    assert surface.unclassified() == {"method": {"future_method"}}


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_every_item_on_every_implementation(name, variant):
    impl_cls = IMPLEMENTATIONS[name]
    outcomes = surface.audit(impl_cls, impl_cls.variants[variant])
    failed = {item: outcome.detail for item, outcome in outcomes.items() if outcome.verdict == "FAIL"}
    assert not failed
    differing = {item for item, outcome in outcomes.items() if outcome.verdict == "differs"}
    assert differing == {item.name for item in surface.ITEMS if expected_difference(item.name, name, variant)}


class SilentlyStale(TorchRNN):
    """Broken on purpose: a wrapper that keeps a private copy of batch_first, as the old `torch` wrapper did."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inner = nn.RNN(*args, **kwargs)

    def forward(self, input, hx=None):
        return self.inner(input, hx)

    def load_torch_state_dict(self, state_dict):
        self.inner.load_state_dict(state_dict)


def test_a_silently_ignored_attribute_is_a_failure():
    outcome = surface.audit_item(next(i for i in surface.ITEMS if i.name == "write: batch_first"), SilentlyStale, {})
    assert outcome.verdict == "FAIL" and "output" in outcome.detail


def test_structural_attributes_are_refused_by_name_and_others_take_effect():
    model = StackedRNN(3, 4, num_layers=2, cell="myrnn")
    with pytest.raises(AttributeError, match=r"StackedRNN.num_layers is fixed at construction \(2\)"):
        model.num_layers = 3
    with pytest.raises(AttributeError, match=r"StackedRNN.cell is fixed at construction"):
        model.cell = "torch"
    model.nonlinearity = "relu"
    assert all(cell.nonlinearity == "relu" for _, _, cell in model.cells())
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        model.nonlinearity = "gelu"
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        model.dropout = 2
    fast = MyRNN(3, 4, backward="manual")
    with pytest.raises(ValueError, match="needs loop_order='layer'"):
        fast.loop_order = "time"


def test_torch_is_nn_rnn_and_loads_its_state_dict_strictly():
    reference = nn.RNN(3, 4, num_layers=2, bidirectional=True)
    model = TorchRNN(3, 4, num_layers=2, bidirectional=True)
    assert isinstance(model, nn.RNN)
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(5, 2, 3)
    assert all(torch.equal(a, b) for a, b in zip(model(x), reference(x)))
    model.nonlinearity = "relu"  # nn.RNN would keep computing tanh (its forward reads `mode`)
    assert model.mode == "RNN_RELU"
