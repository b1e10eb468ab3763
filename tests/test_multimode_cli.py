"""``flowphase theory windows`` (issue 15)."""
import json

import pytest

from flowphase.validation.cli import main


def _run(capsys, argv):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_windows_hierarchy_json(capsys):
    rc, out, _ = _run(capsys, ["theory", "windows", "--hierarchy", "0.6,0.4/0.8,0.2;0.6,0.4", "--eps", "0.15,0.02",
                               "--d", "10000", "--qmc-m", "9", "--json"])
    assert rc == 0
    obj = json.loads(out)
    assert {"windows", "decisions", "schedule", "split_windows", "mixture"} <= set(obj)
    assert len(obj["windows"]) == 3 and len(obj["decisions"]) == 3
    assert sum(obj["schedule"]["window_mass"]) == pytest.approx(0.6)
    # the coarse split is decided at tau ~ 1/sqrt(d), the eps = 0.15 siblings ~ 10x later
    taus = sorted(x["tau_bayes"] for x in obj["decisions"])
    assert 0.5 < taus[0] * 100 < 2 and 5 < taus[1] / taus[0] < 20


def test_windows_gram_json(capsys):
    rc, out, _ = _run(capsys, ["theory", "windows", "--weights", "0.5,0.3,0.2", "--gram",
                               "1,0.98,-0.5;0.98,1,-0.5;-0.5,-0.5,1", "--d", "100000", "--qmc-m", "8"])
    assert rc == 0 and len(json.loads(out)["decisions"]) == 2


@pytest.mark.parametrize("argv", [
    ["--weights", "0.5,0.4", "--gram", "1,0;0,1", "--d", "100"],
    ["--weights", "0.5,0.5", "--gram", "1,0.5;0.5", "--d", "100"],
    ["--weights", "0.5,0.5", "--gram", "1,x;x,1", "--d", "100"],
    ["--hierarchy", "0.6,0.4", "--d", "100"],
    ["--hierarchy", "0.6,0.4/0.5,0.5;1", "--eps", "2", "--d", "100"],
    ["--d", "100"],
    ["--hierarchy", "0.6,0.4/0.5,0.5;1", "--d", "100", "--qmc-m", "30"],
])
def test_windows_bad_input_exits_2(capsys, argv):
    rc, out, err = _run(capsys, ["theory", "windows"] + argv)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("flowphase: error:")
