"""rnnlab/vocabulary.py holds torch's numbers without importing torch: they must stay torch's."""

import pytest
import torch

from rnnlab.vocabulary import NONLINEARITIES, WEIGHT_DTYPES, weight_dtype


@pytest.mark.parametrize("precision", WEIGHT_DTYPES)
def test_each_precisions_largest_weight_is_torchs(precision):
    name, largest = WEIGHT_DTYPES[precision]
    assert torch.finfo(getattr(torch, name)).max == largest


def test_mixed_and_unknown_precisions_keep_float32_weights():
    assert weight_dtype("bf16-mixed") == weight_dtype("16-mixed") == weight_dtype(32) == WEIGHT_DTYPES["32"]


def test_the_nonlinearities_are_nn_rnns():
    for nonlinearity in NONLINEARITIES:
        torch.nn.RNN(1, 1, nonlinearity=nonlinearity)
    with pytest.raises(ValueError):
        torch.nn.RNN(1, 1, nonlinearity="sigmoid")
