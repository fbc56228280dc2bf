"""Tests of :func:`expfam.boltzmann`: exact edges, accuracy against mpmath, optimality."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import optimize

import expfam
from expfam import _onedim, _summation

EPS = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------- references
def exact_residual(q: NDArray[Any], E: NDArray[Any], U: float) -> float:
    """``sum_j q_j E_j - U`` for the exact values of the floats, correctly rounded.

    Independent of the library: for small ``K`` exact rational arithmetic; otherwise
    Dekker's error-free products and :func:`math.fsum` (exact for the sum of floats).
    """
    if q.size <= 2000:
        pairs = zip(q.tolist(), E.tolist(), strict=True)
        total = sum((Fraction(a) * Fraction(b) for a, b in pairs), Fraction(0))
        return float(total - Fraction(U))
    c = 134217729.0
    parts = []
    for a in (q, E):
        t = a * c
        hi = t - (t - a)
        parts.append((hi, a - hi))
    (qh, ql), (eh, el) = parts
    p = q * E
    err = ((qh * eh - p) + qh * el + ql * eh) + ql * el
    return math.fsum([*p.tolist(), *err.tolist(), -U])


def exact_mean(q: NDArray[Any], E: NDArray[Any]) -> float:
    return exact_residual(q, E, 0.0)


def residual_ulp(r: expfam.BoltzmannResult[float], E: NDArray[Any], U: float) -> float:
    return abs(exact_residual(r.probs, E, U)) / math.ulp(U)


def mp_boltzmann(E: NDArray[Any], U: float, beta0: float, dps: int = 40) -> tuple[Any, Any]:
    """(beta, entropy) of the exact problem by Newton's method in mpmath, from `beta0`."""
    with mpmath.workdps(dps):
        Em = [mpmath.mpf(x) for x in E.tolist()]
        Um = mpmath.mpf(U)
        e0 = min(Em)
        beta = mpmath.mpf(beta0)
        for _ in range(60):
            w = [mpmath.exp(-beta * (x - e0)) for x in Em]
            z = mpmath.fsum(w)
            r1 = mpmath.fsum(wi * (x - Um) for wi, x in zip(w, Em, strict=True)) / z  # <E> - U
            m2 = mpmath.fsum(wi * (x - Um - r1) ** 2 for wi, x in zip(w, Em, strict=True)) / z
            step = r1 / m2  # d<E>/dbeta = -Var
            beta += step
            if abs(step) <= abs(beta) * mpmath.mpf(10) ** (-dps + 8):
                break
        w = [mpmath.exp(-beta * (x - e0)) for x in Em]
        z = mpmath.fsum(w)
        entropy = mpmath.log(z) + beta * (Um - e0)
        return beta, entropy


# --------------------------------------------------------------------------- Jaynes
def test_jaynes_brandeis_dice() -> None:
    # mpmath reference, independent of the library:
    #   with mp.workdps(40): lam = findroot(lambda l: fsum((k - 4.5) * exp(l * k)
    #                                       for k in range(1, 7)), 0.37)
    with mpmath.workdps(40):
        lam = mpmath.findroot(
            lambda x: mpmath.fsum((k - mpmath.mpf(4.5)) * mpmath.exp(x * k) for k in range(1, 7)),
            0.37,
        )
        w = [mpmath.exp(lam * k) for k in range(1, 7)]
        z = mpmath.fsum(w)
        p_ref = [float(wi / z) for wi in w]
        h_ref = float(-mpmath.fsum((wi / z) * mpmath.log(wi / z) for wi in w))
    assert abs(float(lam) - 0.371049) < 1e-6
    E = np.arange(1.0, 7.0)
    r = expfam.boltzmann(E, 4.5)
    assert r.beta == pytest.approx(-float(lam), rel=4 * EPS)
    np.testing.assert_allclose(r.probs, p_ref, rtol=8 * EPS)
    # the often-quoted digits are truncated, not rounded (p_1 = 0.054353...)
    np.testing.assert_allclose(
        r.probs, [0.0543, 0.0788, 0.1142, 0.1654, 0.2398, 0.3475], atol=1e-4
    )
    assert r.entropy == pytest.approx(h_ref, rel=4 * EPS)
    assert residual_ulp(r, E, 4.5) <= 4
    assert r.converged
    assert r.mean_energy == pytest.approx(4.5, rel=4 * EPS)


# --------------------------------------------------------------------------- exact edges
def test_infeasible_below_and_above() -> None:
    E = np.array([1.0, 2.0, 4.0])
    for U in (0.5, 4.5):
        with pytest.raises(expfam.InfeasibleError, match=r"\[1\.0, 4\.0\]") as info:
            expfam.boltzmann(E, U)
        assert isinstance(info.value, ValueError)
        assert "mean_energy" in str(info.value)


def test_ground_energy_gives_infinite_beta_and_ground_uniform() -> None:
    E = np.array([3.0, 1.0, 1.0, 2.0, 1.0])
    r = expfam.boltzmann(E, 1.0)
    assert r.beta == math.inf
    assert r.temperature == 0.0
    np.testing.assert_array_equal(r.probs, [0, 1 / 3, 1 / 3, 0, 1 / 3])
    assert r.entropy == pytest.approx(math.log(3), rel=EPS)
    assert r.free_energy == 1.0
    assert r.mean_energy == 1.0
    assert r.variance == 0.0
    assert r.log_partition == -math.inf  # -beta * E0 with E0 > 0
    assert r.iterations == 0
    np.testing.assert_array_equal(r.distribution.probs > 0, r.probs > 0)


def test_top_energy_gives_minus_infinite_beta() -> None:
    E = np.array([3.0, 1.0, 3.0, 2.0])
    r = expfam.boltzmann(E, 3.0)
    assert r.beta == -math.inf
    np.testing.assert_array_equal(r.probs, [0.5, 0, 0.5, 0])
    assert r.entropy == pytest.approx(math.log(2), rel=EPS)
    assert r.free_energy == 3.0
    assert r.log_partition == math.inf  # -beta * E_top with E_top > 0


def test_log_partition_limit_at_zero_ground_energy() -> None:
    r = expfam.boltzmann([0.0, 0.0, 1.0], 0.0)
    assert r.log_partition == pytest.approx(math.log(2), rel=EPS)
    r = expfam.boltzmann([-1.0, 2.0], -1.0)
    assert r.log_partition == math.inf


@pytest.mark.parametrize("K", [1, 4])
def test_all_energies_equal(K: int) -> None:
    E = np.full(K, 2.5)
    r = expfam.boltzmann(E, 2.5)
    assert r.beta == 0.0
    assert r.temperature == math.inf
    np.testing.assert_array_equal(r.probs, np.full(K, 1 / K))
    assert r.entropy == pytest.approx(math.log(K), abs=EPS)
    assert r.free_energy == (-math.inf if K > 1 else 2.5)
    with pytest.raises(expfam.InfeasibleError):
        expfam.boltzmann(E, 2.6)


def test_exact_mean_gives_beta_zero() -> None:
    E = np.array([0.1, 0.7, 0.2, 1.3])
    U = math.fsum(E.tolist()) / 4
    r = expfam.boltzmann(E, U)
    assert r.beta == 0.0
    np.testing.assert_array_equal(r.probs, np.full(4, 0.25))
    assert r.log_partition == pytest.approx(math.log(4), rel=EPS)
    assert r.iterations == 0


def test_near_mean_is_solved_not_snapped() -> None:
    E = np.array([0.0, 1.0, 2.0, 3.0])
    U = 1.5 + 4 * math.ulp(1.5)
    r = expfam.boltzmann(E, U)
    assert r.beta < 0
    assert residual_ulp(r, E, U) <= 4


@pytest.mark.parametrize(
    ("energies", "match"),
    [
        ([1.0, np.nan], "`energies` must be finite"),
        ([1.0, np.inf], "`energies` must be finite"),
        ([[1.0, 2.0]], "`energies` must be a 1-D"),
        ([], "`energies` must be a 1-D"),
    ],
)
def test_bad_energies(energies: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        expfam.boltzmann(energies, 1.0)


def test_bad_targets() -> None:
    with pytest.raises(ValueError, match="`mean_energy`"):
        expfam.boltzmann([0.0, 1.0], math.nan)
    with pytest.raises(ValueError, match="`mean_energy`"):
        expfam.boltzmann([0.0, 1.0], math.inf)
    with pytest.raises(ValueError, match="`mean_energy` must be finite everywhere"):
        expfam.boltzmann([0.0, 1.0], [0.5, math.inf])
    with pytest.raises(ValueError, match="`beta`"):
        expfam.boltzmann([0.0, 1.0], beta=math.nan)
    with pytest.raises(TypeError, match="exactly one"):
        expfam.boltzmann([0.0, 1.0])
    with pytest.raises(TypeError, match="exactly one"):
        expfam.boltzmann([0.0, 1.0], 0.5, beta=1.0)
    with pytest.raises(TypeError):
        expfam.boltzmann([0.0, 1.0], 1j)
    with pytest.raises(TypeError, match="`mean_energy`, `beta` and `temperature`"):
        expfam.boltzmann([0.0, 1.0], beta=1.0, temperature=1.0)
    with pytest.raises(ValueError, match="`temperature`"):
        expfam.boltzmann([0.0, 1.0], temperature=math.nan)


def test_given_temperature_is_given_inverse_beta() -> None:
    E = np.array([0.5, -1.0, -1.0, 2.0])
    for t in (0.3, -2.0, 7.0):
        by_t, by_beta = expfam.boltzmann(E, temperature=t), expfam.boltzmann(E, beta=1 / t)
        np.testing.assert_array_equal(by_t.probs, by_beta.probs)
        assert by_t.temperature == pytest.approx(t, rel=1e-15)
    for zero in (0.0, -0.0):  # the ground-state limit from either side
        r = expfam.boltzmann(E, temperature=zero)
        assert r.beta == math.inf
        np.testing.assert_array_equal(r.probs, [0.0, 0.5, 0.5, 0.0])
    assert expfam.boltzmann(E, temperature=math.inf).beta == 0.0


# --------------------------------------------------------------------------- given beta
def test_given_beta_round_trip() -> None:
    rng = np.random.default_rng(3)
    E = rng.normal(size=50)
    for b in (-2.0, -0.1, 0.3, 5.0):
        fwd = expfam.boltzmann(E, beta=b)
        np.testing.assert_allclose(fwd.probs, expfam.softmax(-b * E), rtol=64 * EPS)
        assert fwd.residual is None
        back = expfam.boltzmann(E, fwd.mean_energy)
        assert back.beta == pytest.approx(b, rel=1e-12)
        assert back.entropy == pytest.approx(fwd.entropy, rel=1e-13)


def test_given_beta_edges() -> None:
    E = np.array([2.0, 1.0, 1.0])
    r0 = expfam.boltzmann(E, beta=0.0)
    np.testing.assert_array_equal(r0.probs, np.full(3, 1 / 3))
    assert r0.temperature == math.inf
    rinf = expfam.boltzmann(E, beta=math.inf)
    np.testing.assert_array_equal(rinf.probs, [0, 0.5, 0.5])
    assert rinf.free_energy == 1.0
    rneg = expfam.boltzmann(E, beta=-math.inf)
    np.testing.assert_array_equal(rneg.probs, [1, 0, 0])
    huge = expfam.boltzmann(E, beta=1e300)  # finite but enormous: no overflow, no warning
    np.testing.assert_array_equal(huge.probs, [0, 0.5, 0.5])


def test_thermodynamic_identities() -> None:
    rng = np.random.default_rng(4)
    E = rng.uniform(-3, 5, size=40)
    r = expfam.boltzmann(E, 0.5)
    assert r.free_energy == pytest.approx(r.mean_energy - r.temperature * r.entropy, rel=1e-14)
    assert r.log_partition == pytest.approx(-r.beta * r.free_energy, rel=1e-14)
    assert r.log_partition == pytest.approx(float(expfam.logsumexp(-r.beta * E)), rel=1e-14)
    # variance is -dU/dbeta (central difference)
    h = 1e-5
    up = expfam.boltzmann(E, beta=r.beta + h).mean_energy
    dn = expfam.boltzmann(E, beta=r.beta - h).mean_energy
    assert r.variance == pytest.approx(-(up - dn) / (2 * h), rel=1e-8)
    assert r.variance == pytest.approx(float(r.probs @ (E - r.mean_energy) ** 2), rel=1e-13)


# --------------------------------------------------------------------------- accuracy
def _energies(kind: str, K: int, rng: np.random.Generator) -> NDArray[Any]:
    if kind == "unit":
        return rng.uniform(0, 10, K)
    if kind == "offset":
        return 1e8 + rng.uniform(0, 10, K)
    if kind == "decades":
        return 10.0 ** rng.uniform(-6, 6, K)
    return rng.normal(size=K)  # "normal": both signs


@pytest.mark.parametrize("kind", ["unit", "offset", "decades", "normal"])
@pytest.mark.parametrize("K", [10, 100, 1000])
def test_accuracy_against_mpmath(kind: str, K: int) -> None:
    rng = np.random.default_rng(K + len(kind))
    E = _energies(kind, K, rng)
    lo, hi = float(E.min()), float(E.max())
    for frac in (0.05, 0.3, 0.7, 0.97):
        U = lo + frac * (hi - lo) if kind != "decades" else float(np.quantile(E, frac))
        if kind == "normal":
            U = float(np.quantile(E, frac))
        r = expfam.boltzmann(E, U)
        assert residual_ulp(r, E, U) <= 4, (kind, K, frac)
        beta, h = mp_boltzmann(E, U, r.beta, dps=30)
        assert r.beta == pytest.approx(float(beta), rel=1e-12, abs=1e-300)
        assert abs(r.entropy - float(h)) <= 4 * EPS * max(1.0, float(h)), (kind, K, frac)


def test_accuracy_large_k() -> None:
    # one big problem through the float32 bracketing phase and the vectorised exact sums
    rng = np.random.default_rng(7)
    E = 1e8 + rng.uniform(0, 10, 200_000)
    for U in (1e8 + 0.02, 1e8 + 3.0, 1e8 + 9.9):
        r = expfam.boltzmann(E, U)
        assert residual_ulp(r, E, U) <= 4
        assert abs(float(np.sum(r.probs)) - 1) <= 1e-14


def test_extreme_tail_target() -> None:
    # U a hair above the ground energy: beta large but finite, residual still ulp-level
    E = np.array([0.0, 1.0, 1.0, 2.0])
    U = 1e-200
    r = expfam.boltzmann(E, U)
    assert 400 < r.beta < 500
    assert residual_ulp(r, E, U) <= 4
    beta, h = mp_boltzmann(E, U, r.beta)
    assert r.beta == pytest.approx(float(beta), rel=1e-13)
    assert r.entropy == pytest.approx(float(h), rel=4 * EPS)


@pytest.mark.parametrize("U", [1e-300, 5e-324])
def test_far_tail_targets(U: float) -> None:
    # t * e1 beyond the underflow range of the excited weights: split evaluation
    E = np.array([0.0, 1.0, 1.0, 2.0])
    r = expfam.boltzmann(E, U)
    assert r.beta > 600
    assert math.isfinite(r.beta)
    assert residual_ulp(r, E, U) <= 4
    assert r.probs[0] == pytest.approx(1.0, abs=4 * EPS)
    if U > 1e-310:
        beta, h = mp_boltzmann(E, U, r.beta)
        assert r.beta == pytest.approx(float(beta), rel=1e-13)
        assert abs(r.entropy - float(h)) <= 4 * EPS


def test_wide_range_energies_do_not_overflow() -> None:
    E = np.array([-1e308, 0.0, 1e308])
    r = expfam.boltzmann(E, 1e307)
    assert math.isfinite(r.beta)
    assert abs(exact_mean(r.probs, E) - 1e307) <= 1e-12 * 1e308


# --------------------------------------------------------------------------- optimality
feasible_problem = st.integers(2, 12).flatmap(
    lambda K: st.tuples(
        st.lists(st.floats(-5, 5), min_size=K, max_size=K),
        st.lists(st.floats(0.05, 1), min_size=K, max_size=K),
    )
)


@given(feasible_problem)
def test_optimality_against_feasible_perturbations(problem: Any) -> None:
    energies, weights = problem
    E = np.array(energies)
    assume(E.max() - E.min() > 1e-3)
    w = np.array(weights) / np.sum(weights)
    U = float(w @ E)
    assume(E.min() < U < E.max())
    r = expfam.boltzmann(E, U)
    q = r.probs
    assert np.all(q > 0)
    # directions d with sum d = 0 and E.d = 0: the null space of [1; E]
    A = np.vstack([np.ones_like(E), E])
    _, _, vt = np.linalg.svd(A)
    null = vt[2:]
    rng = np.random.default_rng(0)
    h0 = float(expfam.entropy(q))
    for _ in range(5):
        if null.shape[0] == 0:
            break
        d = rng.normal(size=null.shape[0]) @ null
        step = 0.5 * float(np.min(q / np.maximum(np.abs(d), 1e-300)))  # keeps q >= q/2
        for sgn in (1, -1):
            assert float(expfam.entropy(q + sgn * step * d)) < h0


@given(feasible_problem)
def test_zero_duality_gap_and_cross_entropy_identity(problem: Any) -> None:
    energies, weights = problem
    E = np.array(energies)
    assume(E.max() - E.min() > 1e-3)
    w = np.array(weights) / np.sum(weights)
    U = float(w @ E)
    assume(E.min() < U < E.max())
    r = expfam.boltzmann(E, U)
    # dual value log Z + beta U equals the entropy of the solution
    assert r.log_partition + r.beta * U == pytest.approx(r.entropy, rel=1e-12, abs=1e-12)
    assert r.entropy == pytest.approx(float(expfam.entropy(r.probs)), rel=1e-12, abs=1e-13)
    # for any p with the same mean energy: h(u) = KL(p||S(u)) + H(p) = H(q) at u = -beta E
    u = -r.beta * E
    h = float(expfam.cross_entropy_with_logits(w, u))
    kl = float(expfam.kl_divergence(w, expfam.softmax(u)))
    assert h == pytest.approx(kl + float(expfam.entropy(w)), rel=1e-12, abs=1e-12)
    assert h == pytest.approx(r.entropy, rel=1e-9, abs=1e-9)


def test_beta_is_monotone_in_mean_energy() -> None:
    rng = np.random.default_rng(11)
    E = rng.normal(size=30)
    Us = np.linspace(E.min(), E.max(), 41)
    betas = [expfam.boltzmann(E, float(U)).beta for U in Us]
    assert betas[0] == math.inf
    assert betas[-1] == -math.inf
    assert all(a > b for a, b in itertools.pairwise(betas))


def test_matches_primal_trust_constr() -> None:
    rng = np.random.default_rng(5)
    E = rng.uniform(0, 3, 8)
    U = 1.1
    r = expfam.boltzmann(E, U)
    cons = [
        optimize.LinearConstraint(np.vstack([np.ones(8), E]), [1.0, U], [1.0, U]),
    ]
    res = optimize.minimize(
        lambda p: float(np.sum(p * np.log(p))),
        np.full(8, 1 / 8),
        jac=lambda p: np.log(p) + 1,
        hess=lambda p: np.diag(1 / p),
        constraints=cons,
        bounds=optimize.Bounds(1e-12, 1.0, keep_feasible=True),
        method="trust-constr",
        options={"gtol": 1e-12, "xtol": 1e-14},
    )
    np.testing.assert_allclose(res.x, r.probs, atol=1e-7)


# --------------------------------------------------------------------------- failures
def test_failed_solve_raises_convergence_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def bad_halley(*args: Any, **kwargs: Any) -> tuple[float, int, bool]:
        return 0.5, 1, True  # a wrong root, reported as converged

    monkeypatch.setattr(_onedim, "_halley", bad_halley)
    with pytest.raises(expfam.ConvergenceError) as info:
        expfam.boltzmann(np.arange(6.0), 1.0)
    assert isinstance(info.value, RuntimeError)
    assert info.value.diagnostics["residual"] > 0.01
    assert "iterations" in info.value.diagnostics


def test_float32_input_is_solved_in_float64() -> None:
    E = np.arange(1, 7, dtype=np.float32)
    r = expfam.boltzmann(E, 4.5)
    assert r.probs.dtype == np.float64
    assert r.beta == pytest.approx(expfam.boltzmann(E.astype(np.float64), 4.5).beta, rel=EPS)


@pytest.mark.parametrize("seed", range(6))
def test_extreme_ranges_are_solved_or_refused(seed: int) -> None:
    # energies over 600 decades: either a residual at the rounding level of the sum,
    # or a ConvergenceError - never a silently wrong q
    rng = np.random.default_rng(seed)
    E = 10.0 ** rng.uniform(-300, 300, 50)
    U = float(np.quantile(E, rng.uniform(0.01, 0.9)))
    try:
        r = expfam.boltzmann(E, U)
    except expfam.ConvergenceError as exc:
        diagnostics = exc.diagnostics
        r = None
    if r is None:
        assert "residual" in diagnostics or "bracket" in diagnostics
        return
    bound = max(64 * EPS * float(r.probs @ np.abs(E)), 8 * math.ulp(U))
    assert abs(exact_residual(r.probs, E, U)) <= bound


@pytest.mark.parametrize("K", [7, 5000, 70_000])
def test_exact_dot_is_exact(K: int) -> None:
    rng = np.random.default_rng(K)
    q = rng.dirichlet(np.ones(K))
    x = rng.normal(size=K) * 10.0 ** rng.uniform(-5, 5, K)
    target = float(q @ x)
    got = _summation.ExactDot(x, target)(q)
    assert got == exact_residual(q, x, target)


@pytest.mark.parametrize("target", [1e-300, 1e-200, 1e-20, 0.25])
def test_log_partition_and_free_energy_keep_relative_accuracy_near_zero(target: float) -> None:
    # Regression: for E = [0, 1] and a mean energy of 1e-300 the solver's dual value
    # gave log Z = -2.4e-314 (the true value is +1e-300) and F = 0 (true: -1.4e-303).
    E = np.array([0.0, 1.0])
    r = expfam.boltzmann(E, target)
    with mpmath.workdps(50):
        beta = mpmath.mpf(r.beta)
        log_z = mpmath.log1p(mpmath.exp(-beta))
        free = -log_z / beta
    eps = np.finfo(np.float64).eps
    assert r.log_partition > 0
    assert abs(r.log_partition - float(log_z)) <= 4 * eps * float(log_z)
    assert abs(r.free_energy - float(free)) <= 4 * eps * abs(float(free))


def test_free_energy_is_mean_energy_minus_temperature_times_entropy() -> None:
    E = np.linspace(-3.0, 5.0, 50)
    for beta in (-2.0, -0.1, 0.3, 4.0):
        r = expfam.boltzmann(E, beta=beta)
        assert r.free_energy == pytest.approx(r.mean_energy - r.temperature * r.entropy, rel=1e-13)
        assert r.log_partition == pytest.approx(float(expfam.logsumexp(-beta * E)), rel=1e-14)


# --------------------------------------------------------------------------- issue 13 edges
def test_entropy_a_hair_above_the_ground_energy() -> None:
    """Issue 13: S was 3.5400e-14 against mpmath's 3.5511e-14 (3e-3 relative).

    ``log Z_ref = log(1 + w)`` lost the digits of the tiny excited mass ``w``; it is now
    ``log1p(w)``. mpmath solves the same problem (Newton in beta at 40 digits)::

        mp_boltzmann(np.arange(200) + 0.5, 0.5 + 1e-15, beta0)
    """
    E = np.arange(200) + 0.5
    U = 0.5 + 1e-15
    r = expfam.boltzmann(E, mean_energy=U)
    _, h = mp_boltzmann(E, U, r.beta)
    assert r.entropy == pytest.approx(float(h), rel=8 * EPS)
    assert residual_ulp(r, E, U) <= 2


def test_variance_with_all_mass_on_one_state_of_huge_energies() -> None:
    """Issue 13: ``boltzmann([0, 1e200, -1e200], beta=1).variance`` was nan."""
    r = expfam.boltzmann([0.0, 1e200, -1e200], beta=1.0)
    assert r.variance == 0.0
    assert r.heat_capacity == 0.0
    assert r.mean_energy == -1e200


def test_heat_capacity_at_infinite_beta_is_zero_not_nan() -> None:
    """Issue 13: beta**2 Var at beta = ±inf gave nan."""
    for b in (math.inf, -math.inf):
        r = expfam.boltzmann([0.0, 1.0, 1.0], beta=b)
        assert r.heat_capacity == 0.0
        assert not math.copysign(1.0, r.heat_capacity) < 0


def test_entropy_at_ground_energy_is_positive_zero() -> None:
    """Issue 13: the entropy at U = min E (one ground state) was -0.0."""
    r = expfam.boltzmann([0.0, 1.0], 0.0)
    assert r.entropy == 0.0
    assert math.copysign(1.0, r.entropy) == 1.0


def test_temperature_at_minus_infinite_beta_is_positive_zero() -> None:
    """Issue 13: T at beta = -inf was -0.0 (1/-inf)."""
    for r in (expfam.boltzmann([0.0, 1.0], beta=-math.inf), expfam.boltzmann([0.0, 1.0], 1.0)):
        assert r.beta == -math.inf
        assert r.temperature == 0.0
        assert math.copysign(1.0, r.temperature) == 1.0


def test_energies_spanning_1e_minus_300_to_1e300_are_solved() -> None:
    """Issue 13: U = 1 on energies 1e-300 ... 1e300 raised ConvergenceError.

    The dimensionless energies (E - min)/span reach 1e-600, their squares underflow,
    and the polish had a zero slope; it now takes the variance in units of E.
    """
    E = np.geomspace(1e-300, 1e300, 50)
    r = expfam.boltzmann(E, 1.0)
    assert residual_ulp(r, E, 1.0) <= 2
    beta, h = mp_boltzmann(E, 1.0, r.beta)
    assert r.beta == pytest.approx(float(beta), rel=1e-12)
    assert r.entropy == pytest.approx(float(h), rel=1e-12)
    # the sweep solves it too
    rs = expfam.boltzmann(E, np.array([1.0, 1e100]))
    assert float(rs.beta[0]) == pytest.approx(r.beta, rel=1e-12)


def test_results_do_not_depend_on_the_callers_errstate() -> None:
    """Issue 13: under ``np.errstate(all="raise")`` the solve raised FloatingPointError."""
    cases: list[tuple[Any, dict[str, Any]]] = [
        (np.arange(200) + 0.5, {"mean_energy": 3.0}),
        (np.arange(200) + 0.5, {"mean_energy": 0.5 + 1e-15}),
        (np.arange(40000) * 1e-3, {"mean_energy": 0.1}),
        ([0.0, 1e200, -1e200], {"beta": 1.0}),
        (np.geomspace(1e-300, 1e300, 50), {"mean_energy": 1.0}),
        ([0.0, 1.0, 2.0], {"beta": np.array([-math.inf, 0.0, 1e-320, 3.0, math.inf])}),
        ([0.0, 1.0, 2.0], {"mean_energy": np.array([0.0, 1e-300, 1.0, 1.5, 2.0])}),
    ]
    for E, kw in cases:
        want = expfam.boltzmann(E, **kw)
        with np.errstate(all="raise"):
            got = expfam.boltzmann(E, **kw)
        np.testing.assert_array_equal(got.probs, want.probs)
        np.testing.assert_array_equal(got.entropy, want.entropy)
        np.testing.assert_array_equal(got.beta, want.beta)


# --------------------------------------------------------------------------- many states
@pytest.mark.parametrize("kind", ["unit", "offset", "normal"])
def test_few_pass_path_against_mpmath(kind: str) -> None:
    """Above 16384 states (issue 12: four or five passes): residual and entropy as below.

    The final pass normalises with log Z predicted from the cumulants of the previous
    pass and sums the residual on fixed grids; the polish renormalises. Checked
    against the exact residual and an mpmath reference (30 digits).
    """
    K = 20_000
    rng = np.random.default_rng(K + len(kind))
    E = _energies(kind, K, rng)
    for frac in (0.05, 0.45, 0.9):
        U = float(np.quantile(E, frac))
        r = expfam.boltzmann(E, U)
        assert r.iterations <= 4  # the few-pass path, not the general one
        assert residual_ulp(r, E, U) <= 1.0, (kind, frac)
        assert r.residual is not None
        assert abs(r.residual - abs(exact_residual(r.probs, E, U))) <= 1e-3 * math.ulp(U)
        assert abs(math.fsum(r.probs.tolist()) - 1) <= 4 * EPS
        beta, h = mp_boltzmann(E, U, r.beta, dps=30)
        assert r.beta == pytest.approx(float(beta), rel=1e-12)
        assert abs(r.entropy - float(h)) <= 4 * EPS * max(1.0, float(h)), (kind, frac)
        var = exact_residual(r.probs, (E - r.mean_energy) ** 2, 0.0)
        assert r.variance == pytest.approx(var, rel=1e-12)


@pytest.mark.parametrize("K", [5, 32768, 100_000])
def test_grid_dot_is_within_a_tiny_fraction_of_the_exact_sum(K: int) -> None:
    """GridDot: exact products of the grid parts, the small rest summed in float64."""
    rng = np.random.default_rng(K)
    q = rng.dirichlet(np.full(K, 0.3))
    x = rng.normal(size=K) * 10.0 ** rng.uniform(-5, 5, K)
    target = float(q @ x)
    dot = _summation.GridDot(float(np.max(np.abs(x))), float(np.max(q)))
    for i in range(0, K, _summation.BLOCK):
        dot.add(q[i : i + _summation.BLOCK], x[i : i + _summation.BLOCK])
    exact = exact_residual(q, x, target)
    scale = float(np.max(np.abs(x))) * float(np.max(q))
    assert abs(dot.total(target) - exact) <= 2.0**-60 * scale
