"""nn.RNN's whole public surface, enumerated from torch itself, and how an implementation honours each item.

`torch_surface()` lists what nn.RNN exposes (constructor keywords, public attributes, public methods beyond
nn.Module's); `ITEMS` says, for every one of them and for the behaviours that cannot be enumerated (state dict,
warnings, errors, dtype moves, copies, second derivatives), how it is checked. A torch that adds something to nn.RNN
makes `unclassified()` non-empty, and the test that asserts it empty fails until someone classifies the new item.

Each check builds nn.RNN and the implementation with the same arguments and weights and compares; it returns None
when the implementation behaves as nn.RNN does, or the text of a documented difference after checking that the
difference is the documented one (a clear refusal, never a silent other result); an exception is a failure.
`python -m rnnlab.parity` prints the audit as its second table.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import typing
import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from rnnlab.conformance import tools
from rnnlab.conformance.items import (
    BASE,
    BATCH,
    HIDDEN,
    INPUT,
    STEPS,
    Item,
    Outcome,
    assert_same_function,
    given,
    outcome_of,
    pair,
    reference_input,
)
from rnnlab.models import naming

#: nn.Module-level names nn.RNN adds that are TorchScript metadata, not behaviour
TORCHSCRIPT_METADATA = {"__constants__", "__jit_unused_properties__"}
#: Attributes whose new value takes effect at the next forward; the structural ones are refused once built.
WRITABLE: dict[str, object] = {
    "dropout": 0.5,
    "batch_first": True,
    "nonlinearity": "relu",
    "mode": "RNN_RELU",
    "training": False,
}
STRUCTURAL: dict[str, object] = {
    "input_size": 5,
    "hidden_size": 6,
    "num_layers": 3,
    "bias": False,
    "bidirectional": False,
    "proj_size": 1,
}
#: A value other than the default for each constructor keyword (device and dtype are checked on the parameters).
NON_DEFAULT = {
    "input_size": 5,
    "hidden_size": 6,
    "num_layers": 3,
    "nonlinearity": "relu",
    "bias": False,
    "batch_first": True,
    "dropout": 0.25,
    "bidirectional": True,
}


# ---- what nn.RNN exposes, read from torch ----------------------------------------------------------------------


def torch_constructor_signature() -> inspect.Signature:
    """nn.RNN's constructor, from its typed overload (its real __init__ is *args, **kwargs)."""
    overloads = [inspect.signature(f) for f in typing.get_overloads(nn.RNN.__init__)]
    return max(overloads, key=lambda signature: len(signature.parameters))


def torch_constructor_keywords() -> list[str]:
    """nn.RNN's constructor parameters, in order."""
    return [name for name in torch_constructor_signature().parameters if name != "self"]


def torch_surface() -> dict[str, set[str]]:
    """nn.RNN's public surface beyond nn.Module's, by section, enumerated from the installed torch (on each call:
    a test may add to nn.RNN)."""
    instance = nn.RNN(2, 3)
    members = set(dir(nn.RNN)) - set(dir(nn.Module))
    return {
        "constructor": set(torch_constructor_keywords()),
        "attribute": {name for name in vars(instance) if not name.startswith("_")} | set(nn.RNN.__constants__),
        "method": {name for name in members if not name.startswith("_")},
        "metadata": {name for name in members if name.startswith("__")},
    }


def unclassified() -> dict[str, set[str]]:
    """Items nn.RNN exposes that `ITEMS` does not check, by section; and items checked that nn.RNN no longer has."""
    known = {
        section: {item.name.split(": ", 1)[1] for item in ITEMS if item.section == section}
        for section in ("constructor", "attribute", "method")
    }
    known["metadata"] = TORCHSCRIPT_METADATA
    surface = torch_surface()
    return {section: (surface[section] ^ known[section]) for section in surface if surface[section] ^ known[section]}


# ---- helpers ---------------------------------------------------------------------------------------------------


def _assert_same_refusal(reference_action: Callable, action: Callable) -> None:
    """Both raise, the same exception type, the implementation's message containing nn.RNN's first clause."""
    want_type, want = outcome_of(reference_action)
    got_type, got = outcome_of(action)
    if got_type is not want_type:
        raise AssertionError(
            f"raised {got_type and got_type.__name__}: {got!r}; nn.RNN raises "
            f"{want_type and want_type.__name__}: {want!r}"
        )
    if want_type is not None and want.split(". ")[0].split(", got")[0] not in got:
        raise AssertionError(f"message {got!r}; nn.RNN's {want!r}")


# ---- checks ----------------------------------------------------------------------------------------------------


def _constructor(keyword: str):
    def check(impl_cls, kwargs):
        if impl_cls.__init__ is not nn.RNN.__init__:
            parameters = [p for p in inspect.signature(impl_cls.__init__).parameters.values() if p.name != "self"]
            names = [p.name for p in parameters]
            torch_names = torch_constructor_keywords()
            if names[: len(torch_names)] != torch_names:
                raise AssertionError(f"positional parameters {names[: len(torch_names)]}, nn.RNN's {torch_names}")
            default = torch_constructor_signature().parameters[keyword].default
            if parameters[names.index(keyword)].default != default:
                raise AssertionError(f"default {parameters[names.index(keyword)].default!r}, nn.RNN's {default!r}")
        if keyword in ("device", "dtype"):
            value = torch.device("meta") if keyword == "device" else torch.float64
            model = impl_cls(INPUT, HIDDEN, 2, bidirectional=True, **{keyword: value}, **kwargs)
            found = {getattr(p, keyword) for p in model.parameters()}
            if found != {value}:
                raise AssertionError(f"parameters' {keyword}: {found}, asked {value}")
            return None
        arguments = {keyword: NON_DEFAULT[keyword]} | ({"num_layers": 2} if keyword == "dropout" else {})
        reference, model = pair(impl_cls, kwargs, **arguments)
        reference.eval(), model.eval()
        _assert_same_attributes(reference, model)
        assert_same_function(reference, model)
        return None

    return check


def _assert_same_attributes(reference, model) -> None:
    for name in sorted({name for name in vars(reference) if not name.startswith("_")} | set(nn.RNN.__constants__)):
        if getattr(model, name) != getattr(reference, name):
            raise AssertionError(f"{name} = {getattr(model, name)!r}, nn.RNN's {getattr(reference, name)!r}")


def _read(attribute: str):
    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs, nonlinearity="relu", bias=False, batch_first=True, dropout=0.25)
        if getattr(model, attribute) != getattr(reference, attribute):
            raise AssertionError(f"reads {getattr(model, attribute)!r}, nn.RNN's {getattr(reference, attribute)!r}")

    return check


def _write(attribute: str):
    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs)
        if attribute in STRUCTURAL:
            setattr(model, attribute, getattr(model, attribute))  # the same value is accepted
            value = STRUCTURAL[attribute]
            type_, message = outcome_of(lambda: setattr(model, attribute, value))
            if type_ is not AttributeError or attribute not in message or "construction" not in message:
                raise AssertionError(
                    f"writing {attribute}={value!r}: {type_ and type_.__name__} {message!r}; "
                    f"expected an AttributeError naming it"
                )
            return (
                "writing a structural attribute after construction is refused (AttributeError naming it); "
                "nn.RNN takes the value and then fails or computes with its old layout"
            )
        value = WRITABLE[attribute]
        if attribute == "training":
            model.train(False)
            if any(module.training for module in model.modules()):
                raise AssertionError("train(False) left a submodule training")
            return None
        setattr(model, attribute, value)
        if getattr(model, attribute) != value:
            raise AssertionError(f"reads {getattr(model, attribute)!r} after writing {value!r}")
        if attribute == "dropout":  # takes effect: train mode now differs from eval, which stays nn.RNN's
            x = reference_input(reference)
            model.train()
            torch.manual_seed(2)
            trained = model(x)[0]
            reference.dropout = model.dropout  # the value just written, read back equal above
            torch.manual_seed(2)
            if not torch.equal(trained, reference.train()(x)[0]) and torch.allclose(trained, model.eval()(x)[0]):
                raise AssertionError("dropout written after construction had no effect")
            model.eval(), reference.eval()
            assert_same_function(reference, model)
            return None
        fresh = nn.RNN(
            **BASE
            | {("nonlinearity" if attribute == "mode" else attribute): ("relu" if attribute == "mode" else value)}
        )
        fresh.load_state_dict(reference.state_dict())
        assert_same_function(fresh, model)  # as an nn.RNN built with the new value
        return None

    return check


def _all_weights(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    got, want = model.all_weights, reference.all_weights
    if not all(isinstance(p, nn.Parameter) for layer in got for p in layer):
        raise AssertionError("all_weights holds something other than parameters")
    own = {id(p) for p in model.parameters()}
    if {id(p) for layer in got for p in layer} != own:
        raise AssertionError("all_weights is not exactly the network's parameters")
    if not model.torch_layout:
        if len(got) != len(want):
            raise AssertionError(f"{len(got)} layers-and-directions, nn.RNN's {len(want)}")
        return "concat: per layer and direction its own [weight_l{k}, bias_l{k}] (nn.RNN's four are two here)"
    shapes = [[tuple(p.shape) for p in layer] for layer in got]
    if shapes != [[tuple(p.shape) for p in layer] for layer in want]:
        raise AssertionError(f"shapes {shapes}")
    if not all(torch.equal(a, b) for layer, ref in zip(got, want) for a, b in zip(layer, ref)):
        raise AssertionError("all_weights values differ from nn.RNN's")
    return None


def _flatten_parameters(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    if model.flatten_parameters() is not None:  # type: ignore[func-returns-value]  # checks the None it declares
        raise AssertionError("flatten_parameters returned something")
    assert_same_function(reference, model)


def _reset_parameters(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    before = [p.detach().clone() for p in model.parameters()]
    model.reset_parameters()
    bound = 1 / HIDDEN**0.5
    for (name, p), old in zip(model.named_parameters(), before):
        if torch.equal(p, old):
            raise AssertionError(f"{name} unchanged by reset_parameters")
        limit = bound if "weight" in name or model.torch_layout else 2 * bound  # concat's b is b_ih + b_hh
        if p.abs().max() > limit:
            raise AssertionError(f"{name} outside nn.RNN's U(-1/sqrt(hidden), 1/sqrt(hidden))")


def _same_method(name: str, *calls: Callable[[nn.RNN], tuple]):
    """The method, called with the same arguments on both, returns the same value or raises the same error."""

    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs)
        for arguments in calls:
            want_type, want = outcome_of(lambda a=arguments: getattr(reference, name)(*a(reference)))
            _assert_same_refusal(
                lambda a=arguments: getattr(reference, name)(*a(reference)),
                lambda a=arguments: getattr(model, name)(*a(reference)),
            )
            if want_type is None:
                got, expected = (
                    getattr(model, name)(*arguments(reference)),
                    getattr(reference, name)(*arguments(reference)),
                )
                same = torch.equal(got, expected) if isinstance(got, Tensor) else got == expected
                if not same:
                    raise AssertionError(f"{name} returned {got!r}, nn.RNN's {expected!r}")

    return check


def _good_input(r):
    return (reference_input(r), None)


def _state_dict_keys(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    keys, want = list(model.state_dict()), list(reference.state_dict())
    if model.torch_layout:
        if keys != want:
            raise AssertionError(f"keys {keys}, nn.RNN's {want}")
        return None
    own = naming.all_weights_names(reference.num_layers, reference.bidirectional, reference.bias, ("weight", "bias"))
    if keys != [name for names in own for name in names]:
        raise AssertionError(f"keys {keys}")
    return "concat layout: keys weight_l{k}[_reverse], bias_l{k}[_reverse] (one weight [W_ih | W_hh], one bias)"


def _load_state_dict(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    fresh = impl_cls(**BASE, **kwargs)
    fresh.load_state_dict(reference.state_dict(), strict=True)
    assert_same_function(reference, fresh)
    again = impl_cls(**BASE, **kwargs)
    again.load_state_dict(fresh.state_dict(), strict=True)  # its own state dict round-trips too
    assert_same_function(reference, again)


def _named_parameters(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    names, want = [name for name, _ in model.named_parameters()], [name for name, _ in reference.named_parameters()]
    if model.torch_named_parameters:
        if names != want:
            raise AssertionError(f"names {names}, nn.RNN's {want}")
        return None
    if len(names) != len(set(names)) or (model.torch_layout and len(names) != len(want)):
        raise AssertionError(f"names {names}")
    return "named_parameters: concat's own names weight_l{k}[_reverse], bias_l{k}[_reverse]"


def _parameter_attributes(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)
    for name, value in reference.named_parameters():
        if model.torch_layout:
            if not torch.equal(getattr(model, name), value):
                raise AssertionError(f"{name} differs from nn.RNN's")
            continue
        type_, message = outcome_of(lambda n=name: getattr(model, n))
        if type_ is not AttributeError or "one weight [W_ih | W_hh]" not in message:
            raise AssertionError(f"{name}: {type_ and type_.__name__} {message!r}; expected concat's explanation")
    return (
        None
        if model.torch_layout
        else "concat: nn.RNN's parameter names raise an AttributeError that explains the layout (one weight, one bias)"
    )


def _parametrize(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs)

    class Doubled(nn.Module):
        def forward(self, weight):
            return 2 * weight

    def register(network):
        parametrize.register_parametrization(network, "weight_hh_l0", Doubled())

    register(reference)
    type_, message = outcome_of(lambda: register(model))
    if model.torch_named_parameters:
        if type_ is not None:
            raise AssertionError(f"{type_.__name__}: {message}")
        assert_same_function(reference, model)
        return None
    if type_ is None or "weight_hh_l0" not in message:
        raise AssertionError(f"expected a refusal naming weight_hh_l0, got {type_}: {message!r}")
    return "concat: parametrize by nn.RNN's name refused by name (parametrize weight_l{k}, [W_ih | W_hh])"


def _refusal(arguments: dict, run: Callable | None = None):
    """nn.RNN and the implementation refuse the same arguments (or input) with the same error."""

    def check(impl_cls, kwargs):
        def attempt(build):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                network = build(**BASE | arguments)
            if run is not None:
                run(network)

        _assert_same_refusal(lambda: attempt(nn.RNN), lambda: attempt(lambda **a: impl_cls(**a, **kwargs)))

    return check


def _dropout_warning(impl_cls, kwargs):
    caught = {}
    for build in (nn.RNN, lambda **a: impl_cls(**a, **kwargs)):
        with warnings.catch_warnings(record=True) as found:
            warnings.simplefilter("always")
            build(**BASE | dict(num_layers=1, dropout=0.5))
        caught[build] = [str(w.message) for w in found if issubclass(w.category, UserWarning)]
    want, got = caught.values()
    if want != got:
        raise AssertionError(f"warnings {got}, nn.RNN's {want}")


def _accepted(arguments: dict):
    """Built as nn.RNN builds it, keeping the value as given. nn.RNN's own forward then refuses the non-bool
    (a TypeError from inside rnn_tanh); an implementation either does the same or computes as nn.RNN would with
    the plain value (a documented difference: it runs where nn.RNN fails)."""

    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs, **arguments)
        _assert_same_attributes(reference, model)
        x = reference_input(reference)
        want_type, _ = outcome_of(lambda: reference(x))
        got_type, _ = outcome_of(lambda: model(x))
        if got_type is want_type:
            return None
        plain = {name: (int if name == "num_layers" else bool)(value) for name, value in arguments.items()}
        assert_same_function(pair(impl_cls, kwargs, **plain)[0], model)
        return f"{arguments}: nn.RNN builds it and its forward then fails inside rnn_tanh; this one computes"

    return check


def _moved(move: Callable[[nn.Module], nn.Module], dtype: torch.dtype, atol: float):
    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs, dtype=torch.float32)
        x = reference_input(reference, dtype)
        moved_reference, moved_model = move(reference), move(model)
        if {p.dtype for p in moved_model.parameters()} != {dtype}:
            raise AssertionError(f"parameters { ({p.dtype for p in moved_model.parameters()}) }, expected {dtype}")
        assert_same_function(moved_reference, moved_model, x, atol)

    return check


def _autocast(impl_cls, kwargs):
    reference, model = pair(impl_cls, kwargs, dtype=torch.float32)
    x = reference_input(reference, torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert_same_function(reference, model, x, atol=0.05)
        model(x)[0].float().sum().backward()
    if {None if p.grad is None else p.grad.dtype for p in model.parameters()} != {torch.float32}:
        raise AssertionError("under autocast, the float32 parameters' gradients are not float32")


def _round_trip(copier: Callable[[nn.Module], nn.Module]):
    def check(impl_cls, kwargs):
        reference, model = pair(impl_cls, kwargs)
        copied = copier(model)
        assert_same_function(reference, copied)
        with torch.no_grad():
            next(copied.parameters()).add_(1.0)  # a copy, not a view of the same parameters
        assert_same_function(reference, model)

    return check


def _second_derivative(impl_cls, kwargs):
    """A gradient penalty: ||dL/dx||^2, built with create_graph=True, then differentiated with respect to every
    parameter (compared in nn.RNN's layout through torch_grad_dict) and h0."""
    reference, model = pair(impl_cls, kwargs)
    x = reference_input(reference)

    def penalty_grads(network):
        network.zero_grad(set_to_none=True)
        x_leaf = x.detach().requires_grad_()
        h0 = torch.zeros(4, BATCH, HIDDEN, dtype=x.dtype, requires_grad=True)
        output, h_n = network(x_leaf, h0)
        (grad,) = torch.autograd.grad((output**2).sum() + h_n.sum(), x_leaf, create_graph=True)
        (grad**2).sum().backward()
        return given(f"{type(network).__name__}'s dL/dh0", h0.grad)

    want_h0 = penalty_grads(reference)
    want = dict(reference.named_parameters())
    got_h0 = penalty_grads(model)
    errors = {"h0": (got_h0 - want_h0).abs().max().item()}
    errors |= {
        name: (given(name, grad) - given(name, want[name].grad)).abs().max().item()
        for name, grad in model.torch_grad_dict().items()
    }
    worst = max(errors, key=lambda name: errors[name])
    if not errors[worst] <= 1e-10:
        raise AssertionError(f"second derivative with respect to {worst} differs by {errors[worst]:.1e}")
    return None


def _zero_length(network):
    network(torch.zeros(0, BATCH, INPUT, dtype=torch.float64))


# ---- the table ---------------------------------------------------------------------------------------------------

ITEMS: list[Item] = (
    [
        Item(f"constructor: {keyword}", "constructor", _constructor(keyword))
        for keyword in (
            "input_size",
            "hidden_size",
            "num_layers",
            "nonlinearity",
            "bias",
            "batch_first",
            "dropout",
            "bidirectional",
            "device",
            "dtype",
        )
    ]
    + [
        Item(f"attribute: {name}", "attribute", _read(name))
        for name in (
            "input_size",
            "hidden_size",
            "num_layers",
            "nonlinearity",
            "bias",
            "batch_first",
            "dropout",
            "bidirectional",
            "proj_size",
            "mode",
            "training",
        )
    ]
    + [Item(f"write: {name}", "write", _write(name)) for name in (*WRITABLE, *STRUCTURAL)]
    + [
        Item("method: all_weights", "method", _all_weights),
        Item("method: flatten_parameters", "method", _flatten_parameters),
        Item("method: reset_parameters", "method", _reset_parameters),
        Item(
            "method: check_input",
            "method",
            _same_method(
                "check_input",
                _good_input,
                lambda r: (reference_input(r)[..., :2], None),
                lambda r: (reference_input(r, torch.float32), None),
            ),
        ),
        Item("method: get_expected_hidden_size", "method", _same_method("get_expected_hidden_size", _good_input)),
        Item(
            "method: check_hidden_size",
            "method",
            _same_method(
                "check_hidden_size",
                lambda r: (torch.zeros(4, BATCH, HIDDEN), (4, BATCH, HIDDEN)),
                lambda r: (torch.zeros(2, BATCH, HIDDEN), (4, BATCH, HIDDEN)),
            ),
        ),
        Item(
            "method: check_forward_args",
            "method",
            _same_method(
                "check_forward_args",
                lambda r: (reference_input(r), torch.zeros(4, BATCH, HIDDEN), None),
                lambda r: (reference_input(r), torch.zeros(4, BATCH + 1, HIDDEN), None),
            ),
        ),
        Item(
            "method: permute_hidden",
            "method",
            _same_method(
                "permute_hidden",
                lambda r: (torch.arange(24.0).view(4, 2, 3), torch.tensor([1, 0])),
                lambda r: (torch.arange(24.0).view(4, 2, 3), None),
            ),
        ),
        Item("state_dict: keys", "state_dict", _state_dict_keys),
        Item("state_dict: load_state_dict(nn.RNN's), strict", "state_dict", _load_state_dict),
        Item("state_dict: named_parameters", "state_dict", _named_parameters),
        Item("state_dict: parameters as attributes by nn.RNN's names", "state_dict", _parameter_attributes),
        Item("state_dict: parametrize by nn.RNN's name", "state_dict", _parametrize),
        Item("warning: dropout > 0 with num_layers=1", "warning", _dropout_warning),
        Item("error: proj_size", "error", _refusal(dict(proj_size=2))),
        Item("error: unknown nonlinearity", "error", _refusal(dict(nonlinearity="sigmoid"))),
        Item("error: dropout outside [0, 1]", "error", _refusal(dict(dropout=1.5))),
        Item("error: bias not a bool", "error", _refusal(dict(bias=1))),
        Item("error: hidden_size 0", "error", _refusal(dict(hidden_size=0))),
        Item("error: zero-length sequence", "error", _refusal({}, _zero_length)),
        Item(
            "error: 4-D input",
            "error",
            _refusal({}, lambda n: n(torch.zeros(STEPS, BATCH, INPUT, 1, dtype=torch.float64))),
        ),
        Item(
            "error: input feature size",
            "error",
            _refusal({}, lambda n: n(torch.zeros(STEPS, BATCH, 2, dtype=torch.float64))),
        ),
        Item(
            "error: h0 shape",
            "error",
            _refusal(
                {},
                lambda n: n(
                    torch.zeros(STEPS, BATCH, INPUT, dtype=torch.float64),
                    torch.zeros(2, BATCH, HIDDEN, dtype=torch.float64),
                ),
            ),
        ),
        Item(
            "error: input dtype is not the weights'",
            "error",
            _refusal({}, lambda n: n(torch.zeros(STEPS, BATCH, INPUT))),
        ),
        Item("accepts: bidirectional=1", "accepts", _accepted(dict(bidirectional=1))),
        Item("accepts: num_layers=True", "accepts", _accepted(dict(num_layers=True))),
        Item("dtype: .double()", "dtype", _moved(lambda m: m.double(), torch.float64, 1e-10)),
        Item("dtype: .to(torch.float64)", "dtype", _moved(lambda m: m.to(torch.float64), torch.float64, 1e-10)),
        Item("dtype: .half() forward", "dtype", _moved(lambda m: m.half(), torch.float16, 1e-2)),
        Item("dtype: bfloat16 forward", "dtype", _moved(lambda m: m.to(torch.bfloat16), torch.bfloat16, 5e-2)),
        Item("dtype: torch.autocast on CPU (bfloat16)", "dtype", _autocast),
        Item("copy: copy.deepcopy", "copy", _round_trip(copy.deepcopy)),
        Item("copy: pickle round-trip", "copy", _round_trip(lambda m: pickle.loads(pickle.dumps(m)))),
        Item("autograd: create_graph=True (second derivative)", "autograd", _second_derivative),
    ]
)


#: Where concat's layout differs (documented in docs/models.md, "What differs"), before the tools' rows.
CONCAT_LAYOUT_ITEMS = {
    "method: all_weights",
    "state_dict: keys",
    "state_dict: named_parameters",
    "state_dict: parameters as attributes by nn.RNN's names",
    "state_dict: parametrize by nn.RNN's name",
}
BEYOND_NN_RNN_ITEMS: set[str] = set()

# The uses researchers make of nn.RNN (torch.func, parametrizations, TorchScript...): rows of their own module.
ITEMS += tools.ITEMS
CONCAT_LAYOUT_ITEMS |= tools.CONCAT_LAYOUT_ITEMS
BEYOND_NN_RNN_ITEMS |= tools.BEYOND_NN_RNN_ITEMS


def audit_item(item: Item, impl_cls: type, kwargs: dict) -> Outcome:
    """One item on one implementation and variant; never raises."""
    try:
        difference = item.check(impl_cls, kwargs)
    except Exception as error:  # a failed check is reported, not raised: the table shows every item
        return Outcome("FAIL", f"{type(error).__name__}: {error}")
    return Outcome("same") if difference is None else Outcome("differs", difference)


def audit(impl_cls: type, kwargs: dict) -> dict[str, Outcome]:
    """Every item of nn.RNN's surface on one implementation and variant."""
    return {item.name: audit_item(item, impl_cls, kwargs) for item in ITEMS}
