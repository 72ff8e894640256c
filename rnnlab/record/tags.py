"""The TensorBoard tags the lab writes, in one place: the diagnostics write them, the CUSTOM SCALARS layout charts
them and the sweep table reads them back, so a renamed tag cannot silently empty a chart or a column.

Plain strings and functions: importing this module imports nothing else.
"""

from __future__ import annotations

# ---- the losses (rnnlab.training.module) -------------------------------------------------------------------
TRAIN_LOSS = "train/loss"
VAL_LOSS = "val/loss"
VAL_ACC = "val/acc"
BASELINE = "baseline/loss"

# ---- parameter gradient norms (GradNorms) -------------------------------------------------------------------
GRAD_NORM = "grad_norm/"
GRAD_NORM_TOTAL = "grad_norm/total"


def grad_norm(parameter: str) -> str:
    return f"{GRAD_NORM}{parameter}"


# ---- gradients through time (GradThroughTime) --------------------------------------------------------------
GRAD_H = "grad_h/"
GRAD_H_PROFILE_IMAGE = "grad_h/profile"  # IMAGES: log10 ‖dL/dh_t‖ against t, a line per layer


def grad_h_prefix(layer: int) -> str:
    return f"{GRAD_H}layer{layer}/"


def grad_h_first_over_last(layer: int) -> str:
    return f"{grad_h_prefix(layer)}first_over_last"


def grad_h_log10_ratio(layer: int) -> str:
    return f"{grad_h_prefix(layer)}log10_first_over_last"


# ---- the recurrent matrices' spectra (Spectrum) -------------------------------------------------------------
SPECTRUM = "spectrum/"
SPECTRUM_IMAGE = "spectrum/eigenvalues"  # IMAGES: eigenvalues of every W_hh in the complex plane, the unit circle


def spectrum(layer_name: str, stat: str) -> str:
    """`layer_name` is `layer{k}` or `layer{k}_reverse`; `stat` is `radius` or `sigma_max`."""
    return f"{SPECTRUM}{layer_name}/{stat}"


# ---- activations and histograms (Activations, Histograms) ---------------------------------------------------
ACTIVATIONS = "activations/"


def activations(layer: int, stat: str) -> str:
    return f"{ACTIVATIONS}layer{layer}/{stat}"


def weight_histogram(parameter: str) -> str:
    return f"weights/{parameter}"


def grad_histogram(parameter: str) -> str:
    return f"grads/{parameter}"


# ---- the HParams dashboard's metrics (rnnlab.training.run) --------------------------------------------------
HP_FINAL_LOSS = "hp/final_loss"
HP_FINAL_OVER_BASELINE = "hp/final_over_baseline"
HP_BEST_VAL_LOSS = "hp/best_val_loss"
HP_FINAL_TRAIN_LOSS = "hp/final_train_loss"
HP_BASELINE = "hp/baseline"
HP_DIVERGED = "hp/diverged"
HP_FINAL_ACC = "hp/final_acc"
HP_BEST_VAL_ACC = "hp/best_val_acc"
# the diagnostics' indicators as HParams metric columns: vanishing or exploding at initialisation, and the recurrence
HP_GRAD_LOG10_RATIO_INIT = "hp/grad_log10_ratio_init"  # first logged grad_h/layer0/log10_first_over_last
HP_GRAD_LOG10_RATIO_FINAL = "hp/grad_log10_ratio_final"
HP_SPECTRAL_RADIUS_INIT = "hp/spectral_radius_init"  # first logged spectrum/layer0/radius
HP_SPECTRAL_RADIUS_FINAL = "hp/spectral_radius_final"
# IMAGES: the profile at step 0 relative to its last step, on one fixed y-range for every run (slopes compare)
GRAD_H_INIT_PROFILE_IMAGE = "grad_h/init_profile"
