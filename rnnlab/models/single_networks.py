"""The cell registry: the single networks (one implementation of the recurrence each) a wrapper may compose.

`stacked` and `bidirectional` take their layers from here; a new single-network implementation registered in
`CELLS` (and in `rnnlab.models.IMPLEMENTATIONS`, to be proven by `python -m rnnlab.parity`) becomes a cell too.
"""

from __future__ import annotations

from rnnlab.models.base import LabRNN
from rnnlab.models.concat import ConcatRNN
from rnnlab.models.myrnn import MyRNN
from rnnlab.models.torch_rnn import TorchRNN

CELLS: dict[str, type[LabRNN]] = {"torch": TorchRNN, "myrnn": MyRNN, "concat": ConcatRNN}


def cell_class(cell: str) -> type[LabRNN]:
    """The single network registered as `cell`; a ValueError naming the allowed cells otherwise."""
    if cell not in CELLS:
        raise ValueError(f"cell: unknown or not a single network: {cell!r}; allowed: {', '.join(CELLS)}")
    return CELLS[cell]
