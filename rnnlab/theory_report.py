"""What `python -m rnnlab.theory OVERRIDES` shows: one configuration at initialisation, its gradient profile
measured by the probe beside the mean-field prediction, and the init_scale at which it would be critical."""

from __future__ import annotations

import math

import numpy as np
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from rnnlab.diagnostics.theory_line import (
    InitSpec,
    input_mean_squares,
    loss_steps,
    measured_log10_profile,
    predicted,
    setup_of,
)
from rnnlab.diagnostics.through_time import spread_steps
from rnnlab.theory import Outside, chi_star, critical_scale, depth_scale, scale_for_sigma_w, setup_for
from rnnlab.training.checks import ConfigError

__all__ = ["ConfigError", "report_config"]


def _compose(overrides):
    import tempfile

    from rnnlab.config import compose_config, in_output_dir
    from rnnlab.training.build import build_module
    from rnnlab.training.checks import check_config
    from rnnlab.training.override_checks import check_overrides

    check_overrides(list(overrides))  # as rnnlab.train's command line: one line for a misspelt key
    try:
        cfg = compose_config(overrides)
        cfg = in_output_dir(cfg, tempfile.gettempdir())  # nothing is written: the checks resolve the paths only
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(str(error).strip().splitlines()[0]) from None
    check_config(cfg)
    task, module = build_module(cfg)
    return cfg, task, module


def critical_init_scale(cfg, rnn, mean_squares, steps) -> float:
    """The init_scale of `cfg.init` at which the predicted total log10 ratio over these inputs is 0 (nan: none)."""

    def setup_at(scale: float):
        return setup_for(
            cfg.init, scale, rnn.hidden_size, rnn.input_size, rnn.nonlinearity,
            cfg.get("init_input_scale"), cfg.get("init_bias_scale", 0.0), rnn.bias,
        )  # fmt: skip

    lo, hi = (scale_for_sigma_w(cfg.init, s, rnn.hidden_size) for s in (0.05, 6.0))
    return critical_scale(mean_squares, setup_at, lo, hi, steps)


def report_config(overrides, plot_path: str | None = None) -> str:
    """The report's text (and, with `plot_path`, its figure): measured, predicted, critical point."""
    cfg, task, module = _compose(overrides)
    module = module.double()
    batch = task.batch("train", 0)
    spec = InitSpec(cfg.init, cfg.init_scale, cfg.get("init_input_scale"), cfg.get("init_bias_scale", 0.0))
    rnn = module.rnn
    measured = measured_log10_profile(module, batch)
    relative = measured - measured[-1]
    steps = len(measured)
    lines = [
        f"config: init={cfg.init} init_scale={cfg.init_scale} nonlinearity={rnn.nonlinearity} "
        f"hidden_size={rnn.hidden_size} seq_len={steps} task={task.name} (batch 0 of the training data, float64)",
        f"measured  log10 |dL/dh_0| / |dL/dh_{steps - 1}| = {relative[0]:+.3f}  "
        f"(per step {relative[0] / max(steps - 1, 1):+.4f})",
    ]
    prediction, setup = predicted(module, batch, spec)
    if isinstance(setup, Outside):
        lines.append(f"predicted: none, {setup.reason}")
    else:
        assert prediction is not None  # a setup inside the theory has its prediction
        lines += [
            f"predicted log10 |dL/dh_0| / |dL/dh_{steps - 1}| = {prediction.log10_ratio:+.3f}  "
            f"(per step {prediction.log10_rate:+.4f})",
            f"  the literature's parameters: sigma_w={setup.sigma_w:.4g} ({setup.recurrent} W_hh), "
            f"sigma_in={setup.sigma_in:.4g}, sigma_b={setup.sigma_b:.4g}",
        ]
        if setup.caveat:
            lines.append(f"  caveat: {setup.caveat}")
        mean_squares = input_mean_squares(batch)
        steps_read = loss_steps(batch, module.readout)
        critical = critical_init_scale(cfg, rnn, mean_squares, steps_read)
        if math.isnan(critical):
            lines.append(f"critical point: none for init={cfg.init} (the ratio keeps its sign over the scales tried)")
        else:
            side = "ordered: gradients vanish" if cfg.init_scale < critical else "chaotic: gradients explode"
            sigma_star = setup_of(rnn, InitSpec(cfg.init, critical, spec.init_input_scale, spec.init_bias_scale))
            assert not isinstance(sigma_star, Outside)  # the same network as `setup`, at another scale
            lines.append(
                f"critical point (predicted ratio 0 over these inputs): init_scale={critical:.4g} for init={cfg.init} "
                f"(sigma_w={sigma_star.sigma_w:.4g}); this config is {side}"
            )
        chi = chi_star(float(mean_squares.mean()), setup.sigma_w, setup.sigma_b, setup.nonlinearity, setup.sigma_in)
        lines.append(
            f"stationary inputs of the same mean square: chi*={chi:.4f}, depth scale xi=-1/ln chi*="
            f"{abs(depth_scale(chi)):.3g} steps"
        )
    lines.append("")
    lines.append(f"{'t':>5} {'measured':>10} {'predicted':>10}   (log10 |dL/dh_t| relative to the last step)")
    for t in spread_steps(steps, 11):
        theory = f"{prediction.profile[t]:+10.3f}" if prediction is not None else f"{'-':>10}"
        lines.append(f"{t:>5} {relative[t]:+10.3f} {theory}")
    if plot_path:
        _plot(plot_path, measured, prediction, setup, cfg)
        lines.append(f"\nfigure: {plot_path}")
    return "\n".join(lines)


def _plot(path: str, measured: np.ndarray, prediction, setup, cfg) -> None:
    from rnnlab.diagnostics.figures import grad_profile_figure

    note = setup.reason if isinstance(setup, Outside) else setup.caveat
    fig = grad_profile_figure(
        [list(10.0**measured)], 0, None if prediction is None else prediction.profile, note and f"note: {note}"
    )
    fig.axes[0].set_title(f"init={cfg.init} init_scale={cfg.init_scale} {cfg.nonlinearity}: at initialisation")
    fig.savefig(path)
