"""Regression tests for the family-parameter edges of issue 13 (the adversarial catalogue).

Each test is named after the edge it pins; each reproduced on main before the fix.
References are mpmath values or closed forms of the exact parameters, not expfam's own
output. The classes: a usual parameter kept exactly (not re-derived from the natural
one), near-maximal and subnormal parameters (no nan, no wrong sign, no warning),
``sample(size)`` checked by every family, and results independent of the caller's
``np.errstate``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest

from expfam import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Dirichlet,
    Exponential,
    ExponentialFamily,
    Gamma,
    Geometric,
    NegativeBinomial,
    Normal,
    Poisson,
)

mpmath.mp.dps = 50
BIG = float(np.finfo(np.float64).max)
TINY = 5e-324


def _quiet(fn: Callable[[], Any]) -> Any:
    """Call `fn` with every warning an error and numpy raising on every float event."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return fn()


# ---------------------------------------------------------------------- Poisson keeps its rate
def test_poisson_rate_1e300_reads_back_exactly() -> None:
    """Was 9.999999999999763e299: the rate came back as exp(log(rate))."""
    assert float(Poisson(rate=1e300).rate) == 1e300
    r32 = np.float32(3.4e38)
    assert Poisson(rate=r32).rate == r32


def test_poisson_log_prob_at_rate_1e50() -> None:
    """Was -1.46e21: log_prob(1e50) at rate 1e50 is -log(2 pi 1e50)/2 - ... = -58.48."""
    lam = mpmath.mpf(1e50)
    # log pmf at k = lam: -lam + lam log lam - lgamma(lam + 1), at enough digits
    with mpmath.workdps(120):
        exact = -lam + lam * mpmath.log(lam) - mpmath.loggamma(lam + 1)
    got = float(_quiet(lambda: Poisson(rate=1e50).log_prob(1e50)))
    assert got == pytest.approx(float(exact), rel=1e-14)


def test_poisson_near_float_max_log_prob_and_entropy() -> None:
    """Were nan and inf with overflow warnings; both are ordinary numbers there."""
    lam = 1.7e308
    with mpmath.workdps(400):
        m = mpmath.mpf(lam)
        logpmf = -m + m * mpmath.log(m) - mpmath.loggamma(m + 1)
        entropy = mpmath.log(2 * mpmath.pi * mpmath.e * m) / 2 - 1 / (12 * m)
    d = Poisson(rate=lam)
    assert float(_quiet(lambda: d.log_prob(lam))) == pytest.approx(float(logpmf), rel=1e-14)
    assert float(_quiet(d.entropy)) == pytest.approx(float(entropy), rel=1e-14)
    top = Poisson(rate=BIG)
    assert np.all(np.isfinite(_quiet(lambda: top.log_prob([0.0, 1e308, BIG]))))


def test_bernoulli_and_binomial_probs_read_back_exactly() -> None:
    """Were expit(logit(p)): 0.1 read back 0.10000000000000002 and 5e-324 read back 0."""
    for p in (0.1, 5e-324, 1e-310, 1 - 2**-53):
        assert float(Bernoulli(probs=p).probs) == p
        assert float(Binomial(n=3, probs=p).probs) == p
    p32 = np.float32(0.1)
    assert Bernoulli(probs=p32).probs == p32
    assert float(Bernoulli(probs=TINY).mean()) == TINY
    assert float(Binomial(n=4, probs=TINY).mean()) == 4 * TINY


# ---------------------------------------------------------------------- near-maximal parameters
def test_beta_mean_at_1_4e308_is_one_half() -> None:
    """Was 0.0 (a + b overflowed); the variance is 1/(4 (2.8e308 + 1)), subnormal."""
    d = Beta(a=1.4e308, b=1.4e308)
    assert float(_quiet(d.mean)) == 0.5
    assert float(_quiet(d.variance)) == pytest.approx(0.25 / 2.8e308, rel=1e-10)
    assert float(_quiet(Beta(a=1.4e308, b=0.7e308).mean)) == pytest.approx(2 / 3, rel=1e-15)


def test_dirichlet_mean_near_float_max() -> None:
    """The concentrations' sum overflowed: mean [0, 0]."""
    d = Dirichlet([1.4e308, 1.4e308, 1.4e308])
    np.testing.assert_allclose(_quiet(d.mean), [1 / 3] * 3, rtol=1e-15)
    var = _quiet(d.variance)
    np.testing.assert_allclose(var, [(1 / 3) * (2 / 3) / 4.2e154 / 1e154] * 3, rtol=1e-10)


def test_binomial_n_1e300_is_refused() -> None:
    """Read back as a negative integer; now a ValueError naming `n` and the limit."""
    with pytest.raises(ValueError, match=r"`n` must be a positive integer .* at most 2\*\*53"):
        Binomial(n=1e300, probs=0.5)
    assert int(Binomial(n=2**53, probs=0.5).n) == 2**53


def test_gamma_mean_and_variance_beyond_the_float_range() -> None:
    """Overflow warnings escaped; the exact values round to inf and 0."""
    assert float(_quiet(Gamma(shape=1.0, rate=TINY).mean)) == np.inf
    assert float(_quiet(Gamma(shape=1e-300, rate=1e300).mean)) == 0.0
    assert float(_quiet(Gamma(shape=2.0, rate=1e-300).variance)) == np.inf


# ---------------------------------------------------------------------- subnormal parameters
def test_exponential_entropy_at_rate_5e_324() -> None:
    """Was inf: the entropy 1 - log(5e-324) = 745.44 (the mean 1/rate overflows)."""
    d = Exponential(rate=TINY)
    exact = 1 - mpmath.log(mpmath.mpf(TINY))
    assert float(_quiet(d.entropy)) == pytest.approx(float(exact), rel=1e-15)
    assert float(_quiet(d.mean)) == np.inf  # 2.02e323 rounds to inf, quietly
    assert float(_quiet(d.variance)) == np.inf
    assert np.all(_quiet(lambda: d.sample(3, rng=0)) == np.inf)


def test_bernoulli_kl_subnormal_against_zero_is_inf() -> None:
    """Was -5e-324 (a negative divergence): q = 0 < p gives +inf."""
    p, q = Bernoulli(probs=TINY), Bernoulli(probs=0.0)
    assert float(_quiet(lambda: p.kl_divergence(q))) == np.inf
    assert (
        float(_quiet(lambda: Bernoulli(probs=1 - 1e-16).kl_divergence(Bernoulli(probs=1.0))))
        == np.inf
    )
    b = Binomial(n=3, probs=TINY)
    assert float(_quiet(lambda: b.kl_divergence(Binomial(n=3, probs=0.0)))) == np.inf
    # never negative
    assert float(_quiet(lambda: Bernoulli(probs=0.0).kl_divergence(Bernoulli(probs=TINY)))) >= 0


def test_geometric_subnormal_probs() -> None:
    """The entropy was 745.0 (p log p is subnormal); mean and variance warned."""
    d = Geometric(probs=TINY)
    p = mpmath.mpf(TINY)
    exact = (-p * mpmath.log(p) - (1 - p) * mpmath.log1p(-p)) / p
    assert float(_quiet(d.entropy)) == pytest.approx(float(exact), rel=1e-15)
    assert float(_quiet(d.mean)) == np.inf
    assert float(_quiet(d.variance)) == np.inf
    assert float(_quiet(Geometric(probs=1.0).entropy)) == 0.0


# ---------------------------------------------------------------------- the size of samples
def _families() -> list[ExponentialFamily]:
    return [
        Bernoulli(probs=0.3),
        Binomial(n=5, probs=0.3),
        Poisson(rate=2.0),
        Geometric(probs=0.3),
        NegativeBinomial(r=2.0, probs=0.3),
        Exponential(rate=1.0),
        Normal(0.0, 1.0),
        Gamma(shape=2.0, rate=1.0),
        Beta(a=2.0, b=3.0),
        Dirichlet([1.0, 2.0]),
        Categorical(probs=[0.5, 0.5]),
    ]


@pytest.mark.parametrize("d", _families(), ids=lambda d: type(d).__name__)
def test_sample_size_is_validated_by_every_family(d: ExponentialFamily) -> None:
    """Only Categorical checked `size`; elsewhere numpy's own errors escaped."""
    with pytest.raises(ValueError, match="`size` must not have negative entries"):
        d.sample(-1)
    with pytest.raises(ValueError, match="`size` must not have negative entries"):
        d.sample((2, -2))
    for bad in (1.5, "a", (2, 0.5)):
        with pytest.raises(TypeError, match="`size` must be an int or a sequence of ints"):
            d.sample(bad)  # type: ignore[arg-type]
    assert d.sample((2, 0), rng=0).shape[:2] == (2, 0)
    assert d.sample(np.int64(3), rng=0).shape[:1] == (3,)


def test_poisson_sample_rate_1e20() -> None:
    """numpy's "lam value too large" escaped; now the error names `rate` and the limit."""
    with pytest.raises(ValueError, match=r"`rate` must be at most 9.22e18 to sample a Poisson"):
        Poisson(rate=1e20).sample()
    assert Poisson(rate=9e18).sample(rng=0) > 0


def test_geometric_and_negative_binomial_samples_fit_int64() -> None:
    """Geometric(1e-300) returned int64's maximum (clipped); NegativeBinomial let numpy's
    error escape."""
    with pytest.raises(ValueError, match=r"`probs` must be at least 4\.3e-18"):
        Geometric(probs=1e-300).sample()
    with pytest.raises(ValueError, match="`probs` must be large enough"):
        NegativeBinomial(r=2.0, probs=1e-300).sample()


# ---------------------------------------------------------------------- the caller's errstate
EDGE_BATCHES: list[Callable[[], ExponentialFamily]] = [
    lambda: Poisson(rate=[0.0, 3.0, 1e6, 1e300]),
    lambda: Bernoulli(probs=[0.0, TINY, 0.3, 1.0]),
    lambda: Binomial(n=5, probs=[0.0, TINY, 0.3, 1.0]),
    lambda: Geometric(probs=[TINY, 1e-300, 0.3, 1.0]),
    lambda: NegativeBinomial(r=2.0, probs=[1e-3, 0.3, 1.0]),
    lambda: Exponential(rate=[TINY, 1e-300, 1.0, 1e300]),
    lambda: Normal(0.0, [1e-150, 1.0, 1e150]),
    lambda: Gamma(shape=[1e-3, 1.0, 1e6], rate=[1.0, TINY, 1.0]),
    lambda: Beta(a=[1e-3, 1.0, 1e6], b=[1.0, 1.0, 2.0]),
    lambda: Dirichlet([[1e-3, 1.0, 1e6]]),
    lambda: Categorical(logits=[[0.0, -np.inf, 700.0]]),
]


@pytest.mark.parametrize("build", EDGE_BATCHES)
@pytest.mark.parametrize("state", ["raise", "warn"])
def test_results_do_not_depend_on_the_callers_errstate(build: Any, state: Any) -> None:
    """Under ``np.errstate(all="raise")`` (or ``"warn"``) nothing raises or warns, and
    the values equal those under numpy's default state."""
    d = build()
    if isinstance(d, Dirichlet):
        x: Any = np.array([[0.2, 0.3, 0.5]])
    elif isinstance(d, Categorical):
        x = np.array([0, 2])
    else:
        x = np.array([[0.0], [1.0], [3.0]])
    calls: list[Callable[[], Any]] = [
        lambda: d.log_prob(x),
        d.entropy,
        lambda: d.kl_divergence(d),
        d.mean,
        d.variance,
        lambda: d.mean_params,
        d.log_partition,
        lambda: d.cross_entropy(d),
    ]
    if not isinstance(d, Normal):  # its Fisher information overflows: a ValueError
        calls.append(d.fisher_information)
    for call in calls:
        expected = call()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all=state):
                got = call()
        np.testing.assert_array_equal(got, expected)


def test_size_check_is_shared() -> None:
    """One check: Categorical's messages and the other families' are the same."""
    msgs = set()
    for d in _families():
        with pytest.raises(TypeError) as info:
            d.sample(1.5)  # type: ignore[arg-type]
        msgs.add(str(info.value))
    assert len(msgs) == 1


# ---------------------------------------------------------------------- entropies at the extremes
def _dirichlet_entropy_ref(alpha: list[float]) -> float:
    """Textbook Dirichlet entropy at 400 digits (enough for concentrations near 1e308)."""
    with mpmath.workdps(400):
        a = [mpmath.mpf(v) for v in alpha]
        a0, k = sum(a), len(a)
        log_b = sum(mpmath.loggamma(v) for v in a) - mpmath.loggamma(a0)
        return float(
            log_b + (a0 - k) * mpmath.digamma(a0) - sum((v - 1) * mpmath.digamma(v) for v in a)
        )


@pytest.mark.parametrize(
    "alpha",
    [[1e300, 1e300], [1e308, 1e308], [1.4e308, 1.4e308], [1.4e308, 1.4e308, 1.4e308]],
)
def test_beta_and_dirichlet_entropy_near_float_max(alpha: list[float]) -> None:
    """Was -inf with eleven warnings (Beta(1.4e308, 1.4e308)); it is about -354."""
    expected = _dirichlet_entropy_ref(alpha)
    got = _quiet(Dirichlet(alpha).entropy)
    assert float(got) == pytest.approx(expected, rel=1e-13)
    if len(alpha) == 2:
        beta = Beta(a=alpha[0], b=alpha[1])
        assert float(_quiet(beta.entropy)) == pytest.approx(expected, rel=1e-13)


def test_entropy_at_subnormal_shapes_is_minus_inf() -> None:
    """Were nan with warnings: the exact entropies, about -1/shape, are below -1.8e308."""
    assert float(_quiet(Gamma(shape=TINY, rate=1.0).entropy)) == -np.inf
    assert float(_quiet(Beta(a=TINY, b=1.0).entropy)) == -np.inf
    assert float(_quiet(Dirichlet([TINY, TINY]).entropy)) == -np.inf
    assert float(_quiet(Dirichlet([TINY, 1.0, 2.0]).entropy)) == -np.inf
    # where -1/shape is representable the entropy is finite and right
    with mpmath.workdps(60):
        a = mpmath.mpf(1e-300)
        exact = a + mpmath.loggamma(a) + (1 - a) * mpmath.digamma(a)
    assert float(_quiet(Gamma(shape=1e-300, rate=1.0).entropy)) == pytest.approx(
        float(exact), rel=1e-15
    )


@pytest.mark.parametrize("family", [Gamma, Exponential])
@pytest.mark.parametrize(
    ("x", "dtype"),
    [([1e-310, 3e-310], "float64"), ([1e-40, 3e-40], "float32")],
)
def test_fit_whose_rate_overflows_is_refused(family: Any, x: list[float], dtype: str) -> None:
    """Subnormal data: the MLE rate 1 / mean is beyond the dtype (was a bare warning)."""
    data = np.asarray(x, dtype=dtype)
    with pytest.raises(ValueError, match=f"rate overflows {dtype}"):
        family.fit(data)
    # a thousand times larger data have a representable rate
    fitted = family.fit(data * np.asarray(1e3, dtype=dtype))
    assert fitted.rate.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(fitted.rate))
