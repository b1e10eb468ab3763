"""Every option of every command is validated or refused on every code path; inputs from files are checked before
they are used; the sweep says which executor ran; the library applies its own threading settings.

References: the documented ranges and code paths of each option (``flowphase <cmd> --help``), the NPZ layout of
:func:`flowphase.validation.simulator.inputs.save_npz`, the version in ``pyproject.toml``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from flowphase.theory.problem import Problem
from flowphase.validation.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SIM = ["simulate", "--d", "8", "--n", "4", "--seeds", "1", "--epochs", "2"]


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def one_line_error(argv, fragment, rc_expected=2):
    rc, out, err = run_cli(argv)
    assert rc == rc_expected and out == "", (argv, rc, err)
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and "Traceback" not in err, err
    assert fragment in err, err
    return err


def export(path, p=0.8, ts=(0.5,), scale=1.0, d=8, n=4):
    """An export in the layout of save_npz (one seed)."""
    rng = np.random.default_rng(0)
    T = len(ts)
    meta = json.dumps({"problem": Problem.dilated(p=p, d=d, n=n).to_dict(), "config": {}})
    np.savez(path, c=np.zeros((1, T)), b=np.zeros((1, T)), u=0.1 * rng.standard_normal((1, T, d)),
             w=0.1 * rng.standard_normal((1, T, d)), x1=scale * rng.standard_normal((1, n, d)),
             s=np.array([[1.0, -1.0, 1.0, -1.0]]), ts=np.asarray(ts, float), seeds=np.arange(1), config=np.array(meta))
    return path


# ----------------------------------------------------------------------------- one mechanism: paths and ranges
@pytest.mark.parametrize("argv, fragment", [
    (["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--n", "8", "--noise", "fixed"], "--noise"),
    (["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--n", "8", "--noise", "nan"], "--noise"),
    (["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--n", "8", "--lr", "1e-320"], "subnormal"),
    (["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--n", "8", "--lr", "0"], "lr must lie in (0, 1e+06]"),
    (["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--n-plus", "3"], "--n-plus does not apply"),
    (["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--n", "8", "--draws", "2"], "--draws does not apply"),
    (["theory", "overlaps", "--t", "0.5", "--n", "16", "--theory", "paper", "--d", "100"],
     "--d does not apply to --theory paper"),
    (["theory", "overlaps", "--t", "0.5", "--d", "100"], "--d does not apply"),
    (["theory", "overlaps", "--t", "0.5,,1.5"], "without empty entries"),
    (["theory", "overlaps", "--grid", "100000"], "grid must lie in [1, 10000]"),
    (["theory", "generated", "--t", "0.5", "--n", "16"], "--t does not apply"),
    (["theory", "generated", "--n", "16", "--grid", "100000"], "grid must lie in [1, 10000]"),
    (["theory", "generated", "--sampler", "heun"], "--sampler heun applies to --theory exact only"),
    (["theory", "generated", "--n", "16", "--transition", "euler"], "unrecognized arguments: --transition"),
    (["theory", "generated", "--n", "16", "--n-times", "40"], "unrecognized arguments: --n-times"),
    (["theory", "windows", "--d", "100", "--weights", "0.5,,0.5", "--gram", "1,0.5;0.5,1"], "without empty entries"),
    (["theory", "windows", "--d", "100", "--weights", "0.5,0.5", "--gram", "1,0.5;0.5,1", "--eps", "nan"],
     "--eps does not apply"),
    (["theory", "speciation", "--d", "1_0"], "expected a number"),
    (SIM + ["--t", "0.5", "--labels", "exact", "--data", "x.npz"], "--labels does not apply"),
    (SIM + ["--t", "0.5", "--method", "heun"], "--method does not apply"),
    (["sweep", "tasks", "--workers", "3"], "--workers does not apply"),
])
def test_an_option_is_refused_where_it_is_not_used_or_out_of_range(argv, fragment):
    one_line_error(argv, fragment)


def _parsers(parser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _parsers(sub, prefix + (name,))


def test_every_help_shows_the_defaults_and_every_float_option_refuses_nan():
    """The help of every sub-command prints each option's default; every float option of every sub-command refuses
    NaN, inf and a subnormal at parse time (one mechanism: options added later inherit it)."""
    from flowphase.validation.cli._args import finite_float, float_or_inf

    checked = 0
    for path, sub in _parsers(build_parser()):
        text = sub.format_help()
        for action in sub._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) \
                    and action.help and not isinstance(action, argparse._HelpAction):
                assert f"(default: {action.default}" in " ".join(text.split()), (path, action.dest)
            t = action.type
            if t is not None and (t in (finite_float, float_or_inf) or getattr(t, "__name__", "") in
                                  ("finite_float", "float_or_inf")):
                inf_ok = t is float_or_inf or "or 'inf'" in (action.help or "") or "inf" in str(action.default)
                for bad in ("nan", "1e-320") + (() if inf_ok else ("1e400",)):
                    with pytest.raises(argparse.ArgumentTypeError):
                        t(bad)
                checked += 1
    assert checked >= 30


def test_version_is_the_package_version(capsys):
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"flowphase {version}"


# ----------------------------------------------------------------------------- files given to simulate
def test_damaged_npz_is_one_line_naming_the_file_and_the_fix(tmp_path):
    good = export(tmp_path / "e.npz")
    bad = tmp_path / "cut.npz"
    bad.write_bytes(good.read_bytes()[:300])
    for flag in ("--data", "--init-params"):
        err = one_line_error(SIM + ["--t", "0.5", flag, bad], "re-create it")
        assert str(bad) in err


def test_shapes_are_checked_from_the_headers_before_decompressing(tmp_path, monkeypatch):
    """A member whose header announces 10^8 numbers (a zip bomb) is refused without reading its data."""
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (4, 10 ** 8)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x1.npy", header.getvalue() + b"\0" * 4096)
        zf.writestr("s.npy", header.getvalue())

    def no_load(*a, **k):
        raise AssertionError("np.load called before the shape check")

    monkeypatch.setattr(np, "load", no_load)
    one_line_error(SIM + ["--t", "0.5", "--data", path], "has shape (4, 100000000)")


def test_the_stored_problem_and_times_are_honoured_or_the_command_line_refused(tmp_path):
    ex = export(tmp_path / "p03.npz", p=0.3)
    rc, out, err = run_cli(SIM + ["--t", "0.5", "--data", ex])
    assert rc == 0, err
    assert json.loads(out)["problem"]["p"] == 0.3
    one_line_error(SIM + ["--t", "0.5", "--data", ex, "--p", "0.8"], "contradicts the problem stored")
    times = export(tmp_path / "t15.npz", ts=(1.5,))
    one_line_error(SIM + ["--t", "0.5", "--init-params", times], "pass --t 1.5")
    rc, out, err = run_cli(SIM + ["--t", "1.5", "--init-params", times])
    assert rc == 0, err


@pytest.mark.parametrize("scale", [1e39, 1e300])
def test_huge_finite_data_is_bad_input_not_divergence(tmp_path, scale):
    one_line_error(SIM + ["--t", "0.5", "--data", export(tmp_path / "h.npz", scale=scale)], "must lie in [-1e+06")


def test_export_is_checked_before_training_and_written_like_every_output(tmp_path, monkeypatch):
    import flowphase.validation.simulator as simulator

    (tmp_path / "file.txt").write_text("x")
    real = simulator.simulate
    monkeypatch.setattr(simulator, "simulate", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))
    one_line_error(SIM + ["--t", "0.5", "--export", tmp_path / "file.txt" / "e.npz"], "file.txt")
    one_line_error(SIM + ["--t", "0.5", "--export", tmp_path / "e.txt"], "must name an .npz file")
    monkeypatch.setattr(simulator, "simulate", real)
    stale = tmp_path / ".e.npz.otherhost-1.abc.tmp"          # a killed export's leftover (no live writer)
    stale.write_bytes(b"half")
    os.utime(stale, (1, 1))
    rc, out, err = run_cli(SIM + ["--t", "0.5", "--export", tmp_path / "e.npz"])
    assert rc == 0, err
    mode = stat.S_IMODE(os.stat(tmp_path / "e.npz").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert not stale.exists() and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# ----------------------------------------------------------------------------- honest execution, locks, output
def test_dask_without_dask_is_a_one_line_error(tmp_path, monkeypatch):
    import importlib.util

    from flowphase.validation.cli.sweep import AUTO_RULE as cli_rule
    from flowphase.validation.sweep.executors import AUTO_RULE, choose_executor

    assert cli_rule == AUTO_RULE          # one text in the help and the library
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(ValueError, match="needs dask.distributed"):
        choose_executor("dask", 2, None)
    assert choose_executor("auto", 2, None) == "joblib"
    assert choose_executor("auto", 1, None) == "serial"
    spec = tmp_path / "s.toml"
    spec.write_text('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.0]\nn = [128]\n')
    one_line_error(["sweep", spec, "--out", tmp_path / "o", "--executor", "dask", "--workers", "2"],
                   "needs dask.distributed")
    assert not (tmp_path / "o").exists()


def test_a_second_run_cannot_take_a_held_lock(tmp_path):
    from flowphase.validation._io import exclusive_lock

    code = ("import sys\nfrom flowphase.validation._io import exclusive_lock\n"
            f"with exclusive_lock({str(tmp_path / 'ckpt.npz')!r}): pass\n")
    with exclusive_lock(tmp_path / "ckpt.npz"):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert r.returncode == 1 and "is in use by a running flowphase" in r.stderr
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr          # released with its holder


def test_a_nan_on_the_grid_is_an_error_not_a_null(monkeypatch):
    """The grid output keeps a NaN that the theory does not document, so the strict output refuses it (exit 1)."""
    from flowphase.numerics.theories import PaperAnsatz          # the theory at n = inf

    real = PaperAnsatz.curve

    def with_nan(*a, **k):
        cu = real(*a, **k)
        cu.c[1] = np.nan
        return cu

    monkeypatch.setattr(PaperAnsatz, "curve", with_nan)
    one_line_error(["theory", "overlaps", "--t", "0.3,0.6,0.9"], "non-finite", rc_expected=1)


def test_the_library_applies_the_benchmarks_threading_settings():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = "import os, flowphase.validation.cli; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"          # a user's own setting is kept
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "ACTIVE"


def test_damaged_checkpoint_is_one_line_naming_the_file_and_the_fix(tmp_path):
    ckpt = tmp_path / "c.npz"
    rc, _, err = run_cli(SIM + ["--t", "0.5", "--checkpoint", ckpt])
    assert rc == 0 and ckpt.exists(), err
    rc, _, err = run_cli(SIM + ["--t", "0.5", "--checkpoint", ckpt])      # same run again: resumed, same result
    assert rc == 0, err
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    err = one_line_error(SIM + ["--t", "0.5", "--checkpoint", ckpt], f"remove {ckpt} to start the run over")
    assert "internal error" not in err
