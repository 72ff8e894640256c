"""Every existing choice composes to the values recorded in composed.json: config refactorings change no result."""

import json

import pytest

from tests.conf.golden import CHOICES, GOLDEN, resolved

RECORDED = json.loads(GOLDEN.read_text())


def test_the_record_covers_every_choice():
    assert sorted(RECORDED) == sorted(CHOICES)


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_composed_values_are_unchanged(name):
    assert resolved(CHOICES[name]) == RECORDED[name]
