"""build_module: the one config -> (task, module) step that the run and the benchmark share."""

import pytest
import torch
from hydra.utils import get_class

from rnnlab.bench.training import optimizer_and_scheduler
from rnnlab.tasks.sine import SineTask
from rnnlab.training.build import build_module
from rnnlab.training.checks import ConfigError
from tests.helpers import compose_run


def test_builds_the_configured_task_model_and_initial_weights(tmp_path):
    cfg = compose_run(
        tmp_path, ["model=myrnn", "task=sine", "hidden_size=6", "num_layers=2", "init=identity", "init_scale=0.5"]
    )
    task, module = build_module(cfg)
    assert isinstance(task, SineTask) and task.seq_len == 50
    assert type(module.rnn) is get_class(cfg.model._target_) and module.rnn.num_layers == 2
    assert torch.equal(module.rnn.torch_state_dict()["weight_hh_l1"], 0.5 * torch.eye(6))  # init applied
    _, again = build_module(cfg)
    rnn, rnn_again = module.rnn.state_dict(), again.rnn.state_dict()  # a function of (seed, init, init_scale)
    assert all(torch.equal(rnn[k], rnn_again[k]) for k in rnn) and len(rnn) == 8


def test_the_scheduler_reaches_the_module_and_the_benchmarks_bare_loop(tmp_path):
    cfg = compose_run(tmp_path, ["scheduler=step", "scheduler.step_size=1", "scheduler.gamma=0.5", "lr=0.1"])
    _, module = build_module(cfg)
    optimizer, scheduler = optimizer_and_scheduler(module)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)
    _, plain = build_module(compose_run(tmp_path, []))
    assert optimizer_and_scheduler(plain)[1] is None


def test_constructor_errors_become_configuration_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"^task\.noise_std=-1\.0 is invalid; allowed: a number >= 0$"):
        build_module(compose_run(tmp_path, ["task=sine", "task.noise_std=-1.0"]))
