"""Tests of :func:`expfam.max_entropy`: moment constraints, priors, faces, optimality."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import optimize

import expfam
from expfam import _maxent

EPS = float(np.finfo(np.float64).eps)


def assert_feasible(r: expfam.MaxEntResult, F: NDArray[Any], mu: NDArray[Any]) -> None:
    """Residual, normalisation and sign of a solution, checked independently."""
    F2 = F.reshape(F.shape[0], -1)
    q = r.probs
    assert np.all(q >= 0)
    assert math.fsum(q.tolist()) == pytest.approx(1.0, abs=1e-14)
    scale = np.max(np.abs(F2), axis=0)
    got = np.array([math.fsum((q * F2[:, i]).tolist()) for i in range(F2.shape[1])])
    assert np.all(np.abs(got - np.atleast_1d(mu)) <= 1e-12 * scale), got - mu
    assert r.residual <= 1e-12 * float(np.max(scale))


def kl_objective(p: NDArray[Any], prior: NDArray[Any]) -> float:
    on = p > 0
    return float(np.sum(p[on] * (np.log(p[on]) - np.log(prior[on]))))


def primal(F: NDArray[Any], mu: NDArray[Any], prior: NDArray[Any]) -> tuple[Any, bool]:
    """The primal problem with scipy's trust-constr, as an independent oracle."""
    K = F.shape[0]
    A = np.vstack([np.ones(K), F.T])
    b = np.concatenate([[1.0], mu])
    res = optimize.minimize(
        lambda p: float(np.sum(p * (np.log(p) - np.log(prior)))),
        np.full(K, 1 / K),
        jac=lambda p: np.log(p) - np.log(prior) + 1,
        hess=lambda p: np.diag(1 / p),
        constraints=[optimize.LinearConstraint(A, b, b)],
        bounds=optimize.Bounds(1e-14, 1.0, keep_feasible=True),
        method="trust-constr",
        options={"gtol": 1e-12, "xtol": 1e-15, "maxiter": 5000},
    )
    feasible = bool(np.max(np.abs(A @ res.x - b)) < 1e-9)
    return np.asarray(res.x), feasible and res.status in (1, 2)


# --------------------------------------------------------------------------- one feature
def test_jaynes_dice_multiplier_is_minus_beta() -> None:
    x = np.arange(1.0, 7.0)
    r = expfam.max_entropy(x, 4.5)
    b = expfam.boltzmann(x, 4.5)
    assert r.multipliers.shape == (1,)
    assert r.multipliers[0] == -b.beta
    np.testing.assert_array_equal(r.probs, b.probs)
    assert r.entropy == b.entropy
    assert r.kl_to_prior is None
    assert r.support.all()


def test_one_feature_with_prior_against_mpmath() -> None:
    x = np.array([0.0, 1.0, 2.0, 5.0])
    prior = np.array([0.4, 0.3, 0.2, 0.1])
    r = expfam.max_entropy(x, 2.0, prior=prior)
    with mpmath.workdps(40):
        pm = [mpmath.mpf(p) for p in prior.tolist()]
        xm = [mpmath.mpf(v) for v in x.tolist()]
        lam = mpmath.findroot(
            lambda t: mpmath.fsum(
                p * (v - 2) * mpmath.exp(t * v) for p, v in zip(pm, xm, strict=True)
            ),
            0.3,
        )
        w = [p * mpmath.exp(lam * v) for p, v in zip(pm, xm, strict=True)]
        z = mpmath.fsum(w)
        q_ref = [wi / z for wi in w]
        kl_ref = float(
            mpmath.fsum(qi * mpmath.log(qi / p) for qi, p in zip(q_ref, pm, strict=True))
        )
        h_ref = float(-mpmath.fsum(qi * mpmath.log(qi) for qi in q_ref))
    assert r.multipliers[0] == pytest.approx(float(lam), rel=1e-14)
    np.testing.assert_allclose(r.probs, [float(v) for v in q_ref], rtol=1e-14)
    assert r.kl_to_prior == pytest.approx(kl_ref, rel=1e-12)
    assert r.entropy == pytest.approx(h_ref, rel=1e-14)
    assert abs(math.fsum((r.probs * x).tolist()) - 2.0) <= 4 * math.ulp(2.0)


def test_one_feature_edges_and_prior_zeros() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0])
    prior = np.array([0.0, 0.5, 0.25, 0.25])
    r = expfam.max_entropy(x, 1.0, prior=prior)  # the minimum over the prior's support
    assert r.multipliers[0] == -math.inf
    np.testing.assert_array_equal(r.probs, [0, 1, 0, 0])
    np.testing.assert_array_equal(r.support, [False, True, False, False])
    assert r.kl_to_prior == pytest.approx(math.log(2), rel=EPS)
    with pytest.raises(expfam.InfeasibleError, match="positive prior"):
        expfam.max_entropy(x, 0.5, prior=prior)
    r = expfam.max_entropy(x[:, None], [3.0])
    assert r.multipliers[0] == math.inf
    np.testing.assert_array_equal(r.probs, [0, 0, 0, 1])
    r = expfam.max_entropy(x, 1.0, prior=np.array([0.25, 0.25, 0.25, 0.25]))
    assert r.kl_to_prior is not None
    assert r.kl_to_prior == pytest.approx(
        float(expfam.kl_divergence(r.probs, np.full(4, 0.25))), rel=1e-13
    )


# --------------------------------------------------------------------------- several
def _random_interior(rng: np.random.Generator, K: int, m: int) -> tuple[Any, Any, Any]:
    F = rng.normal(size=(K, m))
    lam = rng.normal(size=m) * 0.7
    z = F @ lam
    q = np.exp(z - z.max())
    q /= q.sum()
    return F, q @ F, lam


@pytest.mark.parametrize(("K", "m"), [(5, 2), (8, 3), (30, 3), (200, 4)])
@pytest.mark.parametrize("with_prior", [False, True])
def test_interior_matches_primal(K: int, m: int, with_prior: bool) -> None:
    rng = np.random.default_rng(K * m)
    F, mu, _ = _random_interior(rng, K, m)
    prior = rng.dirichlet(np.ones(K)) if with_prior else None
    r = expfam.max_entropy(F, mu, prior=prior)
    assert_feasible(r, F, mu)
    assert r.support.all()
    if K <= 10:
        # trust-constr on the primal: where it converges it must agree; it must never
        # find a feasible point of lower KL than ours
        pi0 = np.full(K, 1 / K) if prior is None else prior
        p_tc, ok = primal(F, mu, pi0)
        if ok:
            assert kl_objective(r.probs, pi0) <= kl_objective(p_tc, pi0) + 1e-12
        if ok and (prior is None or K <= 5):
            np.testing.assert_allclose(r.probs, p_tc, atol=1e-7)
    # the tilt form: q ∝ prior exp(F @ lam)
    pi = np.full(K, 1 / K) if prior is None else prior
    np.testing.assert_allclose(r.probs, expfam.softmax(np.log(pi) + F @ r.multipliers), rtol=1e-12)
    assert r.entropy == pytest.approx(float(expfam.entropy(r.probs)), rel=1e-13)
    if prior is not None:
        assert r.kl_to_prior == pytest.approx(
            float(expfam.kl_divergence(r.probs, prior)), rel=1e-10, abs=1e-14
        )


def test_recovers_multipliers_and_zero_duality_gap() -> None:
    rng = np.random.default_rng(9)
    F, mu, lam = _random_interior(rng, 500, 3)
    r = expfam.max_entropy(F, mu)
    np.testing.assert_allclose(r.multipliers, lam, rtol=1e-11, atol=1e-12)
    # dual value log sum_j exp(lam.(f_j - mu)) equals the entropy
    dual = float(expfam.logsumexp((F - mu) @ r.multipliers))
    assert dual == pytest.approx(r.entropy, rel=1e-13)
    # with a prior: -dual = KL(q || prior)
    prior = rng.dirichlet(np.ones(500))
    r = expfam.max_entropy(F, mu, prior=prior)
    dual = float(expfam.logsumexp(np.log(prior) + (F - mu) @ r.multipliers))
    assert r.kl_to_prior == pytest.approx(-dual, rel=1e-10)


def test_invariances() -> None:
    rng = np.random.default_rng(2)
    F, mu, _ = _random_interior(rng, 40, 2)
    r = expfam.max_entropy(F, mu)
    perm = rng.permutation(40)
    rp = expfam.max_entropy(F[perm], mu)
    np.testing.assert_allclose(rp.probs, r.probs[perm], rtol=1e-12)
    # affine change of each feature: f -> a f + c changes lam -> lam / a
    a, c = np.array([3.0, -0.5]), np.array([1e3, -7.0])
    ra = expfam.max_entropy(F * a + c, mu * a + c)
    np.testing.assert_allclose(ra.multipliers, r.multipliers / a, rtol=1e-10)
    np.testing.assert_allclose(ra.probs, r.probs, rtol=1e-10)


def test_large_problem_float32_phase() -> None:
    # more states than the float32 threshold: fused Newton passes, float64 polish
    rng = np.random.default_rng(12)
    F, mu, lam = _random_interior(rng, _maxent._LARGE + 5000, 3)
    r = expfam.max_entropy(F, mu)
    assert_feasible(r, F, mu)
    np.testing.assert_allclose(r.multipliers, lam, rtol=1e-10, atol=1e-12)
    # the entropy the last polish pass summed, against the entropy of the returned q
    # summed exactly (math.fsum of the terms, each from mpmath's log)
    terms = [float(-qj * mpmath.log(qj)) for qj in r.probs.tolist()]
    assert r.entropy == pytest.approx(math.fsum(terms), rel=8 * EPS)
    assert abs(math.fsum(r.probs.tolist()) - 1) <= 4 * EPS


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.sampled_from([-400, -120, -101, -100, -3, 0, 7, 100, 101, 150, 400]),
)
def test_large_problem_is_exactly_invariant_under_powers_of_two(seed: int, k: int) -> None:
    """Features and moments times 2**k: the same probabilities, bit for bit.

    Between 2**-100 and 2**100 the pinning pass leaves the rows unscaled and the
    dual's evaluator scales its multipliers and sums instead; outside, the rows are
    scaled in place. Powers of two commute with every rounding, so both routes (and
    every k) must give the same numbers exactly, not just close ones.
    """
    rng = np.random.default_rng(seed)
    F, mu, _ = _random_interior(rng, _maxent._LARGE + 3000, 3)
    r = expfam.max_entropy(F, mu)
    rk = expfam.max_entropy(np.ldexp(F, k), np.ldexp(mu, k))
    np.testing.assert_array_equal(rk.probs, r.probs)
    np.testing.assert_array_equal(rk.logits, r.logits)
    np.testing.assert_array_equal(rk.multipliers, np.ldexp(r.multipliers, -k))
    assert rk.entropy == r.entropy
    assert rk.residual == math.ldexp(r.residual, k)


def test_prior_zeros_exclude_states() -> None:
    rng = np.random.default_rng(13)
    F = rng.normal(size=(12, 2))
    prior = rng.dirichlet(np.ones(12))
    prior[[0, 5]] = 0.0
    prior /= prior.sum()
    w = rng.dirichlet(np.ones(12)) * (prior > 0)
    mu = (w / w.sum()) @ F
    r = expfam.max_entropy(F, mu, prior=prior)
    assert_feasible(r, F, mu)
    np.testing.assert_array_equal(r.probs[[0, 5]], 0.0)
    np.testing.assert_array_equal(r.support, prior > 0)
    assert r.kl_to_prior is not None
    assert r.kl_to_prior == pytest.approx(
        float(expfam.kl_divergence(r.probs, prior)), rel=1e-10, abs=1e-14
    )


def test_kl_to_prior_is_never_negative_when_the_prior_meets_the_moments() -> None:
    # the prior already has these moments: KL = 0 exactly, rounding must not dip below
    F = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 1.0], [3.0, -1.0]])
    prior = np.array([0.4, 0.3, 0.2, 0.1])
    r = expfam.max_entropy(F, prior @ F, prior=prior)
    assert r.kl_to_prior is not None
    assert 0.0 <= r.kl_to_prior < 1e-15
    for j in range(2):  # one feature: the Boltzmann solver's path
        r1 = expfam.max_entropy(F[:, [j]], prior @ F[:, [j]], prior=prior)
        assert r1.kl_to_prior is not None
        assert 0.0 <= r1.kl_to_prior < 1e-15


def test_large_offset_features() -> None:
    rng = np.random.default_rng(8)
    F, mu, _ = _random_interior(rng, 300, 2)
    r = expfam.max_entropy(F + 1e8, mu + 1e8)
    r0 = expfam.max_entropy(F, mu)
    assert_feasible(r, F + 1e8, mu + 1e8)
    np.testing.assert_allclose(r.probs, r0.probs, rtol=1e-6)


def test_affinely_dependent_features() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=50)
    F = np.column_stack([x, 2 * x + 1, x**2])
    w = rng.dirichlet(np.ones(50))
    mu = w @ F
    r = expfam.max_entropy(F, mu)
    assert_feasible(r, F, mu)
    with pytest.raises(expfam.InfeasibleError, match="hull"):
        expfam.max_entropy(F, mu + np.array([0.0, 0.1, 0.0]))


def test_no_features() -> None:
    r = expfam.max_entropy(np.zeros((3, 0)), np.zeros(0), prior=[0.5, 0.25, 0.25])
    np.testing.assert_array_equal(r.probs, [0.5, 0.25, 0.25])
    assert r.kl_to_prior == 0.0
    assert r.multipliers.shape == (0,)


# --------------------------------------------------------------------------- faces
SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])


def test_axis_face_is_exact() -> None:
    r = expfam.max_entropy(SQUARE, [0.25, 1.0])
    np.testing.assert_array_equal(r.probs > 0, [False, False, True, True, False])
    np.testing.assert_allclose(r.probs, [0, 0, 0.75, 0.25, 0], rtol=1e-15)
    assert r.multipliers[1] == math.inf
    assert math.isfinite(r.multipliers[0])
    r = expfam.max_entropy(SQUARE, [0.0, 0.0])  # a vertex
    np.testing.assert_array_equal(r.probs, [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(r.multipliers, [-math.inf, -math.inf])


def test_oblique_face_found_by_linprog() -> None:
    # triangle (0,0), (1,0), (0,1) with inner points; the moments on the hypotenuse
    f = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.25, 0.25], [0.5, 0.5], [0.1, 0.3]])
    r = expfam.max_entropy(f, [0.25, 0.75])
    np.testing.assert_array_equal(r.support, [False, True, True, False, True, False])
    np.testing.assert_array_equal(r.probs[[0, 3, 5]], 0.0)
    assert_feasible(r, f, np.array([0.25, 0.75]))
    # on the face the solution is the 1-D maximum-entropy problem along the edge
    sub = expfam.max_entropy(f[[1, 2, 4], 1], 0.75)
    np.testing.assert_allclose(r.probs[[1, 2, 4]], sub.probs, rtol=1e-13)
    assert r.entropy == pytest.approx(sub.entropy, rel=1e-13)


def test_oblique_face_large_problem_via_suspicion() -> None:
    # more states than the always-LP threshold: the interior solve runs first, its
    # vanishing weights trigger the face LP
    rng = np.random.default_rng(1)
    n = _maxent._LP_ALWAYS + 1000
    P = rng.random((2 * n, 2))
    P = P[P.sum(axis=1) < 0.999][:n]
    on_edge = np.array([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5]])
    F = np.vstack([P, on_edge])
    r = expfam.max_entropy(F, [0.45, 0.55])
    assert r.support.sum() == 3
    np.testing.assert_array_equal(r.probs[:-3], 0.0)
    assert_feasible(r, F, np.array([0.45, 0.55]))


def test_outside_hull_is_infeasible_with_direction() -> None:
    f = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(expfam.InfeasibleError, match="convex hull") as info:
        expfam.max_entropy(f, [0.6, 0.6])
    assert isinstance(info.value, ValueError)
    assert "direction" in str(info.value)
    with pytest.raises(expfam.InfeasibleError, match=r"moments`\[1\]=2\.0.*\[0\.0, 1\.0\]"):
        expfam.max_entropy(f, [0.5, 2.0])


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("features", "moments", "prior", "match"),
    [
        (np.ones((3, 2)), [1.0], None, "`moments` must have shape \\(2,\\)"),
        (np.ones(3), [1.0, 1.0], None, "`moments` must have shape \\(\\)"),
        (np.ones((3, 2, 1)), [1.0], None, "`features` must have shape"),
        (np.ones((0, 2)), [1.0, 1.0], None, "`features` must have at least one"),
        ([[1.0, np.nan]], [1.0, 1.0], None, "`features` must be finite"),
        ([1.0, np.inf], 1.0, None, "`features` must be finite"),
        ([1.0, 2.0], np.nan, None, "`moments` must be finite"),
        ([1.0, 2.0], 1.5, [0.5], "`prior` must have shape"),
        ([1.0, 2.0], 1.5, [0.0, 0.0], "`prior` must have a positive total"),
        ([1.0, 2.0], 1.5, [1.5, -0.5], "`prior` must be non-negative"),
        ([1.0, 2.0], 1.5, [np.nan, 1.0], "`prior` must be finite"),
    ],
)
def test_bad_arguments(features: Any, moments: Any, prior: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        expfam.max_entropy(features, moments, prior=prior)


def test_convergence_failure_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _maxent._dual_solve

    def broken(*args: Any, **kwargs: Any) -> Any:
        sol = real(*args, **kwargs)
        sol.converged = False
        sol.residual = 0.5
        return sol

    monkeypatch.setattr(_maxent, "_dual_solve", broken)
    monkeypatch.setattr(_maxent, "_minimal_face", lambda *_, **__: None)
    rng = np.random.default_rng(0)
    F, mu, _ = _random_interior(rng, 20, 2)
    with pytest.raises(expfam.ConvergenceError) as info:
        expfam.max_entropy(F, mu)
    assert info.value.diagnostics["residual"] == 0.5


# --------------------------------------------------------------------------- optimality
problems = st.tuples(st.integers(3, 10), st.integers(2, 3), st.integers(0, 2**32 - 1))


@given(problems)
def test_optimality_against_feasible_perturbations(spec: Any) -> None:
    K, m, seed = spec
    assume(m + 1 < K)
    rng = np.random.default_rng(seed)
    F = np.round(rng.normal(size=(K, m)), 2)
    w = rng.dirichlet(np.ones(K))
    mu = w @ F
    prior = rng.dirichlet(np.ones(K) * 2)
    r = expfam.max_entropy(F, mu, prior=prior)
    assert_feasible(r, F, mu)
    q = r.probs
    on = r.support
    A = np.vstack([np.ones(K), F.T])[:, on]
    _, sv, vt = np.linalg.svd(A)
    rank = int(np.sum(sv > 1e-10 * sv[0]))
    null = vt[rank:]
    if null.shape[0] == 0:
        return

    def objective(p: NDArray[Any]) -> float:  # KL(p || prior) on the support
        return float(np.sum(p * (np.log(p) - np.log(prior[on]))))

    base = objective(q[on])
    for _ in range(5):
        d = rng.normal(size=null.shape[0]) @ null
        # the largest step keeping q >= q/2: the second-order gain is then far above
        # rounding level
        step = 0.5 * float(np.min(q[on] / np.maximum(np.abs(d), 1e-300)))
        for sgn in (1.0, -1.0):
            assert objective(q[on] + sgn * step * d) > base


@given(problems)
def test_cross_entropy_identity_at_the_solution(spec: Any) -> None:
    # h(u) = KL(p || S(u)) + H(p) for every p, and at the solution h(u) = H(q) for
    # every p with the same moments (the Pythagorean identity of maximum entropy)
    K, m, seed = spec
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(K, m))
    p = rng.dirichlet(np.ones(K))
    mu = p @ F
    r = expfam.max_entropy(F, mu)
    assume(r.support.all())
    u = F @ r.multipliers
    h = float(expfam.cross_entropy_with_logits(p, u))
    kl = float(expfam.kl_divergence(p, expfam.softmax(u)))
    assert h == pytest.approx(kl + float(expfam.entropy(p)), rel=1e-12, abs=1e-12)
    assert h == pytest.approx(r.entropy, rel=1e-9)


def test_moments_just_inside_a_face_are_solved_not_refused() -> None:
    # 1e-10 inside the hull of (x, x**2): the program's tolerance calls it "on the
    # face", the face cannot meet the moments, so the interior solve decides
    x = np.arange(1.0, 7.0)
    F = np.column_stack([x, x**2])
    for mu in ([2.5, 6.5 + 1e-10], [3.5, 18.5 - 1e-10]):
        r = expfam.max_entropy(F, mu)
        assert_feasible(r, F, np.array(mu))
        assert np.all(r.probs > 0)
        # the exponential-family form: log q is affine in the features
        design = np.column_stack([F, np.ones(6)])
        coef = np.linalg.lstsq(design, r.distribution.log_probs, rcond=None)[0]
        np.testing.assert_allclose(coef[:2], r.multipliers, rtol=1e-9)


def test_a_vertex_inside_the_range_of_each_feature_has_zero_multipliers() -> None:
    # (3, 9) is a vertex of the hull but neither feature is at its min or max there:
    # the features are constant on the face, so their multipliers are 0 (documented)
    x = np.arange(1.0, 7.0)
    r = expfam.max_entropy(np.column_stack([x, x**2]), [3.0, 9.0])
    np.testing.assert_array_equal(r.probs, np.eye(6)[2])
    np.testing.assert_array_equal(r.multipliers, [0.0, 0.0])


def test_large_problem_with_large_multipliers_finishes_in_float64() -> None:
    # above 16384 states the global phase runs in float32, which cannot resolve the
    # tail when the multipliers are ~1e4; a float64 phase takes over
    K = 16385
    rng = np.random.default_rng(0)
    t = rng.uniform(size=(3 * K, 2))
    t = t[t.sum(axis=1) <= 1][:K]
    r = expfam.max_entropy(t, [0.5, 0.4999])
    assert_feasible(r, t, np.array([0.5, 0.4999]))
    assert np.min(r.multipliers) > 1e3


def test_a_float32_prior_normalised_in_float32_is_accepted() -> None:
    rng = np.random.default_rng(21)
    F = rng.normal(size=(1000, 2))
    prior32 = rng.dirichlet(np.ones(1000)).astype(np.float32)
    prior32 /= prior32.sum(dtype=np.float32)  # sums to 1 only to float32 rounding
    mu = 0.3 * (prior32.astype(np.float64) @ F)
    r = expfam.max_entropy(F, mu, prior=prior32)
    assert_feasible(r, F, mu)
    exact = prior32.astype(np.float64) / math.fsum(prior32.astype(np.float64).tolist())
    assert r.kl_to_prior == pytest.approx(float(expfam.kl_divergence(r.probs, exact)), rel=1e-9)
    # any positive total is normalised (issue 13): the same answer for scaled weights
    r2 = expfam.max_entropy(F, mu, prior=prior32.astype(np.float64) * (1 + 1e-9))
    np.testing.assert_allclose(r2.probs, r.probs, rtol=1e-12, atol=1e-300)


def test_prior_not_summing_to_one_is_normalised_as_the_cli_does() -> None:
    """Issue 13: the API rejected a prior not summing to 1 while the CLI normalised it."""
    x = np.arange(1.0, 7.0)
    counts = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    r = expfam.max_entropy(x, 4.0, prior=counts)
    ref = expfam.max_entropy(x, 4.0, prior=counts / counts.sum())
    np.testing.assert_allclose(r.probs, ref.probs, rtol=1e-14)
    assert r.kl_to_prior == pytest.approx(ref.kl_to_prior, rel=1e-12)
    huge = expfam.max_entropy(np.column_stack([x, x**2]), [4.0, 18.0], prior=counts * 1e307)
    ref2 = expfam.max_entropy(np.column_stack([x, x**2]), [4.0, 18.0], prior=counts)
    np.testing.assert_allclose(huge.probs, ref2.probs, rtol=1e-12)
    with pytest.raises(ValueError, match="`prior` must have a positive total"):
        expfam.max_entropy(x, 4.0, prior=np.zeros(6))


def test_max_entropy_does_not_depend_on_the_callers_errstate() -> None:
    """Issue 13: results must not depend on the caller's ``np.errstate``."""
    x = np.arange(1.0, 7.0)
    F = np.column_stack([x, x**2])
    cases: list[tuple[Any, Any, Any]] = [
        (x, 4.5, None),
        (F, [3.5, 14.0], None),
        (F, [3.5, 18.5 - 1e-9], None),  # near a face: tiny weights underflow
        (x, 2.0, np.array([0.0, 0.5, 0.25, 0.25, 0.0, 0.0])),
    ]
    for feats, mu, prior in cases:
        want = expfam.max_entropy(feats, mu, prior=prior)
        with np.errstate(all="raise"):
            got = expfam.max_entropy(feats, mu, prior=prior)
        np.testing.assert_array_equal(got.probs, want.probs)
        assert got.entropy == want.entropy


def test_entropy_of_a_single_state_is_positive_zero() -> None:
    r = expfam.max_entropy(np.arange(1.0, 7.0), 1.0)
    assert r.entropy == 0.0
    assert math.copysign(1.0, r.entropy) == 1.0
    F = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    r2 = expfam.max_entropy(F, [1.0, 0.0], prior=[0.2, 0.3, 0.5])
    assert math.copysign(1.0, r2.entropy) == 1.0
    assert r2.kl_to_prior is not None
    assert r2.kl_to_prior == pytest.approx(math.log(1 / 0.3), rel=1e-15)


# --------------------------------------------------------------------------- layout
def _expfam_imports(module: str) -> dict[str, set[str]]:
    """``{imported expfam module: names}`` of the top-level imports of `module`."""
    path = Path(expfam.__file__).parent / f"{module}.py"
    found: dict[str, set[str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("expfam"):
            found.setdefault(node.module or "", set()).update(a.name for a in node.names)
    return found


def test_layout_general_solver_imports_no_privates_of_the_special_case() -> None:
    """Issue 10: ``max_entropy`` shares the engine, not ``boltzmann``'s private names."""
    general = _expfam_imports("_maxent")
    assert "expfam._boltzmann" not in general
    assert "expfam._boltzmann_dask" not in general
    for module in ("_onedim", "_summation", "_maxent_dask", "_dask"):
        deps = _expfam_imports(module)
        assert "expfam._boltzmann" not in deps
        assert "expfam._maxent" not in deps
    for module in ("_maxent", "_boltzmann"):
        for source, names in _expfam_imports(module).items():
            if source not in ("expfam._onedim", "expfam._summation", "expfam._validation"):
                assert not any(n.startswith("_") for n in names), (module, source, names)


def test_moments_infeasible_by_1e_9_beyond_a_face_raise_infeasible() -> None:
    """Earlier notes: ``[3.5, 18.5 + 1e-9]`` for (x, x^2) of a die raised ConvergenceError.

    The variance 6.25 + 1e-9 exceeds the largest possible, 6.25 (half the mass on 1 and
    half on 6): the moments are outside the hull by 3e-11 of the feature scale, below
    the linear program's tolerance, so the face {1, 6} was taken; it cannot meet them.
    """
    x = np.arange(1.0, 7.0)
    F = np.column_stack([x, x**2])
    with pytest.raises(expfam.InfeasibleError, match="outside the convex hull"):
        expfam.max_entropy(F, [3.5, 18.5 + 1e-9])
    with pytest.raises(expfam.InfeasibleError):
        expfam.max_entropy(F, [3.5, 18.5 + 1e-7])
    inside = expfam.max_entropy(F, [3.5, 18.5 - 1e-9])  # just inside: solved
    assert_feasible(inside, F, np.array([3.5, 18.5 - 1e-9]))


# --------------------------------------------------------------------------- many states
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_features_of_a_large_problem_raise(bad: float) -> None:
    """Issue 12: the finiteness check moved into the pinning pass (no pass of its own)."""
    rng = np.random.default_rng(3)
    F, mu, _ = _random_interior(rng, _maxent._LARGE + 5000, 3)
    F[-7, 1] = bad
    with pytest.raises(ValueError, match="`features` must be finite"):
        expfam.max_entropy(F, mu)


@pytest.mark.parametrize("outlier", [1e3, 1e30, 1e300])
def test_large_problem_with_an_outlier_beyond_the_scaling_subsample(outlier: float) -> None:
    """Scales from a strided subsample: one state far outside it is still solved.

    Beyond 2**60 times the subsample's range the features are scaled as for small
    problems (the float32 copy could overflow otherwise; at 1e300 it does, without a
    warning, and the exact extremes decide).
    """
    rng = np.random.default_rng(4)
    F, mu, _ = _random_interior(rng, _maxent._LARGE + 5001, 3)
    F[5001, 0] = outlier  # not on the stride of the subsample
    r = expfam.max_entropy(F, mu)
    assert r.residual <= 1e-12 * outlier
    got = np.array([math.fsum((r.probs * F[:, i]).tolist()) for i in range(3)])
    np.testing.assert_allclose(got, mu, rtol=0, atol=1e-11 * outlier)
    assert abs(math.fsum(r.probs.tolist()) - 1) <= 1e-14


def test_large_problem_pinned_feature_and_a_range_below_float32() -> None:
    """The pinning pass reads the extremes of the float32 copy when their signs decide.

    A moment at a feature's maximum (its float32 maximum is exactly 0, and so are
    those of a feature whose differences from its moment, ±1e-300, round to ±0 in
    float32): the exact float64 extremes are taken, the first feature is pinned, and
    on its states the second is solved for (not taken as constant).
    """
    rng = np.random.default_rng(6)
    K = _maxent._LARGE + 5000
    F = rng.normal(size=(K, 3))
    F[:100, 0] = 5.0  # the maximum of feature 0, attained by 100 states
    mu = np.array([5.0, float(np.mean(F[:100, 1])), 0.0])
    F[:, 2] = 0.0
    F[7, 2], F[8, 2] = -1e-300, 1e-300  # (7 and 8 are among the pinned states)
    r = expfam.max_entropy(F, mu)
    assert r.multipliers[0] == np.inf
    np.testing.assert_array_equal(r.support, F[:, 0] == 5.0)
    assert r.probs[7] == r.probs[8] > 0  # symmetric about the moment 0
    assert_feasible(r, F, mu)


@pytest.mark.parametrize("K", [6000, _maxent._LARGE + 3000])
@pytest.mark.parametrize("kind", ["simplex", "normal"])
def test_moments_inside_every_range_but_outside_the_hull_raise_infeasible(
    K: int, kind: str
) -> None:
    """Found by a review: above 5000 states (no linear program up front) these raised
    a bare OverflowError / ValueError from the polish's prediction of log Z, made for
    a rounding-level step, after steps of an unbounded dual."""
    rng = np.random.default_rng(1)
    if kind == "simplex":
        F = rng.dirichlet([1, 1, 1], size=K)[:, :2]
        F[:3] = [[1, 0], [0, 1], [0, 0]]
        mu = np.array([0.6, 0.6])  # beyond the face x + y = 1
    else:
        F = rng.normal(size=(K, 3))
        mu = 0.9 * F.max(axis=0)
    assert np.all((F.min(axis=0) < mu) & (mu < F.max(axis=0)))
    with pytest.raises(expfam.InfeasibleError, match="outside the convex hull"):
        expfam.max_entropy(F, mu)


@pytest.mark.parametrize("K", [_maxent._LARGE + 3000, 100_000])
def test_large_problem_feature_constant_on_the_scaling_subsample(K: int) -> None:
    """A feature zero but on three states (+-1e-300, 2e-300), moment 0: solved.

    The strided subsample that sets the power-of-two scales sees only zeros, so its
    scale (2) is ~1e300 times the feature's range and the float32 copy of its rows
    underflows; such a feature is scaled as for small problems (this ended in
    ConvergenceError, the residual 1e7 times the tolerance). The third feature's range
    (1e-12 about 1) is fine on the subsample.
    """
    rng = np.random.default_rng(6)
    F = rng.normal(size=(K, 3))
    F[:, 1] = 0.0
    F[7, 1], F[8, 1], F[K // 2, 1] = -1e-300, 1e-300, 2e-300
    F[:, 2] = 1.0
    F[::3, 2] = 1.0 + 1e-12
    mu = np.array([0.1, 0.0, 1.0 + 0.5e-12])
    r = expfam.max_entropy(F, mu)
    assert_feasible(r, F, mu)
    # the three states of feature 1 balance: E_q[f_1] / 1e-300, to a few ulp of 1
    q7, q8, qh = r.probs[7], r.probs[8], r.probs[K // 2]
    assert abs(math.fsum([-q7, q8, 2 * qh])) <= 1e-16
    assert r.multipliers[1] < -1e299  # (a multiplier on the scale of 1 / 1e-300)


@pytest.mark.parametrize("K", [30_000, 200_000])
def test_features_spanning_the_float_range(K: int) -> None:
    """|f - mu| near 3e308 (beyond the float range): scaled by 2**1023, no bare warning."""
    rng = np.random.default_rng(0)
    F = rng.uniform(-1, 1, size=(K, 2)) * 1.5e308
    res = expfam.max_entropy(F, [1e306, -1e306])
    q = res.probs
    assert np.all(q >= 0)
    assert abs(math.fsum(q) - 1) < 1e-14
    # the moments, summed in units of 2**1023 so that the products stay finite
    for j, target in enumerate([1e306, -1e306]):
        got = math.fsum((q * (F[:, j] / 2.0**1023)).tolist()) * 2.0**1023
        assert abs(got - target) <= 1e-12 * 1.5e308
