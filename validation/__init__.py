"""flowphase.validation — finite-d simulator, theory-vs-simulation comparisons, figures, CLI."""
