"""The one code generator: writes every generated file of ``numerics/`` from the sympy expressions of ``theory/``.

Usage::

    python -m flowphase.numerics._codegen          # rewrite every generated file (atomically)
    python -m flowphase.numerics._codegen --check  # exit 1 if a checked-in file is stale

Generated files (:data:`TARGETS`):

* ``numerics/_generated.py`` -- learned parameters and potentials (:mod:`flowphase.theory.derivations`,
  :mod:`flowphase.theory.exact`, :mod:`flowphase.theory.exact_dynamics`) and the closed-form flow statistics of
  Cui et al. (:func:`flowphase.theory.flow.cui_closed_forms`, used by :mod:`flowphase.numerics.cui`);
* ``numerics/_generated_dynamics.py`` -- right-hand side, gradient-descent map and loss of the overlap dynamics
  (:mod:`flowphase.theory.dynamics`) with the array layouts ``STATE_NAMES``, ``KERNEL_NAMES``, ``PARAM_NAMES``.

Each generated function is a straight-line ``math``-module expression list after common
sub-expression elimination (``sympy.cse``), decorated with ``numba.njit(cache=True)`` so that
it compiles (and runs unchanged under ``NUMBA_DISABLE_JIT=1``).  The text is deterministic for a
given sympy version; ``tests/test_codegen.py`` regenerates every file in memory and compares.
The theory modules only build expressions; nothing outside this module writes generated code.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
from typing import Callable, Dict, List, Sequence, Tuple

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from flowphase.theory import derivations as dv
from flowphase.theory.conventions import NOISE_CONVENTIONS

__all__ = ["generate", "generate_dynamics", "function_specs", "GENERATED_PATH", "DYNAMICS_PATH", "TARGETS",
           "write_all", "main"]

GENERATED_PATH = pathlib.Path(__file__).with_name("_generated.py")
DYNAMICS_PATH = pathlib.Path(__file__).with_name("_generated_dynamics.py")

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
    for noise in NOISE_CONVENTIONS:
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
    specs.append(_cui_flow_spec())
    return specs


def _cui_flow_spec():
    """Closed-form flow statistics of Cui et al. (:func:`flowphase.theory.flow.cui_closed_forms`, PREDECESSOR §2.2)."""
    from flowphase.theory import flow

    S = dv.SYMBOLS
    cl = flow.cui_closed_forms(S["data_coef"], S["noise_coef"])
    return ("cui_flow_statistics", [S["data_coef"], S["noise_coef"], S["n"], S["sigma"], S["lam"]],
            [(k, cl[k]) for k in ("S_mu", "S_xi", "S_eta", "P")],
            "Closed-form flow statistics of Cui et al. at data / noise coefficients (Cui's alpha, beta): returns "
            "(M, Q_xi, Q_eta, P); theory.flow.cui_closed_forms (verified against the ODE there), PREDECESSOR §2.2.")


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
    od = ex.outer_derivatives()
    args = (base + [E[k] for k in ("B", "inv_sqrt_r")] + list(ex.MOMENT_DERIVATIVES)
            + [E[k] for k in ("c", "m", "a_plus", "a_minus")])
    th, inner = ("omega", "b", "z_plus", "z_minus"), ("c", "m", "a_plus", "a_minus")
    outs = [(f"L_{th[i]}", od["grad"][i]) for i in range(4)]
    outs += [(f"L_{th[i]}_{th[j]}", od["hess"][i, j]) for i in range(4) for j in range(i, 4)]
    outs += [(f"L_{th[i]}_{inner[a]}", od["cross"][i, a]) for i in range(4) for a in range(4)]
    free = set().union(*(sp.sympify(e).free_symbols for _, e in outs))
    assert free <= set(args), free - set(args)
    specs.append(("exact_outer_derivatives", args, outs,
                  "Exact finite-n L/d at fixed (c, m, a_plus, a_minus): its gradient (4) and Hessian (upper triangle, "
                  "row-major, 10) in theta = (omega, b, z_plus, z_minus) by the second-order chain rule through the "
                  "class moments, and the cross block d2L/dtheta dy (row-major, 16); the kernels eliminate y by the "
                  "implicit-function rule; theory.exact.outer_derivatives, EXACT_FINITE_N §2-3."))
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
         "One gradient-descent step of ODE-time size step = lr n / d in the exact coordinates; "
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


# ----------------------------------------------------------------------------- overlap dynamics
_DYN_HEADER = '''"""GENERATED by ``python -m flowphase.numerics._codegen`` from :mod:`flowphase.theory.dynamics` -- do not edit.

Gradient-flow right-hand side, exact gradient-descent map and loss of the overlap dynamics derived in
:mod:`flowphase.theory.dynamics` (PAPER §2.1-§3.4).  Array layouts (the index of a name is its position):

* ``y``   = :data:`STATE_NAMES` (the overlaps);
* ``kin`` = :data:`KERNEL_NAMES` (M_s, dM_s/db, dM_s/domega, dM_s/dr, M_2, dM_2/db, dM_2/domega, dM_2/dr,
  E[tanh'^2], E[s tanh tanh'^2], E[tanh^2 tanh'^2]);
* ``par`` = :data:`PARAM_NAMES` (alpha^2, beta, sigma^2, 1/sqrt(n), lam_u, lam_w, rho_c, rho_b, sgd = lr d / B).
"""
import math

from numba import njit

'''


def _emit_dynamics(name: str, args: str, exprs, returns_scalar: bool = False) -> str:
    from flowphase.theory import dynamics as dyn

    repl, red = sp.cse(exprs, symbols=sp.numbered_symbols("x"), optimizations="basic")
    lines = ["@njit(cache=True)", f"def {name}({args}):"]
    names = {"y": dyn.STATE, "kin": dyn.KERNELS, "par": dyn.PARAMS}
    used = set().union(*[e.free_symbols for e in exprs]) | set().union(
        *[e.free_symbols for _, e in repl]) if exprs else set()
    for arr, syms in names.items():
        if arr not in args:
            continue
        for i, sym in enumerate(syms):
            if sym in used:
                lines.append(f"    {sym.name} = {arr}[{i}]")
    for sym, e in repl:
        lines.append(f"    {sym} = {sp.pycode(e, fully_qualified_modules=True)}")
    if returns_scalar:
        lines.append(f"    return {sp.pycode(red[0], fully_qualified_modules=True)}")
    else:
        for i, e in enumerate(red):
            lines.append(f"    out[{i}] = {sp.pycode(e, fully_qualified_modules=True)}")
    return "\n".join(lines) + "\n"


def generate_dynamics() -> str:
    """The full text of ``_generated_dynamics.py`` (deterministic)."""
    from flowphase.theory import dynamics as dyn

    flow = dyn.flow_expressions()
    gd = dyn.gd_map_expressions()
    grad = dyn.loss_gradient()
    layout = "".join(f"{label} = ({', '.join(repr(s.name) for s in syms)},)\n"
                     for label, syms in (("STATE_NAMES", dyn.STATE), ("KERNEL_NAMES", dyn.KERNELS),
                                         ("PARAM_NAMES", dyn.PARAMS)))
    parts = [
        _DYN_HEADER,
        layout, "\n\n",
        _emit_dynamics("flow_rhs", "y, kin, par, out", [flow[x] for x in dyn.STATE]),
        "\n\n",
        _emit_dynamics("gd_map", "y, kin, par, step, out", [gd[x] for x in dyn.STATE]),
        "\n\n",
        _emit_dynamics("loss_grad", "y, kin, par, out", [grad[x] for x in dyn.STATE]),
        "\n\n",
        _emit_dynamics("loss_value", "y, kin, par", [dyn.overlap_loss()], returns_scalar=True),
        "\n\n",
        _emit_dynamics("gz_second_moment", "y, kin, par", [dyn.preactivation_gradient_second_moment()],
                       returns_scalar=True),
    ]
    return "".join(parts)


#: every generated file: path -> function returning its text
TARGETS: Dict[pathlib.Path, Callable[[], str]] = {GENERATED_PATH: generate, DYNAMICS_PATH: generate_dynamics}


def _write_atomic(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_all(out_dir=None, check: bool = False) -> Dict[pathlib.Path, bool]:
    """Write (or with ``check`` only compare) every file of :data:`TARGETS`; ``out_dir`` replaces the folder.

    Returns ``{path: up_to_date}`` (before writing).
    """
    status = {}
    for default, gen in TARGETS.items():
        path = default if out_dir is None else pathlib.Path(out_dir) / default.name
        text = gen()
        status[path] = path.exists() and path.read_text(encoding="utf-8") == text
        if not check and not status[path]:
            _write_atomic(path, text)
    return status


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flowphase.numerics._codegen", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare with the checked-in files")
    ap.add_argument("--out-dir", default=None, help="folder to write into (default: numerics/)")
    ns = ap.parse_args(argv)
    status = write_all(ns.out_dir, check=ns.check)
    for path, ok in status.items():
        if ns.check:
            print(f"{path}: {'up to date' if ok else 'STALE'}")
        else:
            print(f"{path}: {'unchanged' if ok else 'written'}")
    return 0 if (all(status.values()) or not ns.check) else 1


if __name__ == "__main__":
    sys.exit(main())
