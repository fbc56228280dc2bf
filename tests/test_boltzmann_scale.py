"""Regression tests of :func:`expfam.boltzmann` at extreme energy scales (a user review).

The heat capacity ``C = Var(beta E)`` and the free energy ``F = U - T S`` are finite
whenever their true values are, whatever the scale of the energies; references are
mpmath at 50 digits.
"""

from __future__ import annotations

import json
import math
from typing import Any

import mpmath
import numpy as np
import pytest

import expfam
from expfam._cli import main

EPS = float(np.finfo(np.float64).eps)


def mp_thermo(E: list[float], beta: Any) -> dict[str, Any]:
    """Exact (50-digit) thermodynamics of the floats `E` at inverse temperature `beta`."""
    with mpmath.workdps(50):
        Em = [mpmath.mpf(x) for x in E]
        b = mpmath.mpf(beta)
        ref = min(Em) if b > 0 else max(Em)
        w = [mpmath.exp(-b * (x - ref)) for x in Em]
        z = mpmath.fsum(w)
        q = [v / z for v in w]
        mean = mpmath.fsum(p * x for p, x in zip(q, Em, strict=True))
        var = mpmath.fsum(p * (x - mean) ** 2 for p, x in zip(q, Em, strict=True))
        return {
            "heat": b * b * var,
            "variance": var,
            "free": ref - mpmath.log(z) / b,
            "mean": mean,
        }


def mp_beta(E: list[float], U: float) -> Any:
    """The exact ``beta`` with mean energy `U` (a bracketed root in mpmath, 50 digits)."""
    with mpmath.workdps(50):
        Em = [mpmath.mpf(x) for x in E]
        span = max(Em) - min(Em)

        def mean(t: Any) -> Any:  # t = beta * span
            ref = min(Em)
            w = [mpmath.exp(-t * (x - ref) / span) for x in Em]
            return mpmath.fsum(v * x for v, x in zip(w, Em, strict=True)) / mpmath.fsum(w)

        t = mpmath.findroot(
            lambda t: (mean(t) - mpmath.mpf(U)) / span, (-50, 50), solver="anderson"
        )
        return t / span


def ulps(x: float, ref: Any) -> float:
    return float(abs(mpmath.mpf(x) - ref) / math.ulp(float(ref)))


# The three-level system E = [0, 1, 3] at U = 1, scaled by exact powers of two: the
# heat capacity is unit-free, so it is the same number at every scale.
SCALES = [0, 332, -664, 664, -996, 1000]


@pytest.mark.parametrize("k", SCALES)
def test_heat_capacity_is_scale_free_for_a_solve(k: int) -> None:
    # regression: s * [0, 1, 3] at s = 1e-200 gave C = 0.0 and at s = 1e200 C = inf
    s = 2.0**k
    beta = mp_beta([0.0, 1.0, 3.0], 1.0)
    ref = mp_thermo([0.0, 1.0, 3.0], beta)["heat"]
    r = expfam.boltzmann(s * np.array([0.0, 1.0, 3.0]), s * 1.0)
    assert ulps(r.heat_capacity, ref) <= 8


@pytest.mark.parametrize("k", SCALES)
def test_heat_capacity_is_scale_free_for_a_given_beta(k: int) -> None:
    s = 2.0**k
    ref = mp_thermo([0.0, 1.0, 3.0], 0.25)["heat"]
    r = expfam.boltzmann(s * np.array([0.0, 1.0, 3.0]), beta=0.25 / s)
    assert ulps(r.heat_capacity, ref) <= 8
    sweep = expfam.boltzmann(s * np.array([0.0, 1.0, 3.0]), beta=np.array([0.25 / s, 0.0]))
    assert ulps(float(sweep.heat_capacity[0]), ref) <= 8
    assert sweep.heat_capacity[1] == 0.0


def test_heat_capacity_of_energies_near_the_smallest_normal() -> None:
    # regression: boltzmann([0, 1e-300, 3e-300], 1e-300).heat_capacity was 0.0
    E = [0.0, 1e-300, 3e-300]
    ref = mp_thermo(E, mp_beta(E, 1e-300))["heat"]
    r = expfam.boltzmann(E, 1e-300)
    assert ulps(r.heat_capacity, ref) <= 8


def test_heat_capacity_of_energies_near_the_float_limit() -> None:
    # regression: boltzmann([-1e308, 1e308], 1e307).heat_capacity was inf (true ~0.0099)
    E = [-1e308, 1e308]
    beta = mp_beta(E, 1e307)
    ref = mp_thermo(E, beta)
    r = expfam.boltzmann(E, 1e307)
    assert ulps(r.heat_capacity, ref["heat"]) <= 16
    assert r.variance == math.inf  # ~1e616: the true value overflows
    assert r.free_energy == math.inf  # ~7e308: the true value overflows


def test_fixed_beta_when_the_energy_span_overflows() -> None:
    # E - max E overflowed to -inf, and q was [0, 1] instead of about [0.45, 0.55]
    E = [-1e308, 1e308]
    r = expfam.boltzmann(E, beta=-1e-309)
    with mpmath.workdps(50):
        b = mpmath.mpf(-1e-309)
        w = [mpmath.exp(-b * mpmath.mpf(x)) for x in E]
        q = [v / mpmath.fsum(w) for v in w]
    for got, want in zip(r.probs.tolist(), q, strict=True):
        assert ulps(got, want) <= 8
    assert ulps(r.heat_capacity, mp_thermo(E, -1e-309)["heat"]) <= 16


def test_variance_when_a_tiny_mass_sits_at_a_huge_distance() -> None:
    # (x - mean)**2 overflows at 2**1040 but its weight ~1e-20 makes Var E ~1e293
    E = [0.0, 2.0**520]
    beta = 46.0 / 2.0**520
    ref = mp_thermo(E, beta)
    r = expfam.boltzmann(E, beta=beta)
    assert ulps(r.variance, ref["variance"]) <= 8
    assert ulps(r.heat_capacity, ref["heat"]) <= 8


@pytest.mark.parametrize("k", [-1000, -500, 500])
def test_variance_is_finite_where_representable(k: int) -> None:
    s = 2.0**k
    E = s * np.array([0.0, 1.0, 3.0])
    ref = mp_thermo([0.0, 1.0, 3.0], 0.25)["variance"] * mpmath.mpf(2) ** (2 * k)
    r = expfam.boltzmann(E, beta=0.25 / s)
    if abs(ref) < 2.0**-1022:  # underflows (Var ~ 2**-2000)
        assert r.variance == 0.0
    else:
        assert ulps(r.variance, ref) <= 8


@pytest.mark.parametrize(("E", "beta"), [([1.0, 2.0], -1e308), ([2.0, 3.0], 1e308)])
def test_free_energy_is_finite_when_beta_times_energy_overflows(
    E: list[float], beta: float
) -> None:
    # regression: F was inf though F = U - T S = 2.0 (log Z itself is +-inf)
    r = expfam.boltzmann(E, beta=beta)
    assert r.free_energy == 2.0
    assert r.free_energy == float(mp_thermo(E, beta)["free"])
    assert math.isinf(r.log_partition)


@pytest.mark.parametrize("T", [1e-320, -1e-320, 5e-324])
def test_subnormal_temperature_gives_infinite_beta_without_a_warning(T: float) -> None:
    # regression: 1/T overflowed with a bare RuntimeWarning (pytest makes it an error)
    r = expfam.boltzmann([0.0, 1.0], temperature=T)
    assert r.beta == math.copysign(math.inf, T)
    assert r.probs.tolist() == ([1.0, 0.0] if T > 0 else [0.0, 1.0])
    sweep = expfam.boltzmann([0.0, 1.0], temperature=np.array([T, 1.0]))
    assert sweep.beta[0] == math.copysign(math.inf, T)


def test_subnormal_temperature_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["boltzmann", "--json", "0", "1", "-t", "1e-320"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert json.loads(out)["probabilities"] == [1.0, 0.0]


@pytest.mark.parametrize("k", SCALES)
def test_dask_heat_capacity_is_scale_free(k: int) -> None:
    da = pytest.importorskip("dask.array")
    s = 2.0**k
    E = da.from_array(s * np.array([0.0, 1.0, 3.0]), chunks=2)
    ref = mp_thermo([0.0, 1.0, 3.0], 0.25)["heat"]
    assert ulps(expfam.boltzmann(E, beta=0.25 / s).heat_capacity, ref) <= 16
    # the Dask solve stops at a step of 1e-13 relative in beta: C to about that
    ref = mp_thermo([0.0, 1.0, 3.0], mp_beta([0.0, 1.0, 3.0], 1.0))["heat"]
    got = expfam.boltzmann(E, s * 1.0).heat_capacity
    assert abs(got - float(ref)) <= 1e-12 * float(ref)


@pytest.mark.parametrize(("E", "beta"), [([1.0, 2.0], -1e308), ([2.0, 3.0], 1e308)])
def test_dask_free_energy_is_finite_when_beta_times_energy_overflows(
    E: list[float], beta: float
) -> None:
    da = pytest.importorskip("dask.array")
    assert expfam.boltzmann(da.from_array(np.array(E)), beta=beta).free_energy == 2.0
