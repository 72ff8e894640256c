"""What every implementation shares: nn.RNN's arguments, checks, attributes and input layouts.

Like `torch/nn/modules/rnn.py`, one base class owns argument checking and layout handling, so that an
implementation only writes `forward_padded`: the recurrence on a time-major, zero-padded batch. `LabRNN` is the
part the lab reads from every implementation, `torch` included (which is nn.RNN itself plus `LabRNN`).
"""

from __future__ import annotations

import contextlib
import numbers
import sys
import warnings
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.rnn import PackedSequence

from rnnlab.models import naming
from rnnlab.models.sequences import pack_like, pad_packed
from rnnlab.vocabulary import NONLINEARITIES

MODES = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}  # nn.RNN's `mode` for each nonlinearity
NONLINEARITY_OF_MODE = {mode: nonlinearity for nonlinearity, mode in MODES.items()}
#: Attributes that shape the parameters: written after construction they are refused (nn.RNN takes the new value
#: and then fails or computes with the old layout), so no implementation ever runs with a value it does not show.
STRUCTURAL = ("input_size", "hidden_size", "num_layers", "bias", "bidirectional", "proj_size")
FLAT_WEIGHTS = ("_flat_weights", "_flat_weights_names")  # nn.RNN's list of its weights, and their names
PROJ_SIZE_ERROR = "proj_size argument is only supported for LSTM, not RNN or GRU"


def check_nonlinearity(nonlinearity) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def check_dropout(dropout) -> None:
    # nn.RNN's own test, any Number (a Decimal too), whose comparison typeshed's numbers.Number does not declare
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:  # type: ignore[operator]  # Number: no comparison in typeshed
        raise ValueError(
            f"dropout should be a number in range [0, 1] representing the probability of an element being "
            f"zeroed, got {dropout!r}"
        )


def check_mode(value) -> None:
    if value not in NONLINEARITY_OF_MODE:
        raise ValueError(f"mode must be one of {sorted(NONLINEARITY_OF_MODE)}, got {value!r}")


def check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")


def check_rnn_arguments(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout) -> None:
    """Refuse what nn.RNN refuses, in nn.RNN's order, with its exception types; warn where it warns."""
    check_nonlinearity(nonlinearity)
    check_dropout(dropout)
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
            stacklevel=_frames_inside_models(),
        )
    check_bool("bias", bias)
    check_bool("batch_first", batch_first)
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(value, int):  # nn.RNN's own test: a bool is an int
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")


def _frames_inside_models() -> int:
    """The stacklevel that points a warning at the first caller outside rnnlab/models (the user's line), however
    deep the constructor chain (concat -> myrnn -> base, or a wrapper building its cells)."""
    models_dir = str(Path(__file__).parent)
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(models_dir):
        frame, level = frame.f_back, level + 1
    return level


# LabRNN is mixed into nn.Module subclasses only (RNNBase, TorchRNN): the checker reads it as the nn.Module it always
# is, while at run time it stays a plain mixin, so that nn.RNN's method resolution in TorchRNN is nn.RNN's own.
if TYPE_CHECKING:
    _Module = nn.Module
else:
    _Module = object


class LabRNN(_Module):
    """What the lab reads from any implementation, in nn.RNN's layout (mixed into nn.Module subclasses).

    Subclasses whose parameters are not named as nn.RNN's override `load_torch_state_dict`, `torch_state_dict`
    and `torch_grad_dict`.
    """

    # nn.RNN's attributes, which every implementation sets in its constructor (declared here for the checker:
    # nn.Module's __getattr__ would type them `Tensor | Module`)
    input_size: int
    hidden_size: int
    num_layers: int
    nonlinearity: str
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    _script_id: int

    if TYPE_CHECKING:
        # Every implementation takes nn.RNN's constructor (an implementation may add keyword options of its own).
        def __init__(
            self,
            input_size: int,
            hidden_size: int,
            num_layers: int = 1,
            nonlinearity: str = "tanh",
            bias: bool = True,
            batch_first: bool = False,
            dropout: float = 0.0,
            bidirectional: bool = False,
            device: torch.device | str | None = None,
            dtype: torch.dtype | None = None,
            **options: object,
        ) -> None: ...

        # nn.RNN's surface that every implementation offers (`python -m rnnlab.parity` proves it), read by the lab
        def reset_parameters(self) -> None: ...

        def flatten_parameters(self) -> None: ...

        @property
        def all_weights(self) -> list[list[nn.Parameter]]: ...

        # where the layout has nn.RNN's parameters (torch_layout); concat's raise the error explaining its layout
        _flat_weights: list[Tensor | None]
        _flat_weights_names: list[str]

        # nn.RNN's forward in Python, any input: what `forward` runs and a scripted module calls back into
        def _forward(
            self, input: Tensor | PackedSequence, hx: Tensor | None
        ) -> tuple[Tensor | PackedSequence, Tensor]: ...

    #: Named presets of this implementation's own keyword arguments (loop order, backward pass, cell...).
    #: `python -m rnnlab.parity` proves every one of them equal to nn.RNN.
    variants: ClassVar[dict[str, dict]] = {"default": {}}

    # What the surface audit (`rnnlab.conformance.surface`) expects of an implementation: a False here is a documented
    # difference from nn.RNN, which the audit then checks is refused clearly rather than silently wrong.

    #: The state dict (and the parameters read as attributes, `rnn.weight_hh_l0`) carries nn.RNN's names and shapes.
    torch_layout: ClassVar[bool] = True
    #: `named_parameters()` are registered on the module itself under nn.RNN's names (weight_norm, parametrize);
    #: a wrapper's are, with cells in nn.RNN's layout (it owns its cells' parameters).
    torch_named_parameters: ClassVar[bool] = True

    #: Attributes that shape the network: written after construction with another value, refused by name.
    fixed_attributes: ClassVar[tuple[str, ...]] = STRUCTURAL

    def checked_write(self, name: str, value):
        """The one attribute-write policy of every implementation (`torch` included): the value to store, or a
        refusal by name. A structural attribute keeps its value (nn.RNN takes a new one and then fails or computes
        with the old layout); `nonlinearity`, `mode`, `dropout`, `batch_first` and an implementation's own options
        (`check_option`) take effect at the next forward if valid; nn.RNN's parameter names on a layout that has
        no such parameter (concat's) raise the error that explains the layout, never a parameter nobody reads.
        """
        known = self.__dict__
        if name in self.fixed_attributes and name in known and value != known[name]:
            raise AttributeError(
                f"{type(self).__name__}.{name} is fixed at construction ({known[name]!r}): it shapes the "
                f"parameters; build a new network for {name}={value!r}"
            )
        if name == "nonlinearity":
            check_nonlinearity(value)
        elif name == "mode":
            check_mode(value)
        elif name == "dropout" and "dropout" in known:
            check_dropout(value)
            return float(value)
        elif name == "batch_first":
            check_bool(name, value)
        elif naming.is_torch_parameter_name(name) and "_parameters" in known and not self.torch_layout:
            raise AttributeError(self.layout_error(name))
        self.check_option(name, value)
        return value

    def check_option(self, name: str, value) -> None:
        """An implementation's own options (myrnn's `loop_order`, `backward`): raise if `value` is not allowed."""

    def written(self, name: str, value) -> None:
        """Called after each attribute write (a wrapper passes `nonlinearity` on to its cells)."""

    def layout_error(self, name: str) -> str:
        """Why nn.RNN's parameter `name` (or its `_flat_weights`) does not exist in concat's layout, and where its
        tensor is."""
        parsed = naming.parse(name)
        weight, bias = (naming.name(kind, *(parsed[1:] if parsed else ("{k}",))) for kind in ("weight", "bias"))
        return (
            f"{type(self).__name__} has no {name}: it keeps one weight [W_ih | W_hh] ({weight}) and one bias "
            f"b_ih + b_hh ({bias}) per layer and direction; torch_state_dict() gives nn.RNN's tensors"
        )

    def __prepare_scriptable__(self):
        """`torch.jit.script` calls this first: the scripted module finds this one again by `_script_id`."""
        self._script_id = id(self)
        _SCRIPTED[id(self)] = self
        return self

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_input_size(self, layer: int) -> int:
        """Layer 0 reads the input; layer k > 0 reads layer k-1's output, both directions concatenated."""
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def direction_suffixes(self) -> tuple[str, ...]:
        return naming.direction_suffixes(self.bidirectional)

    def torch_parameter_names(self) -> list[str]:
        """nn.RNN's parameter names, in its order (layer, direction, then W_ih, W_hh, b_ih, b_hh)."""
        return naming.parameter_names(self.num_layers, self.bidirectional, self.bias)

    def own_parameter_names(self) -> list[str]:
        """The names of the parameters as registered (nn.RNN's, or concat's `weight_l{k}`, `bias_l{k}`), in order."""
        return self.torch_parameter_names()

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        """Take the `state_dict()` of an nn.RNN of the same configuration (strictly: every key, no other)."""
        self.load_state_dict(state_dict, strict=True)

    def torch_state_dict(self) -> dict[str, Tensor]:
        """The weights as the `state_dict()` of an equivalent nn.RNN."""
        return dict(self.state_dict())

    def torch_grad_dict(self) -> dict[str, Tensor | None]:
        """The gradient of the last backward with respect to the equivalent nn.RNN's parameters, by name.

        Where an implementation reparameterises nn.RNN (concat's one bias b = b_ih + b_hh), this is the chain
        rule through that map (dL/db_ih = dL/db_hh = dL/db), so it compares directly with nn.RNN's gradients.
        """
        return {name: getattr(self, name).grad for name in self.torch_parameter_names()}

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """The recurrence on a time-major batch.

        x: (T, B, input_size), zero-padded past each sequence's length; h0: (num_layers * D, B, hidden_size);
        lengths: (B,) int64 on the CPU, or None when every sequence has length T.
        Returns output (T, B, D * hidden_size), zero past each length, and h_n (num_layers * D, B, hidden_size),
        each sequence's state at its own last step, in both directions.
        """
        raise NotImplementedError


class RNNBase(LabRNN, nn.Module):
    """A drop-in for `torch.nn.RNN`: same constructor, attributes, `forward(input, h0=None)`, errors and warnings.

    Subclasses create their parameters (with `self.factory_kwargs`) and implement `forward_padded`; this class
    turns unbatched, batch-first and packed input into a time-major padded batch and the result back.
    """

    def __new__(cls, *args, **kwargs):
        if "proj_size" in kwargs:  # nn.RNN's refusal, before any other argument is looked at
            raise ValueError(PROJ_SIZE_ERROR)
        return super().__new__(cls)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        nn.Module.__init__(self)  # LabRNN, next in line, has no constructor at run time (one for the checker only)
        check_rnn_arguments(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout)
        self.factory_kwargs = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional  # any truthy value, as nn.RNN (which keeps it as given)
        self.proj_size = 0

    # ---- attributes written after construction: one policy, `LabRNN.checked_write` ----------------------------

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, self.checked_write(name, value))
        self.written(name, value)

    # ---- load_state_dict: the user's pre-hooks first, then the implementation's key translation ----------------

    def register_translation_hook(self, hook) -> None:
        """Register the load_state_dict pre-hook that translates nn.RNN's keys into this layout; it stays the last
        pre-hook, so a user's hook (say, migrating old keys) sees the state dict as given."""
        self._translation_hook = self.register_load_state_dict_pre_hook(hook).id

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        handle = super()._register_load_state_dict_pre_hook(hook, with_module)
        translation = self.__dict__.get("_translation_hook")
        hooks = self._load_state_dict_pre_hooks
        if translation in hooks:
            hooks[translation] = hooks.pop(translation)  # to the end (torch types the OrderedDict a dict)
        return handle

    def __getattr__(self, name: str):
        """nn.RNN's `_flat_weights` and `_flat_weights_names` (read by third-party code) where the layout has
        nn.RNN's parameters; on concat's, those and nn.RNN's parameter names raise the error explaining it."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            if "_parameters" not in self.__dict__:
                raise
            if name not in FLAT_WEIGHTS and not naming.is_torch_parameter_name(name):
                raise
        if not self.torch_layout:
            raise AttributeError(self.layout_error(name))
        if name == "_flat_weights_names":
            return self.torch_parameter_names()
        if name == "_flat_weights":
            return [getattr(self, weight) for weight in self.torch_parameter_names()]
        raise AttributeError(
            f"{type(self).__name__} has no {name}: it has {self.num_layers} layer(s) and "
            f"{self.num_directions} direction(s)"
        )

    @property
    def mode(self) -> str:
        """nn.RNN's name for the recurrence: RNN_TANH or RNN_RELU; writing it sets `nonlinearity`, as nn.RNN's."""
        return MODES[self.nonlinearity]

    @mode.setter
    def mode(self, value: str) -> None:
        self.nonlinearity = NONLINEARITY_OF_MODE[value]  # checked by `checked_write`

    # ---- nn.RNN's methods that have a meaning without a flat weight buffer ------------------------------------

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters per layer and direction, as nn.RNN's: [[W_ih, W_hh, b_ih, b_hh], ...]."""
        names = naming.all_weights_names(self.num_layers, self.bidirectional, self.bias)
        return [[getattr(self, name) for name in layer] for layer in names]

    def flatten_parameters(self) -> None:
        """nn.RNN packs its weights into one cuDNN buffer here; these parameters are separate tensors: a no-op."""

    def activation(self, pre_activation: Tensor) -> Tensor:
        return torch.tanh(pre_activation) if self.nonlinearity == "tanh" else torch.relu(pre_activation)

    def dropout_between_layers(self, layer_output: Tensor, layer: int) -> Tensor:
        """nn.RNN drops out each layer's output except the last layer's, and only in training."""
        if self.dropout > 0 and self.training and layer < self.num_layers - 1:
            return nn.functional.dropout(layer_output, self.dropout, training=True)
        return layer_output

    def check_input(self, input: Tensor, batch_sizes: Tensor | None) -> None:
        """nn.RNN's checks of a (time- or batch-major) 3-D input, or a packed input's 2-D data."""
        weight = next(self.parameters(), None)
        if weight is not None and input.dtype != weight.dtype and not torch._C._is_any_autocast_enabled():
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})"
            )
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if input.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.size(-1)}"
            )

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Tensor | None) -> tuple[int, int, int]:
        if batch_sizes is not None:
            batch = int(batch_sizes[0])
        else:
            batch = input.size(0) if self.batch_first else input.size(1)
        return (self.num_layers * self.num_directions, batch, self.hidden_size)

    def check_hidden_size(
        self, hx: Tensor, expected_hidden_size: tuple[int, int, int], msg: str = "Expected hidden size {}, got {}"
    ) -> None:
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Tensor, permutation: Tensor | None) -> Tensor:
        return hx if permutation is None else hx.index_select(1, permutation)

    # ---- forward ---------------------------------------------------------------------------------------------

    #: What TorchScript must not compile: the Python-side properties (it compiles `forward` alone, see there).
    __jit_unused_properties__: ClassVar[list[str]] = [
        "num_directions",
        "mode",
        "all_weights",
        "torch_layout",
        "torch_named_parameters",
    ]

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """nn.RNN's forward: (output, h_n) for 2-D, 3-D (`batch_first` honoured) or packed input.

        Written as a one-line call so that `torch.jit.script` of a module holding this one compiles: TorchScript
        compiles this Tensor -> (Tensor, Tensor) method, which calls back into Python (`run_in_python`), so the
        scripted module runs exactly this implementation (and so cannot be `jit.save`d; a trace can).
        """
        if torch.jit.is_scripting():
            return run_in_python(self._script_id, input, hx)
        return self._forward(input, hx)

    @torch.jit.ignore
    def _forward(self, input: Tensor | PackedSequence, hx: Tensor | None) -> tuple[Tensor | PackedSequence, Tensor]:
        """`forward` (input may be a PackedSequence too; TorchScript reads this signature for its Tensor calls)."""
        device_type = (input.data if isinstance(input, PackedSequence) else input).device.type
        if torch.is_autocast_enabled(device_type):
            return self._forward_autocast(input, hx, device_type)
        unbatched = False
        batch_sizes: Tensor | None
        lengths: Tensor | None
        if isinstance(input, PackedSequence):
            batch_sizes = input.batch_sizes
            if hx is not None and hx.dim() != 3:
                raise RuntimeError(f"For packed input, hx should be 3-D but got {hx.dim()}-D tensor")
            self.check_input(input.data, batch_sizes)
            x, lengths = pad_packed(input)
        else:
            batch_sizes, lengths = None, None
            if input.dim() not in (2, 3):
                raise ValueError(f"RNN: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
            unbatched = input.dim() == 2
            if unbatched:
                if hx is not None and hx.dim() != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
                input = input.unsqueeze(0 if self.batch_first else 1)
                hx = None if hx is None else hx.unsqueeze(1)
            elif hx is not None and hx.dim() != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
            self.check_input(input, None)
            x = input.transpose(0, 1) if self.batch_first else input
            if x.size(0) == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

        expected = self.get_expected_hidden_size(
            input.data if isinstance(input, PackedSequence) else input, batch_sizes
        )
        if hx is None:
            hx = x.new_zeros(expected)
        else:  # given in the caller's batch order, which is the padded batch's order too
            self.check_hidden_size(hx, expected)

        # a parametrized weight is evaluated once per forward, however often the loops read it (time-major: each step)
        with parametrize.cached() if parametrize.is_parametrized(self) else contextlib.nullcontext():
            output, h_n = self.forward_padded(x, hx, lengths)

        if isinstance(input, PackedSequence):
            return pack_like(output, input), h_n
        if unbatched:
            return output.squeeze(1), h_n.squeeze(1)
        return (output.transpose(0, 1) if self.batch_first else output), h_n

    # TorchScript reads these two signatures as objects (this module's string annotations it cannot resolve)
    forward.__annotations__ = _forward.__annotations__ = {
        "input": Tensor,
        "hx": Tensor | None,
        "return": tuple[Tensor, Tensor],
    }

    def _forward_autocast(self, input, hx, device_type: str):
        """nn.RNN under autocast runs wholly in the lower precision: cast float32 input, h0 and weights (the
        weights differentiably, so their gradients stay float32), then run with autocast off."""
        dtype = torch.get_autocast_dtype(device_type)

        def cast(tensor):
            return tensor.to(dtype) if tensor is not None and tensor.dtype == torch.float32 else tensor

        if not isinstance(input, PackedSequence):
            input = cast(input)
        elif input.data.dtype == torch.float32:
            input = input.to(dtype)
        weights = {name: cast(value) for name, value in self.named_parameters()}
        with torch.autocast(device_type, enabled=False):
            return torch.func.functional_call(self, weights, (input, cast(hx)))

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        text += f", nonlinearity={self.nonlinearity!r}, bias={self.bias}, batch_first={self.batch_first}"
        return text + f", dropout={self.dropout}, bidirectional={self.bidirectional}"


#: The modules a TorchScript module calls back into, by id (see `RNNBase.forward`). Held strongly: a scripted
#: module does not keep the Python module it came from alive, and must still run after that one is dropped
#: (`torch.jit.script(Model())`); one entry per module scripted, in the process that scripted it.
_SCRIPTED: dict[int, LabRNN] = {}


@torch.jit.ignore
def run_in_python(
    script_id: int, input: Tensor | PackedSequence, hx: Tensor | None
) -> tuple[Tensor | PackedSequence, Tensor]:
    """What a scripted module's `forward` runs: the Python forward of the module it was scripted from."""
    return _SCRIPTED[script_id]._forward(input, hx)


run_in_python.__annotations__ = {
    "script_id": int,
    "input": Tensor,
    "hx": Tensor | None,
    "return": tuple[Tensor, Tensor],
}
