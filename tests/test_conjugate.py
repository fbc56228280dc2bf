"""Conjugate priors: posterior updates and posterior predictive distributions.

The updates are compared with the textbook closed forms; the predictives with the
integral of the likelihood against the posterior (numerical quadrature), which is
what "posterior predictive" means, independently of the closed forms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import integrate, stats

from expfam import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Dirichlet,
    Exponential,
    Gamma,
    Geometric,
    Normal,
    Poisson,
)
from tests.helpers import assert_close

F64 = NDArray[np.float64]
FEW = settings(max_examples=min(settings().max_examples, 50), deadline=None)
positive = st.floats(0.05, 50.0)


def f64(x: Any) -> F64:
    out: F64 = np.asarray(x, dtype=np.float64)
    return out


# ---------------------------------------------------------------------- textbook updates
@FEW
@given(a=positive, b=positive, seed=st.integers(0, 2**32 - 1), n_obs=st.integers(0, 40))
def test_beta_updates_match_the_textbook(a: float, b: float, seed: int, n_obs: int) -> None:
    rng = np.random.default_rng(seed)
    prior = Beta(a=a, b=b)
    x = rng.integers(0, 2, size=n_obs)
    post = prior.posterior(Bernoulli, x)
    assert_close(post.a, a + x.sum(), rtol_eps=8)
    assert_close(post.b, b + (n_obs - x.sum()), rtol_eps=8)
    k = rng.integers(0, 8, size=n_obs)
    post = prior.posterior(Binomial, k, n=7)
    assert_close(post.a, a + k.sum(), rtol_eps=8)
    assert_close(post.b, b + (7 * n_obs - k.sum()), rtol_eps=8)
    g = rng.integers(1, 9, size=n_obs)
    post = prior.posterior(Geometric, g)
    assert_close(post.a, a + n_obs, rtol_eps=8)
    assert_close(post.b, b + (g.sum() - n_obs), rtol_eps=8)  # the counts first: exact


@FEW
@given(shape=positive, rate=positive, seed=st.integers(0, 2**32 - 1), n_obs=st.integers(0, 40))
def test_gamma_updates_match_the_textbook(
    shape: float, rate: float, seed: int, n_obs: int
) -> None:
    rng = np.random.default_rng(seed)
    prior = Gamma(shape=shape, rate=rate)
    k = rng.poisson(3.0, size=n_obs)
    post = prior.posterior(Poisson, k)
    assert_close(post.shape, shape + k.sum(), rtol_eps=8)
    assert_close(post.rate, rate + n_obs, rtol_eps=8)
    x = rng.exponential(2.0, size=n_obs)
    post = prior.posterior(Exponential, x)
    assert_close(post.shape, shape + n_obs, rtol_eps=8)
    assert_close(post.rate, rate + x.sum(), rtol_eps=8)


@FEW
@given(
    alpha=st.lists(positive, min_size=2, max_size=6),
    seed=st.integers(0, 2**32 - 1),
    n_obs=st.integers(0, 40),
)
def test_dirichlet_update_matches_the_textbook(alpha: list[float], seed: int, n_obs: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(alpha), size=n_obs)
    post = Dirichlet(concentration=alpha).posterior(Categorical, labels)
    counts = np.bincount(labels, minlength=len(alpha))
    assert_close(post.concentration, np.asarray(alpha) + counts, rtol_eps=8)


def test_weights_count_observations_fractionally() -> None:
    x = np.array([1, 0, 1, 1])
    w = np.array([2.0, 0.5, 0.0, 1.0])
    post = Beta(a=1.0, b=1.0).posterior(Bernoulli, x, weights=w)
    assert_close(post.a, 1.0 + 3.0)
    assert_close(post.b, 1.0 + 0.5)
    # integer weights are repeated observations
    rep = Gamma(shape=2.0, rate=1.0).posterior(Poisson, np.repeat([3, 5, 0], [2, 1, 3]))
    wtd = Gamma(shape=2.0, rate=1.0).posterior(Poisson, [3, 5, 0], weights=[2, 1, 3])
    assert_close(wtd.shape, rep.shape)
    assert_close(wtd.rate, rep.rate)
    # zero weights leave the prior unchanged
    prior = Dirichlet(concentration=[0.5, 2.0, 1.0])
    same = prior.posterior(Categorical, [0, 2], weights=[0.0, 0.0])
    assert_close(same.concentration, prior.concentration)


def test_sequential_updates_equal_one_batch_update() -> None:
    rng = np.random.default_rng(0)
    x = rng.exponential(0.5, size=60)
    prior = Gamma(shape=1.5, rate=0.2)
    once = prior.posterior(Exponential, x)
    twice = prior.posterior(Exponential, x[:25]).posterior(Exponential, x[25:])
    assert_close(twice.shape, once.shape, rtol_eps=8)
    assert_close(twice.rate, once.rate, rtol_eps=8)
    b = Beta(a=2.0, b=3.0)
    k = rng.integers(0, 11, size=30)
    once_b = b.posterior(Binomial, k, n=10)
    twice_b = b.posterior(Binomial, k[:7], n=10).posterior(Binomial, k[7:], n=10)
    assert_close(twice_b.a, once_b.a, rtol_eps=8)
    assert_close(twice_b.b, once_b.b, rtol_eps=8)


def test_batched_priors_and_data_broadcast() -> None:
    prior = Beta(a=[1.0, 2.0, 3.0], b=1.0)
    x = np.array([[1, 0, 1], [1, 1, 0]])  # 2 observations for each of 3 problems
    post = prior.posterior(Bernoulli, x)
    assert post.batch_shape == (3,)
    assert_close(post.a, [3.0, 3.0, 4.0])
    assert_close(post.b, [1.0, 2.0, 2.0])
    scalar = Gamma(shape=1.0, rate=1.0).posterior(Poisson, np.ones((4, 2, 3), dtype=int))
    assert scalar.batch_shape == (2, 3)
    assert_close(scalar.shape, np.full((2, 3), 5.0))
    d = Dirichlet(concentration=np.ones((2, 3))).posterior(Categorical, [[0, 1], [0, 2]])
    assert_close(d.concentration, [[3.0, 1.0, 1.0], [1.0, 2.0, 2.0]])


def test_float32_prior_gives_float32_posterior_and_predictive() -> None:
    prior = Beta(a=np.float32(2.0), b=3.0)
    post = prior.posterior(Bernoulli, [1, 0, 1])
    assert post.dtype == np.float32
    assert post.posterior_predictive(Bernoulli).dtype == np.float32
    g = Gamma(shape=np.float32(2.0), rate=1.0).posterior(
        Exponential, np.array([0.5, 1.5], dtype=np.float32)
    )
    assert g.dtype == np.float32
    d = Dirichlet(concentration=np.array([1.0, 2.0], dtype=np.float32)).posterior(Categorical, [1])
    assert d.dtype == np.float32
    assert d.posterior_predictive(Categorical).dtype == np.float32


def test_posterior_concentrates_on_the_truth() -> None:
    x = Bernoulli(probs=0.3).sample(20_000, rng=4)
    post = Beta(a=1.0, b=1.0).posterior(Bernoulli, x)
    assert abs(float(post.mean()) - 0.3) < 5 * np.sqrt(0.21 / 20_000)
    assert float(post.variance()) < 2e-5
    lam = Gamma(shape=1.0, rate=1.0).posterior(Poisson, Poisson(rate=7.0).sample(20_000, rng=5))
    assert abs(float(lam.mean()) - 7.0) < 5 * np.sqrt(7.0 / 20_000)


# ---------------------------------------------------------------------- predictives
def test_beta_bernoulli_predictive_is_the_posterior_mean() -> None:
    pred = Beta(a=2.0, b=6.0).posterior_predictive(Bernoulli)
    assert isinstance(pred, Bernoulli)
    assert_close(pred.probs, 0.25, rtol_eps=4)


def test_dirichlet_categorical_predictive_is_the_posterior_mean() -> None:
    pred = Dirichlet(concentration=[1.0, 3.0, 4.0]).posterior_predictive(Categorical)
    assert isinstance(pred, Categorical)
    assert_close(pred.probs, [0.125, 0.375, 0.5], rtol_eps=4)


def _beta_pdf(a: float, b: float) -> Any:
    return lambda p: stats.beta.pdf(p, a, b)


@pytest.mark.parametrize(("a", "b"), [(2.0, 3.0), (0.7, 4.5), (12.0, 1.3)])
def test_beta_predictives_equal_the_integral_over_the_posterior(a: float, b: float) -> None:
    prior = Beta(a=a, b=b)
    binom_pred = prior.posterior_predictive(Binomial, n=6)
    geom_pred = prior.posterior_predictive(Geometric)
    for k in range(7):
        exact, _ = integrate.quad(
            lambda p, k=k: stats.binom.pmf(k, 6, p) * stats.beta.pdf(p, a, b),
            0,
            1,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        assert abs(binom_pred.pmf(k) - exact) <= 1e-10
    for k in range(1, 9):
        exact, _ = integrate.quad(
            lambda p, k=k: stats.geom.pmf(k, p) * stats.beta.pdf(p, a, b),
            0,
            1,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        assert abs(geom_pred.pmf(k) - exact) <= 1e-10
    assert abs(binom_pred.pmf(np.arange(7)).sum() - 1) <= 1e-12


@pytest.mark.parametrize(("shape", "rate"), [(2.0, 1.0), (0.6, 3.0), (15.0, 0.4)])
def test_gamma_predictives_equal_the_integral_over_the_posterior(
    shape: float, rate: float
) -> None:
    prior = Gamma(shape=shape, rate=rate)
    pois_pred = prior.posterior_predictive(Poisson)
    expo_pred = prior.posterior_predictive(Exponential)
    for k in range(12):
        exact, _ = integrate.quad(
            lambda lam, k=k: (
                stats.poisson.pmf(k, lam) * stats.gamma.pdf(lam, shape, scale=1 / rate)
            ),
            0,
            np.inf,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        assert abs(pois_pred.pmf(k) - exact) <= 1e-10
    for x in (0.0, 0.3, 2.0, 11.0):
        exact, _ = integrate.quad(
            lambda lam, x=x: lam * np.exp(-lam * x) * stats.gamma.pdf(lam, shape, scale=1 / rate),
            0,
            np.inf,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        assert abs(expo_pred.pdf(x) - exact) <= 1e-10 * max(1.0, exact)


def test_predictive_of_the_posterior_is_batched() -> None:
    post = Gamma(shape=[1.0, 2.0], rate=1.0).posterior(Poisson, [[1, 3], [2, 0]])
    pred = post.posterior_predictive(Poisson)
    assert np.shape(pred.mean()) == (2,)
    # the predictive mean is the posterior mean of the rate
    assert_close(pred.mean(), post.mean(), rtol_eps=8)
    bb = Beta(a=[1.0, 5.0], b=2.0).posterior_predictive(Binomial, n=[4, 9])
    assert_close(bb.mean(), [4 / 3, 9 * 5 / 7], rtol_eps=8)


# ---------------------------------------------------------------------- errors
def test_unsupported_likelihoods_and_missing_n_raise() -> None:
    with pytest.raises(TypeError, match=r"`likelihood` must be one of the classes \['Bernoulli'"):
        Beta(a=1.0, b=1.0).posterior(Poisson, [1])
    with pytest.raises(TypeError, match="got Normal"):
        Gamma(shape=1.0, rate=1.0).posterior_predictive(Normal)
    with pytest.raises(TypeError, match="`n=`"):
        Beta(a=1.0, b=1.0).posterior(Binomial, [1, 2])
    with pytest.raises(TypeError, match="`n=`"):
        Beta(a=1.0, b=1.0).posterior_predictive(Binomial)
    with pytest.raises(TypeError, match="no fixed parameters"):
        Beta(a=1.0, b=1.0).posterior(Bernoulli, [1], n=3)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: Beta(a=1.0, b=1.0).posterior(Bernoulli, [0, 2]), ValueError, "support"),
        (lambda: Beta(a=1.0, b=1.0).posterior(Binomial, [5], n=4), ValueError, "support"),
        (lambda: Beta(a=1.0, b=1.0).posterior(Binomial, [1], n=2.5), ValueError, "`n`"),
        (
            lambda: Beta(a=1.0, b=1.0).posterior(Binomial, [3, 4, 5], n=[10, 20]),
            ValueError,
            r"`n` with shape \(2,\) does not broadcast against `x` with shape \(3,\)",
        ),
        (lambda: Beta(a=1.0, b=1.0).posterior(Geometric, [0]), ValueError, "support"),
        (lambda: Gamma(shape=1.0, rate=1.0).posterior(Poisson, [0.5]), ValueError, "integers"),
        (lambda: Gamma(shape=1.0, rate=1.0).posterior(Exponential, [-1.0]), ValueError, "x"),
        (
            lambda: Dirichlet(concentration=[1.0, 1.0]).posterior(Categorical, [2]),
            ValueError,
            "label",
        ),
        (
            lambda: Beta(a=1.0, b=1.0).posterior(Bernoulli, [1, 0], weights=[1.0]),
            ValueError,
            "weights",
        ),
        (
            lambda: Beta(a=1.0, b=1.0).posterior(Bernoulli, [1], weights=[-1.0]),
            ValueError,
            "weights",
        ),
        (lambda: Beta(a=1.0, b=1.0).posterior(Bernoulli, 1), ValueError, "first axis"),
    ],
)
def test_bad_data_raise(call: Any, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_binomial_trials_per_observation_batch_member_or_shared() -> None:
    prior = Beta(a=1.0, b=2.0)
    per_obs = prior.posterior(Binomial, [3, 4], n=[10, 20])  # k_i out of n_i trials
    assert (float(per_obs.a), float(per_obs.b)) == (1.0 + 7, 2.0 + (10 - 3) + (20 - 4))
    batch = Beta(a=[1.0, 1.0], b=2.0).posterior(Binomial, [[3, 4], [5, 6]], n=[10, 20])
    np.testing.assert_array_equal(batch.a, [1.0 + 8, 1.0 + 10])
    np.testing.assert_array_equal(batch.b, [2.0 + 12, 2.0 + 30])
    shared = prior.posterior(Binomial, [3, 4], n=10)
    assert float(shared.b) == 2.0 + 13
