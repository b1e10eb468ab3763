"""The figures of ``flowphase reproduce``, one module per figure family (PAPER §5, PREDECESSOR §5).

Each ``*_figure(out_dir, *, quick=False, problem=None, d=None, n=None)`` builds its numbers with the library for
``problem`` (default: the figure's ``DEFAULT_PROBLEM``; it takes the parameters it depends on, see
:func:`flowphase.validation.reproduce.figure_options`) at the sizes ``d``, ``n``, plots them, writes PNG/PDF/JSON
(with the problem and the claims with their verdicts) through :func:`~flowphase.validation.figures._common.finish`
and returns a :class:`~flowphase.validation.claims.FigureOutput` whose claims are computed from the plotted numbers.
The registry of names is :data:`flowphase.validation.reproduce.FIGURES`.

=====================  ==========================================================================
module                 figures
=====================  ==========================================================================
``overlaps``           ``overlaps``, ``overlaps-authors`` (learned c, m, ω, b vs t)
``mse``                ``mse`` (ε(t) with and without dilation, trained denoisers)
``mode_fraction``      ``mode-fraction`` (generated p̂ vs d)
``finite_n``           ``finite-n`` (generated mean and variance vs n)
``simplification``     ``simplification`` (each phase ignores the other phase's parameter)
``cui``                ``cui-flow``, ``cui-mse`` (Cui et al.'s summary statistics)
``speciation``         ``speciation`` (cloning probability)
``dynamics``           ``dynamics`` (overlap ODE vs finite-d GD, :mod:`~flowphase.validation.dynamics_compare`)
``uturn``              ``uturn`` (digits U-Turn, :mod:`~flowphase.validation.uturn`)
``hierarchy``          ``hierarchy`` (K-mode decision windows and a designed schedule)
=====================  ==========================================================================

Shared plotting helpers are in :mod:`._common`; numbers computed from simulations in
:mod:`flowphase.validation.metrics`.
"""
