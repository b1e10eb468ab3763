"""K-mode mixtures at n = infinity: Bayes field, exact finite-d MSE, windows, decision times, flow weights.

* :mod:`.field` — Bayes denoiser and velocity, in d dimensions and in the projection space;
* :mod:`.mse` — eps(tau) as a K-dim Gaussian expectation (randomised QMC / Gauss–Hermite), split curves;
* :mod:`.windows` — detector on the split curves, decision times, designed multi-window schedule;
* :mod:`.flow` — generated weights p_hat_k of the exact flow (Euler / Heun / continuous time).
"""
from .field import bayes_denoiser, posterior, posterior_z, velocity, velocity_z
from .flow import FLOW_METHODS, FlowWeights, full_flow, projection_flow
from .mse import ModeCurves, asymptotic_mse, bayes_mse_k, mode_curves, snr_of_tau, tau_of_snr
from .windows import (WindowAnalysis, analyse_windows, design_multiwindow, schedule_from_mixture,
                      spectral_speciation)

__all__ = ["bayes_denoiser", "posterior", "posterior_z", "velocity", "velocity_z", "FLOW_METHODS", "FlowWeights",
           "full_flow", "projection_flow", "ModeCurves", "asymptotic_mse", "bayes_mse_k", "mode_curves", "snr_of_tau", "tau_of_snr",
           "WindowAnalysis", "analyse_windows", "design_multiwindow", "schedule_from_mixture", "spectral_speciation"]
