"""Regenerate ``numerics/_generated.py`` from the sympy derivations of :mod:`flowphase.theory.derivations`.

Usage::

    python -m flowphase.numerics._codegen          # rewrite numerics/_generated.py
    python -m flowphase.numerics._codegen --check  # exit 1 if the checked-in file is stale

Each generated function is a straight-line ``math``-module expression list after common
sub-expression elimination (``sympy.cse``), decorated with ``numba.njit(cache=True)`` so that
it compiles (and runs unchanged under ``NUMBA_DISABLE_JIT=1``).  The text is deterministic for a
given sympy version; ``tests/test_codegen.py`` regenerates it in memory and compares.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
from typing import List, Sequence, Tuple

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from flowphase.theory import derivations as dv

__all__ = ["generate", "function_specs", "GENERATED_PATH", "main"]

GENERATED_PATH = pathlib.Path(__file__).with_name("_generated.py")

HEADER = '''"""GENERATED FILE - do not edit by hand.

Written by ``python -m flowphase.numerics._codegen`` from the sympy derivations in
``flowphase.theory.derivations`` (sympy {version}).  Every function is a common-sub-expression-
eliminated ``math`` expression list compiled with numba; the docstrings name the derivation
and the spec section it implements.  ``tests/test_codegen.py`` fails if this file is stale.
"""
import math  # noqa: F401

from numba import njit

'''


class _Printer(PythonCodePrinter):
    """Python printer with ``math.`` prefixes and plain float literals (numba friendly)."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "standard": "python3"})

    def _print_Rational(self, expr):
        return f"({float(expr.p)!r}/{float(expr.q)!r})"


def function_specs() -> List[Tuple[str, Sequence[sp.Symbol], Sequence[Tuple[str, sp.Expr]], str]]:
    """(name, arguments, [(output name, expression)], docstring) for every generated function."""
    S = dv.SYMBOLS
    specs = []
    ph2_args = [S["data_coef"], S["noise_coef"], S["n"], S["sigma"], S["lam_u"]]
    for noise in ("fresh", "fixed", "notebook"):
        sol = dv.phase_two_solution(noise)
        how = ("documented formula (not derivable from a loss), PAPER §3.4" if noise == "notebook"
               else "derived from derivations.phase_two_loss('%s') by stationarity, PAPER §3.4" % noise)
        specs.append((f"phase_two_{noise}", ph2_args, [(k, sol[k]) for k in ("c", "m", "q_eta", "q_xi")],
                      f"Phase-2 ridge solution, {noise} noise: returns (c, m, q_eta, q_xi); {how}."))
    pop = dv.phase_two_population()
    specs.append(("phase_two_population", [S["data_coef"], S["noise_coef"], S["sigma"]],
                  [(k, pop[k]) for k in ("c", "m")],
                  "Phase-2 population limit n -> inf: returns (c, m); PAPER §3.3."))
    cui = dv.cui_solution()
    specs.append(("cui_learned", [S["data_coef"], S["noise_coef"], S["n"], S["sigma"], S["lam"]],
                  [(k, cui[k]) for k in ("c", "m", "q_xi", "q_eta")],
                  "Cui et al. Result 2.1 derived from derivations.cui_loss(): returns (c, m, q_xi, q_eta); "
                  "PREDECESSOR §2.1."))
    p1 = dv.phase_one_solution()
    der = dv.phase_one_derivatives()
    specs.append(("phase_one_overlaps", [S["M_s"], S["M_2"], S["n"], S["sigma"], S["lam_u"]],
                  [("m", p1["m"]), ("q_eta", p1["q_eta"])],
                  "Phase-1 stationary decoder overlaps: returns (m, q_eta); PAPER §3.2."))
    pot_args = [S["M_s"], S["M_2"], S["omega"], S["n"], S["sigma"], S["lam_u"], S["lam_w"]]
    specs.append(("phase_one_potential", pot_args, [("E", der["E"])],
                  "Phase-1 effective potential E_t = -n(n+sigma^2) M_s^2/(lam_u + n M_2) + lam_w omega^2; "
                  "PAPER §3.2."))
    grad_args = [S["M_s"], S["M_2"], S["Ms_w"], S["Ms_b"], S["M2_w"], S["M2_b"], S["omega"], S["n"], S["sigma"],
                 S["lam_u"], S["lam_w"]]
    specs.append(("phase_one_gradient", grad_args, [("dE_domega", der["dE_domega"]), ("dE_db", der["dE_db"])],
                  "Gradient of the phase-1 potential by the chain rule through M_s, M_2: returns "
                  "(dE/domega, dE/db); PAPER §3.2."))
    hess_args = grad_args[:6] + [S["Ms_ww"], S["Ms_wb"], S["Ms_bb"], S["M2_ww"], S["M2_wb"], S["M2_bb"]] + grad_args[6:]
    specs.append(("phase_one_hessian", hess_args,
                  [("d2E_domega2", der["d2E_domega2"]), ("d2E_domega_db", der["d2E_domega_db"]),
                   ("d2E_db2", der["d2E_db2"])],
                  "Hessian of the phase-1 potential: returns (E_ww, E_wb, E_bb); PAPER §3.2."))
    specs.extend(_exact_specs())
    specs.extend(_exact_dynamics_specs())
    return specs


def _exact_specs():
    """Kernels of the exact finite-n theory (EXACT_FINITE_N §2-3), from :mod:`flowphase.theory.exact`."""
    from flowphase.theory import exact as ex

    E = ex.SYMBOLS
    H, g, L0 = ex.quadratic_form()
    base = [E[k] for k in ("alpha", "beta", "inv_sqrt_d", "sigma", "n_plus", "n_minus", "lam_u", "lam_w", "omega",
                           "z_plus", "z_minus", "M_plus", "M_minus", "Q_plus", "Q_minus")]
    outs = [(f"H{i}{j}", H[i, j]) for i in range(4) for j in range(i, 4)]
    outs += [(f"g{i}", g[i]) for i in range(4)] + [("L0", L0)]
    specs = [("exact_quadratic_form", base, outs,
              "Exact finite-n loss L/d = y^T H y - 2 g^T y + L0 in y = (c, m, a_plus, a_minus): returns the upper "
              "triangle of H (row-major), g and L0; theory.exact.quadratic_form, EXACT_FINITE_N §2-3.")]
    part = ex.loss_partials()
    names = ("M_plus", "M_minus", "Q_plus", "Q_minus", "omega", "z_plus", "z_minus")
    specs.append(("exact_loss_partials", base + [E[k] for k in ("c", "m", "a_plus", "a_minus")],
                  [(f"dL_d{k}", part[f"dL_d{k}"]) for k in names],
                  "Explicit partial derivatives of the exact finite-n L/d in the class moments and in "
                  "(omega, z_plus, z_minus) at fixed (c, m, a_plus, a_minus) (envelope theorem); "
                  "theory.exact.loss_partials, EXACT_FINITE_N §2."))
    return specs


def _exact_dynamics_specs():
    """Gradient flow, GD map and loss in the exact finite-n coordinates (:mod:`flowphase.theory.exact_dynamics`)."""
    from flowphase.theory import exact_dynamics as xd

    args = list(xd.STATE) + list(xd.PARAMS) + list(xd.MOMENTS)
    names = [str(s) for s in xd.STATE]
    flow = xd.flow_expressions()
    gd = xd.gd_map_expressions()
    return [
        ("exact_dyn_flow", args, [(f"d_{k}", flow[s]) for k, s in zip(names, xd.STATE)],
         "Gradient flow d(state)/ds of the exact finite-n loss in (c, b, m, a_plus, a_minus, omega, z_plus, "
         "z_minus, rho_w, rho_u, nu); theory.exact_dynamics.flow_expressions, EXACT_FINITE_N §2-3."),
        ("exact_dyn_gd_map", args + [xd.step], [(f"new_{k}", gd[s]) for k, s in zip(names, xd.STATE)],
         "One gradient-descent step of ODE-time size step = eta n / d in the exact coordinates; "
         "theory.exact_dynamics.gd_map_expressions, EXACT_FINITE_N §2-3."),
        ("exact_dyn_loss", args, [("L", xd.state_loss())],
         "Exact finite-n loss L (theory units) at a dynamics state; theory.exact_dynamics.state_loss."),
    ] + [(f"exact_point_partials_{nm}", list(xd.POINT_ARGS),
          list(zip(("L", "dL_dc", "dL_dm", "dL_da", "dL_dM", "dL_dQ", "dL_dq", "dL_dv"), xd.point_partials(lab))),
          f"One point of class {lab:+d}: its loss and partials in (c, m, a_nu, M_nu, Q_nu, q, v) (per-point exact "
          "dynamics, EXACT_FINITE_N §2); theory.exact_dynamics.point_partials.")
         for nm, lab in (("plus", 1), ("minus", -1))]


def _emit(name, args, outputs, doc, printer) -> str:
    exprs = [sp.sympify(e) for _, e in outputs]
    repl, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("x"), order="canonical")
    lines = ["@njit(cache=True)", f"def {name}({', '.join(str(a) for a in args)}):", f'    """{doc}"""']
    for sym, sub in repl:
        lines.append(f"    {sym} = {printer.doprint(sub)}")
    for (out, _), e in zip(outputs, reduced):
        text = repr(float(e)) if e.is_Number else printer.doprint(e)
        lines.append(f"    {out} = {text}")
    outs = ", ".join(o for o, _ in outputs)
    lines.append(f"    return {outs}" if len(outputs) > 1 else f"    return {outputs[0][0]}")
    return "\n".join(lines) + "\n"


def generate() -> str:
    """The full text of ``_generated.py``."""
    printer = _Printer()
    parts = [HEADER.format(version=sp.__version__)]
    names = []
    for name, args, outputs, doc in function_specs():
        parts.append("\n" + _emit(name, args, outputs, doc, printer))
        names.append(name)
    parts.insert(1, "__all__ = [\n" + "".join(f'    "{nm}",\n' for nm in names) + "]\n")
    return "".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flowphase.numerics._codegen", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare with the checked-in file")
    ap.add_argument("--out", default=str(GENERATED_PATH), help="output path")
    ns = ap.parse_args(argv)
    text = generate()
    path = pathlib.Path(ns.out)
    if ns.check:
        ok = path.exists() and path.read_text() == text
        print(f"{path}: {'up to date' if ok else 'STALE'}")
        return 0 if ok else 1
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
