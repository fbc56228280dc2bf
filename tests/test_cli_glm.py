"""``expfam glm``: the summary and JSON agree with expfam.glm; bad input is one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import expfam
from expfam._cli import main

CSV = """name,x,dose,y,n,w
a,0.1,1,0,3,1.0
b,0.5,2,1,3,2.0
c,1.5,0,2,3,1.0
d,2.0,1,3,3,0.5
e,-0.4,2,1,3,1.0
f,0.3,0,1,3,1.5
"""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def _cols() -> dict[str, np.ndarray]:
    rows = [line.split(",") for line in CSV.strip().splitlines()[1:]]
    names = CSV.splitlines()[0].split(",")
    return {n: np.array([float(r[i]) for r in rows]) for i, n in enumerate(names) if i}


def test_json_matches_the_library(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["glm", "poisson", str(data), "--response", "y", "--columns", "x", "dose"]
    status = main([*argv, "--weights", "w", "--json"])
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    c = _cols()
    res = expfam.glm(expfam.Poisson, np.column_stack([c["x"], c["dose"]]), c["y"], weights=c["w"])
    assert out["names"] == ["intercept", "x", "dose"]
    np.testing.assert_allclose(out["coef"], res.coef, rtol=1e-14)
    np.testing.assert_allclose(out["stderr"], res.stderr, rtol=1e-14)
    assert out["aic"] == pytest.approx(res.aic, rel=1e-14)
    assert out["mle_exists"] is True


def test_summary_binomial_trials_and_offset(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["glm", "binomial", str(data), "-r", "y", "--trials", "n", "--columns", "x"])
    assert status == 0
    text = capsys.readouterr().out
    assert "GLM: Binomial" in text
    assert "intercept" in text
    status = main(
        ["glm", "poisson", str(data), "-r", "y", "--offset", "dose", "--columns", "x", "--json"]
    )
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    c = _cols()
    res = expfam.glm(expfam.Poisson, c["x"][:, None], c["y"], offset=c["dose"])
    np.testing.assert_allclose(out["coef"], res.coef, rtol=1e-14)


def test_separated_data_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sep.csv"
    path.write_text("x,y\n0,0\n1,0\n2,1\n3,1\n", encoding="utf-8")
    assert main(["glm", "bernoulli", str(path), "-r", "y"]) == 0
    assert "The MLE does not exist" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bernoulli", "-r", "y"], "must hold 0 or 1"),
        (["binomial", "-r", "y"], "needs --trials"),
        (["poisson", "-r", "nope"], "--response nope"),
        (["poisson", "-r", "y", "--weights", "zz"], "--weights zz"),
        (["poisson", "-r", "y", "--trials", "n"], "--trials is for the binomial"),
        (["poisson", "-r", "y", "--columns", "x", "y"], "both a covariate"),
        (["poisson", "-r", "y", "--l2", "-1"], "--l2 must be finite"),
        (["gamma", "-r", "y"], "positive numbers"),
    ],
)
def test_bad_input_one_line_exit_2(
    data: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status = main(["glm", argv[0], str(data), *argv[1:]])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("expfam glm: error: ")
    assert message in err


def test_subprocess_missing_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EXPFAM_DEBUG"}
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "expfam", "glm", "poisson", str(tmp_path / "no.csv"), "-r", "y"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "no such file" in r.stderr
