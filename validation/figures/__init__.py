"""The figures of ``flowphase reproduce``, one module per figure family (PAPER §5, PREDECESSOR §5).

Each ``*_figure(out_dir, quick)`` builds its numbers with the library, plots them, writes PNG/PDF/JSON through
:func:`~flowphase.validation.figures._common.save_figure` and returns a
:class:`~flowphase.validation.claims.FigureOutput` whose claims are computed from the plotted numbers.
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
