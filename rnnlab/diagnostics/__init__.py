"""Diagnostics as Lightning callbacks: they observe the training and never change it.

Each reads the model through the LightningModule's contract (`rnn`, `head`, `rnn_output`, `loss_from_rnn_output`)
and writes to the run's loggers every N optimizer steps. `conf/callbacks/diagnostics.yaml` switches them all on.
"""

from rnnlab.diagnostics.activations import Activations, activation_stats
from rnnlab.diagnostics.grad_norms import GradNorms
from rnnlab.diagnostics.histograms import Histograms
from rnnlab.diagnostics.jacobian import JacobianSpectrum
from rnnlab.diagnostics.layout import CustomScalarsLayout, custom_scalars_layout
from rnnlab.diagnostics.probe import ProbeResult, probe
from rnnlab.diagnostics.spectrum import Spectrum, spectral_stats
from rnnlab.diagnostics.state_rank import StateRank, state_rank
from rnnlab.diagnostics.through_time import GradThroughTime, through_time_norms

__all__ = [
    "Activations",
    "CustomScalarsLayout",
    "GradNorms",
    "GradThroughTime",
    "Histograms",
    "JacobianSpectrum",
    "ProbeResult",
    "Spectrum",
    "StateRank",
    "activation_stats",
    "custom_scalars_layout",
    "probe",
    "spectral_stats",
    "state_rank",
    "through_time_norms",
]
