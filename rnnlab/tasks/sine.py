"""Next-step prediction of sine waves whose frequency and phase the model must infer from what it has seen."""

from __future__ import annotations

import math

import torch

from rnnlab.errors import require
from rnnlab.models.sequences import length_mask
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.registry import register_task


@register_task
class SineTask(SyntheticTask):
    """Predict x_{t+1} at every step t of x_t = amplitude * sin(omega * t + phi) + noise_std * eps_t.

    omega (radians per step) is uniform in [min_freq, max_freq], phi uniform in [0, 2 pi), eps_t standard normal;
    each sequence draws its own. Input (T, 1); target (T, 1), the next input (the noisy one: nothing is hidden
    from the model that the target holds).
    Baseline, exact: with phi uniform, every step's clean value has mean 0 and mean square amplitude^2 / 2 whatever
    omega is, so the best constant is 0 and its MSE is amplitude^2 / 2 + noise_std^2.
    With `variable_length=True`, `mask` excludes the steps past each length (where x and y are zero).
    """

    name = "sine"
    kind = "regression"
    readout = "every_step"
    input_size = 1
    output_size = 1
    min_seq_len = 2
    supports_variable_length = True

    def __init__(
        self, min_freq: float = 0.1, max_freq: float = 0.5, amplitude: float = 1.0, noise_std: float = 0.0, **kwargs
    ) -> None:
        require(0 < min_freq <= math.pi, "task.min_freq", min_freq, "a number in (0, pi] (radians per step)")
        require(
            min_freq <= max_freq <= math.pi,
            "task.max_freq",
            max_freq,
            f"a number in [task.min_freq={min_freq!r}, pi] (radians per step)",
        )
        require(amplitude > 0, "task.amplitude", amplitude, "a number > 0")
        require(noise_std >= 0, "task.noise_std", noise_std, "a number >= 0")
        super().__init__(**kwargs)
        self.min_freq, self.max_freq = float(min_freq), float(max_freq)
        self.amplitude, self.noise_std = float(amplitude), float(noise_std)

    def generate(self, generator, batch_size):
        T = self.seq_len
        lengths = self.sample_lengths(generator, batch_size)
        omega = self.min_freq + (self.max_freq - self.min_freq) * torch.rand(batch_size, 1, generator=generator)
        phi = 2 * math.pi * torch.rand(batch_size, 1, generator=generator)
        steps = torch.arange(T + 1, dtype=torch.float32)
        wave = self.amplitude * torch.sin(omega * steps + phi)
        if self.noise_std > 0:
            wave = wave + self.noise_std * torch.randn(batch_size, T + 1, generator=generator)
        x, y = wave[:, :-1], wave[:, 1:]
        if not self.variable_length:
            return {"x": x.unsqueeze(-1), "y": y.unsqueeze(-1)}
        mask = length_mask(lengths, T)
        # y at the last valid step looks one step past the length: a real value of the same wave, so it stays.
        return {"x": (x * mask).unsqueeze(-1), "y": (y * mask).unsqueeze(-1), "lengths": lengths, "mask": mask}

    @property
    def baseline(self) -> float:
        return self.amplitude**2 / 2 + self.noise_std**2
