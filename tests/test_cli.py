"""The ``expfam`` command line, run as users run it: ``python -m expfam`` in a subprocess.

Checked: the values printed (against the library called directly), the ``--json``
schema (always strict JSON, non-finite numbers as strings), and that bad input
gives one line on stderr with exit status 2 and never a traceback.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import expfam
from expfam import _cli
from expfam._cli import _column, _in_cli_terms, main, to_jsonable

ENV = {k: v for k, v in os.environ.items() if k != "EXPFAM_DEBUG"} | {
    "PYTHONWARNINGS": "error",  # a warning on stderr fails the clean-output checks
    "COLUMNS": "100",
}


def run(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "expfam", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=ENV,
        check=False,
    )


def ok(*args: str, stdin: str = "", cwd: Path | None = None) -> str:
    r = run(*args, stdin=stdin, cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    return r.stdout


def strict_json(text: str) -> dict[str, Any]:
    """Parse JSON, failing on the non-standard NaN/Infinity tokens."""

    def reject(token: str) -> None:
        pytest.fail(f"invalid JSON constant {token!r} in output")

    obj = json.loads(text, parse_constant=reject)
    assert isinstance(obj, dict)
    return obj


def as_float(x: Any) -> float:
    """Decode a JSON number, or one of the strings "inf", "-inf", "nan"."""
    if isinstance(x, str):
        assert x in {"inf", "-inf", "nan"}, x
    return float(x)


def assert_one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("expfam"), lines[0]
    assert "error" in lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert r.stdout == ""


# ---------------------------------------------------------------------------- general
def test_no_command_prints_help() -> None:
    out = ok()
    for cmd in ("demo", "boltzmann", "maxent", "fit"):
        assert cmd in out


def test_version() -> None:
    assert ok("--version").strip() == f"expfam {expfam.__version__}"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("expfam")
    if not script.exists():
        pytest.skip("no `expfam` console script next to the interpreter")
    r = subprocess.run(  # noqa: S603 - the console script installed with the package
        [str(script), "--version"], capture_output=True, text=True, check=False, env=ENV
    )
    assert r.returncode == 0
    assert r.stdout.strip() == f"expfam {expfam.__version__}"


# ---------------------------------------------------------------------------- demo
def test_demo_tells_the_whole_story_quickly() -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = ok("demo")
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # the promise is "under 5 seconds"; CPU time is what a busy CI machine cannot inflate
    assert cpu < 5.0, f"expfam demo used {cpu:.1f} s of CPU"
    assert elapsed < 30.0, f"expfam demo took {elapsed:.1f} s"
    assert "skipped" not in out
    assert "1000.6931471805599" in out  # logsumexp where the naive formula overflows
    assert "-4.248354255291589e-18" in out  # log_softmax keeps e**-40
    assert "KL(p || S(u)) + H(p) = 0.651413277983" in out
    assert "beta = -0.371049" in out  # Jaynes' dice
    # the Pythagorean identity: both sides printed equal
    line = next(x for x in out.splitlines() if "H(maxent) - H(fit)" in x)
    values = [float(t) for t in line.replace("=", " ").split() if t[0].isdigit()]
    assert len(values) == 2
    assert values[0] == values[1]
    assert values[0] > 0


# ---------------------------------------------------------------------------- boltzmann
def test_boltzmann_default_is_jaynes_dice() -> None:
    out = ok("boltzmann")
    assert "Jaynes" in out
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    probs = np.array([float(r[2]) for r in rows])
    expected = expfam.boltzmann(np.arange(1.0, 7.0), 4.5).distribution.probs
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert "-0.3710489381" in out
    for label in ("beta", "temperature", "log Z", "free energy", "entropy"):
        assert label in out
    assert "mean 4.5" in out
    assert "mean 4.5" not in ok("boltzmann", "--temperature", "2")  # dice, not their mean


def test_help_examples_run(tmp_path: Path) -> None:
    # the files the examples name, with contents of the documented form
    (tmp_path / "states.csv").write_text(STATES)
    (tmp_path / "levels.csv").write_text("state,energy\na,0\nb,1\nc,2\nd,3\n")
    (tmp_path / "labels.txt").write_text("0 1 2 3 1\n")
    (tmp_path / "counts.txt").write_text("3\n0\n2\n5\n")
    (tmp_path / "trials.csv").write_text("plot,successes\na,3\nb,7\nc,5\n")
    (tmp_path / "heights.csv").write_text("height,w\n170.5,1\n182,2\n165,1\n")
    (tmp_path / "shares.csv").write_text("a,b,c\n0.2,0.3,0.5\n0.1,0.6,0.3\n0.4,0.4,0.2\n")
    ran = 0
    for command in ("boltzmann", "maxent", "fit"):
        helptext = ok(command, "--help")
        for line in helptext.split("examples:")[-1].splitlines():
            feed, _, call = line.split("#")[0].rpartition("|")  # `seq 0 3 | expfam ...`
            words = shlex.split(call)
            if words[:2] != ["expfam", command]:
                continue
            stdin = "\n".join(map(str, range(4))) + "\n" if feed.strip() else ""
            r = run(*words[1:], stdin=stdin, cwd=tmp_path)
            assert r.returncode == 0, (line, r.stderr)
            ran += 1
    assert ran >= 12


BOLTZMANN_KEYS: dict[str, type | tuple[type, ...]] = {
    "command": str,
    "states": list,
    "energies": list,
    "probabilities": list,
    "beta": (float, str),
    "temperature": (float, str),
    "log_partition": (float, str),
    "free_energy": (float, str),
    "entropy": float,
    "mean_energy": float,
    "variance": float,
    "converged": bool,
    "iterations": int,
}


def test_boltzmann_json_schema_and_values() -> None:
    obj = strict_json(ok("boltzmann", "0", "1", "1", "2", "--mean-energy", "0.7", "--json"))
    assert set(obj) == set(BOLTZMANN_KEYS)
    for key, kind in BOLTZMANN_KEYS.items():
        assert isinstance(obj[key], kind), (key, obj[key])
    assert obj["command"] == "boltzmann"
    assert obj["states"] == ["0", "1", "2", "3"]
    ref = expfam.boltzmann([0.0, 1.0, 1.0, 2.0], 0.7)
    np.testing.assert_allclose(obj["probabilities"], ref.distribution.probs, rtol=1e-15)
    assert obj["beta"] == pytest.approx(ref.beta, rel=1e-15)
    assert obj["mean_energy"] == pytest.approx(0.7, rel=1e-14)
    assert obj["free_energy"] == pytest.approx(-obj["temperature"] * obj["log_partition"])
    assert obj["converged"] is True


def test_boltzmann_json_infinite_temperature_is_a_string() -> None:
    obj = strict_json(ok("boltzmann", "1", "2", "3", "--beta", "0", "--json"))
    assert obj["temperature"] in {"inf", "-inf"}
    assert math.isinf(as_float(obj["temperature"]))
    np.testing.assert_allclose(obj["probabilities"], [1 / 3] * 3, rtol=1e-15)


def test_boltzmann_temperature_equals_inverse_beta() -> None:
    a = strict_json(ok("boltzmann", "0", "1", "3", "--temperature", "2", "--json"))
    b = strict_json(ok("boltzmann", "0", "1", "3", "--beta", "0.5", "--json"))
    assert a["probabilities"] == b["probabilities"]


def test_boltzmann_from_files(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("# energies\n0\n1.5\n\n1.5\n4\n")
    (tmp_path / "table.csv").write_text("state,energy,g\nground,0,1\na,1.5,2\nb,1.5,2\nc,4,1\n")
    plain = strict_json(ok("boltzmann", "-f", "one.txt", "-t", "2", "--json", cwd=tmp_path))
    table = strict_json(ok("boltzmann", "-f", "table.csv", "-t", "2", "--json", cwd=tmp_path))
    by_index = strict_json(
        ok("boltzmann", "-f", "table.csv", "-c", "0", "-t", "2", "--json", cwd=tmp_path)
    )
    piped = strict_json(ok("boltzmann", "-f", "-", "-t", "2", "--json", stdin="0 \n1.5\n1.5\n4"))
    assert plain["energies"] == table["energies"] == by_index["energies"] == [0, 1.5, 1.5, 4]
    assert table["states"] == ["ground", "a", "b", "c"]  # the label column
    assert plain["probabilities"] == table["probabilities"] == piped["probabilities"]
    text = ok("boltzmann", "-f", "table.csv", "-t", "2", cwd=tmp_path)
    assert "ground" in text


# ---------------------------------------------------------------------------- maxent
STATES = "state,energy,spin,q\na,0,1,0.4\nb,1,-1,0.3\nc,2,1,0.2\nd,3,-1,0.1\n"

MAXENT_KEYS = {
    "command",
    "features",
    "moments",
    "states",
    "probabilities",
    "multipliers",
    "entropy",
    "kl_to_prior",
    "residual",
    "converged",
    "iterations",
}


def test_maxent_matches_moments_and_library(tmp_path: Path) -> None:
    (tmp_path / "states.csv").write_text(STATES)
    obj = strict_json(
        ok(
            "maxent",
            "states.csv",
            "--features",
            "energy",
            "spin",
            "-m",
            "1.2",
            "0.1",
            "--json",
            cwd=tmp_path,
        )
    )
    assert set(obj) == MAXENT_KEYS
    assert obj["features"] == ["energy", "spin"]
    assert obj["states"] == ["a", "b", "c", "d"]
    assert obj["kl_to_prior"] is None
    p = np.array(obj["probabilities"])
    F = np.array([[0, 1], [1, -1], [2, 1], [3, -1]], dtype=float)
    np.testing.assert_allclose(p @ F, [1.2, 0.1], atol=1e-12)
    ref = expfam.max_entropy(F, [1.2, 0.1])
    np.testing.assert_allclose(p, ref.distribution.probs, rtol=1e-14)
    assert obj["entropy"] == pytest.approx(float(expfam.entropy(p)), rel=1e-12)
    # with every numeric column but the prior as a feature, the prior column excluded
    text = ok("maxent", "states.csv", "-m", "1.2", "0.1", "--prior", "q", cwd=tmp_path)
    assert "KL to prior" in text
    assert "prior" in text.splitlines()[0]


def test_maxent_prior_column_equals_prior_file(tmp_path: Path) -> None:
    (tmp_path / "states.csv").write_text(STATES)
    (tmp_path / "prior.txt").write_text("4\n3\n2\n1\n")  # normalised by the command
    a = strict_json(
        ok(
            "maxent",
            "states.csv",
            "--features",
            "energy",
            "-m",
            "1.2",
            "--prior",
            "q",
            "--json",
            cwd=tmp_path,
        )
    )
    b = strict_json(
        ok(
            "maxent",
            "states.csv",
            "--features",
            "energy",
            "-m",
            "1.2",
            "--prior-file",
            "prior.txt",
            "--json",
            cwd=tmp_path,
        )
    )
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], rtol=1e-14)
    assert as_float(a["kl_to_prior"]) >= 0
    np.testing.assert_allclose(np.dot(a["probabilities"], [0, 1, 2, 3]), 1.2, atol=1e-12)


# ---------------------------------------------------------------------------- fit
FIT_KEYS = {
    "command",
    "family",
    "weights",
    "num_categories",
    "num_observations",
    "pseudocount",
    "counts",
    "probabilities",
    "logits",
    "entropy_nats",
    "entropy_bits",
    "log_likelihood",
}


def test_fit_json_values() -> None:
    labels = "0 2 1 2 2 0 2 1 2 2"
    obj = strict_json(ok("fit", "--labels", labels, "-k", "4", "--json"))
    assert set(obj) == FIT_KEYS
    assert obj["counts"] == [2, 2, 6, 0]
    assert obj["num_observations"] == 10
    np.testing.assert_allclose(obj["probabilities"], [0.2, 0.2, 0.6, 0.0], rtol=1e-15)
    assert obj["logits"][3] == "-inf"  # an unseen category, as a JSON string
    np.testing.assert_allclose(
        [as_float(v) for v in obj["logits"][:3]], np.log([0.2, 0.2, 0.6]), rtol=1e-15
    )
    h = -(2 * 0.2 * math.log(0.2) + 0.6 * math.log(0.6))
    assert obj["entropy_nats"] == pytest.approx(h, rel=1e-14)
    assert obj["entropy_bits"] == pytest.approx(h / math.log(2), rel=1e-14)
    loglik = 4 * math.log(0.2) + 6 * math.log(0.6)
    assert obj["log_likelihood"] == pytest.approx(loglik, rel=1e-14)
    dist = expfam.Categorical.fit(np.array(labels.split(), dtype=int), 4)
    assert obj["log_likelihood"] == pytest.approx(
        float(dist.log_prob(np.array(labels.split(), dtype=int)).sum())
    )


def test_fit_sources_agree(tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("# die faces minus one\n0, 1, 1\n2 2\n\n2\n")
    from_file = strict_json(ok("fit", "labels.txt", "--json", cwd=tmp_path))
    from_stdin = strict_json(ok("fit", "--json", stdin="0 1 1\n2 2 2\n"))
    from_dash = strict_json(ok("fit", "-", "--json", stdin="0 1 1 2 2 2"))
    from_arg = strict_json(ok("fit", "--labels", "0,1,1,2,2,2", "--json"))
    assert from_file == from_stdin == from_dash == from_arg
    assert from_file["num_categories"] == 3  # default: largest label + 1


def test_fit_pseudocount_and_table() -> None:
    obj = strict_json(ok("fit", "--labels", "0 0 0 1", "-k", "3", "-a", "1", "--json"))
    np.testing.assert_allclose(obj["probabilities"], [4 / 7, 2 / 7, 1 / 7], rtol=1e-15)
    assert obj["pseudocount"] == 1.0
    text = ok("fit", "--labels", "0 0 0 1", "-k", "3")
    assert "-inf" in text  # the unseen category's logit
    assert "bits" in text
    assert "log-likelihood" in text


# ---------------------------------------------------------------------------- bad input
#: (command line, standard input, substrings of the one-line message). All run in a
#: data directory holding ``states.csv`` and an ``empty.csv`` of blank and comment lines.
BAD_INPUT: list[tuple[list[str], str, list[str]]] = [
    (["boltzmann", "1", "x", "--beta", "1"], "", ["'x' is not a number"]),
    # infeasible; the library's message in the command line's words
    (
        ["boltzmann", "1", "2", "3", "--mean-energy", "7"],
        "",
        ["--mean-energy=7.0", "the energies"],
    ),
    (["boltzmann", "1", "2"], "", ["--mean-energy"]),  # energies but no target
    (["boltzmann", "1", "2", "--beta", "1", "--mean-energy", "1.5"], "", ["not allowed"]),
    (["boltzmann", "1", "inf", "--beta", "1"], "", ["finite"]),
    (["boltzmann", "--column", "energy", "--beta", "1"], "", ["--column needs --file"]),
    (["boltzmann", "--file", "-", "--beta", "1"], "", ["empty"]),
    (["boltzmann", "--file", "empty.csv", "--beta", "1"], "", ["empty.csv", "empty"]),
    (["boltzmann", "--file", "-", "--beta", "1"], "0\n1\nnope\n", ["line 3", "'nope'"]),
    (["boltzmann", "--file", "-", "--beta", "1"], "a,b\n1,2\n3,4\n", ["--column"]),
    (["boltzmann", "--file", "-", "--beta", "1", "-c", "z"], "a,b\n1,2\n", ["no such column"]),
    (["boltzmann", "--file", "-", "--beta", "1"], "1,2\n3\n", ["line 2"]),
    (["boltzmann", "--file", "missing.txt", "--beta", "1"], "", ["no such file"]),
    (["boltzmann", "1", "2", "--beta", "nan"], "", ["--beta", "got nan"]),
    (["boltzmann", "1", "2", "--temperature", "nan"], "", ["--temperature", "got nan"]),
    (["boltzmann", "1", "2", "--beta", "-nan"], "", ["--beta", "got nan"]),
    (["boltzmann", "1", "2", "--mean-energy", "-inf"], "", ["--mean-energy must be finite"]),
    # negative numbers are values, never unknown options
    (["boltzmann", "-inf", "0", "--beta", "1"], "", ["energies: entry 0 is -inf"]),
    (["boltzmann", "1", "-1x", "--beta", "1"], "", ["energy: '-1x' is not a number"]),
    (["boltzmann", "0", "1", "--bogus", "-b", "1"], "", ["expfam boltzmann: error: unrecognized"]),
    (["boltzmann", "-b", "1", "--", "-1", "0", "--json"], "", ["'--json'", "after `--`"]),
    (["maxent", "states.csv", "--features", "energy", "--moments", "-1e-3"], "", ["--moments="]),
    (["fit", "--labels", "0", "-k", "-1e3"], "", ["invalid int value: '-1e3'"]),
    # numbers where the FILE goes, or an unquoted --values: a hint (found by a review)
    (["fit", "gamma", "1", "2", "3"], "", ["unrecognized arguments: 2 3", "--values '1 2 3'"]),
    (["fit", "poisson", "--values", "1", "2"], "", ["--values '1 2'"]),
    (["fit", "gamma", "1"], "", ["1: no such file", "--values"]),
    (["fit", "--labels", "-1e3"], "", ["label -1000 is negative"]),
    (["fit", "--labels", "0 1", "-a", "-1e-3"], "", ["--pseudocount", "-0.001"]),
    (["boltzmann", "1", "2", "--beta", "abc"], "", ["--beta", "invalid float value"]),
    (["maxent", "states.csv", "-m", "1.0"], "", ["--moments has 1 value for 3 features"]),
    (
        ["maxent", "states.csv", "--features", "spin", "-m", "1", "0"],
        "",
        ["2 values for 1 feature "],
    ),
    (
        ["maxent", "states.csv", "--features", "energy", "-m", "5"],
        "",
        ["--moments=5.0", "outside"],
    ),
    (
        ["maxent", "states.csv", "--features", "energy", "spin", "-m", "1", "2"],
        "",
        ["--moments value 2.0 (for 'spin')", "of feature column 'spin'"],
    ),
    (
        ["maxent", "states.csv", "--features", "energy", "spin", "-m", "2.9", "0.9"],
        "",
        ["--moments"],
    ),
    (["maxent", "states.csv", "--features", "energy", "-m", "x"], "", ["'x' is not a number"]),
    (["maxent", "states.csv", "--features", "nope", "-m", "1"], "", ["no such column"]),
    (["maxent", "missing.csv", "-m", "1"], "", ["no such file"]),
    (["maxent", "empty.csv", "-m", "1"], "", ["empty"]),
    (["maxent", "states.csv", "-m", "1", "--prior", "q", "--prior-file", "p"], "", ["not both"]),
    (
        ["maxent", "states.csv", "--features", "energy", "-m", "1", "--prior", "spin"],
        "",
        ["--prior: prior weights must be non-negative"],
    ),
    (["maxent", "states.csv"], "", ["--moments"]),  # a required option is missing
    (["fit", "--labels", "0 1 x"], "", ["'x' is not a number"]),
    (["fit", "--labels", "0 1.5"], "", ["label 1.5 is not an integer label"]),
    (["fit", "--labels", "0 -1"], "", ["negative"]),
    (["fit", "--labels", "0 1 5", "-k", "3"], "", ["--labels, line 1: label 5 is outside 0..2"]),
    (["fit", "-k", "3"], "0\n# two\n1 2\n3 9\n", ["<stdin>, line 4: label 3 is outside 0..2"]),
    (["fit"], "0\n1 100000000000\n", ["<stdin>, line 2: label 100000000000", "handles"]),
    (["fit"], "", ["no labels"]),
    (["fit"], "\n# only a comment\n", ["no labels"]),
    (["fit", "--labels", "0 1", "-a", "-1"], "", ["--pseudocount"]),
    (["fit", "--labels", "0 1", "-a", "inf"], "", ["--pseudocount"]),
    (["fit", "--labels", "0 1", "-k", "0"], "", ["--num-categories"]),
    (["fit", "--labels", "0 1", "-k", "two"], "", ["invalid int value"]),
    (["fit", "missing.txt"], "", ["no such file"]),
    (["fit", "--labels", "0 100000000000"], "", ["more than this command handles"]),
    (["frobnicate"], "", ["invalid choice"]),
]


@pytest.fixture(scope="module")
def bad_input_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[int, subprocess.CompletedProcess[str]]:
    """Run every BAD_INPUT case, a few at a time (each is mostly interpreter start-up)."""
    data = tmp_path_factory.mktemp("cli-data")
    (data / "states.csv").write_text(STATES)
    (data / "empty.csv").write_text("\n# nothing here\n\n")
    workers = max(2, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            i: pool.submit(run, *args, stdin=stdin, cwd=data)
            for i, (args, stdin, _) in enumerate(BAD_INPUT)
        }
        return {i: f.result() for i, f in futures.items()}


@pytest.mark.parametrize("case", range(len(BAD_INPUT)), ids=lambda i: " ".join(BAD_INPUT[i][0]))
def test_bad_input_is_one_line_and_status_2(
    case: int, bad_input_results: dict[int, subprocess.CompletedProcess[str]]
) -> None:
    needles = BAD_INPUT[case][2]
    assert_one_line_error(bad_input_results[case], *needles)


def test_bad_input_messages_use_command_line_names(
    bad_input_results: dict[int, subprocess.CompletedProcess[str]],
) -> None:
    # the library names arguments in backticks (`mean_energy`); the CLI must not
    for case, r in bad_input_results.items():
        assert not re.search(r"`[a-z_]+`", r.stderr), (BAD_INPUT[case][0], r.stderr)


def test_boundary_mean_energy_is_feasible() -> None:
    # the minimum energy is a feasible target: all mass on the ground state
    obj = strict_json(ok("boltzmann", "1", "2", "3", "--mean-energy", "1", "--json"))
    np.testing.assert_allclose(obj["probabilities"], [1.0, 0.0, 0.0], atol=1e-300)
    assert as_float(obj["beta"]) == math.inf


# ---------------------------------------------------------------------------- in process
def test_to_jsonable_encodes_non_finite_as_strings() -> None:
    obj = to_jsonable(
        {"a": np.array([1.0, np.inf, -np.inf, np.nan]), "b": (np.float32(0.5), np.True_)}
    )
    assert obj == {"a": [1.0, "inf", "-inf", "nan"], "b": [0.5, True]}
    json.dumps(obj, allow_nan=False)
    with pytest.raises(TypeError, match="cannot convert"):
        to_jsonable(object())


def test_main_returns_status_without_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "--labels", "0 1 1"]) == 0
    assert main(["fit", "--labels", "oops"]) == 2
    assert main(["--help"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1


# ---------------------------------------------------------------------------- review fixes
def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """Run `main` in process with --json (after the command); require a clean success."""
    status = main([args[0], "--json", *args[1:]])
    out, err = capsys.readouterr()
    assert (status, err) == (0, ""), err
    return strict_json(out)


#: Negative numbers, in exponent form and as -inf, in every numeric position:
#: (arguments, key of the JSON output, the value expected there).
NEGATIVE_NUMBERS: list[tuple[list[str], str, Any]] = [
    (["boltzmann", "0", "1", "--beta", "-1e-3"], "beta", -1e-3),
    (["boltzmann", "0", "1", "-b", "-1E-3"], "beta", -1e-3),
    (["boltzmann", "0", "1", "--beta=-1e-3"], "beta", -1e-3),
    (["boltzmann", "0", "1", "--beta", "-.5"], "beta", -0.5),
    (["boltzmann", "0", "1", "--temperature", "-1e3"], "beta", -1e-3),
    (["boltzmann", "-1e3", "0", "1", "--beta", "1"], "energies", [-1000.0, 0.0, 1.0]),
    (["boltzmann", "--beta", "1", "-2.5e-1", "-1E2"], "energies", [-0.25, -100.0]),
    (["boltzmann", "--beta", "1", "--", "-1", "0", "1"], "energies", [-1.0, 0.0, 1.0]),
    (["boltzmann", "-1", "1", "--mean-energy", "-1e-3"], "mean_energy", -1e-3),
    (["boltzmann", "-1", "1", "-m", "-1e-3"], "mean_energy", -1e-3),
    (["boltzmann", "0", "1", "--beta", "-inf"], "probabilities", [0.0, 1.0]),
    (["boltzmann", "0", "1", "-b", "-Infinity"], "probabilities", [0.0, 1.0]),
    (["maxent", "states.csv", "--features", "spin", "--moments", "-1e-3"], "moments", [-1e-3]),
    (
        ["maxent", "states.csv", "--features", "spin", "energy", "-m", "-1e-1", "1.5"],
        "moments",
        [-0.1, 1.5],
    ),
    (["maxent", "neg.csv", "-m", "-1.5e0"], "moments", [-1.5]),
    (["fit", "--labels", "0 1", "-a", "1e-3"], "pseudocount", 1e-3),
]


@pytest.mark.parametrize(
    "case", range(len(NEGATIVE_NUMBERS)), ids=lambda i: " ".join(NEGATIVE_NUMBERS[i][0])
)
def test_negative_numbers_are_values_not_options(
    case: int,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "states.csv").write_text(STATES)
    (tmp_path / "neg.csv").write_text("state,energy\na,-1e0\nb,-2E0\nc,-.5e1\n")
    monkeypatch.chdir(tmp_path)
    args, key, expected = NEGATIVE_NUMBERS[case]
    obj = run_json(capsys, *args)
    # a mean energy far below the spread of the energies is met to ~1e-13 relative
    assert obj[key] == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_negative_energies_match_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(capsys, "boltzmann", "-1e-3", "-5e-4", "0", "2e-3", "--temperature", "1e-3")
    ref = expfam.boltzmann([-1e-3, -5e-4, 0.0, 2e-3], beta=1e3)
    np.testing.assert_allclose(obj["probabilities"], ref.probs, rtol=1e-14)


def test_negative_numbers_in_a_subprocess() -> None:
    # the reviewer's command lines, as a shell runs them
    obj = strict_json(ok("boltzmann", "0", "1", "--beta", "-1e-3", "--json"))
    assert obj["beta"] == -1e-3
    obj = strict_json(ok("boltzmann", "-1e3", "0", "1", "--beta", "1", "--json"))
    assert obj["energies"] == [-1000, 0, 1]


def test_temperature_zero_is_the_ground_state_limit(capsys: pytest.CaptureFixture[str]) -> None:
    energies = ["0.5", "-1", "-1", "2"]
    by_t = run_json(capsys, "boltzmann", *energies, "--temperature", "0")
    by_beta = run_json(capsys, "boltzmann", *energies, "--beta", "inf")
    by_mean = run_json(capsys, "boltzmann", *energies, "--mean-energy", "-1")
    assert by_t["probabilities"] == by_beta["probabilities"] == [0.0, 0.5, 0.5, 0.0]
    np.testing.assert_allclose(by_mean["probabilities"], by_t["probabilities"], atol=1e-300)
    for obj in (by_t, by_beta, by_mean):
        assert obj["beta"] == "inf"
        assert obj["temperature"] == 0.0
        assert obj["mean_energy"] == -1.0
        assert obj["entropy"] == pytest.approx(math.log(2), rel=1e-15)
    assert run_json(capsys, "boltzmann", *energies, "-t", "-0")["beta"] == "inf"
    top = run_json(capsys, "boltzmann", *energies, "--beta", "-inf")
    assert top["probabilities"] == [0.0, 0.0, 0.0, 1.0]
    assert top["beta"] == "-inf"
    # the table says so too, and a solver was not involved
    assert main(["boltzmann", *energies, "-t", "0"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"beta = 1/T\s+inf\n", text)
    assert "none needed" in text


def test_json_has_no_negative_zeros(capsys: pytest.CaptureFixture[str]) -> None:
    # a degenerate fit: entropy -0.0 * log 1 and log-likelihood -(3 * log 1)
    for obj in (
        run_json(capsys, "fit", "--labels", "0 0 0"),
        run_json(capsys, "boltzmann", "0", "--beta", "1"),
        run_json(capsys, "boltzmann", "0", "1", "--beta", "-inf"),  # T = 1/-inf = -0.0
    ):
        values = [v for v in json.loads(json.dumps(obj)).values() if isinstance(v, float)]
        assert values
        assert all(math.copysign(1.0, v) > 0 for v in values if v == 0), obj
    obj = run_json(capsys, "fit", "--labels", "0 0 0")
    assert obj["entropy_nats"] == obj["log_likelihood"] == 0.0
    assert math.copysign(1.0, obj["log_likelihood"]) == 1.0
    assert to_jsonable([-0.0, np.float32(-0.0), np.array([-0.0])]) == [0.0, 0.0, [0.0]]
    assert "-0.0" not in json.dumps(to_jsonable({"a": -0.0, "b": np.array([-0.0, 1.0])}))
    assert _column([-0.0, 0.5], fixed=True) == ["0.000000", "0.500000"]


def test_library_messages_in_cli_terms() -> None:
    assert _in_cli_terms("`beta` must not be nan", "boltzmann") == "--beta must not be nan"
    assert (
        _in_cli_terms("`moments` lie outside the hull of `features`", "maxent")
        == "--moments lie outside the hull of the --features columns"
    )
    assert (
        _in_cli_terms("`moments`[1]=-2.5 is outside `features`[:, 1]", "maxent", ["e", "s"])
        == "--moments value -2.5 (for 's') is outside feature column 's'"
    )
    assert _in_cli_terms("`other` stays", "fit") == "`other` stays"  # unknown: unchanged


# ---------------------------------------------------------------------------- issue 13
# Each defect of issue 13 reproduced on the old CLI, with a test named after it.


def test_bom_before_header_broke_column_lookup(tmp_path: Path) -> None:
    # a spreadsheet's CSV: UTF-8 byte-order mark, then the header; the column was
    # named "\ufeffenergy" and `--column energy` found no such column
    (tmp_path / "levels.csv").write_bytes(b"\xef\xbb\xbfenergy,g\n0,1\n1,2\n")
    obj = strict_json(
        ok("boltzmann", "-f", "levels.csv", "-c", "energy", "-b", "1", "--json", cwd=tmp_path)
    )
    assert obj["energies"] == [0, 1]
    (tmp_path / "named.csv").write_bytes(b"\xef\xbb\xbfstate,energy\na,0\nb,1\n")
    obj = strict_json(ok("boltzmann", "-f", "named.csv", "-b", "1", "--json", cwd=tmp_path))
    assert obj["states"] == ["a", "b"]


def test_bom_before_one_column_file_dropped_the_first_value(tmp_path: Path) -> None:
    # "\ufeff0" was not a number, so the first line was taken for a header
    (tmp_path / "one.txt").write_bytes(b"\xef\xbb\xbf0\n1\n2\n")
    obj = strict_json(ok("boltzmann", "-f", "one.txt", "-b", "1", "--json", cwd=tmp_path))
    assert obj["energies"] == [0, 1, 2]
    obj = strict_json(ok("fit", "poisson", "one.txt", "--json", cwd=tmp_path))
    assert obj["num_observations"] == 3
    assert obj["parameters"]["rate"] == 1.0
    obj = strict_json(ok("fit", "-", "--json", stdin="\ufeff2\n0\n"))
    assert obj["counts"] == [1, 0, 1]


#: Data for `expfam fit FAMILY`, one entry per exported family: (text, known parameters).
FIT_DATA: dict[str, tuple[str, dict[str, int]]] = {
    "bernoulli": ("0 1 1 0 1", {}),
    "beta": ("0.2 0.5 0.7 0.4", {}),
    "binomial": ("3 4 5 2", {"n": 10}),
    "categorical": ("0 2 1 2", {"num_categories": 4}),
    "dirichlet": ("0.2,0.3,0.5\n0.1,0.6,0.3\n0.4,0.4,0.2\n", {}),
    "exponential": ("0.5 1.5 2 0.1", {}),
    "gamma": ("0.5 1.5 2 0.1", {}),
    "geometric": ("1 2 4 3", {}),
    "negative-binomial": ("0 4 2 7 1", {"r": 2}),
    "normal": ("1 2 4", {}),
    "poisson": ("0 2 3 1", {}),
}


def test_fit_registry_covers_every_exported_family() -> None:
    families = {
        _cli._kebab(name)
        for name in expfam.__all__
        if isinstance(getattr(expfam, name), type)
        and issubclass(getattr(expfam, name), expfam.ExponentialFamily)
        and getattr(expfam, name) is not expfam.ExponentialFamily
    }
    assert set(_cli._families()) == families
    assert set(FIT_DATA) == families, "add test data for the new family to FIT_DATA"


@pytest.mark.parametrize("family", sorted(FIT_DATA))
def test_fit_only_fitted_a_categorical(family: str, capsys: pytest.CaptureFixture[str]) -> None:
    text, fixed = FIT_DATA[family]
    cls = _cli._families()[family]
    options = [f"--fixed={k}={v}" for k, v in fixed.items()]
    obj = run_json(capsys, "fit", family, "--values", text, *options)
    assert obj["family"] == cls.__name__
    if cls.event_ndim == 1:
        x = np.array([[float(c) for c in row.split(",")] for row in text.split()])
    else:
        x = np.array(text.split(), dtype=float)
    if cls is expfam.Categorical:
        labels = expfam.Categorical.fit(x.astype(int), fixed["num_categories"])
        np.testing.assert_array_equal(obj["probabilities"], labels.probs)
        return
    ref = cls.fit(x, **fixed)
    np.testing.assert_array_equal(obj["natural_params"], ref.natural_params)
    np.testing.assert_array_equal(obj["mean_params"], ref.mean_params)
    assert obj["entropy"] == float(ref.entropy())
    assert obj["log_likelihood"] == pytest.approx(float(ref.log_prob(x).sum()), rel=1e-14)
    assert obj["fixed"] == fixed
    # the text table shows the same fit
    assert main(["fit", family, "--values", text, *options]) == 0
    out = capsys.readouterr().out
    assert f"{cls.__name__} fit (maximum likelihood) to {x.shape[0]} observations" in out


def test_fit_closed_forms(capsys: pytest.CaptureFixture[str]) -> None:
    # independent of the library: the MLEs in closed form
    assert run_json(capsys, "fit", "poisson", "-l", "0 2 3 1")["parameters"]["rate"] == 1.5
    obj = run_json(capsys, "fit", "normal", "-l", "1 2 6")
    assert obj["parameters"]["loc"] == pytest.approx(3.0, rel=1e-15)
    assert obj["parameters"]["scale"] == pytest.approx(math.sqrt(14 / 3), rel=1e-15)
    obj = run_json(capsys, "fit", "binomial", "-l", "3 4 5 2", "-x", "n=10")
    assert obj["parameters"]["probs"] == pytest.approx(14 / 40, rel=1e-15)
    assert obj["parameters"]["n"] == 10


def test_fit_rejected_a_header_row_and_had_no_column_or_weights(tmp_path: Path) -> None:
    (tmp_path / "counts.csv").write_text("site,count,w\na,3,1\nb,0,2\nc,6,1\n")
    obj = strict_json(
        ok(
            "fit",
            "poisson",
            "counts.csv",
            "--column",
            "count",
            "--weights",
            "w",
            "--json",
            cwd=tmp_path,
        )
    )
    assert obj["parameters"]["rate"] == pytest.approx((3 + 0 + 6) / 4, rel=1e-15)
    assert obj["weights"] == "w"
    assert obj["columns"] == ["count"]
    ref = expfam.Poisson.fit([3.0, 0.0, 6.0], weights=[1.0, 2.0, 1.0])
    np.testing.assert_array_equal(obj["natural_params"], ref.natural_params)
    # a header row over a single column needs no --column
    (tmp_path / "labels.csv").write_text("label\n0\n1\n1\n")
    obj = strict_json(ok("fit", "labels.csv", "--json", cwd=tmp_path))
    assert obj["counts"] == [1, 2]
    # weights of a categorical: weighted counts
    (tmp_path / "wl.csv").write_text("label,w\n0,0.5\n1,2\n1,1\n")
    obj = strict_json(
        ok("fit", "categorical", "wl.csv", "-c", "label", "-w", "w", "--json", cwd=tmp_path)
    )
    assert obj["counts"] == [0.5, 3.0]
    np.testing.assert_allclose(obj["probabilities"], [0.5 / 3.5, 3 / 3.5], rtol=1e-15)
    # columns by index, Dirichlet rows from a table
    obj = strict_json(ok("fit", "poisson", "counts.csv", "-c", "0", "--json", cwd=tmp_path))
    assert obj["parameters"]["rate"] == pytest.approx(3.0, rel=1e-15)
    (tmp_path / "shares.csv").write_text("a,b,c,w\n0.2,0.3,0.5,1\n0.1,0.6,0.3,1\n0.4,0.4,0.2,2\n")
    obj = strict_json(ok("fit", "dirichlet", "shares.csv", "-w", "w", "--json", cwd=tmp_path))
    x = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3], [0.4, 0.4, 0.2]])
    dirichlet = expfam.Dirichlet.fit(x, weights=[1.0, 1.0, 2.0])
    np.testing.assert_array_equal(obj["parameters"]["concentration"], dirichlet.concentration)
    assert obj["columns"] == ["a", "b", "c"]


def test_fit_rejected_float_labels_the_api_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    a = run_json(capsys, "fit", "--labels", "0 1.0 2.0 2")
    b = run_json(capsys, "fit", "--labels", "0 1 2 2")
    assert a == b
    assert run_json(capsys, "fit", "binomial", "-l", "3.0 4", "-x", "n=10.0")["fixed"] == {
        "n": 10.0
    }


def test_fit_original_categorical_form_still_works(tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("0 1 1\n")
    old = strict_json(ok("fit", "labels.txt", "-k", "3", "--json", cwd=tmp_path))
    new = strict_json(ok("fit", "categorical", "labels.txt", "-k", "3", "--json", cwd=tmp_path))
    fixed = strict_json(
        ok(
            "fit",
            "Categorical",
            "labels.txt",
            "--fixed",
            "num_categories=3",
            "--json",
            cwd=tmp_path,
        )
    )
    assert old == new == fixed
    assert old["counts"] == [1, 2, 0]


FIT_ERRORS: list[tuple[list[str], list[str]]] = [
    (["fit", "binomial", "-l", "1 2"], ["binomial needs --fixed n=VALUE"]),
    (["fit", "--labels", "a b"], ["--labels, line 1: 'a' is not a number"]),  # not a header
    (["fit", "poisson", "-l", "1,,2"], ["line 1: an empty value where a number is expected"]),
    (["fit", "poisson", "latin1.csv"], ["latin1.csv, line 1: not UTF-8 text"]),
    (["fit", "poisson", "-l", "1 2", "--fixed", "n=3"], ["poisson takes no --fixed"]),
    (["fit", "poisson", "-l", "1 2", "--fixed", "n"], ["--fixed expects NAME=VALUE"]),
    (["fit", "poisson", "-l", "1 -2"], ["poisson:", "-2"]),
    (["fit", "bernoulli", "-l", "0 1 2"], ["bernoulli: the data must hold integers"]),
    (["fit", "binomial", "-l", "0 1", "-x", "n=-1"], ["binomial: --fixed n must be"]),
    (["fit", "poisson", "-l", "1 2", "-a", "1"], ["categorical family only"]),
    (["fit", "poison", "-l", "1 2"], ["'poison' is neither a family nor a file", "poisson"]),
    (["fit", "poisson", "states.csv"], ["has columns", "--column"]),
    (["fit", "poisson", "states.csv", "-c", "energy", "spin"], ["give one"]),
    (["fit", "poisson", "states.csv", "-c", "energy", "-w", "spin"], ["line 3", "weight -1"]),
    (["fit", "poisson", "states.csv", "-c", "nope"], ["--column nope", "no such column"]),
    (["fit", "categorical", "-l", "0 1", "-k", "2", "-x", "num_categories=3"], ["disagree"]),
]


@pytest.mark.parametrize("case", range(len(FIT_ERRORS)), ids=lambda i: " ".join(FIT_ERRORS[i][0]))
def test_fit_errors_are_one_line(case: int, tmp_path: Path) -> None:
    (tmp_path / "states.csv").write_text(STATES)
    (tmp_path / "latin1.csv").write_bytes("café\n1\n".encode("latin-1"))
    args, needles = FIT_ERRORS[case]
    r = run(*args, cwd=tmp_path)
    assert_one_line_error(r, *needles)
    assert not re.search(r"`[a-z_]+`", r.stderr), r.stderr  # the library's names, translated


def test_a_family_added_later_needs_no_cli_edit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class CountsPerDay(expfam.Poisson):
        """A new exported family (here a Poisson underneath)."""

    class NegativeTrials(expfam.Binomial):
        """Only its signature is read: a known `r` before a keyword-only group."""

        def __init__(self, r: Any, *, probs: Any = None, logits: Any = None) -> None:
            super().__init__(r, probs=probs, logits=logits)

    for cls in (CountsPerDay, NegativeTrials):
        monkeypatch.setattr(expfam, cls.__name__, cls, raising=False)
    monkeypatch.setattr(expfam, "__all__", [*expfam.__all__, "CountsPerDay", "NegativeTrials"])
    assert _cli._families()["counts-per-day"] is CountsPerDay
    assert _cli._known_parameters(NegativeTrials) == ["r"]
    assert _cli._known_parameters(expfam.Binomial) == ["n"]
    assert _cli._known_parameters(expfam.Categorical) == ["num_categories"]
    assert _cli._known_parameters(expfam.Poisson) == []
    assert main(["fit", "--help"]) == 0
    helptext = capsys.readouterr().out
    assert "counts-per-day," in helptext
    assert "negative-trials (known: r)" in helptext
    obj = run_json(capsys, "fit", "counts-per-day", "-l", "1 3")
    assert obj["family"] == "CountsPerDay"
    assert obj["mean_params"] == [2.0]
    assert run_json(capsys, "fit", "CountsPerDay", "-l", "1 3") == obj


JSON_ERRORS: list[list[str]] = [
    ["fit", "--labels", "x", "--json"],  # bad input
    ["fit", "--json", "--labels", "0", "-k", "two"],  # argparse: invalid int
    ["boltzmann", "1", "2", "--json", "--bogus"],  # argparse: unknown option
    ["boltzmann", "1", "2", "3", "--mean-energy", "7", "--json"],  # infeasible
    ["maxent", "missing.csv", "-m", "1", "--json"],
]


@pytest.mark.parametrize("case", range(len(JSON_ERRORS)), ids=lambda i: " ".join(JSON_ERRORS[i]))
def test_json_errors_were_plain_text(case: int) -> None:
    r = run(*JSON_ERRORS[case])
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1, r.stderr
    obj = strict_json(r.stderr)
    assert set(obj) == {"command", "status", "kind", "error"}
    assert obj["command"] == JSON_ERRORS[case][0]
    assert obj["status"] == 2
    assert obj["kind"] == "error"
    assert obj["error"]
    assert "Traceback" not in obj["error"]


def test_semicolon_separated_file_got_no_hint(tmp_path: Path) -> None:
    (tmp_path / "semi.csv").write_text("state;energy\na;0,5\nb;1,5\n")
    (tmp_path / "plain.csv").write_text("1;2\n3;4\n")
    for args in (
        ["boltzmann", "-f", "semi.csv", "-b", "1"],
        ["boltzmann", "-f", "plain.csv", "-b", "1"],
        ["fit", "poisson", "plain.csv"],
        ["fit", "poisson", "semi.csv", "-c", "energy"],
    ):
        assert_one_line_error(run(*args, cwd=tmp_path), "';'-separated")
    r = run("boltzmann", "-f", "-", "-b", "1", stdin="1\nx\n")
    assert "';'" not in r.stderr  # no hint where there is no semicolon


def test_plural_grammar_was_wrong() -> None:
    assert _cli._plural(1, "value") == "1 value"
    assert _cli._plural(2, "value") == "2 values"
    assert _cli._plural(1, "category", "categories") == "1 category"
    r = run("boltzmann", "-f", "-", "-b", "1", stdin="1,2\n3\n")
    assert_one_line_error(r, "line 2: 1 value, expected 2")


def test_control_characters_in_a_file_name_were_echoed_raw(tmp_path: Path) -> None:
    evil = "evil\x1b[31mred\x07.csv"
    r = run("boltzmann", "--file", evil, "--beta", "1", cwd=tmp_path)
    assert_one_line_error(r, "evil\\x1b[31mred\\x07.csv", "no such file")
    assert "\x1b" not in r.stderr
    assert "\x07" not in r.stderr
    (tmp_path / evil).write_text("name,energy\nok\x1b[2J,0\nb\u202e,1\n")
    out = ok("boltzmann", "--file", evil, "--beta", "1", cwd=tmp_path)
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "ok\\x1b[2J" in out
    assert "evil\\x1b[31mred\\x07.csv" in out
    r = run("fit", "poisson", "-l", "1 \x1b[2J")
    assert "\x1b" not in r.stderr
    assert _cli._shown("naïve ünïcode") == "naïve ünïcode"


def child_limits() -> None:  # pragma: no cover - runs in the child process
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # 2 GiB of address space


def test_dev_zero_ended_in_an_internal_memory_error() -> None:
    # an endless input without line breaks: stopped at the documented line limit, in
    # a child that could not have held the old reader's copy of it (2 GiB limit)
    for args in (
        ["boltzmann", "--file", "/dev/zero", "--beta", "1"],
        ["fit", "poisson", "/dev/zero"],
    ):
        r = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "expfam", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=ENV,
            check=False,
            preexec_fn=child_limits,
        )
        assert_one_line_error(r, "/dev/zero, line 1", f"{_cli.MAX_LINE_CHARS:,} characters")
    r = run("fit", "poisson", stdin="\x00" * 100)
    assert_one_line_error(r, "<stdin>, line 1", "is not a number")


def test_input_limits_are_enforced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_cli, "MAX_VALUES", 5)
    assert main(["fit", "poisson", "-l", "1 2 3 4 5"]) == 0
    capsys.readouterr()
    for args in (["fit", "poisson", "-l", "1 2 3 4 5 6"], ["boltzmann", "-f", "-", "-b", "1"]):
        monkeypatch.setattr(sys, "stdin", io.StringIO("1\n2\n3\n4\n5\n6\n"))
        assert main(args) == 2
        assert "more than 5 numbers, the limit" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("a,b\n1,2\n3,4\n5,6\n"))
    assert main(["boltzmann", "-f", "-", "-b", "1", "-c", "a"]) == 2
    assert "more than 5 numbers" in capsys.readouterr().err
    monkeypatch.setattr(_cli, "MAX_INPUT_CHARS", 10)
    monkeypatch.setattr(sys, "stdin", io.StringIO("# a long comment\n1\n"))
    assert main(["fit", "poisson"]) == 2
    assert "longer than 10 characters, the limit of an input" in capsys.readouterr().err


def test_200_mb_input_peaked_at_6_gb(tmp_path: Path) -> None:
    # the old reader held the text, its lines and a list of strings per cell: about 30
    # bytes of memory per byte of input. Streaming keeps 8 bytes per number.
    n = 2_000_000
    path = tmp_path / "big.txt"
    rng = np.random.default_rng(13)
    path.write_text("x\n" + "\n".join(f"{v:.9f}" for v in rng.random(n)) + "\n")
    size = path.stat().st_size
    code = (
        "import resource, sys\n"
        "from expfam._cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "raise SystemExit(status)\n"
    )
    peaks = {}
    for args in (
        ["fit", "normal", str(path), "--json"],
        ["boltzmann", "-f", str(path), "-b", "1"],
    ):
        r = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env=ENV,
            check=False,
            timeout=600,
        )
        assert r.returncode == 0, r.stderr
        peaks[args[0]] = int(r.stderr.split()[-1]) * 1024  # kilobytes on Linux
    baseline = 150e6  # the interpreter with numpy and scipy
    for command, peak in peaks.items():
        assert peak < baseline + 16 * size, (command, peak / 1e6, size / 1e6)


def test_streamed_json_and_tables_equal_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    obj = {
        "a": np.arange(10.0),
        "b": [1, 2, np.inf],
        "c": _cli._Indices(7),
        "d": np.float64(-0.0),
        "e": np.zeros(0),
        "f": np.array(3.5),
        "g": np.array([1.0, -0.0, np.inf, 2.5]),  # not the fast path: -0.0 and inf
    }
    whole = io.StringIO()
    _cli._dump_json(obj, whole)
    monkeypatch.setattr(_cli, "_CHUNK", 2)
    chunked = io.StringIO()
    _cli._dump_json(obj, chunked)
    expected = json.dumps(to_jsonable({**obj, "c": [str(i) for i in range(7)]}), allow_nan=False)
    assert whole.getvalue() == chunked.getvalue() == expected + "\n"
    a, b = io.StringIO(), io.StringIO()
    x = np.array([0.5, 1e-7, -2.0, np.inf, 3.25])
    _cli._table_columns(["i", "x"], [_cli._Indices(5), _cli._Column(x)], a)
    _cli._table(["i", "x"], [[str(i), c] for i, c in enumerate(_column(x))], b)
    assert a.getvalue() == b.getvalue()


# ---------------------------------------------------------------------------- --progress
GLM_CSV = "name,x,y\na,0.1,0\nb,0.5,1\nc,1.5,2\nd,2.0,3\ne,-0.4,1\nf,0.3,1\n"

#: each long-running command with a file input, and the phase it reports
PROGRESS_COMMANDS: list[tuple[list[str], str]] = [
    (["boltzmann", "-f", "states.csv", "-c", "energy", "-m", "1.2"], "solving for beta ..."),
    (["boltzmann", "-f", "states.csv", "-c", "energy", "-b", "0.5"], "computing the distri"),
    (["maxent", "states.csv", "--features", "energy", "--moments", "1.2"], "solving for the mult"),
    (
        [
            "maxent",
            "states.csv",
            "--features",
            "energy",
            "spin",
            "-m",
            "1.2",
            "0.1",
            "--prior-file",
            "prior.txt",
        ],
        "solving",
    ),
    (["fit", "poisson", "counts.txt"], "fitting ..."),
    (["fit", "labels.txt", "-k", "4"], "fitting ..."),
    (["fit", "normal", "states.csv", "--column", "energy", "--weights", "q"], "fitting ..."),
    (["glm", "poisson", "glm.csv", "--response", "y"], "fitting ..."),
]


@pytest.fixture
def progress_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "states.csv").write_text(STATES)
    (tmp_path / "prior.txt").write_text("0.4\n0.3\n0.2\n0.1\n")
    (tmp_path / "counts.txt").write_text("3\n0\n2\n5\n")
    (tmp_path / "labels.txt").write_text("0 1 2 3 1\n")
    (tmp_path / "glm.csv").write_text(GLM_CSV)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check_progress_lines(err: str, command: str, phase: str, files: list[str]) -> None:
    """Every line is a complete progress line of `command`; files read, phase, total."""
    assert err.endswith("\n"), err
    lines = err.splitlines()
    assert all(line.startswith(f"expfam {command}: ") for line in lines), err
    for name in files:
        assert any(
            re.match(rf"expfam {command}: read {name}: \S+ \S+ in \d+\.\d\d s$", s) for s in lines
        ), err
    assert any(re.search(re.escape(phase) + r".* \d+\.\d\d s$", s) for s in lines), err
    assert re.fullmatch(rf"expfam {command}: done, \d+\.\d\d s in all", lines[-1]), err


@pytest.mark.parametrize(
    "case", range(len(PROGRESS_COMMANDS)), ids=lambda i: " ".join(PROGRESS_COMMANDS[i][0])
)
def test_progress_goes_to_stderr_and_stdout_is_unchanged(
    case: int, progress_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del progress_files
    args, phase = PROGRESS_COMMANDS[case]
    files = [a for a in args if a.endswith((".csv", ".txt"))]
    for json_flag in ([], ["--json"]):
        assert main([*args, *json_flag]) == 0
        plain = capsys.readouterr()
        assert plain.err == ""  # nothing without --progress
        assert main([*args, *json_flag, "--progress"]) == 0
        with_progress = capsys.readouterr()
        assert with_progress.out == plain.out
        if json_flag:
            strict_json(with_progress.out)
        check_progress_lines(with_progress.err, args[0], phase, files)


def test_progress_in_a_subprocess_keeps_json_clean(tmp_path: Path) -> None:
    (tmp_path / "counts.txt").write_text("3\n0\n2\n5\n")
    r = run("fit", "poisson", "counts.txt", "--progress", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert strict_json(r.stdout)["parameters"] == {"rate": 2.5}
    check_progress_lines(r.stderr, "fit", "fitting ...", ["counts.txt"])
    assert ok("fit", "poisson", "counts.txt", "--json", cwd=tmp_path) == r.stdout


def test_progress_of_standard_input_counts_characters(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "x\n1\n2\n3\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))  # no byte position to ask for
    assert main(["fit", "poisson", "--progress"]) == 0
    err = capsys.readouterr().err
    assert f"expfam fit: read <stdin>: {len(text)} characters in " in err
    check_progress_lines(err, "fit", "fitting ...", [])


class FakeClock:
    """A clock that advances `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def big_values_file(path: Path, n: int) -> int:
    """Write `n` numbers, one a line, after a header; return the file's size in bytes."""
    path.write_text("x\n" + "".join(f"{i % 1000}.5\n" for i in range(n)))
    return path.stat().st_size


def test_progress_is_throttled_not_per_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 50_000
    path = tmp_path / "big.txt"
    size = big_values_file(path, n)
    # the clock is read once per CHECK_CHARS characters, a line written once per
    # LOG_INTERVAL seconds: here one check per ~1000 characters, 1 s per reading of
    # the clock, a line at most every 5 s (every 5th check)
    monkeypatch.setattr(_cli._Progress, "CHECK_CHARS", 1000)
    monkeypatch.setattr(_cli._Progress, "_clock", staticmethod(FakeClock(1.0)))
    assert main(["fit", "normal", str(path), "--progress"]) == 0
    err = capsys.readouterr().err
    reading = [s for s in err.splitlines() if ": reading " in s]
    checks = size // 1000
    assert checks // 5 - 2 <= len(reading) <= checks // 5 + 2, (len(reading), checks)
    assert len(reading) < n / 100  # not a line per line of input
    percents = [int(p) for s in reading for p in re.findall(r"reading \S+: (\d+)% of ", s)]
    assert len(percents) == len(reading)
    assert percents == sorted(percents)
    assert percents[0] > 0
    assert percents[-1] <= 100
    assert "\r" not in err  # not a terminal: plain lines
    # with the real clock and the shipped intervals: a fast read prints no status line
    monkeypatch.undo()
    assert main(["fit", "normal", str(path), "--progress"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) <= 4, lines


def test_progress_on_a_terminal_rewrites_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.txt"
    big_values_file(path, 20_000)
    monkeypatch.setattr(_cli._Progress, "CHECK_CHARS", 1000)
    monkeypatch.setattr(_cli._Progress, "_clock", staticmethod(FakeClock(0.05)))
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["fit", "normal", str(path), "--progress", "--json"]) == 0
    strict_json(capsys.readouterr().out)
    err = terminal.getvalue()
    assert err.count("\r") > 5  # the status line, rewritten in place
    assert err.endswith("\n")
    shown = [line.rsplit("\r", 1)[-1].rstrip() for line in err.split("\n")[:-1]]
    assert shown[0].startswith(f"expfam fit: read {path}: ")  # the last state of the line
    assert shown[1].startswith("expfam fit: fitting ... ")
    assert shown[2].startswith("expfam fit: done, ")
    assert len(shown) == 3


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_an_error_while_reading_starts_on_its_own_line(
    json_flag: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.txt"
    big_values_file(path, 20_000)
    with path.open("a") as f:
        f.write("1.5x\n")
    monkeypatch.setattr(_cli._Progress, "CHECK_CHARS", 1000)
    monkeypatch.setattr(_cli._Progress, "_clock", staticmethod(FakeClock(0.05)))
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["fit", "normal", str(path), "--progress", *json_flag]) == 2
    err = terminal.getvalue()
    assert "\r" in err
    last = err.split("\n")[-2]  # the error: a whole line, no status line before it
    if json_flag:
        assert json.loads(last)["error"] == f"{path}, line 20002: '1.5x' is not a number"
    else:
        assert last == f"expfam fit: error: {path}, line 20002: '1.5x' is not a number"
    assert "done," not in err


def test_a_failing_phase_says_it_stopped(
    progress_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del progress_files
    assert main(["boltzmann", "-f", "states.csv", "-c", "energy", "-m", "7", "--progress"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert re.fullmatch(
        r"expfam boltzmann: solving for beta \.\.\. stopped after \d+\.\d\d s", lines[-2]
    )
    assert lines[-1].startswith("expfam boltzmann: error: --mean-energy=7")
