"""Protocol presets, given data / initial parameters, NPZ export and the t = 0 sign."""
import json
from pathlib import Path

import numba
import numpy as np
import pytest

from flowphase.theory.problem import Problem
from flowphase.validation.simulator.canonical import canonical_sign, sign_degenerate
from flowphase.validation.cli import main
from flowphase.validation.protocols import PROTOCOLS, protocol_table, resolve_protocol
from flowphase.validation.simulator.inputs import load_npz
from flowphase.validation.simulator import simulate
from flowphase.validation.tolerances import tolerance

FAST = "numpy" if numba.config.DISABLE_JIT else "numba"
ROOT = Path(__file__).resolve().parents[1]


def _close(a, b, name="kernel_crosscheck"):
    tol = tolerance(name)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.all(np.abs(a - b) <= tol.abs_floor + tol.rel * np.abs(b))


# ----------------------------------------------------------------------------- presets
def test_presets_resolve_and_record_overrides():
    th, rec = resolve_protocol(None)
    assert rec == {"protocol": "theory", "overrides": []}
    assert (th["optimizer"], th["lr"], th["lr_final"], th["draws"], th["init"], th["epochs"]) == \
        ("gd", 0.25, 0.25, 0, "small", 400)
    au, rec = resolve_protocol("authors", lr=0.003)
    assert (au["optimizer"], au["lr"], au["lr_final"], au["draws"], au["init"], au["labels"]) == \
        ("adam", 0.003, 0.003, 1, "random", "bernoulli")
    assert rec["overrides"] == ["lr"]
    # exact expectation not available with fixed noise / the sign model: one draw
    assert resolve_protocol("theory", noise="fixed")[0]["draws"] == 1
    assert resolve_protocol("theory", model="sign")[0]["draws"] == 1
    with pytest.raises(ValueError, match="protocol"):
        resolve_protocol("mine")
    with pytest.raises(ValueError, match="protocol"):
        simulate(Problem.dilated(), d=10, n=3, ts=[0.5], protocol="adam")


def test_readme_protocol_table_is_the_preset_table():
    readme = (ROOT / "README.md").read_text()
    assert protocol_table() in readme
    assert "`theory` (default)" in protocol_table()


def test_library_and_cli_run_the_same_preset(capsys):
    """simulate(protocol=P) and `flowphase simulate --protocol P`: same config, same numbers."""
    pr = Problem.dilated(d=40, n=6)
    for proto in PROTOCOLS:
        lib = simulate(pr, ts=[0.5, 1.5], seeds=[0, 1], protocol=proto, epochs=30, backend=FAST)
        rc = main(["simulate", "--d", "40", "--n", "6", "--t", "0.5,1.5", "--seeds", "2", "--protocol", proto,
                   "--epochs", "30", "--backend", FAST, "--json"])
        assert rc == 0
        out = json.loads(capsys.readouterr().out)
        assert out["protocol"] == proto and out["config"]["protocol"] == proto
        for key in ("optimizer", "lr", "lr_final", "draws", "init", "init_scale", "labels", "betas", "eps"):
            assert out["config"][key] == lib.config[key], key
        assert set(out["mean"]["0.5"]) == {"c", "m", "omega", "b", "sqrt_q", "sqrt_r"}
        for k, t in enumerate(("0.5", "1.5")):
            got = [out["runs"][1]["overlaps"][t][q] for q in ("c", "m", "omega", "b", "sqrt_q", "sqrt_r")]
            assert _close(got, lib.overlaps[1, k])
            se = [out["stderr"][t][q] for q in ("sqrt_q", "sqrt_r")]
            assert _close(se, lib.stderr()[k, 4:])
    # the authors' preset really is Adam from N(0, 1) with a constant rate, the theory one GD
    au = simulate(pr, ts=[0.5], protocol="authors", epochs=1, backend=FAST).config
    assert (au["optimizer"], au["init"], au["lr"], au["lr_final"], au["draws"]) == ("adam", "random", 0.01, 0.01, 1)


# ----------------------------------------------------------------------------- given data and init
@pytest.fixture(scope="module")
def given():
    rng = np.random.default_rng(11)
    pr = Problem.dilated(p=0.7)
    x1, s, _ = pr.mixture.sample(8, 30, rng=rng)
    init = {"c": rng.standard_normal(2), "b": rng.standard_normal(2), "u": rng.standard_normal((2, 30)),
            "w": rng.standard_normal((2, 30))}
    return pr, {"x1": x1, "s": s}, init


def test_given_data_and_init_are_used(given):
    pr, data, init = given
    # d, n taken from the data; one step of a vanishing rate leaves the given initialisation
    r = simulate(pr, ts=[0.5, 1.5], seeds=[3, 4], protocol="authors", epochs=1, lr=1e-300, data=data,
                 init_params=init, backend=FAST)
    assert (r.problem.d, r.problem.n) == (30, 8)
    assert np.array_equal(r.data["x1"][1], data["x1"]) and np.array_equal(r.data["s"][0], data["s"])
    flip = canonical_sign(init["u"].mean(1), init["w"].mean(1))
    for i in range(2):
        assert _close(r.params["u"][i], init["u"] * flip[:, None]) and _close(r.params["c"][i], init["c"])
        assert _close(r.params["b"][i], init["b"] * flip)
    assert r.config["data"] == "given" and r.config["init_params"] == "given" and len(r.config["data_sha256"]) == 16
    # the seeds are now only noise streams: same data and init, different trained parameters
    r2 = simulate(pr, ts=[0.5], seeds=[3, 4], protocol="authors", epochs=20, data=data, init_params={
        k: v[:1] for k, v in init.items()}, backend=FAST)
    assert np.abs(r2.params["u"][0] - r2.params["u"][1]).max() > 1e-3
    # per-seed data (S, n, d) is accepted as well
    x2 = np.stack([data["x1"], -data["x1"]])
    r3 = simulate(pr, ts=[0.5], seeds=[0, 1], epochs=1, data={"x1": x2, "labels": np.stack([data["s"], -data["s"]])},
                  backend=FAST)
    assert np.array_equal(r3.data["x1"], x2)


@pytest.mark.parametrize("change,word", [
    (dict(x1=lambda x: x[:, :-1]), "shape"),
    (dict(x1=lambda x: x.astype(np.int64)), "floating"),
    (dict(x1=lambda x: x + 1j), "real"),
    (dict(x1=lambda x: np.where(x > 1, np.nan, x)), "finite"),
    (dict(s=lambda s: 0.5 * s), r"\+1 or -1"),
    (dict(s=lambda s: s[:-1]), "shape"),
])
def test_bad_data_raises_value_error(given, change, word):
    pr, data, _ = given
    bad = {k: change[k](v) if k in change else v for k, v in data.items()}
    with pytest.raises(ValueError, match=word):
        simulate(pr, d=30, n=8, ts=[0.5], epochs=1, data=bad, backend=FAST)


@pytest.mark.parametrize("key,value,word", [
    ("u", np.zeros((2, 29)), "shape"), ("c", np.zeros(3), "shape"), ("w", np.full((2, 30), np.inf), "finite"),
    ("b", np.array(["a", "b"]), "real"), ("extra", np.zeros(2), "keys")])
def test_bad_init_params_raise_value_error(given, key, value, word):
    pr, data, init = given
    with pytest.raises(ValueError, match=word):
        simulate(pr, ts=[0.5, 1.5], epochs=1, data=data, init_params={**init, key: value}, backend=FAST)


def test_data_size_must_match_the_problem(given):
    _, data, _ = given
    with pytest.raises(ValueError, match="d = 30"):
        simulate(Problem.dilated(d=40, n=8), ts=[0.5], epochs=1, data=data)


# ----------------------------------------------------------------------------- NPZ export
def test_npz_export_round_trips_and_continues_training(tmp_path, given):
    """Export after E1 steps, reload, train E2 more == one run of E1 + E2 (deterministic GD on the
    exact expectation; the sign flip of the export is a symmetry of the loss)."""
    pr, data, init = given
    kw = dict(ts=[0.25, 1.5], seeds=[0], protocol="theory", data=data, backend=FAST)
    first = simulate(pr, epochs=40, init_params=init, **kw)
    path = first.save_npz(tmp_path / "run.npz")
    back = load_npz(path)
    for k in ("c", "b", "u", "w"):
        assert np.array_equal(back["params"][k], first.params[k])
    assert np.array_equal(back["data"]["x1"], first.data["x1"]) and np.array_equal(back["ts"], first.ts)
    assert back["config"] == json.loads(json.dumps(first.config)) and back["problem"]["d"] == 30
    resumed = simulate(pr, epochs=60, init_params=back["params"], **dict(kw, data=back["data"]))
    whole = simulate(pr, epochs=100, init_params=init, **kw)
    assert _close(resumed.overlaps, whole.overlaps)
    with pytest.raises(ValueError, match="npz"):
        first.save_npz(tmp_path / "run.txt")


def test_cli_export_data_and_init_params(tmp_path, capsys):
    out = tmp_path / "a.npz"
    argv = ["simulate", "--d", "30", "--n", "8", "--t", "0.25,1.5", "--seeds", "1", "--epochs", "40",
            "--backend", FAST, "--json"]
    assert main(argv + ["--export", str(out)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["export"] == str(out)
    z = load_npz(out)
    assert z["params"]["u"].shape == (1, 2, 30) and z["data"]["x1"].shape == (1, 8, 30)
    # the exported (S = 1) parameters and data restart the run
    np.savez(tmp_path / "init.npz", **{k: v[0] for k, v in z["params"].items()})
    np.savez(tmp_path / "data.npz", x1=z["data"]["x1"][0], s=z["data"]["s"][0])
    assert main(argv + ["--data", str(tmp_path / "data.npz"), "--init-params", str(tmp_path / "init.npz")]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["config"]["data"] == "given" and again["config"]["init_params"] == "given"
    # 40 + 40 steps through the export == 80 steps in one run (deterministic GD on the exact expectation)
    assert main([*argv[:10], "80", *argv[11:]]) == 0
    whole = json.loads(capsys.readouterr().out)
    for t in ("0.25", "1.5"):
        assert _close([again["mean"][t][q] for q in whole["mean"][t]], list(whole["mean"][t].values()))
        assert abs(again["mean"][t]["c"] - first["mean"][t]["c"]) > 1e-4      # it did train further
    assert main(argv + ["--init-params", str(tmp_path / "data.npz")]) == 2
    assert "missing arrays" in capsys.readouterr().err


# ----------------------------------------------------------------------------- sign at t = 0
def test_sign_is_defined_at_t0_where_omega_is_not():
    """At t = 0 omega is a left-over of the N(0,1) init: its sign is random over seeds, m tanh(b) > 0 is
    not.  The canonical m + omega >= 0 gives every seed m > 0 and b > 0 (the theory's signs)."""
    pr = Problem.dilated(p=0.8, d=100, n=16)
    r = simulate(pr, ts=[0.0], seeds=range(12), protocol="authors", epochs=600, labels="exact", backend=FAST)
    m, om, b = r.overlap("m")[:, 0], r.overlap("omega")[:, 0], r.overlap("b")[:, 0]
    assert np.all(m * np.tanh(b) > 0.3)               # the learned mean ~ (2p - 1) mu n/(n + lam), sign-free
    assert np.all(m > 0) and np.all(b > 0)
    assert 0 < np.sum(om > 0) < 12                      # canonicalising by omega would flip m, b at random
    assert not np.any(r.sign_degenerate)
    # the degenerate flag: |m + omega| within 3 random-projection sd of 0
    assert sign_degenerate(0.001, -0.0005, 1.0, 1.0, 100)[()] and not sign_degenerate(0.5, 0.0, 1.0, 1.0, 100)[()]
