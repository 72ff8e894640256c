"""The tools researchers use around nn.RNN, tried on an implementation as on nn.RNN: rows of the surface audit.

torch.func (the state-to-state Jacobian dh_T/dh_0, per-sample gradients...), forward-mode AD, frozen parameters,
parametrizations, pruning, weight norm and spectral norm, weight dropout, functional_call, TorchScript, a user's
load_state_dict pre-hook, `_flat_weights`, and the layout consequences of concat. Each check builds nn.RNN and the
implementation with the same weights (float64, 2 layers, bidirectional, so a name like `weight_hh_l1_reverse` must
reach the layer and direction it names) and returns None when both behave alike, the text of a documented
difference after checking that the difference is exactly that, or raises.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import torch
import torch.autograd.forward_ad as forward_ad
from torch import Tensor, nn
from torch.nn.utils import parametrizations, prune

from rnnlab.conformance.items import (
    BASE,
    BATCH,
    HIDDEN,
    STEPS,
    Item,
    assert_same_function,
    given,
    outcome_of,
    pair,
    reference_input,
)
from rnnlab.models import concat

#: A parameter past the first layer and direction: acting on it by name must reach exactly that layer.
NAME = "weight_hh_l1_reverse"
LAYOUT = "one weight [W_ih | W_hh]"  # the phrase of concat's explaining AttributeError
STATES = 4  # num_layers * directions in the audit's configuration


def _close(what: str, got: Tensor | None, want: Tensor | None, atol: float = 1e-10) -> None:
    got, want = given(what, got), given(f"nn.RNN's {what}", want)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {list(got.shape)}, nn.RNN's {list(want.shape)}")
    error = (got - want).abs().max().item()
    if not error <= atol:
        raise AssertionError(f"{what} differs from nn.RNN's by {error:.1e}")


def _h0() -> Tensor:
    generator = torch.Generator().manual_seed(3)
    return torch.randn(STATES, BATCH, HIDDEN, generator=generator, dtype=torch.float64)


def _concat_refusal(action: Callable, what: str) -> str:
    """On concat's layout, acting on nn.RNN's name must raise the error explaining the layout (parametrize's own
    ValueError, which names the missing parameter, where torch checks before reading it)."""
    type_, message = outcome_of(action)
    explained = LAYOUT in message or (type_ is ValueError and what == "parametrize" and NAME in message)
    if type_ is None or not explained:
        raise AssertionError(f"{what}: {type_ and type_.__name__} {message!r}; expected concat's explaining error")
    return f"concat: {what} by nn.RNN's name refused ({type_.__name__}) naming it / explaining the layout"


# ---- writing a parameter, freezing parameters -------------------------------------------------------------------


def _assign_parameter(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    before = model(reference_input(reference))[0].detach()
    new = torch.randn_like(getattr(reference, NAME))
    setattr(reference, NAME, nn.Parameter(new.clone()))
    if not model.torch_layout:
        difference = _concat_refusal(lambda: setattr(model, NAME, nn.Parameter(new.clone())), "assigning a parameter")
        _close("output after the refused assignment", model(reference_input(reference))[0], before, 0.0)
        return difference
    setattr(model, NAME, nn.Parameter(new.clone()))
    assert_same_function(reference, model)
    if not any(p is getattr(model, NAME) for p in model.parameters()):
        raise AssertionError(f"the assigned {NAME} is not among the parameters")
    return None


def _frozen(biases_only: bool):
    """requires_grad_(False) on every parameter (saliency, adversarial inputs) or on the biases only."""

    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs)
        grads = []
        for network in (reference, model):
            for name, parameter in network.named_parameters():
                if not biases_only or name.startswith("bias"):
                    parameter.requires_grad_(False)
            x, h0 = reference_input(reference).requires_grad_(), _h0().requires_grad_()
            output, h_n = network(x, h0)
            ((output**2).sum() + h_n.sum()).backward()
            grads.append((x.grad, h0.grad))
        (want_x, want_h0), (got_x, got_h0) = grads
        _close("dL/dx", got_x, want_x)
        _close("dL/dh0", got_h0, want_h0)
        if biases_only:
            for name, grad in model.torch_grad_dict().items():
                if name.startswith("weight"):
                    _close(f"dL/d{name}", grad, getattr(reference, name).grad)
        return None

    return check


# ---- torch.func and forward-mode AD -----------------------------------------------------------------------------


def _same_transform(transform: Callable[[nn.Module, Tensor], Tensor | tuple]):
    """`transform(network, x)` gives the same tensors on both."""

    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs)
        x = reference_input(reference)
        want, got = transform(reference, x), transform(model, x)
        want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
        for i, (a, b) in enumerate(zip(got, want)):
            _close(f"result {i}", a, b)
        return None

    return check


def _grad(network, x):
    return torch.func.grad(lambda x: (network(x)[0] ** 2).sum())(x)


def _jacrev(network, x):
    return torch.func.jacrev(lambda h0: network(x, h0)[1])(_h0())  # dh_T/dh_0


def _jacfwd(network, x):
    return torch.func.jacfwd(lambda h0: network(x, h0)[1])(_h0())


def _jvp(network, x):
    return torch.func.jvp(lambda x: network(x)[0], (x,), (torch.ones_like(x),))


def _hessian(network, x):
    """The Hessian along a plane of initial states h0 = c0 A + c1 B (2 x 2: the transform's machinery, cheaply)."""
    planes = torch.stack([_h0(), _h0().flip(-1)])
    return torch.func.hessian(lambda c: (network(x, torch.tensordot(c, planes, 1))[1] ** 3).sum())(
        torch.tensor([0.7, -0.4], dtype=torch.float64)
    )


def _forward_mode(network, x):
    with forward_ad.dual_level():
        dual = forward_ad.make_dual(x, torch.ones_like(x))
        output, h_n = network(dual)
        return forward_ad.unpack_dual(output).tangent, forward_ad.unpack_dual(h_n).tangent


def _per_sample_gradients(impl_cls, kwargs):
    """vmap of grad over the batch, through functional_call; compared with one backward per sample on nn.RNN (whose
    own fused kernel has no vmap rule: there the implementation does what nn.RNN cannot)."""
    reference, model = pair(impl_cls, kwargs)
    x = reference_input(reference)

    def per_sample(network):
        params = {name: p.detach() for name, p in network.named_parameters()}

        def loss(params, sample):
            output, h_n = torch.func.functional_call(network, params, (sample.unsqueeze(1),))
            return (output**2).sum() + h_n.sum()

        return torch.func.vmap(torch.func.grad(loss), in_dims=(None, 1))(params, x)

    want_type, want_message = outcome_of(lambda: per_sample(reference))
    got = per_sample(model) if want_type is None or not isinstance(model, nn.RNN) else None
    if got is None:  # nn.RNN itself: it must fail exactly as nn.RNN does
        got_type, message = outcome_of(lambda: per_sample(model))
        if got_type is not want_type:
            raise AssertionError(f"{got_type and got_type.__name__}: {message}; nn.RNN raises {want_message}")
        return None
    for sample in range(BATCH):
        reference.zero_grad()
        output, h_n = reference(x[:, sample : sample + 1])
        ((output**2).sum() + h_n.sum()).backward()
        grads = {name: g[sample] for name, g in got.items()}
        if not model.torch_layout:
            grads = concat.in_torch_layout(model, grads, zero_hh=False)
        for name, parameter in reference.named_parameters():
            _close(f"sample {sample}: d/d{name}", grads[name], parameter.grad)
    return None if want_type is None else "vmap of grad: nn.RNN's fused kernel has no vmap rule; this one computes"


# ---- acting on a parameter by nn.RNN's name --------------------------------------------------------------------


def _by_name(apply: Callable[[nn.Module], object], what: str, mode: str = "train", seed: bool = False):
    """`apply(network)` acts on NAME on both (seeded alike where it draws); then the same function, in `mode`."""

    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy utilities' deprecation warnings
            torch.manual_seed(4)
            apply(reference)
            if not model.torch_layout:
                before = model(reference_input(reference))[0].detach()
                difference = _concat_refusal(lambda: apply(model), what)
                _close("output after the refusal", model(reference_input(reference))[0], before, 0.0)
                return difference
            torch.manual_seed(4)
            apply(model)
            reference.train(mode == "train"), model.train(mode == "train")
            torch.manual_seed(5)
            want = reference(reference_input(reference))
            torch.manual_seed(5)
            got = model(reference_input(reference))
        _close("output", got[0], want[0])
        _close("h_n", got[1], want[1])
        if mode == "train":  # and the gradient reaches what now holds the weight
            (got[0].sum() + got[1].sum()).backward()
            (want[0].sum() + want[1].sum()).backward()
            want_grads = {name: p.grad for name, p in reference.named_parameters()}
            for name, parameter in model.named_parameters():
                if name in want_grads:
                    _close(f"dL/d{name}", parameter.grad, want_grads[name])
        return None

    return check


def _weight_dropout(network: nn.Module) -> None:
    """AWD-LSTM's weight drop (Merity et al.): the raw weight becomes `{NAME}_raw`; before each forward the
    dropped-out weight is set under NAME as a plain tensor."""
    raw = getattr(network, NAME)
    del network._parameters[NAME]
    network.register_parameter(NAME + "_raw", nn.Parameter(raw.detach().clone()))

    def drop(module, args):
        setattr(module, NAME, nn.functional.dropout(getattr(module, NAME + "_raw"), 0.5, training=module.training))

    network.register_forward_pre_hook(drop)


def _functional_call(impl_cls, kwargs):
    """functional_call with the model's own state dict, then with nn.RNN's name replaced by another tensor."""
    reference, model = pair(impl_cls, kwargs)
    x = reference_input(reference)
    want = reference(x)
    got = torch.func.functional_call(model, model.state_dict(), (x,))
    _close("output (own state dict)", got[0], want[0])
    doubled = {NAME: 2 * getattr(reference, NAME).detach()}
    if not model.torch_layout:
        return _concat_refusal(lambda: torch.func.functional_call(model, doubled, (x,)), "functional_call")
    want = torch.func.functional_call(reference, doubled, (x,))
    got = torch.func.functional_call(model, doubled, (x,))
    _close("output (weight replaced by name)", got[0], want[0])
    _close("h_n (weight replaced by name)", got[1], want[1])
    return None


class _Counting(nn.Module):
    """An identity parametrization that counts its evaluations."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, weight):
        self.calls += 1
        return weight


def _evaluated_once(impl_cls, kwargs):
    """A parametrized weight is evaluated a fixed number of times per forward, whatever the length: once here;
    nn.RNN's own count for `torch`."""
    reference, model = pair(impl_cls, kwargs)
    counts = {}
    name = NAME if model.torch_layout else "weight_l1_reverse"
    for network, parameter in ((reference, NAME), (model, name)):
        counter = _Counting()
        torch.nn.utils.parametrize.register_parametrization(network, parameter, counter)
        for steps in (STEPS, 2 * STEPS):
            counter.calls = 0
            network(torch.zeros(steps, BATCH, network.input_size, dtype=torch.float64))
            counts[network, steps] = counter.calls
    want = counts[reference, STEPS]
    got = (counts[model, STEPS], counts[model, 2 * STEPS])
    if isinstance(model, nn.RNN):
        return None if got == (want, want) else f"{got}"
    if got != (1, 1):
        raise AssertionError(f"evaluated {got[0]} times at {STEPS} steps, {got[1]} at {2 * STEPS}; expected once")
    return None


# ---- TorchScript --------------------------------------------------------------------------------------------------


class _Holder(nn.Module):
    """A user's model holding the network, as TorchScript sees it."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        output, h_n = self.rnn(x)
        return output, h_n


def _script(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    scripted = torch.jit.script(_Holder(model))
    x = reference_input(reference)
    for got, want, what in zip(scripted(x), reference(x), ("output", "h_n")):
        _close(what, got, want)
    return None


def _trace(impl_cls, kwargs):
    """Traced at one length, saved, loaded and run at another, as nn.RNN's trace is."""
    reference, model = pair(impl_cls, kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings on shape arithmetic, as for nn.RNN
        traced = torch.jit.trace(_Holder(model), (reference_input(reference),))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    longer = torch.randn(2 * STEPS + 1, BATCH, reference.input_size, dtype=torch.float64)
    for got, want, what in zip(loaded(longer), reference(longer), ("output", "h_n")):
        _close(what + f" at {2 * STEPS + 1} steps", got, want)
    return None


# ---- state dicts, _flat_weights ---------------------------------------------------------------------------------


def _user_pre_hook(impl_cls, kwargs):
    """A user's load_state_dict pre-hook migrating old keys (`old.weight_hh_l0`) sees them as given."""
    reference, model = pair(impl_cls, kwargs)
    target = impl_cls(**BASE, **kwargs)
    seen = []

    def migrate(module, state_dict, prefix, *_):
        seen.extend(state_dict)
        for key in [key for key in state_dict if key.startswith(prefix + "old.")]:
            state_dict[prefix + key[len(prefix) + 4 :]] = state_dict.pop(key)

    target.register_load_state_dict_pre_hook(migrate)
    old = {f"old.{name}": value for name, value in reference.state_dict().items()}
    target.load_state_dict(old, strict=True)
    if seen != list(old):
        raise AssertionError(f"the user's hook saw {seen}, was given {list(old)}")
    assert_same_function(reference, target)
    return None


def _flat_weights(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    if not model.torch_layout:
        for attribute in ("_flat_weights", "_flat_weights_names"):
            _concat_refusal(lambda a=attribute: getattr(model, a), attribute)
        return "concat: _flat_weights and _flat_weights_names raise the AttributeError explaining the layout"
    if model._flat_weights_names != reference._flat_weights_names:
        raise AssertionError(f"names {model._flat_weights_names}, nn.RNN's {reference._flat_weights_names}")
    for name, got, want in zip(reference._flat_weights_names, model._flat_weights, reference._flat_weights):
        if got is None or want is None or got is not getattr(model, name) or not torch.equal(got, want):
            raise AssertionError(f"_flat_weights' {name} is not the parameter, or differs from nn.RNN's")
    return None


# ---- concat's layout consequences, each exactly what the documentation says ----------------------------------


def _parameter_count(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    want = (len(list(reference.parameters())), sum(p.numel() for p in reference.parameters()))
    got = (len(list(model.parameters())), sum(p.numel() for p in model.parameters()))
    if model.torch_layout:
        if got != want:
            raise AssertionError(f"{got} (tensors, numbers), nn.RNN's {want}")
        return None
    pairs = reference.num_layers * (2 if reference.bidirectional else 1)
    if got != (pairs * 2, want[1] - pairs * HIDDEN):
        raise AssertionError(f"{got} (tensors, numbers); expected {(pairs * 2, want[1] - pairs * HIDDEN)}")
    return (
        f"concat: {got[0]} tensors, {got[1]} numbers (nn.RNN: {want[0]}, {want[1]}): one bias per layer and direction"
    )


def _clip_grad_norm(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    norms = []
    for network in (reference, model):
        output, h_n = network(reference_input(reference))
        ((output**2).sum() + h_n.sum()).backward()
        norms.append(nn.utils.clip_grad_norm_(network.parameters(), max_norm=1e9).item())
    want, got = norms
    if model.torch_layout:
        _close("total norm", torch.tensor(got), torch.tensor(want))
        return None
    # the layout's own: dL/db counted once where nn.RNN counts dL/db_ih and dL/db_hh (equal) separately
    bias_sq = sum(
        given(name, p.grad).pow(2).sum().item() for name, p in model.named_parameters() if name.startswith("bias")
    )
    _close("total norm", torch.tensor(got**2 + bias_sq), torch.tensor(want**2), 1e-8)
    return "concat: clip_grad_norm_'s total counts dL/db once (nn.RNN: dL/db_ih and dL/db_hh, equal, both)"


def _name_based_init(impl_cls, kwargs):
    """The common loop `for name, p in named_parameters(): if "weight_hh" in name: orthogonal_(p)`."""
    reference, model = pair(impl_cls, kwargs)
    for network in (reference, model):
        torch.manual_seed(6)
        for name, parameter in network.named_parameters():
            if "weight_hh" in name:
                nn.init.orthogonal_(parameter)
    if model.torch_layout:
        assert_same_function(reference, model)
        return None
    untouched = pair(impl_cls, kwargs)[1]
    if not all(torch.equal(a, b) for a, b in zip(model.parameters(), untouched.parameters())):
        raise AssertionError("a name-based loop for weight_hh changed a concat parameter")
    return "concat: a loop over named_parameters() matching 'weight_hh' matches nothing (weight_l{k} is [W_ih | W_hh])"


# ---- the rows ---------------------------------------------------------------------------------------------------

ITEMS: list[Item] = [
    Item(f"write: {NAME} = nn.Parameter(...)", "write", _assign_parameter),
    Item("autograd: frozen parameters, dL/dx and dL/dh0", "autograd", _frozen(biases_only=False)),
    Item("autograd: frozen biases", "autograd", _frozen(biases_only=True)),
    Item("torch.func: grad (input)", "torch.func", _same_transform(_grad)),
    Item("torch.func: jacrev dh_T/dh_0", "torch.func", _same_transform(_jacrev)),
    Item("torch.func: jacfwd dh_T/dh_0", "torch.func", _same_transform(_jacfwd)),
    Item("torch.func: jvp", "torch.func", _same_transform(_jvp)),
    Item("torch.func: hessian (h0)", "torch.func", _same_transform(_hessian)),
    Item("torch.func: per-sample gradients (vmap of grad)", "torch.func", _per_sample_gradients),
    Item("autograd: forward-mode AD (dual numbers)", "autograd", _same_transform(_forward_mode)),
    Item(
        f"by name: parametrizations.orthogonal({NAME})",
        "by name",
        _by_name(lambda n: parametrizations.orthogonal(n, NAME), "parametrize"),
    ),
    Item(
        f"by name: parametrizations.weight_norm({NAME})",
        "by name",
        _by_name(lambda n: parametrizations.weight_norm(n, NAME), "parametrize"),
    ),
    Item(
        f"by name: parametrizations.spectral_norm({NAME}), eval",
        "by name",
        _by_name(lambda n: parametrizations.spectral_norm(n, NAME), "parametrize", mode="eval"),
    ),
    Item("by name: a parametrization evaluated once per forward", "by name", _evaluated_once),
    Item(
        f"by name: prune.l1_unstructured({NAME})",
        "by name",
        _by_name(lambda n: prune.l1_unstructured(n, NAME, amount=0.3), "prune"),
    ),
    Item(
        f"by name: legacy weight_norm({NAME})",
        "by name",
        _by_name(lambda n: nn.utils.weight_norm(n, NAME), "weight_norm"),
    ),
    Item(
        f"by name: legacy spectral_norm({NAME}), eval",
        "by name",
        _by_name(lambda n: nn.utils.spectral_norm(n, NAME), "spectral_norm", mode="eval"),
    ),
    Item(f"by name: weight dropout (AWD) on {NAME}", "by name", _by_name(_weight_dropout, "weight dropout")),
    Item("by name: functional_call (state_dict, then one weight by name)", "by name", _functional_call),
    Item("TorchScript: script a module holding it", "TorchScript", _script),
    Item("TorchScript: trace, jit.save/load, run at another length", "TorchScript", _trace),
    Item("state_dict: a user's load pre-hook sees the keys as given", "state_dict", _user_pre_hook),
    Item("private: _flat_weights, _flat_weights_names", "private", _flat_weights),
    Item("layout: parameter tensors and numbers", "layout", _parameter_count),
    Item("layout: clip_grad_norm_ total", "layout", _clip_grad_norm),
    Item("layout: name-based init loop (weight_hh)", "layout", _name_based_init),
]

#: Where concat's layout (and a wrapper of concat cells) differs, documented in docs/models.md "What differs".
CONCAT_LAYOUT_ITEMS = {item.name for item in ITEMS} - {
    "autograd: frozen parameters, dL/dx and dL/dh0",
    "autograd: frozen biases",
    "torch.func: grad (input)",
    "torch.func: jacrev dh_T/dh_0",
    "torch.func: jacfwd dh_T/dh_0",
    "torch.func: jvp",
    "torch.func: hessian (h0)",
    "torch.func: per-sample gradients (vmap of grad)",
    "autograd: forward-mode AD (dual numbers)",
    "by name: a parametrization evaluated once per forward",
    "TorchScript: script a module holding it",
    "TorchScript: trace, jit.save/load, run at another length",
    "state_dict: a user's load pre-hook sees the keys as given",
}
#: Where every implementation but `torch` does what nn.RNN itself cannot.
BEYOND_NN_RNN_ITEMS = {"torch.func: per-sample gradients (vmap of grad)"}
