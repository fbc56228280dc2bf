"""Softmax regression with many unknowns: the truncated-Newton solver of expfam._glm_softmax.

``glm`` takes it for Categorical fits with at least ``LBFGS_MIN`` unknowns (and no
separation); raising ``LBFGS_MIN`` sends the same fit to L-BFGS and full Newton steps,
the oracle here. The problems have more rows than twice the preconditioner's subsample
(``20`` rows per unknown), so the subsample path runs.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

import expfam
from expfam import _glm, _glm_softmax
from expfam._glm_families import CategoricalModel


def _data(seed: int, n: int = 12_000, q: int = 20, K: int = 11) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, q))
    B = rng.normal(scale=0.4, size=(q, K))
    U = X @ B + rng.normal(size=K)
    P = np.exp(U - U.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) < rng.uniform(size=(n, 1))).sum(axis=1)
    return X, np.minimum(y, K - 1)


def _newton(monkeypatch: pytest.MonkeyPatch, *args: Any, **kw: Any) -> Any:
    with monkeypatch.context() as m:
        m.setattr(_glm, "LBFGS_MIN", 10**9)  # full Newton steps from the start
        return expfam.glm(*args, **kw)


def _rel(a: Any, b: Any) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _assert_same_fit(res: Any, ref: Any, X_new: Any) -> None:
    assert _rel(res.coef, ref.coef) <= 1e-10
    assert _rel(res.stderr, ref.stderr) <= 1e-9
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-12)
    assert res.loglik == pytest.approx(ref.loglik, rel=1e-12)
    assert res.aic == pytest.approx(ref.aic, rel=1e-12)
    np.testing.assert_allclose(res.predict(X_new).mean(), ref.predict(X_new).mean(), rtol=1e-10)


@pytest.mark.parametrize("case", ["labels", "weights_soft_offset", "ridge"])
def test_truncated_newton_equals_newton(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    X, y = _data(1)
    n, K = X.shape[0], 11
    kw: dict[str, Any] = {}
    target: Any = y
    if case == "weights_soft_offset":
        rng = np.random.default_rng(2)
        soft = np.full((n, K), 0.02)
        soft[np.arange(n), y] += 1 - 0.02 * K
        target = soft
        kw = {"weights": rng.uniform(0.5, 2.0, n), "offset": rng.normal(scale=0.3, size=(n, K))}
    if case == "ridge":
        kw = {"l2": 3.0}
    p = (X.shape[1] + 1) * (K - 1)
    assert p >= _glm.LBFGS_MIN
    res = expfam.glm(expfam.Categorical, X, target, **kw)
    ref = _newton(monkeypatch, expfam.Categorical, X, target, **kw)
    _assert_same_fit(res, ref, X[:50])


def test_rare_column_outside_the_subsample(monkeypatch: pytest.MonkeyPatch) -> None:
    """A column nonzero on 3 rows the subsample misses: a ridged preconditioner, same fit.

    Soft targets (every class has probability > 0 on every row) keep the MLE finite.
    """
    X, y = _data(3)
    n, K = X.shape[0], 11
    size = _glm_softmax.SUBSAMPLE_PER_UNKNOWN * (X.shape[1] + 1) * (K - 1)
    sample = np.random.default_rng(0).choice(n, size=size, replace=False)  # as the solver
    rare = np.setdiff1d(np.arange(n), sample)[[3, 400, 5000]]
    X[:, 0] = 0.0
    X[rare, 0] = [1.0, -2.0, 1.5]
    soft = np.full((n, K), 0.05)
    soft[np.arange(n), y] += 1 - 0.05 * K
    res = expfam.glm(expfam.Categorical, X, soft)
    ref = _newton(monkeypatch, expfam.Categorical, X, soft)
    assert res.mle_exists
    _assert_same_fit(res, ref, X[rare])


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_gradient_is_zero_at_the_answer(seed: int) -> None:
    """The score X^T (S(U) - P) vanishes at the rounding level of its terms."""
    X, y = _data(seed, n=9000, q=20, K=11)
    res = expfam.glm(expfam.Categorical, X, y)
    Xd = np.column_stack([np.ones(len(y)), X])
    U = Xd @ res.coef
    S = np.exp(U - U.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    Y = np.eye(11)[y]
    grad = Xd.T @ (S - Y)
    scale = np.abs(Xd).T @ (S + Y)
    assert np.all(np.abs(grad) <= 1e-11 * scale)
    assert res.converged


def test_passes_agree_with_the_solver_pass() -> None:
    """Objective, gradient, H v and the Hessian of the passes equal :func:`solver_pass`."""
    rng = np.random.default_rng(4)
    n, q, K = 700, 6, 5
    X = np.column_stack([np.ones(n), rng.standard_normal((n, q - 1))])
    counts = rng.poisson(1.5, size=(n, K)).astype(float)
    w = rng.uniform(0.0, 2.0, n)
    off = rng.normal(size=(n, K))
    Q = linalg.null_space(np.ones((1, K)))
    pen = np.repeat(np.r_[0.0, np.full(q - 1, 0.7)], K - 1)
    model = CategoricalModel(counts)
    prob = _glm.Problem(X, model, w, off, Q, pen)
    passes = _glm_softmax.SoftmaxPasses(X, counts, model.total, w, off, Q, pen)
    theta = rng.normal(scale=0.3, size=q * (K - 1))
    f_ref, g_ref, H_ref = _glm.solver_pass(prob, theta, 2)
    f, g = passes.value_grad(theta)
    passes.accept()
    H = passes.hessian() + np.diag(pen)
    d = rng.standard_normal(theta.size)
    assert f == pytest.approx(f_ref, rel=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-11, atol=1e-11 * np.max(np.abs(g_ref)))
    np.testing.assert_allclose(H, H_ref, rtol=1e-11, atol=1e-11 * np.max(np.abs(H_ref)))
    np.testing.assert_allclose(passes.hessvec(d), H_ref @ d, rtol=1e-10, atol=1e-10)


def test_covariance_is_computed_on_first_access(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data(5)
    res = expfam.glm(expfam.Categorical, X, y)
    assert callable(res._cov)  # the fit itself never formed the full Hessian
    cov = res.cov
    assert res.cov is cov  # cached
    ref = _newton(monkeypatch, expfam.Categorical, X, y)
    assert _rel(cov, ref.cov) <= 1e-9
    lo, hi = np.moveaxis(res.conf_int(), -1, 0)
    assert np.all(lo < res.coef)
    assert np.all(res.coef < hi)


def test_result_pickles_with_its_covariance() -> None:
    """The lazy covariance is computed when the result is pickled (a worker's result)."""
    X, y = _data(6, n=9000)
    res = expfam.glm(expfam.Categorical, X, y)
    back = pickle.loads(pickle.dumps(res))  # noqa: S301 - our own bytes
    np.testing.assert_array_equal(back.cov, res.cov)
    np.testing.assert_array_equal(back.predict(X[:5]).mean_params, res.predict(X[:5]).mean_params)
    small = expfam.glm(expfam.Poisson, X[:50, :2], np.arange(50) % 4)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(small)).stderr, small.stderr)  # noqa: S301
