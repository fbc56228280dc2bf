"""expfam.glm with uncentred covariates: covariance, coefficients and the rank check.

A covariate ``c + x`` with ``|c|`` much larger than the spread of ``x`` (timestamps,
years, a level) makes the Gram matrix :math:`X^\\top W X` of ``[1, X]`` ill conditioned
(condition number ~ ``c^2``): its inverse lost up to ``c^2 eps`` of the standard errors
(2.5e-4 at ``c = 1e6``) and at ``c = 1e7`` the fit was refused as rank deficient. The
fit now runs on centred columns; these tests compare with exact references on the
same (rounded) data: exact rational arithmetic for least squares, mpmath Newton at 50
digits for Poisson, statsmodels on the centred columns.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import expfam

sm = pytest.importorskip("statsmodels.api")

OFFSETS = [0.0, 1e4, 1e6, 3e6, 1e7, 1e8]


def _rel(a: object, b: object) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def _data(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, 3 + 0.5 * x + rng.normal(size=n)


def _exact_ols(xr: np.ndarray, y: np.ndarray) -> tuple[list[Fraction], list[list[Fraction]]]:
    """Coefficients and covariance ``sigma^2 (X^T X)^{-1}`` of ``[1, xr]``, exactly."""
    xs = [Fraction(float(v)) for v in xr]
    ys = [Fraction(float(v)) for v in y]
    n = len(xs)
    zero = Fraction(0)
    sx, sxx = sum(xs, zero), sum((v * v for v in xs), zero)
    sy, sxy = sum(ys, zero), sum((a * b for a, b in zip(xs, ys, strict=True)), zero)
    det = n * sxx - sx * sx
    inv = [[sxx / det, -sx / det], [-sx / det, Fraction(n) / det]]
    b0 = inv[0][0] * sy + inv[0][1] * sxy
    b1 = inv[1][0] * sy + inv[1][1] * sxy
    res = [yi - b0 - b1 * xi for xi, yi in zip(xs, ys, strict=True)]
    rss = sum((r * r for r in res), zero)
    s2 = rss / (n - 2)
    return [b0, b1], [[s2 * v for v in row] for row in inv]


@pytest.mark.parametrize("off", OFFSETS)
def test_normal_covariance_exact_for_uncentred_covariates(off: float) -> None:
    # the reviewer's example: slope SE 2.5e-4 off at 1e6, ValueError at 1e7
    x, y = _data(0)
    xr = off + x  # the data as given (rounded): the reference uses the same values
    coef, cov = _exact_ols(xr, y)
    res = expfam.glm(expfam.Normal, xr[:, None], y)
    exact_cov = np.array([[float(v) for v in row] for row in cov])
    assert _rel(np.diag(res.cov), np.diag(exact_cov)) <= 1e-9
    assert abs(res.cov[0, 1] / exact_cov[0, 1] - 1) <= 1e-9 or off == 0
    assert _rel(res.coef[1], float(coef[1])) <= 1e-13  # the Newton steps too
    assert abs(res.coef[0] - float(coef[0])) <= 1e-13 * (abs(float(coef[0])) + off)


@pytest.mark.parametrize("off", [*OFFSETS, 1.7e9])
def test_normal_matches_statsmodels_ols_on_centred_columns(off: float) -> None:
    x, y = _data(1)
    xr = off + x
    xc = xr - off  # exact (Sterbenz): the same data, centred
    ref = sm.OLS(y, sm.add_constant(xc)).fit()
    res = expfam.glm(expfam.Normal, xr[:, None], y)
    assert _rel(res.stderr[1], ref.bse[1]) <= 1e-9
    assert _rel(res.coef[1], ref.params[1]) <= 1e-12


def _mp_poisson(xr: np.ndarray, y: np.ndarray) -> tuple[list[mpmath.mpf], mpmath.matrix]:
    """Poisson MLE of ``[1, xr]`` and the inverse Fisher information, by mpmath Newton."""
    with mpmath.workdps(50):
        xs = [mpmath.mpf(float(v)) for v in xr]
        ys = [mpmath.mpf(float(v)) for v in y]
        mean = sum(xs) / len(xs)
        b = [mpmath.log(sum(ys) / len(ys)), mpmath.mpf(0)]  # centred coordinates
        for _ in range(100):
            mu = [mpmath.exp(b[0] + b[1] * (xi - mean)) for xi in xs]
            g = mpmath.matrix(
                [
                    sum(yi - mi for yi, mi in zip(ys, mu, strict=True)),
                    sum((yi - mi) * (xi - mean) for xi, yi, mi in zip(xs, ys, mu, strict=True)),
                ]
            )
            h01 = sum(mi * (xi - mean) for xi, mi in zip(xs, mu, strict=True))
            h11 = sum(mi * (xi - mean) ** 2 for xi, mi in zip(xs, mu, strict=True))
            H = mpmath.matrix([[sum(mu), h01], [h01, h11]])
            step = mpmath.lu_solve(H, g)
            b = [b[0] + step[0], b[1] + step[1]]
            if mpmath.norm(step) < mpmath.mpf(10) ** -40:
                break
        # back to [1, xr]: the intercept b0 - mean b1; the covariance T H^{-1} T^T
        T = mpmath.matrix([[1, -mean], [0, 1]])
        cov = T * H**-1 * T.T
        return [b[0] - mean * b[1], b[1]], cov


@pytest.mark.parametrize("off", [0.0, 1e6, 1e7, 1e8])
def test_poisson_against_mpmath_for_uncentred_covariates(off: float) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=150)
    y = rng.poisson(np.exp(0.5 + 0.3 * x)).astype(np.float64)
    xr = off + x
    coef, cov = _mp_poisson(xr, y)
    res = expfam.glm(expfam.Poisson, xr[:, None], y)
    assert _rel(res.coef[1], float(coef[1])) <= 1e-12
    assert abs(res.coef[0] - float(coef[0])) <= 1e-12 * (abs(float(coef[0])) + off)
    assert _rel(np.diag(res.cov), [float(cov[0, 0]), float(cov[1, 1])]) <= 1e-9
    assert _rel(res.cov[0, 1], float(cov[0, 1])) <= 1e-9


@given(
    off=st.sampled_from([1e5, 1e7, -3e7, 1e8]),
    seed=st.integers(0, 2**16),
    family=st.sampled_from(["Poisson", "Bernoulli", "Gamma"]),
    cov_type=st.sampled_from(["model", "robust"]),
)
def test_shifting_a_covariate_only_moves_the_intercept(
    off: float, seed: int, family: str, cov_type: str
) -> None:
    # the fit on [1, c + x] is the fit on [1, x] with the intercept b0 - c b (x exact)
    rng = np.random.default_rng(seed)
    n = 300
    x = np.round(rng.normal(size=(n, 2)) * 1024) / 1024  # dyadic: c + x is exact
    eta = 0.2 + x @ [0.4, -0.3]
    fam = getattr(expfam, family)
    if family == "Poisson":
        y = rng.poisson(np.exp(eta)).astype(np.float64)
    elif family == "Bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.float64)
    else:
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    shift = np.array([off, 0.0])  # one column far from 0, one centred
    link = "log" if family == "Gamma" else "canonical"
    ref = expfam.glm(fam, x, y, cov_type=cov_type, link=link)
    res = expfam.glm(fam, x + shift, y, cov_type=cov_type, link=link)
    T = np.eye(3)
    T[0, 1:] = -shift  # coef = T coef_ref, cov = T cov_ref T^T
    assert _rel(res.coef[1:], ref.coef[1:]) <= 1e-10
    assert _rel(res.coef[0], (T @ ref.coef)[0]) <= 1e-10
    assert _rel(np.diag(res.cov), np.diag(T @ ref.cov @ T.T)) <= 1e-9
    assert _rel(res.stderr, np.sqrt(np.diag(T @ ref.cov @ T.T))) <= 1e-9


@pytest.mark.parametrize("off", [1e4, 1e7])
def test_categorical_uncentred_covariates(off: float) -> None:
    rng = np.random.default_rng(3)
    n = 400
    x = np.round(rng.normal(size=(n, 2)) * 1024) / 1024  # dyadic: x + off is exact
    eta = np.c_[np.zeros(n), 0.5 + x @ [0.8, -0.3], -0.2 + x @ [-0.4, 0.6]]
    p = np.exp(eta)
    p /= p.sum(axis=1, keepdims=True)
    labels = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    shift = np.array([0.0, off])
    ref = expfam.glm(expfam.Categorical, x, labels)
    res = expfam.glm(expfam.Categorical, x + shift, labels)
    assert _rel(res.coef[1:], ref.coef[1:]) <= 1e-10
    assert _rel(res.coef[0], ref.coef[0] - shift @ ref.coef[1:]) <= 1e-10
    assert _rel(res.stderr[1:], ref.stderr[1:]) <= 1e-9
    # the intercept's variance: Var(b0 - c b) of the centred fit, c = off
    K = 3
    T = np.kron(np.c_[np.eye(3)[:, :1], np.eye(3)[:, 1:]], np.eye(K))
    T[:K, 2 * K :] = -off * np.eye(K)
    assert _rel(np.diag(res.cov)[:K], np.diag(T @ ref.cov @ T.T)[:K]) <= 1e-9


# ---------------------------------------------------------------------------------- rank
@pytest.mark.parametrize("off", [1e7, 1e8, -1e9])
def test_full_rank_far_from_zero_is_not_deficient(off: float) -> None:
    x, y = _data(4)
    res = expfam.glm(expfam.Normal, (off + x)[:, None], y)
    assert res.df_resid == x.size - 2


def test_hourly_timestamps_are_full_rank() -> None:
    # Unix timestamps ~1.7e9 an hour apart, next to a second (centred) covariate
    rng = np.random.default_rng(5)
    n = 2000
    t = 1.7e9 + 3600.0 * np.arange(n)
    z = rng.normal(size=n)
    eta = -0.5 + 2e-7 * (t - t[0]) + 0.8 * z
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.float64)
    X = np.c_[t, z]
    res = expfam.glm(expfam.Bernoulli, X, y)
    ref = sm.GLM(y, sm.add_constant(np.c_[t - t[0], z]), family=sm.families.Binomial()).fit(
        tol=1e-14
    )
    assert _rel(res.coef[1:], ref.params[1:]) <= 1e-9
    assert _rel(res.stderr[1:], ref.bse[1:]) <= 1e-8


@pytest.mark.parametrize("off", [0.0, 1e7])
@pytest.mark.parametrize("a", [2.0, 0.7])
def test_collinear_columns_still_flagged(off: float, a: float) -> None:
    # x1 = a x0 + 3 (exactly for a = 2, to the rounding of the data for a = 0.7)
    x, y = _data(6)
    x0 = off + x
    z = np.random.default_rng(7).normal(size=x.size)
    with pytest.raises(ValueError, match=r"rank deficient \(1 .*'intercept', 'x0', 'x1'"):
        expfam.glm(expfam.Normal, np.c_[x0, a * x0 + 3], y)
    # x2 = a x0: the intercept only where the rounding of a x0 makes it take part
    names = r"\['x0', 'x2'\]" if a == 2 or off == 0 else r"'x0', 'x2'\]"
    with pytest.raises(ValueError, match=r"rank deficient \(1 .*" + names):
        expfam.glm(expfam.Poisson, np.c_[x0, z, a * x0], np.round(np.abs(y)))


def test_a_large_subset_settles_the_rank_of_large_data() -> None:
    # more rows than the rank check's subset: the subset (centred) is full rank
    rng = np.random.default_rng(7)
    n = 50_000
    t = 1.7e9 + 3600.0 * rng.random(n)
    y = rng.poisson(np.exp(0.1 + 1e-4 * (t - 1.7e9))).astype(np.float64)
    res = expfam.glm(expfam.Poisson, t[:, None], y)
    ref = sm.GLM(y, sm.add_constant(t - 1.7e9), family=sm.families.Poisson()).fit(tol=1e-14)
    assert _rel(res.coef[1], ref.params[1]) <= 1e-9
    assert _rel(res.stderr[1], ref.bse[1]) <= 1e-8


# ---------------------------------------------------------------------------------- Dask
@pytest.mark.parametrize("family", ["Poisson", "Normal", "Categorical", "Bernoulli"])
def test_dask_same_numbers_for_uncentred_covariates(family: str) -> None:
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    rng = np.random.default_rng(8)
    n = 3000
    x = rng.normal(size=(n, 2))
    eta = 0.3 + x @ [0.4, -0.2]
    y: np.ndarray
    if family == "Categorical":
        y = rng.integers(0, 3, size=n)
    elif family == "Bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.float64)
    else:
        y = rng.poisson(np.exp(eta)).astype(np.float64)
    X = x + np.array([1e7, 0.0])
    fam = getattr(expfam, family)
    cov_type = "robust" if family == "Bernoulli" else "model"
    mem = expfam.glm(fam, X, y, cov_type=cov_type)
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(
            fam, da.from_array(X, chunks=(700, 2)), da.from_array(y, chunks=700), cov_type=cov_type
        )
        mean = np.asarray(res.predict().mean_params)
    assert _rel(res.coef[1:], mem.coef[1:]) <= 1e-12
    assert _rel(res.stderr, mem.stderr) <= 1e-12
    assert _rel(mean, mem.predict().mean_params) <= 1e-12


def test_dask_rank_check_for_uncentred_covariates() -> None:
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    x, y = _data(9, n=3000)
    z = np.random.default_rng(9).normal(size=x.size)
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(expfam.Normal, da.from_array((1e7 + x)[:, None], chunks=(500, 1)), y)
        assert res.df_resid == x.size - 2
        X = np.c_[1e7 + x, z, 2 * (1e7 + x)]
        with pytest.raises(ValueError, match=r"rank deficient \(1 .*\['x0', 'x2'\]"):
            expfam.glm(expfam.Normal, da.from_array(X, chunks=(500, 3)), y)


# ---------------------------------------------------------------------------------- existence
def test_separation_by_a_timestamp_is_found() -> None:
    # every row separated by t: the existence program on uncentred [1, t] missed it
    # (a 43-step "MLE" with intercept -2.3e7 and mle_exists True)
    rng = np.random.default_rng(10)
    n = 300
    t = 1.7e9 + 3600.0 * np.arange(n)
    X = np.c_[t, rng.normal(size=n)]
    y = (t > t[150]).astype(np.float64)
    res = expfam.glm(expfam.Bernoulli, X, y)
    ref = expfam.glm(expfam.Bernoulli, X - [t[0], 0.0], y)
    assert not res.mle_exists
    assert not ref.mle_exists
    np.testing.assert_array_equal(res.predict().mean_params[:, 0], y)
    assert res.recession.shape == ref.recession.shape


def test_quasi_separation_with_a_timestamp() -> None:
    # rows of a dummy all 0: the dummy recedes; the rest is the centred fit's
    rng = np.random.default_rng(11)
    n = 400
    t = 1.7e9 + 3600.0 * np.arange(n)
    z = rng.normal(size=n)
    g = (np.arange(n) < 100).astype(np.float64)
    eta = z + (t - t.mean()) / 3600 / 200
    y = np.where(g == 1, 0.0, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.float64))
    res = expfam.glm(expfam.Bernoulli, np.c_[t, z, g], y)
    ref = expfam.glm(expfam.Bernoulli, np.c_[t - 1.7e9, z, g], y)  # exact
    assert not res.mle_exists
    np.testing.assert_allclose(np.abs(res.recession), [[0, 0, 0, 1]], atol=1e-12)
    assert _rel(res.coef[1:3], ref.coef[1:3]) <= 1e-10
    assert _rel(res.stderr[1:3], ref.stderr[1:3]) <= 1e-9


def test_categorical_separation_by_a_timestamp() -> None:
    # class 0 only before t[1000]: its column recedes; classes 1 and 2 after it are a
    # logistic regression (uncentred: 4 recession directions, or the program failed)
    rng = np.random.default_rng(0)
    n = 3000
    t = 1.7e9 + 3600.0 * np.arange(n)
    z = rng.normal(size=n)
    labels = np.where(t < t[1000], 0, rng.integers(1, 3, size=n))
    res = expfam.glm(expfam.Categorical, np.c_[t, z], labels)
    ref = expfam.glm(expfam.Categorical, np.c_[t - 1.7e9, z], labels)  # exact
    assert not res.mle_exists
    assert res.recession.shape == ref.recession.shape == (3, 3, 3)
    rows = labels > 0
    tc = t[rows] - t[rows].mean()
    logit = sm.Logit((labels[rows] == 1).astype(float), sm.add_constant(np.c_[tc, z[rows]]))
    sl = logit.fit(disp=0, tol=1e-12).params
    diff = res.coef[:, 1] - res.coef[:, 2]  # class 1 against class 2
    assert _rel(diff[1:], sl[1:]) <= 1e-8
    np.testing.assert_allclose(res.predict().mean_params, ref.predict().mean_params, atol=1e-9)


def test_dask_separation_by_a_timestamp() -> None:
    # the sample's existence program on uncentred columns certified existence:
    # mle_exists True and an intercept of -2e7 (out of core as in memory)
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    rng = np.random.default_rng(10)
    n = 300
    t = 1.7e9 + 3600.0 * np.arange(n)
    X = np.c_[t, rng.normal(size=n)]
    y = (t > t[150]).astype(np.float64)
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(
            expfam.Bernoulli, da.from_array(X, chunks=(100, 2)), da.from_array(y, 100)
        )
        assert not res.mle_exists
        np.testing.assert_array_equal(np.asarray(res.predict().mean_params)[:, 0], y)
