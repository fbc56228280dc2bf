"""Existence of the GLM MLE: separated data give the MLE in the closure, exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import expfam


def _face_fit(family: Any, X: Any, y: Any, res: expfam.GLMResult, keep: Any, **fixed: Any) -> Any:
    """Fit the face rows directly, on the design restricted off the recession span."""
    Xd = np.column_stack([np.ones(len(X)), X])
    R = res.recession.reshape(res.recession.shape[0], -1).T
    V = np.linalg.svd(R.T)[2][R.shape[1] :].T  # orthonormal complement of the recession span
    direct = expfam.glm(family, Xd[keep] @ V, np.asarray(y)[keep], intercept=False, **fixed)
    return V @ direct.coef


def test_complete_separation() -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    res = expfam.glm(expfam.Bernoulli, x, [0, 0, 1, 1, 1])
    assert not res.mle_exists
    assert res.converged
    fitted: Any = res.predict()
    np.testing.assert_array_equal(fitted.mean(), [0.0, 0.0, 1.0, 1.0, 1.0])
    assert res.recession.shape == (2, 2)
    assert res.loglik == 0.0
    assert res.deviance == 0.0
    # new rows follow the limit: below the gap 0, above 1
    new: Any = res.predict(np.array([[-3.0], [10.0]]))
    np.testing.assert_array_equal(new.mean(), [0.0, 1.0])
    ci = res.conf_int()
    assert np.isinf(ci).any()


def test_quasi_complete_separation_limit_model_is_the_face_fit() -> None:
    x = np.array([[0.0], [1.0], [2.0], [2.0], [2.0], [3.0], [4.0]])
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    res = expfam.glm(expfam.Bernoulli, x, y)
    assert not res.mle_exists
    assert res.recession.shape == (1, 2)
    fitted: Any = res.predict()
    mean = fitted.mean()
    np.testing.assert_array_equal(mean[[0, 1, 5, 6]], [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(mean[2:5], 2 / 3, rtol=1e-14)
    keep = x[:, 0] == 2.0
    np.testing.assert_allclose(res.coef, _face_fit(expfam.Bernoulli, x, y, res, keep), atol=1e-14)
    # coef is orthogonal to the recession span; the identified combination has a CI
    assert abs(float(res.recession[0] @ res.coef)) < 1e-14
    assert np.all(np.isinf(res.stderr))
    assert res.df_resid == 7 - 1  # nobs minus the one identified parameter
    lo_hi = res.conf_int()
    assert np.all(np.isinf(lo_hi).any(axis=-1))


def test_poisson_zero_group() -> None:
    group = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    X = np.eye(3)[group][:, 1:]  # intercept + two indicators
    y = np.array([0, 0, 0, 1, 3, 2, 4, 6])
    res = expfam.glm(expfam.Poisson, X, y)
    assert not res.mle_exists
    fitted: Any = res.predict()
    rate = fitted.rate
    np.testing.assert_array_equal(rate[:3], 0.0)
    np.testing.assert_allclose(rate[3:6], 2.0, rtol=1e-14)
    np.testing.assert_allclose(rate[6:], 5.0, rtol=1e-14)
    keep = group > 0
    np.testing.assert_allclose(res.coef, _face_fit(expfam.Poisson, X, y, res, keep), atol=1e-13)
    assert np.all(np.isfinite(fitted.log_prob(y)))
    # a new row of the zero group keeps rate 0; one beyond the face is refused
    new: Any = res.predict(np.array([[0.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(new.rate[0], 0.0)
    with pytest.raises(ValueError, match="beyond the limit model's face"):
        res.predict(np.array([[1.0, 1.0]]))  # along the recession, rate -> inf


def test_binomial_and_geometric_boundaries() -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    res = expfam.glm(expfam.Binomial, x, [0, 0, 5, 5], n=5)
    assert not res.mle_exists
    fitted: Any = res.predict()
    np.testing.assert_array_equal(fitted.mean(), [0.0, 0.0, 5.0, 5.0])
    group = np.array([0, 0, 1, 1])
    geo = expfam.glm(expfam.Geometric, group[:, None].astype(float), [1, 1, 2, 4])
    assert not geo.mle_exists
    g: Any = geo.predict()
    np.testing.assert_array_equal(g.mean()[:2], 1.0)
    np.testing.assert_allclose(g.mean()[2:], 3.0, rtol=1e-14)


def test_multinomial_separation() -> None:
    x = np.array([[0.0], [0.0], [1.0], [1.0], [2.0], [2.0], [3.0], [3.0]])
    y = np.array([0, 1, 0, 1, 0, 1, 2, 2])
    res = expfam.glm(expfam.Categorical, x, y)
    assert not res.mle_exists
    assert res.recession.shape[1:] == (2, 3)
    np.testing.assert_allclose(res.recession.sum(axis=-1), 0.0, atol=1e-14)  # gauge
    probs = res.predict().mean_params
    expected = np.array([[0.5, 0.5, 0.0]] * 6 + [[0.0, 0.0, 1.0]] * 2)
    np.testing.assert_allclose(probs, expected, rtol=1e-14, atol=0)
    assert np.all(probs[:6, 2] == 0.0)
    assert np.all(probs[6:, :2] == 0.0)
    new = res.predict(np.array([[-5.0], [9.0]])).mean_params
    np.testing.assert_allclose(new, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], rtol=1e-14)


def test_separation_in_unpenalised_part_only_with_l2() -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    res = expfam.glm(expfam.Bernoulli, x, [0, 0, 1, 1], l2=1.0)
    assert res.mle_exists  # the penalty makes the slope finite
    allzero = expfam.glm(expfam.Bernoulli, x, [0, 0, 0, 0], l2=1.0)
    assert not allzero.mle_exists  # the unpenalised intercept still runs to -inf
    fitted: Any = allzero.predict()
    np.testing.assert_array_equal(fitted.mean(), 0.0)


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["bernoulli", "poisson", "categorical"]))
def test_no_false_positive(seed: int, kind: str) -> None:
    # every design row is observed with every outcome type: the MLE always exists
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, 2))
    if kind == "bernoulli":
        res = expfam.glm(expfam.Bernoulli, np.vstack([X, X]), np.r_[np.zeros(6), np.ones(6)])
    elif kind == "poisson":
        res = expfam.glm(expfam.Poisson, np.vstack([X, X]), np.r_[np.zeros(6), np.ones(6) * 2])
    else:
        XX = np.vstack([X, X, X])
        res = expfam.glm(expfam.Categorical, XX, np.repeat([0, 1, 2], 6))
    assert res.mle_exists
    assert np.all(np.isfinite(res.stderr))


@settings(max_examples=10)
@given(st.integers(0, 2**32 - 1))
def test_random_well_posed_logistic_exists(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3))
    y = (rng.uniform(size=200) < 1 / (1 + np.exp(-(X @ [0.5, -0.5, 0.3])))).astype(float)
    res = expfam.glm(expfam.Bernoulli, X, y)
    assert res.mle_exists


@pytest.mark.parametrize("row", [0, 1234, 2999])
def test_large_data_separation_missed_by_a_row_subset(row: int) -> None:
    # one row of its own group with y = 0: the existence program runs on a random
    # subset of rows first, which may miss that row; the answer must not change
    rng = np.random.default_rng(row)
    n = 3000
    x = rng.normal(size=n)
    group = np.zeros(n)
    group[row] = 1.0
    y = rng.poisson(np.exp(0.3 + 0.2 * x)).astype(float)
    y[row] = 0.0
    res = expfam.glm(expfam.Poisson, np.column_stack([x, group]), y)
    assert not res.mle_exists
    fitted: Any = res.predict()
    assert fitted.rate[row] == 0.0
    assert np.all(fitted.rate[np.arange(n) != row] > 0)
    # the same for a softmax regression whose class 2 appears only on that row
    labels = rng.integers(0, 2, size=n)
    labels[row] = 2
    cat = expfam.glm(expfam.Categorical, np.column_stack([x, group]), labels)
    assert not cat.mle_exists
    probs = cat.predict().mean_params
    np.testing.assert_array_equal(probs[row], [0.0, 0.0, 1.0])
    assert np.all(probs[np.arange(n) != row, 2] == 0.0)
