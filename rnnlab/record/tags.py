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
# tasks read from a dataset (rnnlab.tasks.dataset): class-balanced accuracy, the majority class, the test split
VAL_BALANCED_ACC = "val/balanced_acc"
BASELINE_ACC = "baseline/acc"
TEST_LOSS = "test/loss"
TEST_ACC = "test/acc"
TEST_BALANCED_ACC = "test/balanced_acc"

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


# ---- the final states' rank across examples (StateRank) -----------------------------------------------------
STATE = "state/"


def state_rank(stat: str) -> str:
    """`stat`: effective_rank, sigma2_over_sigma1 or dead_fraction."""
    return f"{STATE}{stat}"


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
