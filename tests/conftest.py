"""Shared fixtures: the real Hydra config, composed as the CLI would compose it, with its output in a temp dir."""

import pytest

from tests.helpers.config import compose_config


@pytest.fixture
def make_config():
    return compose_config
