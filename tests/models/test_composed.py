"""What only the composed wrappers promise: their cells, the reverse direction, dropout's place."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.models import IMPLEMENTATIONS, BidirectionalRNN, StackedRNN, TorchRNN
from rnnlab.models.composed import DirectionPair
from rnnlab.models.single_networks import CELLS as REGISTERED_CELLS

WRAPPERS = [StackedRNN, BidirectionalRNN]
CELLS = list(REGISTERED_CELLS)


def networks(model):
    """The single-direction networks a wrapper runs, layer by layer, forward before reverse."""
    found = []
    for layer in model.layers:
        found += [layer.forward_network, layer.reverse_network] if isinstance(layer, DirectionPair) else [layer]
    return [network for network in found if network is not None]


def randomise(model):
    reference = nn.RNN(
        model.input_size,
        model.hidden_size,
        model.num_layers,
        model.nonlinearity,
        model.bias,
        bidirectional=model.bidirectional,
    ).double()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.uniform_(-0.7, 0.7)
    model.load_torch_state_dict(reference.state_dict())
    return reference


def test_cells_are_the_registered_single_networks():
    assert "torch" in CELLS and "stacked" not in CELLS and "bidirectional" not in CELLS
    assert set(CELLS) == {name for name, cls in IMPLEMENTATIONS.items() if cls not in WRAPPERS}
    for wrapper in WRAPPERS:
        assert wrapper.variants == {f"cell={name}": {"cell": name} for name in CELLS}


def test_a_newly_registered_cell_appears_in_the_variants(monkeypatch):
    class Mine(TorchRNN):
        pass

    monkeypatch.setitem(REGISTERED_CELLS, "mine", Mine)
    assert StackedRNN.variants["cell=mine"] == {"cell": "mine"}
    assert all(isinstance(network, Mine) for network in networks(BidirectionalRNN(3, 4, 2, cell="mine")))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_the_chosen_cell_runs_every_layer_and_direction(wrapper, cell, bidirectional):
    model = wrapper(3, 4, num_layers=3, bidirectional=bidirectional, cell=cell)
    found = networks(model)
    assert len(found) == 3 * (2 if bidirectional else 1)
    assert all(type(network) is IMPLEMENTATIONS[cell] for network in found)
    assert all(network.num_layers == 1 and not network.bidirectional for network in found)
    assert [network.input_size for network in found[:: len(found) // 3]] == [3] + [4 * model.num_directions] * 2


@pytest.mark.parametrize("cell", ["bogus", "stacked", "bidirectional", "Torch"])
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_an_unknown_cell_or_a_wrapper_is_refused_naming_the_allowed_ones(wrapper, cell):
    with pytest.raises(ValueError, match=rf"cell: .*'{cell}'; allowed: {', '.join(CELLS)}$"):
        wrapper(3, 4, cell=cell)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_the_reverse_direction_starts_at_each_sequences_last_real_step(wrapper, cell):
    torch.manual_seed(0)
    model = wrapper(3, 4, num_layers=2, bidirectional=True, cell=cell).double()
    reference = randomise(model)
    lengths = torch.tensor([3, 5, 2])  # the longest sequence is not first
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    output, h_n = model(pack_padded_sequence(x, lengths, enforce_sorted=False))
    output, _ = pad_packed_sequence(output)
    # Layer 0's reverse step at t = length-1 sees nothing but x[length-1] (h0 = 0): the padding never enters.
    first = model.layers[0].reverse_network
    one_step = torch.stack([x[n - 1, b] for b, n in enumerate(lengths)]).unsqueeze(0)
    with model.lent():  # the cells run on their own only while lent the whole's weights
        first_step, _ = first(one_step)
        layer0, _ = model.layers[0].forward_padded(x, torch.zeros(2, 3, 4, dtype=torch.float64), lengths)
    for b, n in enumerate(lengths):
        assert torch.allclose(layer0[n - 1, b, 4:], first_step[0, b], rtol=0, atol=1e-12)
        # each sequence alone, without padding, gives the same outputs and final states
        alone, alone_h_n = reference(x[:n, b])
        assert torch.allclose(output[:n, b], alone, rtol=0, atol=1e-12)
        assert output[n:, b].abs().sum() == 0
        assert torch.allclose(h_n[:, b], alone_h_n, rtol=0, atol=1e-12)
    # the reverse state h_n is the reverse output at step 0 (the top layer's, which is the model's output)
    assert torch.allclose(h_n[3], output[0, :, 4:], rtol=0, atol=1e-12)


def layer_by_layer(reference: nn.RNN, x, dropout, seed):
    """nn.RNN's layers run one at a time, with dropout applied to every layer's output but the last."""
    state = reference.state_dict()
    layers = []
    for layer in range(reference.num_layers):
        single = nn.RNN(
            x.size(-1) if layer == 0 else reference.hidden_size * (1 + reference.bidirectional),
            reference.hidden_size,
            bidirectional=reference.bidirectional,
        ).double()
        single.load_state_dict(
            {name.replace(f"_l{layer}", "_l0"): value for name, value in state.items() if f"_l{layer}" in name}
        )
        layers.append(single)
    torch.manual_seed(seed)  # after building the layers, whose initialisation draws random numbers too
    for layer, single in enumerate(layers):
        x, _ = single(x)
        if layer < len(layers) - 1:
            x = nn.functional.dropout(x, dropout, training=True)
    return x


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_train_mode_dropout_applies_between_layers_only(wrapper, cell, bidirectional):
    torch.manual_seed(0)
    model = wrapper(3, 4, num_layers=3, dropout=0.5, bidirectional=bidirectional, cell=cell).double()
    reference = randomise(model)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    model.train()
    torch.manual_seed(1)
    output, h_n = model(x)
    assert torch.allclose(output, layer_by_layer(reference, x, 0.5, seed=1), rtol=0, atol=1e-12)
    assert not torch.allclose(output, layer_by_layer(reference, x, 0.0, seed=1))  # dropout did act
    assert torch.equal(h_n[-model.num_directions], output[-1, :, :4])  # the last layer's output is not dropped
    # nn.RNN itself draws its masks in the same order on the CPU, so even train mode matches it exactly
    reference.dropout = 0.5
    torch.manual_seed(1)
    assert torch.allclose(output, reference.train()(x)[0], rtol=0, atol=1e-12)
    model.eval()
    assert torch.allclose(model(x)[0], layer_by_layer(reference, x, 0.0, seed=1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_dropout_on_one_layer_does_nothing(wrapper):
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):  # as nn.RNN
        model = wrapper(3, 4, num_layers=1, dropout=0.9, bidirectional=True).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert torch.equal(model.train()(x)[0], model.eval()(x)[0])


def test_bidirectional_false_runs_the_forward_direction_only():
    torch.manual_seed(0)
    model = BidirectionalRNN(3, 4, num_layers=2).double()
    reference = randomise(model)
    assert all(layer.reverse_network is None for layer in model.layers)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    for got, want in zip(model(x), reference(x)):
        assert torch.allclose(got, want, rtol=0, atol=1e-12)
