"""Every override the README and the manual (docs/*.md) show works as shown: each `python -m rnnlab.train` command of
their code blocks, and the inline examples, compose and run one step (a sweep's comma lists: their first value)."""

import json
import re

import pytest
import torch

from rnnlab.training.checks import ConfigError
from rnnlab.training.run import train
from tests.helpers import ROOT, compose_run

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def readme_commands(pages=PAGES) -> list[list[str]]:
    text = "\n".join(page.read_text() for page in pages)
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if not line.startswith("python -m rnnlab.train"):
                continue
            words = [w for w in line.split()[3:] if w != "-m" and not w.startswith("hydra.")]
            command = [w.split(",")[0] if "=" in w else w for w in words]
            if command not in commands:
                commands.append(command)
    return commands


INLINE = [
    ["task.variable_length=true"],
    ["task.variable_length=true", "task.min_len=5"],
    ["task=xor", "task.num_marked=3"],
    ["callbacks=none"],
    ["threads=null"],
    ["grad_clip=null"],
    ["seq_len=100"],
    ["callbacks.grad_through_time.every_n_steps=10"],
    ["checkpoint.every_n_steps=5"],
    ["model=stacked", "model.cell=myrnn"],
    ["scheduler=cosine"],
    ["scheduler=step"],
    ["optimizer=sgd"],
    ["optimizer=rmsprop"],
]


def test_the_readme_shows_commands():
    assert len(readme_commands([ROOT / "README.md"])) >= 3 and [] in readme_commands([ROOT / "README.md"])
    assert len(readme_commands()) > len(readme_commands([ROOT / "README.md"]))  # and the manual's pages theirs


@pytest.mark.parametrize("overrides", readme_commands() + INLINE, ids=lambda o: " ".join(o) or "default")
def test_each_readme_override_runs_as_shown(overrides, tmp_path):
    train(compose_run(tmp_path, [*overrides, "trainer.fast_dev_run=true", "trainer.enable_progress_bar=false"]))
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "completed" and record["steps"] == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without a GPU")
def test_trainer_gpu_without_a_gpu_is_one_line_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^trainer.accelerator='gpu' is invalid; allowed: one of cpu, auto"):
        train(compose_run(tmp_path, ["trainer=gpu"]))
