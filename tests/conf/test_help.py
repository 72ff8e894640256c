"""`--help` (conf/hydra/help/rnnlab.yaml) against the config it describes: every group's listed choices are the
files of that group, and the vocabulary's listed values are the ones the checks accept, so the help cannot drift."""

from __future__ import annotations

import re

import pytest
import yaml

from rnnlab.config import CONF_DIR
from rnnlab.vocabulary import INIT_SCHEMES, NONLINEARITIES

HELP = yaml.safe_load((CONF_DIR / "hydra" / "help" / "rnnlab.yaml").read_text())["template"]
# `    model             ${hydra:runtime.choices.model}    torch | myrnn | ...`
GROUP_LINE = re.compile(r"^\s+(\w+)\s+\$\{hydra:runtime\.choices\.(\w+)\}\s+(.*)$")
KEY_LINE = re.compile(r"^\s+(\w+)\s+\$\{(\w+)\}\s+(.*)$")


def listed(text: str) -> set[str]:
    """`a | b | c  (a remark)` -> {a, b, c}."""
    return {word.strip().split()[0] for word in text.split("  (")[0].split("|")}


def group_lines() -> dict[str, str]:
    return {m[2]: m[3] for line in HELP.splitlines() if (m := GROUP_LINE.match(line)) and "|" in m[3]}


def test_every_listed_choice_is_a_file_of_its_group_and_every_file_is_listed():
    lines = group_lines()
    assert {"model", "task", "optimizer", "scheduler", "callbacks"} <= set(lines)
    for group, text in lines.items():
        files = {p.stem for p in (CONF_DIR / group).glob("*.yaml") if p.stem != "base"}
        optional = {"null"} if group == "scheduler" else set()  # `scheduler: null` in config.yaml's defaults
        assert listed(text.split("  (task")[0]) == files | optional, group


@pytest.mark.parametrize("key,values", [("nonlinearity", NONLINEARITIES), ("init", INIT_SCHEMES)])
def test_the_vocabularys_values_are_listed(key, values):
    (text,) = [m[3] for line in HELP.splitlines() if (m := KEY_LINE.match(line)) and m[1] == key]
    assert listed(text) == set(values)


def test_the_checkpoint_is_not_said_to_be_a_callback():
    (text,) = [text for group, text in group_lines().items() if group == "callbacks"]
    assert "checkpoint" not in listed(text)
    for path in (CONF_DIR / "callbacks").glob("*.yaml"):
        assert "checkpoint" not in str(yaml.safe_load(path.read_text())).lower(), path.name
    assert "checkpoint.every_n_steps" in text  # where it is set instead
