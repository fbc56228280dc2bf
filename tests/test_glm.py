"""expfam.glm against R's glm (values shipped with statsmodels' tests), statsmodels, mpmath.

The R reference values are those statsmodels' own test-suite checks against
(``statsmodels.genmod.tests.results.results_glm`` and, for the multinomial logit,
``statsmodels.discrete.tests.results.results_discrete.Anes``, Stata checked against R's
``nnet``). They are printed to 7-10 significant digits; R's IRLS stops at a relative
deviance change of 1e-8, so coefficients agree with the exact MLE to about 7 digits and
standard errors (evaluated at R's last iterate) to about 5.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest

import expfam

sm = pytest.importorskip("statsmodels.api")
R_glm = pytest.importorskip("statsmodels.genmod.tests.results.results_glm")
R_discrete = pytest.importorskip("statsmodels.discrete.tests.results.results_discrete")


def _const_last(a: Any) -> Any:
    """Reorder (intercept first) to statsmodels' add_constant(prepend=False) order."""
    a = np.asarray(a)
    return np.concatenate([a[1:], a[:1]])


def _rel(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


# ---------------------------------------------------------------------------------- R
def test_binomial_star98_matches_r() -> None:
    data = sm.datasets.star98.load()
    Y, X = np.asarray(data.endog), np.asarray(data.exog)
    res = expfam.glm(expfam.Binomial, X, Y[:, 0], n=Y.sum(axis=1))
    r = R_glm.Star98()
    assert _rel(_const_last(res.coef), r.params) < 1e-7
    assert _rel(_const_last(res.stderr), r.bse) < 1e-6
    assert _rel(res.deviance, r.deviance) < 1e-11
    assert _rel(res.null_deviance, r.null_deviance) < 1e-11
    assert _rel(res.aic, r.aic_R) < 1e-11
    assert _rel(res.loglik, r.llf) < 1e-12
    assert (res.df_resid, res.nobs) == (r.df_resid, 303)


def test_logistic_lbw_matches_r() -> None:
    r = R_glm.Lbw()
    X, y = np.asarray(r.exog, dtype=float)[:, :-1], np.asarray(r.endog)
    res = expfam.glm(expfam.Bernoulli, X, y)
    assert _rel(_const_last(res.coef), r.params) < 1e-6
    assert _rel(_const_last(res.stderr), r.bse) < 1e-4
    assert _rel(res.deviance, r.deviance) < 1e-12
    assert _rel(res.null_deviance, r.null_deviance) < 1e-12
    assert _rel(res.aic, r.aic_R) < 1e-11
    assert _rel(res.loglik, r.llf) < 1e-12


def test_gamma_scotvote_matches_r() -> None:
    data = sm.datasets.scotland.load()
    res = expfam.glm(expfam.Gamma, np.asarray(data.exog), np.asarray(data.endog))
    r = R_glm.Scotvote()
    # R's inverse link is 1/mu; expfam's canonical eta is the natural -1/mu
    assert _rel(-_const_last(res.coef), r.params) < 1e-6
    assert _rel(_const_last(res.stderr), r.bse) < 1e-6
    assert _rel(res.deviance, r.deviance) < 1e-11
    assert _rel(res.null_deviance, r.null_deviance) < 1e-6  # R prints 6 digits
    assert _rel(res.dispersion, r.scale) < 1e-6
    assert _rel(res.aic, r.aic_R) < 1e-12  # R's AIC (statsmodels' differs by 2)


def test_poisson_cpunish_with_offset_matches_r() -> None:
    data = sm.datasets.cpunish.load()
    X = np.array(data.exog, dtype=float)
    X[:, 3] = np.log(X[:, 3])
    y = np.asarray(data.endog)
    res = expfam.glm(expfam.Poisson, X, y)
    r = R_glm.Cpunish()
    assert _rel(_const_last(res.coef), r.params) < 1e-6
    assert _rel(_const_last(res.stderr), r.bse) < 1e-4
    assert _rel(res.deviance, r.deviance) < 1e-12
    assert _rel(res.null_deviance, r.null_deviance) < 1e-12
    assert _rel(res.aic, r.aic_R) < 1e-12
    assert _rel(res.loglik, r.llf) < 1e-12
    off = expfam.glm(expfam.Poisson, X, y, offset=np.full(y.shape, np.log(100.0)))
    ro = R_glm.Cpunish_offset()
    assert _rel(off.coef, ro.params) < 1e-6
    assert _rel(off.stderr, ro.bse) < 1e-3  # printed to 4 digits
    assert _rel(off.deviance, ro.deviance) < 1e-12
    # the intercept-only fit with the offset: a closed form for the log link
    assert _rel(off.null_deviance, ro.null_deviance) < 1e-12
    assert _rel(off.loglik, ro.llf) < 1e-12
    assert _rel(off.aic, ro.aic_R) < 1e-12


def test_normal_longley_matches_r() -> None:
    data = sm.datasets.longley.load()
    res = expfam.glm(expfam.Normal, np.asarray(data.exog), np.asarray(data.endog))
    r = R_glm.Longley()
    assert _rel(_const_last(res.coef), r.params) < 1e-8
    assert _rel(_const_last(res.stderr), r.bse) < 1e-7
    assert _rel(res.deviance, r.deviance) < 1e-11
    assert _rel(res.dispersion, r.scale) < 1e-11
    assert _rel(res.aic, r.aic_R) < 1e-12
    assert _rel(res.loglik, r.llf) < 1e-12
    assert res.null_deviance == pytest.approx(r.null_deviance, rel=1e-8)


def test_multinomial_anes_matches_r_nnet() -> None:
    data = sm.datasets.anes96.load()
    X, y = np.asarray(data.exog, dtype=float), np.asarray(data.endog).astype(int)
    res = expfam.glm(expfam.Categorical, X, y)
    a = R_discrete.Anes.mnlogit_basezero
    q, K = res.coef.shape
    np.testing.assert_allclose(res.coef.sum(axis=1), 0.0, atol=1e-12)  # the gauge
    contrast = res.coef[:, 1:] - res.coef[:, :1]  # the pivot-class-0 parametrisation
    assert _rel(_const_last(contrast), a.params) < 1e-6
    # standard errors of the contrasts from the gauge-fixed covariance
    C = np.zeros((q * (K - 1), q * K))
    for j in range(q):
        for k in range(1, K):
            C[j * (K - 1) + k - 1, j * K + k] = 1.0
            C[j * (K - 1) + k - 1, j * K] = -1.0
    se = np.sqrt(np.diag(C @ res.cov @ C.T)).reshape(q, K - 1)
    assert _rel(_const_last(se), a.bse) < 1e-7
    assert _rel(res.loglik, a.llf) < 1e-10
    assert _rel(res.aic, a.aic) < 1e-10
    assert _rel(res.bic, a.bic) < 1e-10


# ---------------------------------------------------------------------------------- statsmodels
def _problem(family: Any, seed: int) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    n, p = 80, 3
    X = rng.normal(size=(n, p))
    w = rng.uniform(0.5, 2.0, size=n)
    off = rng.normal(scale=0.3, size=n)
    eta = 0.3 + X @ np.array([0.5, -0.4, 0.2]) + off
    if family is expfam.Poisson:
        y = rng.poisson(np.exp(eta)).astype(float)
        return X, y, w, off, sm.families.Poisson(), {}
    if family is expfam.Bernoulli:
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
        return X, y, w, off, sm.families.Binomial(), {}
    if family is expfam.Normal:
        y = eta + rng.normal(size=n)
        return X, y, w, off, sm.families.Gaussian(), {}
    # Gamma, log link
    mu = np.exp(eta)
    y = rng.gamma(3.0, mu / 3.0)
    return X, y, w, off, sm.families.Gamma(sm.families.links.Log()), {"link": "log"}


@pytest.mark.parametrize("family", [expfam.Poisson, expfam.Bernoulli, expfam.Normal, expfam.Gamma])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_statsmodels(family: Any, seed: int) -> None:
    X, y, w, off, smfam, kw = _problem(family, seed)
    res = expfam.glm(family, X, y, weights=w, offset=off, **kw)
    ref = sm.GLM(y, sm.add_constant(X), family=smfam, offset=off, var_weights=w).fit(
        tol=1e-14, maxiter=200
    )
    np.testing.assert_allclose(res.coef, ref.params, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(res.stderr, ref.bse, rtol=1e-8)
    np.testing.assert_allclose(res.deviance, ref.deviance, rtol=1e-10)
    robust = expfam.glm(family, X, y, weights=w, offset=off, cov_type="robust", **kw)
    np.testing.assert_allclose(robust.coef, res.coef, rtol=1e-13, atol=1e-14)
    if family is expfam.Gamma:
        # log link: R's sandwich::sandwich (bread = expected information, scores
        # w (y - mu) / mu x); statsmodels' IRLS fit uses another bread here
        Xd = sm.add_constant(X)
        mu = np.exp(Xd @ res.coef + off)
        bread = np.linalg.inv(Xd.T @ (w[:, None] * Xd))
        S = Xd * (w * (y - mu) / mu)[:, None]
        cov = bread @ S.T @ S @ bread
        np.testing.assert_allclose(robust.cov, cov, rtol=1e-9)
        return
    ref_r = sm.GLM(y, sm.add_constant(X), family=smfam, offset=off, var_weights=w).fit(
        tol=1e-14, maxiter=200, cov_type="HC0"
    )
    np.testing.assert_allclose(robust.stderr, ref_r.bse, rtol=1e-7)


def test_ridge_matches_statsmodels_penalised_objective() -> None:
    X, y, w, off, _, _ = _problem(expfam.Poisson, 3)
    l2 = 2.5
    res = expfam.glm(expfam.Poisson, X, y, weights=w, offset=off, l2=l2)
    # the gradient of sum w (exp(eta) - y eta) + l2/2 |beta_1:|^2 vanishes
    Xd = np.column_stack([np.ones(len(y)), X])
    mu = np.exp(Xd @ res.coef + off)
    g = Xd.T @ (w * (mu - y)) + l2 * np.r_[0.0, res.coef[1:]]
    assert np.max(np.abs(g)) < 1e-10 * np.sum(np.abs(Xd).T @ (w * (mu + y)))


# ---------------------------------------------------------------------------------- mpmath
def test_logistic_matches_50_digit_newton() -> None:
    mpmath = pytest.importorskip("mpmath")
    X = np.array([[0.3], [1.1], [-0.7], [2.0], [0.1], [-1.5], [0.9]])
    y = np.array([0, 1, 1, 1, 0, 0, 0])
    res = expfam.glm(expfam.Bernoulli, X, y)
    with mpmath.workdps(50):
        rows = [[mpmath.mpf(1), mpmath.mpf(float(x[0]))] for x in X]
        b = mpmath.matrix([0, 0])
        for _ in range(60):
            g = mpmath.matrix([0, 0])
            H = mpmath.matrix(2, 2)
            for xi, yi in zip(rows, y, strict=True):
                eta = xi[0] * b[0] + xi[1] * b[1]
                mu = 1 / (1 + mpmath.exp(-eta))
                for j in range(2):
                    g[j] += (mu - yi) * xi[j]
                    for k in range(2):
                        H[j, k] += mu * (1 - mu) * xi[j] * xi[k]
            b -= mpmath.lu_solve(H, g)
        ref = np.array([float(b[0]), float(b[1])])
    np.testing.assert_allclose(res.coef, ref, rtol=1e-10)


# ---------------------------------------------------------------------------------- laws
def test_hessian_is_fisher_by_finite_differences() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    cases: list[tuple[Any, Any]] = [
        (expfam.Bernoulli, (rng.uniform(size=40) < 0.5).astype(float)),
        (expfam.Poisson, rng.poisson(2.0, size=40).astype(float)),
        (expfam.Geometric, rng.geometric(0.4, size=40).astype(float)),
        (expfam.Exponential, rng.exponential(2.0, size=40)),
    ]
    Xd = np.column_stack([np.ones(40), X])
    for family, y in cases:
        res = expfam.glm(family, X, y)

        def nll(beta: Any, family: Any = family, y: Any = y) -> float:
            eta = Xd @ beta
            return -float(np.sum(family.from_natural_params(eta[:, None]).log_prob(y)))

        h = 1e-4
        p = res.coef.size
        H = np.zeros((p, p))
        for j in range(p):
            for k in range(p):
                ej, ek = np.eye(p)[j] * h, np.eye(p)[k] * h
                H[j, k] = (
                    nll(res.coef + ej + ek)
                    - nll(res.coef + ej - ek)
                    - nll(res.coef - ej + ek)
                    + nll(res.coef - ej - ek)
                ) / (4 * h * h)
        np.testing.assert_allclose(np.linalg.inv(res.cov), H, rtol=1e-5, err_msg=family.__name__)


def test_gradient_zero_and_categorical_gradient_identity() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 2))
    y = rng.integers(0, 3, size=60)
    w = rng.uniform(0.5, 2.0, size=60)
    res = expfam.glm(expfam.Categorical, X, y, weights=w)
    Xd = np.column_stack([np.ones(60), X])
    U = Xd @ res.coef
    P = np.eye(3)[y]
    _, grad_rows = expfam.cross_entropy_with_logits(P, U, return_grad=True)
    np.testing.assert_allclose(grad_rows, expfam.softmax(U) - P, atol=1e-15)
    G = Xd.T @ (w[:, None] * grad_rows)
    assert np.max(np.abs(G)) < 1e-12 * np.sum(np.abs(Xd).T @ w)
    # soft targets (the seed's p): the same identity, and zero gradient at the answer
    Psoft = expfam.softmax(rng.normal(size=(60, 3)))
    soft = expfam.glm(expfam.Categorical, X, Psoft)
    _, gs = expfam.cross_entropy_with_logits(Psoft, Xd @ soft.coef, return_grad=True)
    assert np.max(np.abs(Xd.T @ gs)) < 1e-12 * 60


@pytest.mark.parametrize(
    ("family", "y", "fixed"),
    [
        (expfam.Bernoulli, [0, 1, 1, 0, 1, 1], {}),
        (expfam.Binomial, [0, 3, 5, 2, 4, 1], {"n": 5}),
        (expfam.Poisson, [0, 3, 5, 2, 4, 1], {}),
        (expfam.Geometric, [1, 3, 5, 2, 4, 1], {}),
        (expfam.Exponential, [0.5, 3.0, 1.5, 2.0, 0.1, 1.0], {}),
        (expfam.Normal, [0.5, -3.0, 1.5, 2.0, 0.1, 1.0], {}),
        (expfam.Gamma, [0.5, 3.0, 1.5, 2.0, 0.1, 1.0], {}),
        (expfam.Categorical, [0, 2, 1, 2, 2, 0], {"num_categories": 3}),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_intercept_only_is_the_iid_fit(family: Any, y: Any, fixed: dict[str, Any]) -> None:
    w = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 3.0])
    res = expfam.glm(family, None, y, weights=w, **fixed)
    fitted: Any = res.predict()
    iid = family.fit(np.asarray(y), weights=w, **fixed)
    np.testing.assert_allclose(fitted.mean()[0], iid.mean(), rtol=1e-13)
    if family in (expfam.Normal, expfam.Gamma):
        return  # the dispersion is R's Pearson estimate, not the MLE
    if family is expfam.Categorical:
        F = iid.fisher_information() * w.sum()
        Q = np.linalg.svd(np.ones((1, 3)))[2][1:].T
        cov = Q @ np.linalg.inv(Q.T @ F @ Q) @ Q.T
        np.testing.assert_allclose(res.cov, cov, rtol=1e-10, atol=1e-14)
        return
    np.testing.assert_allclose(res.coef, iid.natural_params, rtol=1e-12)
    fisher = float(np.asarray(iid.fisher_information()).reshape(-1)[0]) * w.sum()
    np.testing.assert_allclose(res.stderr, [1 / np.sqrt(fisher)], rtol=1e-10)


def test_invariances() -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(50, 3))
    y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.2, 0.1])).astype(float)
    base = expfam.glm(expfam.Poisson, X, y)
    perm = rng.permutation(50)
    shuffled = expfam.glm(expfam.Poisson, X[perm], y[perm])
    np.testing.assert_allclose(shuffled.coef, base.coef, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(shuffled.stderr, base.stderr, rtol=1e-10)
    scaled = expfam.glm(expfam.Poisson, X * [1.0, 1000.0, 1e-3], y)
    np.testing.assert_allclose(
        scaled.coef, base.coef / [1.0, 1.0, 1000.0, 1e-3], rtol=1e-11, atol=1e-14
    )
    labels = rng.integers(0, 4, size=50)
    cat = expfam.glm(expfam.Categorical, X, labels)
    shift = rng.normal(size=(50, 1)) * np.ones((1, 4))  # a common vector for all classes
    moved = expfam.glm(expfam.Categorical, X, labels, offset=shift)
    np.testing.assert_allclose(moved.coef, cat.coef, rtol=1e-11, atol=1e-13)
    assert moved.loglik == pytest.approx(cat.loglik, rel=1e-13)


def test_dataframe_names_and_summary() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"age": rng.normal(size=30), "dose": rng.normal(size=30)})
    y = rng.poisson(2.0, size=30)
    res = expfam.glm(expfam.Poisson, df, y)
    assert res.names == ["intercept", "age", "dose"]
    text = res.summary()
    for word in ("intercept", "age", "dose", "deviance", "AIC", "95% CI"):
        assert word in text
    ci = res.conf_int(0.9)
    assert ci.shape == (3, 2)
    assert np.all(ci[:, 0] < res.coef)
    assert np.all(res.coef < ci[:, 1])


def test_predict_new_rows_and_log_link() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 2))
    y = rng.gamma(2.0, np.exp(0.5 + X @ [0.3, -0.2]) / 2.0)
    res = expfam.glm(expfam.Gamma, X, y, link="log")
    new = np.array([[0.0, 0.0], [1.0, -1.0]])
    d: Any = res.predict(new)
    assert isinstance(d, expfam.Gamma)
    assert d.batch_shape == (2,)
    np.testing.assert_allclose(d.mean(), np.exp(res.coef[0] + new @ res.coef[1:]), rtol=1e-13)
    np.testing.assert_allclose(d.shape, 1 / res.dispersion, rtol=1e-13)
    assert np.all(np.isfinite(d.log_prob(np.array([1.0, 2.0]))))
    b = expfam.glm(expfam.Binomial, X, rng.binomial(4, 0.5, size=60), n=4)
    pb: Any = b.predict(new, n=[4, 10])
    np.testing.assert_array_equal(pb.n, [4, 10])


@pytest.mark.parametrize(
    ("family", "link", "eta", "fixed"),
    [
        (expfam.Bernoulli, "canonical", [-30.0, -1.0, 0.0, 2.5, 40.0], {}),
        (expfam.Binomial, "canonical", [-30.0, -1.0, 0.0, 2.5, 40.0], {"n": 7}),
        (expfam.Poisson, "canonical", [-30.0, -1.0, 0.0, 2.5, 6.0], {}),
        (expfam.Geometric, "canonical", [-30.0, -1.0, -0.01, -1e-6, -5.0], {}),
        (expfam.Exponential, "canonical", [-30.0, -1.0, -0.01, -1e-6, -5.0], {}),
        (expfam.Normal, "canonical", [-30.0, -1.0, 0.0, 2.5, 40.0], {}),
        (expfam.Gamma, "canonical", [-30.0, -1.0, -0.01, -1e-6, -5.0], {}),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_adapter_closed_forms_match_the_families(
    family: Any, link: str, eta: Any, fixed: dict[str, Any]
) -> None:
    # the GLM's per-family closed forms (cumulant, mean, variance in eta) against the
    # families' public log_partition, mean_params and fisher_information
    from expfam._glm_families import make_model

    eta = np.asarray(eta)
    cls = make_model(family, link)
    assert cls is not None
    model = cls(np.ones(eta.size), dict(fixed), eta.size)
    n = np.broadcast_to(model.n, eta.shape)
    if family is expfam.Normal:  # the unit-variance normal in its natural parameters
        dist: Any = expfam.Normal.from_natural_params(np.column_stack([eta, -0.5 * np.ones(5)]))
        A, mu, var = dist.log_partition(), dist.mean_params[:, 0], dist.fisher_information()
        var = var[:, 0, 0]
    elif family is expfam.Gamma:  # per unit shape: the exponential family of rate -eta
        dist = expfam.Exponential.from_natural_params(eta[:, None])
        A, mu = dist.log_partition(), dist.mean_params[:, 0]
        var = dist.fisher_information()[:, 0, 0]
    else:
        dist = family.from_natural_params(eta[:, None], **fixed)
        A, mu = dist.log_partition(), dist.mean_params[:, 0]
        var = dist.fisher_information()[:, 0, 0]
    np.testing.assert_allclose(n * model.cumulant(eta), A, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(model.mean_n(eta, n), mu, rtol=1e-14)
    np.testing.assert_allclose(model.variance_n(eta, n), var, rtol=1e-13)


@pytest.mark.parametrize(
    ("family", "link", "fixed"),
    [
        (expfam.Bernoulli, "canonical", {}),
        (expfam.Binomial, "canonical", {"n": 7}),
        (expfam.Poisson, "canonical", {}),
        (expfam.Geometric, "canonical", {}),
        (expfam.Normal, "canonical", {}),
        (expfam.Gamma, "canonical", {}),
        (expfam.Gamma, "log", {}),
        (expfam.Exponential, "log", {}),
    ],
    ids=lambda v: getattr(v, "__name__", v if isinstance(v, str) else None),
)
def test_adapter_terms_link_and_saturated_loglik(
    family: Any, link: str, fixed: dict[str, Any]
) -> None:
    # the solver's fused value, gradient and Hessian weights equal the separate forms,
    # far into the tails too; the link inverts the mean; the log-likelihood from the
    # saturated model and the deviance equals the fitted distributions' log_prob
    from expfam._glm_families import ScalarModel, make_model

    cls = make_model(family, link)
    assert cls is not None
    negative = cls.negative_domain
    eta = np.array([-700.0, -40.0, -3.0, -0.5, -1e-3, 0.0, 1e-3, 0.7, 2.5, 40.0, 700.0])
    eta = -np.abs(eta[eta != 0]) if negative else eta
    cycle = np.arange(eta.size)
    y = {
        expfam.Bernoulli: cycle % 2,
        expfam.Binomial: cycle % 8,
        expfam.Poisson: cycle % 5,
        expfam.Geometric: 1 + cycle % 4,
    }.get(family, 0.5 + cycle % 3).astype(float)
    model = cls(y, dict(fixed), eta.size)
    n = np.broadcast_to(model.n, eta.shape)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        vals, grad, hess = model.terms(eta, y, model.n, 2)
        ref = (model.value(eta, y, n), model.grad(eta, y, n), model.hess(eta, y, n))
    for got, want in zip((vals, grad, hess), ref, strict=True):
        fin = np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], rtol=1e-13, atol=1e-300)
        np.testing.assert_array_equal(got[~fin], want[~fin])
    means = {expfam.Bernoulli: 0.06, expfam.Binomial: 0.06, expfam.Geometric: 1.0}
    for m in np.array([0.3, 1.7, 4.0]) * means.get(family, 1.0) + (family is expfam.Geometric):
        np.testing.assert_allclose(model.mean(np.array([model.link(m)])), [m], rtol=1e-14)
    mid = np.abs(eta) < 5
    e, yy, w, nn = eta[mid], y[mid], np.linspace(0.5, 2.0, int(mid.sum())), n[mid]
    dev = float(np.sum(w * model.unit_deviance(yy, model.mean_n(e, nn), nn)))
    if model.saturated(yy, w, nn) is not None:  # else loglik is the log_prob route itself
        lp = float(np.sum(w * model.distribution(e, nn, 1.0).log_prob(yy)))
        assert model.loglik(yy, e, w, nn, dev) == pytest.approx(lp, rel=1e-13)
        assert ScalarModel.saturated(model, yy, w, nn) is None


def test_offset_moments_solve_the_intercept_score() -> None:
    from expfam._glm_families import make_model

    rng = np.random.default_rng(4)
    off, w = rng.normal(size=50), rng.uniform(0.5, 2.0, size=50)
    for family, link, y in (
        (expfam.Poisson, "canonical", rng.poisson(3.0, size=50).astype(float)),
        (expfam.Gamma, "log", rng.gamma(2.0, 1.5, size=50)),
        (expfam.Exponential, "log", rng.exponential(2.0, size=50)),
    ):
        cls = make_model(family, link)
        assert cls is not None
        model = cls(y, {}, 50)
        a, b = model.offset_moments(y, w, model.n, off)
        eta = np.log(a / b) + off
        score = float(w @ model.grad(eta, y, model.n))
        assert abs(score) < 1e-12 * float(w @ np.abs(model.grad(off, y, model.n)) + w.sum())


def _counted_orders(monkeypatch: pytest.MonkeyPatch, n: int) -> list[int]:
    """Record the orders of the in-memory passes over all `n` rows (not a subsample)."""
    import expfam._glm as glm_module

    orders: list[int] = []
    inner = glm_module.sums

    def counted(prob: Any, theta: Any, order: int) -> Any:
        if prob.X.shape[0] == n:
            orders.append(order)
        return inner(prob, theta, order)

    monkeypatch.setattr(glm_module, "sums", counted)
    return orders


def test_the_start_subsample_and_its_separation_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # 160 000 rows: the start is refined on every 16th row. A rare level whose rows in
    # that subsample all have y = 0 separates the subsample (not all rows): its fit is
    # not used, and Newton runs from the intercept start without a shortened step.
    n = 160_000
    rng = np.random.default_rng(3)
    x = rng.standard_normal(n)
    level = np.arange(0, 640, 8)
    d = np.zeros(n)
    d[level] = 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(float)
    y[level] = np.where(level % 16 == 0, 0.0, np.arange(level.size) % 4 == 1)
    X = np.column_stack([x, d])
    orders = _counted_orders(monkeypatch, n)
    res = expfam.glm(expfam.Bernoulli, X, y)
    assert orders == [2] * len(orders)
    assert len(orders) <= 7
    ref = sm.GLM(y, np.column_stack([np.ones(n), X]), family=sm.families.Binomial()).fit(
        tol=1e-14, maxiter=200
    )
    np.testing.assert_allclose(res.coef, ref.params, rtol=1e-9)
    np.testing.assert_allclose(res.stderr, ref.bse, rtol=1e-8)
    # without the rare level the subsample's fit is used: fewer passes over all rows
    orders.clear()
    expfam.glm(expfam.Bernoulli, X[:, :1], y)
    assert orders == [2] * len(orders)
    assert len(orders) <= 4


def _mp_binomial_deviance(k: Any, n: Any, eta: Any) -> float:
    """2 sum [k log(k / (n p)) + (n - k) log((n - k) / (n q))] at 50 digits."""
    mpmath.mp.dps = 50
    total = mpmath.mpf(0)
    for ki, ni, ei in zip(k.tolist(), n.tolist(), eta.tolist(), strict=True):
        p = 1 / (1 + mpmath.exp(-mpmath.mpf(ei)))
        q = 1 / (1 + mpmath.exp(mpmath.mpf(ei)))
        if ki > 0:
            total += ki * mpmath.log(ki / (ni * p))
        if ni - ki > 0:
            total += (ni - ki) * mpmath.log((ni - ki) / (ni * q))
    return float(2 * total)


def test_deviance_of_a_misfit_row_far_out_is_finite() -> None:
    """A y = 0 row fitted at eta ~ 61: 1 - expit(eta) rounds to 0 (the deviance was inf).

    statsmodels clips the mean (its deviance is 30 too small here), so the reference is
    the deviance at 50 digits at the fitted coefficients, which statsmodels confirms.
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=2_000) * 3
    y = (rng.uniform(size=x.size) < 1 / (1 + np.exp(-4 * x))).astype(float)
    x, y = np.append(x, 15.0), np.append(y, 0.0)
    res = expfam.glm(expfam.Bernoulli, x[:, None], y)
    ref = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit(tol=1e-12)
    assert _rel(res.coef, ref.params) < 1e-8
    eta = res.coef[0] + res.coef[1] * x
    assert eta[-1] > 40  # the misfit row is far out
    exact = _mp_binomial_deviance(y, np.ones_like(y), eta)
    assert res.deviance == pytest.approx(exact, rel=1e-13)
    assert res.loglik == pytest.approx(-exact / 2, rel=1e-13)
    # the same rows as Binomial counts of n = 3 trials
    k, n = 3 * y, np.full(y.size, 3.0)
    res_b = expfam.glm(expfam.Binomial, x[:, None], k, n=n)
    eta_b = res_b.coef[0] + res_b.coef[1] * x
    assert res_b.deviance == pytest.approx(_mp_binomial_deviance(k, n, eta_b), rel=1e-13)


def test_unit_deviance_in_eta_equals_the_one_in_the_mean() -> None:
    """Where the mean is not rounded to its bound, both forms agree (every family)."""
    from expfam._glm_families import GLM_FAMILIES

    rng = np.random.default_rng(3)
    eta = rng.uniform(-3.0, -0.05, size=200)
    cases = {
        expfam.Bernoulli: (rng.integers(0, 2, 200).astype(float), 1.0, eta + 1.5),
        expfam.Binomial: (rng.integers(0, 6, 200).astype(float), 5.0, eta + 1.5),
        expfam.Poisson: (rng.poisson(2.0, 200).astype(float), 1.0, eta + 1.5),
        expfam.Geometric: (rng.integers(1, 9, 200).astype(float), 1.0, eta),
        expfam.Gamma: (rng.gamma(2.0, size=200), 1.0, eta),
    }
    for family, (y, n, e) in cases.items():
        model = GLM_FAMILIES[family]["canonical"](  # type: ignore[index]
            y, {"n": n} if family is expfam.Binomial else {}, y.size
        )
        nrow = np.full(y.size, n)
        via_mu = model.unit_deviance(y, model.mean_n(e, nrow), nrow)
        np.testing.assert_allclose(
            model.unit_deviance_eta(y, e, nrow), via_mu, rtol=1e-9, atol=1e-12
        )
