"""flowphase.numerics — numba solvers fed by expressions generated from flowphase.theory."""
