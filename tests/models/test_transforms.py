"""The tools around nn.RNN on cases the surface audit (fixed length, no lengths) does not reach: variable-length
(packed) batches on the fast path under torch.func — where nn.RNN's own packed kernel fails — and forward-mode AD, frozen parameters with packed input, the bare
BPTT function with any subset of gradients wanted, wrappers lending weights only during a forward, scripted and
traced modules, and the one attribute-write policy."""

import gc
import io
import warnings

import pytest
import torch
import torch.autograd.forward_ad as forward_ad
from torch import nn
from torch.nn.utils import parametrizations
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.models import IMPLEMENTATIONS, BidirectionalRNN, ConcatRNN, MyRNN, StackedRNN
from rnnlab.models.bptt import RNNLayerBPTT

LENGTHS = torch.tensor([3, 5, 1])


def pair(cls=MyRNN, **kwargs):
    torch.manual_seed(0)
    reference = nn.RNN(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    model = cls(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64, **kwargs)
    model.load_torch_state_dict(reference.state_dict())
    return reference, model


def packed_last_states(network, x, h0):
    """h_n of a packed variable-length batch: each sequence's own last state."""
    return network(pack_padded_sequence(x, LENGTHS, enforce_sorted=False), h0)[1]


@pytest.mark.parametrize("cls", [MyRNN, ConcatRNN])
def test_fast_path_jacobians_and_forward_ad_on_variable_lengths(cls):
    reference, model = pair(cls, **MyRNN.variants["fast"])
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    h0 = torch.randn(4, 3, 4, dtype=torch.float64)
    # nn.RNN's packed kernel runs under no torch.func transform: its Jacobian comes from one backward per output
    want = torch.autograd.functional.jacobian(lambda h: packed_last_states(reference, x, h), h0)
    for jacobian in (torch.func.jacrev, torch.func.jacfwd):
        got = jacobian(lambda h: packed_last_states(model, x, h))(h0)
        assert (got - want).abs().max() < 1e-10
    tangent = torch.randn_like(h0)  # forward-mode AD along h0 (torch cannot pack a dual tensor)
    tangents = []
    for network in (model, reference):
        with forward_ad.dual_level():
            packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
            output, h_n = network(packed, forward_ad.make_dual(h0, tangent))
            tangents.append((forward_ad.unpack_dual(output.data).tangent, forward_ad.unpack_dual(h_n).tangent))
    assert all((a - b).abs().max() < 1e-10 for a, b in zip(*tangents))


@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
def test_frozen_network_gives_input_and_h0_gradients_on_packed_input(name):
    cls = IMPLEMENTATIONS[name]
    for variant in cls.variants.values():
        reference, model = pair(cls, **variant)
        grads = []
        for network in (reference, model):
            network.requires_grad_(False)
            x = torch.randn(5, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
            x.requires_grad_()
            h0 = torch.zeros(4, 3, 4, dtype=torch.float64, requires_grad=True)
            output, h_n = network(pack_padded_sequence(x, LENGTHS, enforce_sorted=False), h0)
            ((output.data**2).sum() + h_n.sum()).backward()
            grads.append((x.grad, h0.grad))
        assert (grads[0][0] - grads[1][0]).abs().max() < 1e-10
        assert (grads[0][1] - grads[1][1]).abs().max() < 1e-10


@pytest.mark.parametrize("wanted", [(0,), (1,), (3,), (4,), (5,), (4, 5), (0, 1, 2, 3)])
def test_bptt_function_forms_exactly_the_gradients_wanted(wanted):
    """Any subset of (x, h0, W_ih, W_hh, b_ih, b_hh) wanted: those equal autograd's, the others are None."""
    generator = torch.Generator().manual_seed(2)
    shapes = [(4, 2, 3), (2, 5), (5, 3), (5, 5), (5,), (5,)]
    inputs = [torch.randn(s, dtype=torch.float64, generator=generator) for s in shapes]
    for i in wanted:
        inputs[i].requires_grad_()
    output, h_n = RNNLayerBPTT.apply(*inputs, None, "tanh")
    got = torch.autograd.grad((output**2).sum() + h_n.sum(), [inputs[i] for i in wanted])
    w_ih, w_hh, b = inputs[2], inputs[3], inputs[4] + inputs[5]
    h, outputs = inputs[1], []
    for x_t in inputs[0]:
        h = torch.tanh(x_t @ w_ih.T + h @ w_hh.T + b)
        outputs.append(h)
    want = torch.autograd.grad((torch.stack(outputs) ** 2).sum() + h.sum(), [inputs[i] for i in wanted])
    for a, b_ in zip(got, want):
        assert (a - b_).abs().max() < 1e-10
    assert all(inputs[i].grad is None for i in range(6))


@pytest.mark.parametrize("cls", [StackedRNN, BidirectionalRNN])
@pytest.mark.parametrize("cell", ["torch", "myrnn", "concat"])
def test_wrappers_own_the_parameters_and_lend_them_only_during_a_forward(cls, cell):
    model = cls(3, 4, num_layers=2, bidirectional=True, cell=cell, dtype=torch.float64)
    own = [name for name, _ in model.named_parameters()]
    expected = model.torch_parameter_names() if cell != "concat" else model.own_parameter_names()
    assert own == expected
    assert all(len(module._parameters) == 0 for module in model.modules() if module is not model)
    assert "forward_network" in repr(model)  # the module tree still shows the composition
    model(torch.randn(5, 2, 3, dtype=torch.float64))
    for _, cell_, key in model.lent_names():
        assert getattr(cell_, key) is None  # nothing kept after the forward (no graph, copies stay copyable)


def test_orthogonal_by_name_on_a_wrapper_reaches_its_layer_and_stays_orthogonal_in_training():
    reference, model = pair(StackedRNN, cell="myrnn")
    for network in (reference, model):
        parametrizations.orthogonal(network, "weight_hh_l1_reverse")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    for _ in range(3):
        optimizer.zero_grad()
        model(x)[0].pow(2).sum().backward()
        optimizer.step()
    weight = model.weight_hh_l1_reverse
    assert (weight @ weight.T - torch.eye(4, dtype=torch.float64)).abs().max() < 1e-10
    assert not torch.allclose(model.weight_hh_l0, model.weight_hh_l1_reverse)


def test_time_major_spectral_norm_uses_one_weight_for_every_step():
    """In training, spectral_norm's power iteration runs at each evaluation; evaluated once per forward, every
    step reads the same W_hh, so the output equals a plain run with that one weight."""
    torch.manual_seed(0)
    model = MyRNN(3, 4, num_layers=2, dtype=torch.float64, loop_order="time")
    parametrizations.spectral_norm(model, "weight_hh_l1")
    seen = []
    model.parametrizations.weight_hh_l1.register_forward_hook(lambda module, args, out: seen.append(out.detach()))
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    output, h_n = model(x)
    assert len(seen) == 1
    plain = MyRNN(3, 4, num_layers=2, dtype=torch.float64)
    plain.load_torch_state_dict({name: getattr(model, name).detach() for name in plain.torch_parameter_names()})
    with torch.no_grad():
        plain.weight_hh_l1.copy_(seen[0])
    want, want_h_n = plain(x)
    assert (output - want).abs().max() < 1e-12 and (h_n - want_h_n).abs().max() < 1e-12


@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
def test_traces_of_every_variant_save_and_run_at_any_length(name):
    cls = IMPLEMENTATIONS[name]
    for variant in cls.variants.values():
        reference, model = pair(cls, **variant)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, (torch.randn(4, 2, 3, dtype=torch.float64),))
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
        buffer.seek(0)
        loaded = torch.jit.load(buffer)
        for steps in (1, 9):
            x = torch.randn(steps, 2, 3, dtype=torch.float64)
            for got, want in zip(loaded(x), reference(x)):
                assert (got - want).abs().max() < 1e-10


@pytest.mark.parametrize("cls", [ConcatRNN, StackedRNN, BidirectionalRNN])
def test_nn_rnn_names_on_concat_layout_are_refused_on_write_and_nothing_changes(cls):
    kwargs = {} if cls is ConcatRNN else {"cell": "concat"}
    model = cls(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64, **kwargs)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for value in (nn.Parameter(torch.zeros(4, 4, dtype=torch.float64)), torch.zeros(4, 4), None):
        with pytest.raises(AttributeError, match=r"has no weight_hh_l1_reverse: it keeps one weight \[W_ih \| W_hh\]"):
            model.weight_hh_l1_reverse = value
    assert [name for name, _ in model.named_parameters()] == list(before)
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())
    with pytest.raises(KeyError, match="weight_l0"):
        model._parameters["weight_ih_l0"]


def test_one_write_policy_for_every_implementation():
    for cls in IMPLEMENTATIONS.values():
        model = cls(3, 4)
        with pytest.raises(AttributeError, match=rf"{cls.__name__}.hidden_size is fixed at construction \(4\)"):
            model.hidden_size = 5
        with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
            model.nonlinearity = "gelu"
        with pytest.raises(ValueError, match=r"mode must be one of \['RNN_RELU', 'RNN_TANH'\]"):
            model.mode = "LSTM"
        with pytest.raises(TypeError, match="batch_first should be of type bool"):
            model.batch_first = 1
        model.mode = "RNN_RELU"
        assert (model.nonlinearity, model.mode) == ("relu", "RNN_RELU")


@pytest.mark.parametrize(
    ("cls", "variant"), [(MyRNN, MyRNN.variants["fast"]), (ConcatRNN, MyRNN.variants["fast"]), (StackedRNN, {})]
)
def test_backward_through_an_exported_module(cls, variant):
    reference, model = pair(cls, **variant)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    exported = torch.export.export(model, (x,)).module()
    grads = []
    for network in (exported, reference):
        leaf = x.clone().requires_grad_()
        output, h_n = network(leaf)
        ((output**2).sum() + h_n.sum()).backward()
        grads.append(leaf.grad)
    assert (grads[0] - grads[1]).abs().max() < 1e-10


class Holding(nn.Module):
    """A user's model building its network inside, as scripted inline: `torch.jit.script(Holding())`."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.rnn = MyRNN(3, 4, dtype=torch.float64, backward="manual")

    def forward(self, x):
        output, h_n = self.rnn(x)
        return output


def test_a_scripted_module_runs_after_the_module_it_was_scripted_from_is_dropped():
    scripted = torch.jit.script(Holding())
    gc.collect()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert (scripted(x) - Holding()(x)).abs().max() < 1e-12
