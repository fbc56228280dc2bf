"""Tests of batched :func:`expfam.boltzmann` (a sweep) and of the heat capacity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

import expfam

EPS = float(np.finfo(np.float64).eps)
FIELDS = (
    "beta",
    "temperature",
    "log_partition",
    "free_energy",
    "entropy",
    "mean_energy",
    "variance",
    "heat_capacity",
)


def assert_no_negative_zero(r: expfam.BoltzmannResult[Any]) -> None:
    for name in (*FIELDS, "residual"):
        v = np.asarray(getattr(r, name), dtype=np.float64)
        assert not np.any((v == 0) & np.signbit(v)), name


def assert_element_equals_scalar(
    r: expfam.BoltzmannResult[Any],
    s: expfam.BoltzmannResult[float],
    i: tuple[int, ...],
    E: NDArray[Any],
) -> None:
    """Element `i` of a sweep against the scalar result, within what the solve fixes.

    Both results meet the residual tolerance ``tol_u`` of the mean energy, which fixes
    beta only to ``tol_u / Var E``: near the mean (beta ~ 1e-15) that is all of beta,
    and only the well-conditioned quantities are compared there.
    """
    scale = float(np.max(np.abs(s.probs)))  # probabilities: relative to the largest
    np.testing.assert_allclose(r.probs[i], s.probs, rtol=1e-11, atol=1e-14 * scale)
    tol_u = 0.0
    if s.residual is not None:
        terms = float(s.probs @ np.abs(np.asarray(E, dtype=np.float64)))
        tol_u = 2 * max(64 * EPS * terms, 8 * math.ulp(s.mean_energy))
    dbeta = tol_u / s.variance if s.variance > 0 else 0.0
    ill = math.isfinite(s.beta) and dbeta > 1e-10 * abs(s.beta)
    for name in FIELDS:
        a, b = float(getattr(r, name)[i]), float(getattr(s, name))
        if name == "beta" and math.isfinite(b):
            assert abs(a - b) <= 1e-10 * abs(b) + dbeta, (name, a, b, dbeta)
        elif ill and name in ("temperature", "free_energy", "log_partition"):
            continue  # as ill-conditioned as beta itself
        elif math.isinf(b) or b == 0:
            assert a == b or (ill and abs(a - b) <= 1e-10), (name, a, b)
        else:
            assert a == pytest.approx(b, rel=1e-10, abs=1e-13 + 8 * tol_u), (name, a, b)


energies_strategy = hnp.arrays(
    np.float64,
    st.integers(1, 12),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3)),
)


@given(E=energies_strategy, fractions=st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_sweep_law_each_element_equals_the_scalar_solve(
    E: NDArray[Any], fractions: list[float]
) -> None:
    """Issue 13: ``boltzmann(E, U_array)[i]`` is ``boltzmann(E, U_array[i])``."""
    lo, hi = float(E.min()), float(E.max())
    U = np.array([lo + f * (hi - lo) for f in fractions] + [lo, hi, float(np.mean(E))])
    U = np.clip(U, lo, hi)
    r = expfam.boltzmann(E, U)
    assert r.beta.shape == U.shape
    assert r.probs.shape == (*U.shape, E.size)
    assert r.residual is not None
    assert_no_negative_zero(r)
    for i in range(U.size):
        s = expfam.boltzmann(E, float(U[i]))
        assert_element_equals_scalar(r, s, (i,), E)
        assert s.residual is not None
        tol = max(64 * EPS * float(s.probs @ np.abs(E)), 8 * math.ulp(float(U[i])))
        assert float(r.residual[i]) <= tol


@given(
    E=energies_strategy,
    betas=st.lists(
        st.one_of(st.floats(-5, 5), st.sampled_from([0.0, math.inf, -math.inf])),
        min_size=1,
        max_size=6,
    ),
)
def test_sweep_law_in_beta_and_temperature(E: NDArray[Any], betas: list[float]) -> None:
    b = np.array(betas).reshape(-1, 1)  # a 2-D sweep
    r = expfam.boltzmann(E, beta=b)
    assert r.beta.shape == b.shape
    assert r.residual is None
    assert_no_negative_zero(r)
    for i in range(b.shape[0]):
        assert_element_equals_scalar(r, expfam.boltzmann(E, beta=float(b[i, 0])), (i, 0), E)
    with np.errstate(divide="ignore", over="ignore"):
        T = 1.0 / b
    rt = expfam.boltzmann(E, temperature=T)
    for i in range(b.shape[0]):
        s = expfam.boltzmann(E, temperature=float(T[i, 0]))
        assert_element_equals_scalar(rt, s, (i, 0), E)


def test_sweep_is_one_vectorised_solve() -> None:
    """All targets share the dual iterations: far fewer than one solve per target."""
    E = np.random.default_rng(1).normal(size=300)
    U = np.linspace(E.min(), E.max(), 401)[1:-1]
    r = expfam.boltzmann(E, U)
    assert r.iterations <= 20  # vectorised passes, whatever the number of targets
    assert np.all(np.diff(r.beta) < 0)  # the mean energy decreases with beta


def test_heat_capacity_two_level_schottky() -> None:
    """C = (D/T)^2 e^(D/T) / (1 + e^(D/T))^2 for a two-level system with gap D = 1."""
    T = np.linspace(0.05, 3.0, 60)
    r = expfam.boltzmann([0.0, 1.0], temperature=T)
    x = 1.0 / T
    exact = x**2 * np.exp(-x) / (1 + np.exp(-x)) ** 2
    np.testing.assert_allclose(r.heat_capacity, exact, rtol=1e-13)
    assert r.heat_capacity.shape == T.shape


def test_heat_capacity_is_zero_at_infinite_and_zero_beta() -> None:
    """Issue 13: beta^2 Var at beta = ±inf was nan; it is exactly 0."""
    E = [0.0, 1.0, 2.0]
    for b in (math.inf, -math.inf, 0.0):
        assert expfam.boltzmann(E, beta=b).heat_capacity == 0.0
    r = expfam.boltzmann(E, beta=np.array([math.inf, -math.inf, 0.0]))
    assert np.array_equal(r.heat_capacity, np.zeros(3))
    assert expfam.boltzmann(E, 0.0).heat_capacity == 0.0  # U = min E: beta = inf


def test_scalar_inputs_keep_scalar_types() -> None:
    r = expfam.boltzmann([0.0, 1.0, 3.0], 1.0)
    for name in (*FIELDS, "residual"):
        assert type(getattr(r, name)) is float, name
    assert r.probs.shape == (3,)


def test_sweep_errors_name_the_element() -> None:
    with pytest.raises(expfam.InfeasibleError, match=r"`mean_energy`\[1\]=5\.0"):
        expfam.boltzmann([0.0, 1.0], np.array([0.5, 5.0]))
    with pytest.raises(ValueError, match="`beta` must be a number everywhere"):
        expfam.boltzmann([0.0, 1.0], beta=np.array([0.5, math.nan]))


def test_sweep_large_spread_and_tiny_gaps() -> None:
    """Targets a hair above the ground energy and energies near the float limit."""
    E = np.arange(200) + 0.5
    U = np.array([0.5 + 1e-15, 0.5 + 1e-9, 100.0, 199.5 - 1e-12])
    r = expfam.boltzmann(E, U)
    for i in range(U.size):
        assert_element_equals_scalar(r, expfam.boltzmann(E, float(U[i])), (i,), E)
    E2 = np.array([-1.5e308, 0.0, 1.7e308])
    U2 = np.array([-1e308, 1e300, 1.6e308])
    r2 = expfam.boltzmann(E2, U2)
    for i in range(U2.size):
        assert_element_equals_scalar(r2, expfam.boltzmann(E2, float(U2[i])), (i,), E2)


@pytest.mark.parametrize(
    ("E", "betas"),
    [
        ([1.0, 2.0], [1e308, -1e308, 3.0, -0.5]),  # beta * E beyond the range
        ([-1e308, 1e308], [-1e-309, 1e-309, 5e-310]),  # E - min E beyond the range
    ],
)
def test_sweep_at_the_float_range_equals_the_scalar_solves(
    E: list[float], betas: list[float]
) -> None:
    """Found by a user review of the scalar path (fixed there), then in sweeps: a bare
    overflow warning, an infinite free energy for a finite F = U - TS, and q = [0, 1]
    where the differences of the energies overflow (q is ~[0.45, 0.55])."""
    sweep = expfam.boltzmann(E, beta=np.array(betas))
    for i, b in enumerate(betas):
        one = expfam.boltzmann(E, beta=b)
        np.testing.assert_array_equal(np.asarray(sweep.probs)[i], one.probs)
        assert np.asarray(sweep.free_energy)[i] == one.free_energy
    assert np.all(np.asarray(sweep.probs)[:, 0] > 0.4) or E[0] == 1.0
