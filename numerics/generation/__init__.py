"""The generated distribution: samples pushed through the learned flow, at d -> infinity (PAPER §3.5, §3.7).

Not to be confused with the generated *code* ``numerics/_generated*.py``.  Modules: :mod:`.curves` (learned
field as curves), :mod:`.transport` (phase 1), :mod:`.phase_two_stats` (phase 2), :mod:`.distribution` (end of
the flow, :func:`generated_distribution`), :mod:`.along_flow` (every time of the sampler), :mod:`.bayes_euler`
(exact field at finite d with Euler steps).

Three pieces, all integrated with the Runge–Kutta engine :mod:`flowphase.numerics.rk`:

1. **Phase 1** (t in [0, 1]): only the projection ``y = mu.X/sqrt(d)`` moves at O(1),
   ``dy/dt = kappa m_t tanh(omega_t y + b_t)``, ``y(0) ~ N(0, 1)`` (PAPER §3.5), with the learned
   ``(omega_t, b_t, m_t)`` of :func:`flowphase.numerics.phase_one.phase_one_curve` (closed forms
   ``omega = kappa t, b = h, m = 1`` at n = inf) passed as piecewise-linear curves.  Expectations of
   y(1) use a trapezoid rule on nodes of y(0); probabilities of a threshold use the
   **separatrix**: the 1-D flow map is monotone, so ``P(y(1) > y*) = Phi(-y0*)`` where ``y0*`` is y*
   integrated backward to t = 0 (exact up to the ODE tolerance, no histogram of samples).

2. **The transition at t = 1+** (the window ``tau sqrt(d) = sigma' in (kappa, inf)`` squeezed into t = 1; its
   end is ``window_end``):

   * ``'euler'`` — the authors' sampler: the first phase-2 Euler step uses the t = 1 network and moves
     y by ~ sqrt(d), so the mode is ``sign(omega_1 y(1) + b_1)`` (PAPER §3.5, §7.8).  At n = inf,
     ``p_hat = p Phi(kappa + h/kappa) + (1-p) Phi(h/kappa - kappa)`` (0.8022 at kappa = 2, p = 0.8).
   * ``'exact'`` — exact integration of the flow through the window to saturation,
     ``dy/dsigma' = m(sigma') tanh(omega(sigma') y + b(sigma'))`` from ``sigma' = kappa`` to
     ``window_end``; the mode is ``sign(omega y + b)`` at ``window_end``, where the tanh has saturated.
     At n = inf the field is the exact (Bayes) one, ``omega = sigma', b = h, m = 1``, and p_hat = p
     (PAPER §3.5: 0.7995 quoted for sigma' up to 60; the separatrix gives p to 1e-6).
     **Choice at finite n** (``window='learned'``, default): inside the window the data still live at
     ``tau sqrt(d) = O(1)``, so the per-time network trained there is the phase-1 effective-potential
     minimiser (PAPER §3.2) at signal strength ``kappa t -> sigma'`` — E_t depends on t only through
     kappa t; we continue with :func:`flowphase.numerics.phase_one.solve_phase_one` at ``kt = sigma'``.
     The saturated phase-2 networks (PAPER §3.3: w, b flat at d = inf) cannot be used there, and once
     saturated the learned model only applies ``sign(omega y + b)``, which is what we threshold at
     ``window_end``.  ``window='bayes'`` instead continues with the exact field (learned phase 1, Bayes
     window) to isolate the phase-1 learning error.

3. **Phase 2** (t' = t - 1 in [0, 1]): with the mode sign fixed (``s_X = +-1``), ``X = s_X (R mu + Q_eta eta~ + Q_xi xi~)
   + X_perp``, ``P = |X_perp|^2/d``; ``dR/dt' = [(c-1) R + m]/(1-t')`` (same for Q_eta with q_eta, Q_xi with
   q_xi), ``dP/dt' = 2 (c-1) P/(1-t')``, R = Q = 0, P = 1 at t' = 0 (derived in
   :mod:`flowphase.theory.flow`).  Closed forms: ``R = n t'/(n+lam_u)``, ``Q_eta = sigma t'/(n+lam_u)``,
   ``P = D/B`` so the mean overlap is ``R(1) = n/(n+lam_u)`` and the variance ``sigma_hat^2 = A/B``
   (PAPER §3.5, §8 checks 9-10).

Also :func:`bayes_euler_mode_fraction` / :func:`undilated_mode_fraction`: the exact (Bayes) field at
**finite d** integrated with T Euler steps (PAPER §3.7).  The reduction is exact at any d: the Bayes
denoiser ``f*(x) = c x + m mu tanh(h + beta mu.x/D)`` (PAPER §2.1) depends on x only through
``y = mu.x/sqrt(d)``, and the velocity ``a_x x + a_f f*(x)`` (PAPER §2.4) projects to
``a_x y + a_f (c y + m sqrt(d) tanh(h + beta sqrt(d) y / D))``, so the d-dimensional Euler scheme projects onto a 1-D Euler
scheme for y with ``y(0) = mu.X0/sqrt(d) ~ N(0, 1)`` exactly; the generated mode is sign(y(T)).
"""
from flowphase.numerics.generation.along_flow import generated_along_flow
from flowphase.numerics.generation.bayes_euler import (bayes_euler_curves, bayes_euler_mode_fraction,
                                                       undilated_mode_fraction)
from flowphase.numerics.generation.curves import B_SAT, WINDOWS, check_problem, field_rows, phase_one_curves, window_curves
from flowphase.numerics.generation.distribution import (SAMPLER_OF_TRANSITION, TRANSITIONS, generated_distribution,
                                                        mode_fraction_table)
from flowphase.numerics.generation.phase_two_stats import phase_two_closed_form, phase_two_flow
from flowphase.numerics.generation.transport import (euler_threshold_fraction, phase_one_transport,
                                                     separatrix_fraction, solve_curves)

__all__ = [
    "generated_distribution", "generated_along_flow", "phase_one_transport",
    "separatrix_fraction", "phase_two_flow", "phase_two_closed_form", "euler_threshold_fraction",
    "bayes_euler_mode_fraction", "undilated_mode_fraction", "mode_fraction_table", "TRANSITIONS", "WINDOWS",
]
