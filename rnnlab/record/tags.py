"""The TensorBoard tags the lab writes, in one place: the diagnostics write them, the CUSTOM SCALARS layout charts
them and the sweep table reads them back, so a renamed tag cannot silently empty a chart or a column.

Plain strings and functions: importing this module imports nothing else.
"""

from __future__ import annotations

# ---- the losses (rnnlab.training.module) -------------------------------------------------------------------
TRAIN_LOSS = "train/loss"
VAL_LOSS = "val/loss"
VAL_ACC = "val/acc"
TRAIN_ACC = "train/acc"
VAL = "val/"  # every validation metric's prefix
TEST = "test/"  # every test-split metric's prefix (tasks with a held-out split)
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


def grad_h_log10_ratio_bound(layer: int) -> str:
    """0: the ratio is a value; -1: the true ratio is below the logged one (float64's floor); +1: above it."""
    return f"{grad_h_prefix(layer)}log10_first_over_last_bound"


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
# the diagnostics' indicators as HParams metric columns: vanishing or exploding at initialisation, and the recurrence
HP_GRAD_LOG10_RATIO_INIT = "hp/grad_log10_ratio_init"  # first logged grad_h/layer0/log10_first_over_last
HP_GRAD_LOG10_RATIO_FINAL = "hp/grad_log10_ratio_final"
HP_SPECTRAL_RADIUS_INIT = "hp/spectral_radius_init"  # first logged spectrum/layer0/radius
HP_SPECTRAL_RADIUS_FINAL = "hp/spectral_radius_final"


# ---- the mean-field theory beside grad_h (GradThroughTime with a theory spec; rnnlab.theory) -----------------
def grad_h_theory_log10_ratio(layer: int) -> str:
    """The predicted log10 first/last ratio for the initial weights (beside `grad_h_log10_ratio`)."""
    return f"{grad_h_prefix(layer)}theory_log10_first_over_last"


def grad_h_theory_log10_rate(layer: int) -> str:
    """The predicted per-step log10 rate for the initial weights (the ratio over T - 1 steps)."""
    return f"{grad_h_prefix(layer)}theory_log10_rate"


def grad_h_theory_norm(layer: int, step_key: str) -> str:
    """The predicted ‖dL/dh_t‖ at step key `t{t}` for the initial weights, anchored at the measured last step."""
    return f"{grad_h_prefix(layer)}theory_{step_key}"


def grad_h_log10_rate(layer: int) -> str:
    """The measured per-step log10 rate: log10_first_over_last over the scored span (T - 1 for a last-step loss)."""
    return f"{grad_h_prefix(layer)}log10_rate"


# ---- the finite-time Lyapunov spectrum (JacobianSpectrum) ----------------------------------------------------
JACOBIAN = "jacobian/"
JACOBIAN_IMAGE = "jacobian/spectrum"  # IMAGES: per-step log10 singular values of J_{T-1}⋯J_1, a line per layer


def jacobian(layer_name: str, stat: str) -> str:
    """`layer_name` is `layer{k}` or `layer{k}_reverse`; `stat` is `log10_sigma_max` or `lyapunov{i}`."""
    return f"{JACOBIAN}{layer_name}/{stat}"


# IMAGES: the profile at step 0 relative to its last step, on one fixed y-range for every run (slopes compare)
GRAD_H_INIT_PROFILE_IMAGE = "grad_h/init_profile"
