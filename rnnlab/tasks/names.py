"""Which language a surname comes from, read one character at a time: the seeds' char-RNN, on faker's surnames."""

from __future__ import annotations

from functools import cache

import torch
import torch.nn.functional as F

from rnnlab.tasks.dataset import DatasetTask
from rnnlab.tasks.registry import register_task
from rnnlab.tasks.surnames import LANGUAGES, load


@cache
def _encoded() -> tuple[str, torch.Tensor, torch.Tensor]:
    """The alphabet (every character in the data, sorted), the codes (N, T) padded with -1, the lengths (N,).

    Once per process: the configuration checks and the run each build the task.
    """
    surnames = [surname for surname, _ in load()]
    alphabet = "".join(sorted({char for surname in surnames for char in surname}))
    index = {char: i for i, char in enumerate(alphabet)}
    lengths = torch.tensor([len(surname) for surname in surnames])
    codes = torch.full((len(surnames), int(lengths.max())), -1, dtype=torch.int64)
    for row, surname in enumerate(surnames):
        codes[row, : len(surname)] = torch.tensor([index[char] for char in surname])
    return alphabet, codes, lengths


@register_task
class NamesTask(DatasetTask):
    """Classify a surname's language (12 classes) from its characters, one-hot, one per step.

    The data: 13,666 surnames in 12 Latin-script languages (rnnlab.tasks.surnames: faker's locale lists, shipped,
    ambiguous names left out), split 80/10/10 stratified by language. Each name is a sequence as long as itself
    (`lengths`; packed through the RNN), every character one-hot over the characters that occur in the data, as in
    the seeds' concat-W post; the loss is cross-entropy at the name's last character. Metrics: accuracy and
    class-balanced accuracy (the classes are unbalanced: Polish 28 %, Japanese 0.4 %).
    Baselines: the majority class (Polish) scores `baseline_acc` ~ 0.28; the class prior's cross-entropy `baseline`.
    """

    name = "names"
    supports_variable_length = True
    class_names = tuple(sorted(LANGUAGES))

    def __init__(self, variable_length: bool = True, train_batches: int = 250, **kwargs) -> None:
        # names have their own lengths, fed packed; 250 batches between validations (an epoch is ~171 batches of 64)
        super().__init__(variable_length=variable_length, train_batches=train_batches, **kwargs)

    @property
    def alphabet(self) -> str:
        return _encoded()[0]

    def examples(self) -> dict[str, torch.Tensor]:
        """Character codes (N, T), -1 past each name's end; one-hot per batch (`inputs`): the whole set one-hot
        would be 240 MB."""
        alphabet, codes, lengths = _encoded()
        self.input_size = len(alphabet)
        self.surnames = tuple(surname for surname, _ in load())
        y = torch.tensor([self.class_names.index(language) for _, language in load()])
        return {"x": codes, "y": y, "lengths": lengths}

    def inputs(self, stored: torch.Tensor) -> torch.Tensor:
        """One-hot characters (B, T, alphabet), zero past each name's end."""
        return F.one_hot(stored.clamp(min=0), self.input_size).float() * (stored >= 0).unsqueeze(-1)

    def encode(self, surname: str) -> dict[str, torch.Tensor]:
        """A one-example batch of `surname` (characters outside the alphabet are refused), for predictions."""
        index = {char: i for i, char in enumerate(self.alphabet)}
        unknown = sorted(set(surname) - set(index))
        if unknown or not surname:
            raise ValueError(f"surname {surname!r}: characters outside the task's alphabet: {unknown}")
        codes = torch.tensor([[index[char] for char in surname]])
        return {"x": self.inputs(codes), "lengths": torch.tensor([len(surname)])}
