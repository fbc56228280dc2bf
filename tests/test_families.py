"""Family-specific tests of the nine everyday families.

The generic laws (``tests/test_laws.py``) run on every family through
``tests/family_cases.py``; here: scipy.stats agreement of log-prob, entropy, mean and
variance in float32 and float64, KL against Monte Carlo and against quadrature,
recovery of parameters by ``fit``, the inverse mean maps (accuracy, domain errors,
the scipy fallback, ``ConvergenceError``), boundary members, mpmath reference values
and argument validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
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
    ConvergenceError,
    Dirichlet,
    Exponential,
    ExponentialFamily,
    Gamma,
    Geometric,
    InfeasibleError,
    Normal,
    Poisson,
    _dual,
    _special,
)
from expfam._families import _beta_dirichlet, binomial, gamma, poisson
from tests.family_cases import dirichlet3_quadrature
from tests.helpers import assert_close, eps_of

F64 = NDArray[np.float64]
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
FEW = settings(max_examples=min(settings().max_examples, 40), deadline=None)


def f64(x: Any) -> F64:
    out: F64 = np.asarray(x, dtype=np.float64)
    return out


def as64(dist: ExponentialFamily) -> ExponentialFamily:
    """The same distribution (same natural parameters) in float64."""
    return type(dist).from_natural_params(f64(dist.natural_params), **dist._fixed())


def logu(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(float(np.log(lo)), float(np.log(hi))).map(lambda t: float(np.exp(t)))


# ---------------------------------------------------------------------- scipy.stats oracles
@dataclass(frozen=True)
class Spec:
    """A family, a strategy for its usual parameters and its scipy.stats counterpart."""

    name: str
    params: dict[str, st.SearchStrategy[Any]]
    build: Callable[[dict[str, Any], Any], ExponentialFamily]
    scipy: Callable[[ExponentialFamily], Any]  # frozen scipy distribution (float64)
    lp_rtol: float = 1e-12  # log-prob, relative to 1 + |value|
    h_rtol: float = 1e-12  # entropy, relative to 1 + |value|


def _probs(d: ExponentialFamily) -> F64:
    return f64(getattr(d, "probs"))  # noqa: B009 - every caller's family has probs


SPECS = [
    Spec(
        "Bernoulli",
        {"probs": st.floats(0.0, 0.99)},  # near 1, read-back probs lose 1 - p: the oracle can't
        lambda p, dt: Bernoulli(probs=np.asarray(p["probs"], dtype=dt)),
        lambda d: stats.bernoulli(_probs(d)),
    ),
    Spec(
        "Binomial",
        # scipy's binomial entropy overflows for probs ~ 1e-308
        {"n": st.integers(1, 5000), "probs": st.just(0.0) | st.floats(1e-200, 0.99)},
        lambda p, dt: Binomial(n=p["n"], probs=np.asarray(p["probs"], dtype=dt)),
        lambda d: stats.binom(getattr(d, "n"), _probs(d)),  # noqa: B009
        lp_rtol=1e-11,  # scipy's gammaln-based binomial coefficient
    ),
    Spec(
        "Poisson",
        {"rate": logu(1e-4, 1e3)},
        lambda p, dt: Poisson(rate=np.asarray(p["rate"], dtype=dt)),
        lambda d: stats.poisson(f64(getattr(d, "rate"))),  # noqa: B009
        lp_rtol=1e-11,
        h_rtol=1e-10,  # scipy sums the series with its default tolerance
    ),
    Spec(
        "Geometric",
        {"probs": logu(1e-4, 0.999)},
        lambda p, dt: Geometric(probs=np.asarray(p["probs"], dtype=dt)),
        lambda d: stats.geom(_probs(d)),
    ),
    Spec(
        "Exponential",
        {"rate": logu(1e-3, 1e3)},
        lambda p, dt: Exponential(rate=np.asarray(p["rate"], dtype=dt)),
        lambda d: stats.expon(scale=1 / f64(getattr(as64(d), "rate"))),  # noqa: B009
    ),
    Spec(
        "Normal",
        {"loc": st.floats(-1e4, 1e4), "scale": logu(1e-3, 1e3)},
        lambda p, dt: Normal(loc=np.asarray(p["loc"], dtype=dt), scale=p["scale"]),
        lambda d: stats.norm(f64(getattr(d, "loc")), f64(getattr(d, "scale"))),  # noqa: B009
        lp_rtol=1e-11,  # scipy's (x - loc) / scale rounds differently for |loc| >> scale
    ),
    Spec(
        "Gamma",
        {"shape": logu(0.05, 1e4), "rate": logu(1e-2, 1e2)},
        lambda p, dt: Gamma(shape=np.asarray(p["shape"], dtype=dt), rate=p["rate"]),
        lambda d: stats.gamma(
            f64(getattr(d, "shape")),  # noqa: B009 - kept exactly, in the dtype
            scale=1 / f64(getattr(d, "rate")),  # noqa: B009
        ),
        lp_rtol=1e-10,  # scipy's closed form cancels for large shapes (3e-11 at 1e4; ours: 4e-15)
    ),
    Spec(
        "Beta",
        {"a": logu(0.05, 1e3), "b": logu(0.05, 1e3)},
        lambda p, dt: Beta(a=np.asarray(p["a"], dtype=dt), b=p["b"]),
        lambda d: stats.beta(f64(getattr(d, "a")), f64(getattr(d, "b"))),  # noqa: B009
        lp_rtol=1e-10,  # scipy's betaln loses digits for a << b (see test_log_beta_*)
        h_rtol=1e-10,
    ),
]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@FEW
@given(data=st.data())
def test_agrees_with_scipy_stats(spec: Spec, dtype: np.dtype[Any], data: st.DataObject) -> None:
    params = {k: data.draw(s, label=k) for k, s in spec.params.items()}
    d = spec.build(params, dtype)
    assert d.dtype == dtype
    ref = spec.scipy(d)  # the distribution's own usual parameters (rounded to its dtype)
    x = np.asarray(ref.rvs(size=7, random_state=data.draw(st.integers(0, 2**32 - 1))))
    if x.dtype.kind == "f":
        x = x.astype(dtype)
        if spec.name == "Beta":  # a variate at 0 or 1 is outside the support scipy checks
            x = np.clip(x, np.finfo(dtype).smallest_subnormal, np.nextafter(dtype.type(1), 0))
    # float32 results are the float64 results rounded: a few float32 ulps of 1 + |value|
    loose = 8 * eps_of(np.float32) if dtype == np.float32 else 0.0
    with np.errstate(divide="ignore"):
        expected_lp = f64(ref.logpmf(x) if hasattr(ref.dist, "pmf") else ref.logpdf(x))
    got = d.log_prob(x)
    assert got.dtype == dtype
    assert_close(
        got,
        expected_lp,
        rtol_eps=(spec.lp_rtol + loose) / eps_of(dtype),
        scale=1 + np.abs(expected_lp),
    )
    for name, expected, rtol in (
        ("entropy", ref.entropy(), spec.h_rtol),
        ("mean", ref.mean(), 1e-14),
        ("variance", ref.var(), 1e-13),
    ):
        value = getattr(d, name)()
        assert value.dtype == dtype, name
        e = f64(expected)
        scale = 1 + np.abs(e) if name == "entropy" else np.abs(e)
        # subnormal float32 results (probs ~ 1e-45) carry an absolute error of ~1e-45
        tiny = float(np.finfo(dtype).tiny) / eps_of(dtype)
        assert_close(value, e, rtol_eps=(rtol + loose) / eps_of(dtype), scale=scale, atol_eps=tiny)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@FEW
@given(
    alpha=st.lists(logu(0.05, 1e3), min_size=2, max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_dirichlet_agrees_with_scipy_stats(
    dtype: np.dtype[Any], alpha: list[float], seed: int
) -> None:
    d = Dirichlet(concentration=np.asarray(alpha, dtype=dtype))
    ref = stats.dirichlet(f64(d.concentration))
    x = d.sample(5, rng=seed)
    # scipy checks the sum at 1e-10 and needs x > 0: renormalised float64 points
    x64 = np.maximum(f64(x), 1e-300)
    x64 /= x64.sum(axis=-1, keepdims=True)
    lp = f64([ref.logpdf(row) for row in x64])
    loose = 8 * eps_of(np.float32) if dtype == np.float32 else 0.0
    assert_close(
        d.log_prob(x64.astype(dtype) if dtype == np.float64 else x64),
        lp,
        rtol_eps=(1e-10 + loose) / eps_of(np.float64),
        scale=1 + np.abs(lp),
    )
    assert_close(
        d.entropy(),
        ref.entropy(),
        rtol_eps=(1e-11 + loose) / eps_of(dtype),
        scale=1 + abs(ref.entropy()),
    )
    assert_close(d.mean(), ref.mean(), rtol_eps=(1e-14 + loose) / eps_of(dtype))
    assert_close(d.variance(), ref.var(), rtol_eps=(1e-13 + loose) / eps_of(dtype))


# ---------------------------------------------------------------------- mpmath references
# Values from mpmath at 40 digits (the snippets are kept next to each table).


# lam = mpf(lam); sum over k in lam +- (14 sqrt(lam) + 60) of
#   lp = k log(lam) - lam - loggamma(k + 1);  H -= exp(lp) lp;  E += exp(lp) loggamma(k + 1)
POISSON_REF = [  # rate, entropy, E[log x!]
    (1e-3, 0.0079081018046324831039, 3.4652565034605189101e-7),
    (0.7, 1.1045971987254764749, 0.15492473796836380971),
    (30.0, 3.1167110399882366122, 75.152632489852897875),
    (2000.0, 5.219348085885776325, 13207.024267170050499),
    (1e4, 6.0241003854427113208, 82109.427820147270072),
    (1e6, 8.3266937288534347938, 12815518.884658002958),
]


def test_poisson_entropy_and_expected_log_factorial_match_mpmath() -> None:
    lam, h, elf = (f64(c) for c in zip(*POISSON_REF, strict=True))
    d = Poisson(rate=lam)
    assert_close(d.entropy(), h, rtol_eps=8)
    assert_close(-d._expected_log_base_measure(), elf, rtol_eps=8)


# n, p: sum over k in n p +- (13 sd + 60) of lC = loggamma(n+1) - loggamma(k+1) - loggamma(n-k+1),
#   lp = lC + k log p + (n - k) log(1 - p);  H -= exp(lp) lp;  E += exp(lp) lC
BINOMIAL_REF = [  # n, p, entropy, E[log binom(n, x)]
    (10, 0.3, 1.7790787840900631247, 4.3295642364588715056),
    (1000, 0.01, 2.55664404311231839, 53.444890311735022062),
    (10**6, 0.5, 7.6335466316267811509, 693139.54701331368264),
    (10**12, 1e-8, 6.0241003804429613041, 194200.78328914321159),
]


def test_binomial_entropy_and_expected_log_coefficient_match_mpmath() -> None:
    n, p, h, elc = (np.asarray(c) for c in zip(*BINOMIAL_REF, strict=True))
    d = Binomial(n=n, probs=p)
    assert_close(d.entropy(), f64(h), rtol_eps=8)
    assert_close(d._expected_log_base_measure(), f64(elc), rtol_eps=8)


@pytest.mark.parametrize("var", [2e6, 3e7])
def test_binomial_asymptotic_entropy_continues_the_window_sum(
    monkeypatch: pytest.MonkeyPatch, var: float
) -> None:
    # the expansion log(2 pi e v)/2 - (1 - 4pq)/(12 v) has error O(v**-2) < 1e-14 here
    n = np.array([int(var / 0.21), int(var / 0.09 / 0.91)])
    p = np.array([0.3, 0.09])
    window = Binomial(n=n, probs=p)
    h_w, e_w = window._sums()
    monkeypatch.setattr(binomial, "_BINOMIAL_ASYMPTOTIC", 1e5)
    h_a, e_a = Binomial(n=n, probs=p)._sums()
    assert_close(h_a, h_w, rtol_eps=16)
    assert_close(e_a, e_w, rtol_eps=16)


def test_poisson_asymptotic_entropy_continues_the_window_sum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lam = np.array([1e4, 3e4, 1e5])
    h_a, e_a = Poisson(rate=lam)._sums()
    monkeypatch.setattr(poisson, "_POISSON_ASYMPTOTIC", 1e12)
    h_w, e_w = Poisson(rate=lam)._sums()
    assert_close(h_a, h_w, rtol_eps=8)
    assert_close(e_a, e_w, rtol_eps=8)


# a - log(2) + loggamma(a) + (1 - a) digamma(a)  (rate 2)
GAMMA_ENTROPY_REF = [
    (1e-3, -993.3599646550545818),
    (0.5, -0.60253725064595696207),
    (24.99, 2.3215564260771929408),
    (25.0, 2.321761909104997676),
    (1e3, 4.1793355754580265187),
    (1e8, 9.9361317212875768268),
]

# lB = sum(loggamma(a)) - loggamma(a0); lB + (a0 - K) digamma(a0) - sum((a - 1) digamma(a))
DIRICHLET_ENTROPY_REF = [
    ((1e-3, 1e-3), -991.40237857123449673),
    ((0.05, 1e6), -30.26958367364737659),
    ((1e6, 1e6), -6.5285377666175072744),
    ((1e4, 0.5), -9.1197554435205485535),
    ((0.01, 1e5, 3.0), -116.12413439407757816),
]


def test_gamma_beta_dirichlet_entropy_match_mpmath_at_extremes() -> None:
    a, h = (f64(c) for c in zip(*GAMMA_ENTROPY_REF, strict=True))
    assert_close(Gamma(shape=a, rate=2.0).entropy(), h, rtol_eps=8)
    for alpha, ref in DIRICHLET_ENTROPY_REF:
        assert_close(Dirichlet(concentration=alpha).entropy(), ref, rtol_eps=16)
        if len(alpha) == 2:
            assert_close(Beta(a=alpha[0], b=alpha[1]).entropy(), ref, rtol_eps=16)


def test_log_probs_match_mpmath_where_the_textbook_form_cancels() -> None:
    # k log(lam) - lam - loggamma(k + 1) at k = 1e6, lam = 1e6 + 3
    assert_close(Poisson(rate=1e6 + 3).log_prob(10**6), -7.8266983955111431474, rtol_eps=8)
    # log binom(n, k) + k log p + (n - k) log(1 - p) at n = 1e6, k = 3e5, p = 0.3
    b = Binomial(n=10**6, probs=0.3)
    assert_close(b.log_prob(3 * 10**5), -7.0463702515465391, rtol_eps=8)
    # (a - 1) log x - b x + a log b - loggamma(a) at x = mpf(1.001) (the float), a = b = 1e6
    assert_close(Gamma(shape=1e6, rate=1e6).log_prob(1.001), 5.4881502456443243873, rtol_eps=8)
    # Beta(0.05, 1e6) at x = 1e-7 and 0.25 (scipy's betaln is off by 3e-10 relative here)
    beta = Beta(a=0.05, b=1e6)
    assert_close(beta.log_prob(1e-7), 12.934087266506887881, rtol_eps=16)
    assert_close(beta.log_prob(0.25), -287682.74589376231528, rtol_eps=8)
    # mean parameters: the differences of digammas of a, b and a + b, from mpmath
    assert_close(beta.mean_params, [-34.313355099264084892, -5.0000023750007124999e-8], rtol_eps=8)


def test_special_function_kernels_match_mpmath() -> None:
    # references from mpmath: the digamma difference at (x, x + d), the log-beta of alpha
    x = np.array([1e-4, 0.3, 7.0, 10.0, 1e3, 1e8])
    d = np.array([1e-10, 2.0, 1e-3, 5e4, 1e-6, 1e8])
    ref = [
        -0.0099999901644793682,
        -4.1025641025641027,
        -0.00015353341392240703,
        -8.5682156773125083,
        -1.000500166166133e-9,
        -0.69314718305994532,
    ]
    assert_close(_special._digamma_diff(x, d), ref, rtol_eps=8)
    alpha = np.array([[0.05, 1e6], [1e4, 0.5], [3.0, 1e-3], [200.0, 300.0]])
    ref_lb = [2.2781036969035206, -4.0327927430633965, 6.9062559036074025, -337.98011306546467]
    assert_close(_special._log_beta(alpha), ref_lb, rtol_eps=8)


# ---------------------------------------------------------------------- KL: MC and quadrature
KL_PAIRS: list[tuple[ExponentialFamily, ExponentialFamily]] = [
    (Bernoulli(probs=0.3), Bernoulli(probs=0.6)),
    (Binomial(n=20, probs=0.3), Binomial(n=20, probs=0.45)),
    (Poisson(rate=4.0), Poisson(rate=6.5)),
    (Geometric(probs=0.2), Geometric(probs=0.35)),
    (Exponential(rate=1.5), Exponential(rate=0.7)),
    (Normal(loc=1.0, scale=2.0), Normal(loc=-0.5, scale=1.3)),
    (Gamma(shape=2.5, rate=1.5), Gamma(shape=4.0, rate=2.0)),
    (Beta(a=0.7, b=2.0), Beta(a=1.5, b=1.2)),
    (Dirichlet(concentration=[0.8, 2.0, 3.5]), Dirichlet(concentration=[1.5, 1.5, 1.0])),
]
KL_IDS = [type(p).__name__ for p, _ in KL_PAIRS]


@pytest.mark.parametrize(("p", "q"), KL_PAIRS, ids=KL_IDS)
def test_kl_matches_monte_carlo(p: ExponentialFamily, q: ExponentialFamily) -> None:
    """Mean log-ratio over 200 000 draws (seed 7), within 5 of its standard errors."""
    n = 200_000
    x = p.sample(n, rng=7)
    ratio = f64(p.log_prob(x)) - f64(q.log_prob(x))
    se = ratio.std() / np.sqrt(n)
    assert abs(ratio.mean() - float(p.kl_divergence(q))) <= 5 * se


def _quadrature_kl(p: ExponentialFamily, q: ExponentialFamily) -> float:
    """KL by summation over the support (discrete) or adaptive quadrature (continuous)."""
    if isinstance(p, (Bernoulli, Binomial, Poisson, Geometric)):
        k = np.arange(1 if isinstance(p, Geometric) else 0, 2000)
        if isinstance(p, (Bernoulli, Binomial)):
            k = k[k <= (1 if isinstance(p, Bernoulli) else 20)]
        lp, lq = f64(p.log_prob(k)), f64(q.log_prob(k))
        return float(np.sum(np.exp(lp) * (lp - lq)))
    if isinstance(p, Dirichlet):  # the stick-breaking trapezoid rule of the registry case
        x, w = dirichlet3_quadrature(p)
        lp, lq = f64(p.log_prob(x)), f64(q.log_prob(x))
        return float(np.sum(w * np.exp(lp) * (lp - lq)))
    ends: dict[type[ExponentialFamily], tuple[float, float]] = {
        Normal: (-np.inf, np.inf),
        Beta: (0.0, 1.0),
    }
    lo, hi = ends.get(type(p), (0.0, np.inf))

    def f(x: float) -> float:
        lp, lq = float(p.log_prob(x)), float(q.log_prob(x))
        return float(np.exp(lp) * (lp - lq)) if np.isfinite(lp) else 0.0

    value, _ = integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=500)
    return float(value)


@pytest.mark.parametrize(("p", "q"), KL_PAIRS, ids=KL_IDS)
def test_kl_matches_quadrature(p: ExponentialFamily, q: ExponentialFamily) -> None:
    tol = 1e-8 if isinstance(p, (Dirichlet, Beta)) else 1e-10  # singular endpoints (a < 1)
    assert abs(_quadrature_kl(p, q) - float(p.kl_divergence(q))) <= tol


def test_dirichlet_with_two_categories_is_the_beta() -> None:
    p, q = Dirichlet(concentration=[0.3, 7.0]), Dirichlet(concentration=[2.0, 0.9])
    bp, bq = Beta(a=0.3, b=7.0), Beta(a=2.0, b=0.9)
    assert_close(p.kl_divergence(q), bp.kl_divergence(bq), rtol_eps=16)
    assert_close(p.entropy(), bp.entropy(), rtol_eps=4)
    assert_close(p.log_prob([0.2, 0.8]), bp.log_prob(0.2), rtol_eps=4)
    assert_close(p.mean_params, bp.mean_params, rtol_eps=4)


# ---------------------------------------------------------------------- fit recovers parameters
FIT_CASES: list[tuple[ExponentialFamily, dict[str, Any]]] = [
    (Bernoulli(probs=0.3), {}),
    (Binomial(n=12, probs=0.4), {"n": 12}),
    (Poisson(rate=3.5), {}),
    (Geometric(probs=0.15), {}),
    (Exponential(rate=2.5), {}),
    (Normal(loc=-3.0, scale=0.5), {}),
    (Gamma(shape=0.7, rate=3.0), {}),
    (Beta(a=2.5, b=0.6), {}),
    (Dirichlet(concentration=[0.5, 2.0, 4.0, 1.0]), {}),
]


@pytest.mark.parametrize(
    ("dist", "fixed"), FIT_CASES, ids=[type(d).__name__ for d, _ in FIT_CASES]
)
def test_fit_recovers_natural_params_on_a_large_sample(
    dist: ExponentialFamily, fixed: dict[str, Any]
) -> None:
    """Within 5 asymptotic standard errors sqrt(diag(F^-1) / n) of the MLE."""
    n = 100_000
    fitted = type(dist).fit(dist.sample(n, rng=2024), **fixed)
    se = np.sqrt(np.diag(np.linalg.inv(f64(dist.fisher_information()))) / n)
    assert np.all(np.abs(f64(fitted.natural_params) - f64(dist.natural_params)) <= 5 * se)


def test_fit_usual_parameters_read_back() -> None:
    x = Gamma(shape=3.0, rate=2.0).sample(200_000, rng=1)
    g = Gamma.fit(x)
    assert abs(float(g.shape) - 3.0) < 0.05
    assert abs(float(g.rate) - 2.0) < 0.04
    n = Normal.fit(Normal(loc=5.0, scale=0.1).sample(100_000, rng=3))
    assert abs(float(n.loc) - 5.0) < 1e-3
    assert abs(float(n.scale) - 0.1) < 1e-3


def test_fit_float32_data_gives_float32() -> None:
    for family, x in (
        (Gamma, Gamma(shape=np.float32(2.0), rate=1.0).sample(1000, rng=0)),
        (Beta, Beta(a=np.float32(2.0), b=3.0).sample(1000, rng=0)),
        (Normal, Normal(loc=np.float32(0.0), scale=1.0).sample(1000, rng=0)),
        (Exponential, Exponential(rate=np.float32(2.0)).sample(1000, rng=0)),
        (Dirichlet, Dirichlet(concentration=np.ones(3, np.float32)).sample(1000, rng=0)),
    ):
        assert x.dtype == np.float32
        assert family.fit(x).dtype == np.float32, family.__name__
        x64 = x.astype(np.float64)
        if family is Dirichlet:  # float32 points sum to 1 only to float32 precision
            x64 /= x64.sum(axis=-1, keepdims=True)
        assert family.fit(x64).dtype == np.float64
    assert Poisson.fit([1, 2, 3]).dtype == np.float64


def test_fit_errors() -> None:
    with pytest.raises(InfeasibleError, match="zero variance"):
        Normal.fit([2.0, 2.0, 2.0])
    with pytest.raises(TypeError, match="number of trials"):
        Binomial.fit([1, 2])
    with pytest.raises(ValueError, match="support"):
        Binomial.fit([1, 5], n=4)
    with pytest.raises(ValueError, match=r"`n` with shape \(2,\) does not broadcast against `x`"):
        Binomial.fit([3, 4, 5], n=[10, 20])
    per_obs = Binomial.fit([3, 4], n=[10, 20])  # one n per observation: sum(x) / sum(n)
    np.testing.assert_array_equal(per_obs.n, [10, 20])
    np.testing.assert_allclose(per_obs.probs, [7 / 30, 7 / 30], rtol=1e-15)
    both = Binomial.fit([[3, 1], [5, 2]], n=[10, 4])
    np.testing.assert_allclose(both.probs, [8 / 20, 3 / 8], rtol=1e-15)
    with pytest.raises(ValueError, match="simplex"):
        Dirichlet.fit([[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(InfeasibleError, match="no spread"):
        Gamma.fit([2.0, 2.0, 2.0])
    with pytest.raises(InfeasibleError, match="Jensen"):
        Gamma.from_mean_params([np.log(2.0), 2.0])


def test_normal_fit_keeps_digits_for_a_large_mean() -> None:
    x = 1e8 + np.array([-1.0, 1.0, -2.0, 2.0])
    d = Normal.fit(x)
    assert float(d.loc) == 1e8
    assert_close(d.scale, np.sqrt(2.5), rtol_eps=4)


# ---------------------------------------------------------------------- inverse mean maps
def _roundtrip_errors(dist: ExponentialFamily) -> tuple[float, float]:
    """Return the forward error of the shape parameters and the backward error of ``mu``.

    The inverse mean map returns natural parameters, so the round trip starts from the
    distribution those define (not from usual parameters kept more exactly than
    ``eta = alpha - 1`` holds them).
    """
    dist = type(dist).from_natural_params(dist.natural_params, **dist._fixed())
    mu = dist.mean_params
    back = type(dist).from_mean_params(mu)
    shift = 1.0  # Gamma/Beta/Dirichlet: eta + 1 holds the shapes
    e0, e1 = f64(dist.natural_params), f64(back.natural_params)
    if isinstance(dist, Gamma):
        e0, e1 = e0 + np.array([shift, 0.0]), e1 + np.array([shift, 0.0])
    else:
        e0, e1 = e0 + shift, e1 + shift
    forward = float(np.max(np.abs(e1 - e0) / np.abs(e0)))
    backward = float(
        np.max(np.abs(f64(back.mean_params) - f64(mu)) / np.abs(f64(mu)).max(-1, keepdims=True))
    )
    return forward, backward


@FEW
@given(shape=logu(1e-3, 1e4), rate=logu(1e-3, 1e3))
def test_gamma_inverse_mean_map_relative_error(shape: float, rate: float) -> None:
    """Round trip ``Gamma -> mean params -> Gamma`` of (shape, rate).

    ``1e-12`` up to shape 100. Beyond, the float mean parameters themselves fix the shape
    only to ``~ eps * 2 shape * |log E[x]|`` (the shape solves ``log a - psi(a) = s``
    with ``s = log E[x] - E[log x] ~ 1 / (2 a)`` computed from rounded inputs); the
    answer stays backward stable.
    """
    forward, backward = _roundtrip_errors(Gamma(shape=shape, rate=rate))
    mu = f64(Gamma(shape=shape, rate=rate).mean_params)
    conditioning = 8 * eps_of(np.float64) * 2 * shape * (1 + np.abs(mu).max())
    assert forward <= max(1e-12 if shape <= 100 else 0.0, conditioning)
    assert backward <= 16 * eps_of(np.float64)


@FEW
@given(a=logu(1e-3, 1e3), b=logu(1e-3, 1e3))
def test_beta_inverse_mean_map_relative_error(a: float, b: float) -> None:
    forward, backward = _roundtrip_errors(Beta(a=a, b=b))
    assert forward <= 1e-12
    assert backward <= 16 * eps_of(np.float64)


@FEW
@given(alpha=st.lists(logu(1e-3, 1e3), min_size=2, max_size=10))
def test_dirichlet_inverse_mean_map_relative_error(alpha: list[float]) -> None:
    forward, backward = _roundtrip_errors(Dirichlet(concentration=alpha))
    assert forward <= 1e-12
    assert backward <= 16 * eps_of(np.float64)


def test_inverse_mean_map_is_backward_stable_at_extreme_shapes() -> None:
    """Huge shapes are ill-conditioned (cond ~ shape): the answer is exact for a nearby mu."""
    for dist in (
        Gamma(shape=[1e-6, 1e8], rate=[1e-5, 1e5]),
        Beta(a=[1e-6, 1e7, 1e7], b=[1e7, 3e7, 1e-4]),
        Dirichlet(concentration=[[1e-5, 1e7, 3.0], [1e6, 2e6, 3e6]]),
    ):
        _, backward = _roundtrip_errors(dist)
        assert backward <= 16 * eps_of(np.float64), type(dist).__name__


def test_inverse_mean_map_batched_and_float32() -> None:
    d = Dirichlet(concentration=np.array([[[1.0, 2.0], [0.1, 40.0]], [[5.0, 5.0], [3.0, 0.2]]]))
    back = Dirichlet.from_mean_params(d.mean_params)
    assert back.batch_shape == (2, 2)
    assert_close(back.concentration, d.concentration, rtol_eps=1e-12 / eps_of(np.float64))
    g32 = Gamma(shape=np.array([0.5, 3.0], dtype=np.float32), rate=2.0)
    back32 = Gamma.from_mean_params(g32.mean_params)
    assert back32.dtype == np.float32
    assert_close(back32.shape, g32.shape, rtol_eps=64)


@pytest.mark.parametrize(
    ("family", "mu", "match"),
    [
        (Gamma, [0.0, 1.0], "Jensen"),  # E[log x] = log E[x]
        (Gamma, [1.0, 1.0], "Jensen"),
        (Gamma, [0.0, -1.0], "E\\[x\\] > 0"),
        (Beta, [-0.5, -0.9], "Jensen"),  # exp(-0.5) + exp(-0.9) > 1
        (Beta, [0.1, -3.0], "Jensen"),
        (Dirichlet, [-1.0, -1.0, -1.0], "Jensen"),
        (Normal, [1.0, 1.0], "E\\[x\\*\\*2\\] > E\\[x\\]\\*\\*2"),
        (Poisson, [-1.0], "non-negative"),
        (Exponential, [0.0], "positive"),
        (Geometric, [0.5], ">= 1"),
        (Bernoulli, [1.5], "`mean_params`"),
    ],
)
def test_mean_params_outside_the_domain_raise(
    family: type[ExponentialFamily], mu: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match) as info:
        family.from_mean_params(mu)
    assert "mean_params" in str(info.value)
    if family in (Gamma, Beta, Dirichlet, Normal, Poisson, Exponential, Geometric):
        assert isinstance(info.value, InfeasibleError)


def test_binomial_mean_params_outside_range_raise() -> None:
    with pytest.raises(InfeasibleError, match=r"\[0, n\]"):
        Binomial.from_mean_params([11.0], n=10)


def test_dual_solver_falls_back_to_scipy_when_newton_stops_early() -> None:
    dist = Dirichlet(concentration=[[0.02, 3.0, 50.0], [2.0, 2.0, 2.0]])
    mu = f64(dist.mean_params)
    init = np.full(mu.shape, 1.0)  # far from the solution, inside the domain
    eta = _dual.solve_dual(_beta_dirichlet._DIRICHLET, mu, init, max_iter=1)
    assert_close(eta + 1, f64(dist.concentration), rtol_eps=1e-11 / eps_of(np.float64))


def test_dual_solver_raises_convergence_error_with_diagnostics() -> None:
    # E[log x] > log E[x]: no gamma distribution has these moments (the domain check is
    # bypassed by calling the solver directly), so Newton and scipy both fail
    mu = np.array([[1.0, 1.0], [0.0, 2.0]])
    init = np.array([[0.0, -1.0], [0.0, -1.0]])
    with pytest.raises(ConvergenceError, match="mean_params") as info:
        _dual.solve_dual(gamma._GAMMA, mu, init)
    diag = info.value.diagnostics
    assert list(diag["indices"]) == [0]
    assert diag["mean_params"].shape == (1, 2)
    assert {"natural_params", "relative_step", "newton_iterations"} <= set(diag)


# ---------------------------------------------------------------------- construction, batching
def test_usual_parameters_read_back_and_batch() -> None:
    assert_close(Poisson(rate=[0.5, 3.0]).rate, [0.5, 3.0], rtol_eps=4)
    n = Normal(loc=[[0.0], [1.0]], scale=[1.0, 2.0, 3.0])
    assert n.batch_shape == (2, 3)
    assert n.natural_params.shape == (2, 3, 2)
    assert_close(n.scale, np.broadcast_to([1.0, 2.0, 3.0], (2, 3)), rtol_eps=4)
    g = Gamma(shape=[1.0, 2.0], rate=3.0)
    assert_close(g.shape, [1.0, 2.0], rtol_eps=4)
    assert_close(g.rate, [3.0, 3.0], rtol_eps=4)
    b = Beta(a=0.5, b=[1.0, 2.0])
    assert_close(b.a, [0.5, 0.5], rtol_eps=4)
    assert_close(Bernoulli(probs=0.25).probs, 0.25, rtol_eps=4)
    assert_close(Geometric(probs=0.25).probs, 0.25, rtol_eps=4)
    assert_close(Exponential(rate=4.0).rate, 4.0, rtol_eps=4)
    bi = Binomial(n=[5, 10], probs=0.5)
    assert bi.n.tolist() == [5, 10]
    assert bi.batch_shape == (2,)
    d = Dirichlet(concentration=np.ones((4, 3)))
    assert d.batch_shape == (4,)
    assert d.num_categories == 3


def test_natural_parameterisation_as_documented() -> None:
    cases: list[tuple[ExponentialFamily, list[float]]] = [
        (Bernoulli(probs=0.25), [np.log(1 / 3)]),
        (Binomial(n=3, probs=0.25), [np.log(1 / 3)]),
        (Poisson(rate=2.0), [np.log(2.0)]),
        (Geometric(probs=0.25), [np.log(0.75)]),
        (Exponential(rate=2.0), [-2.0]),
        (Normal(loc=1.0, scale=2.0), [0.25, -0.125]),
        (Gamma(shape=3.0, rate=2.0), [2.0, -2.0]),
        (Beta(a=3.0, b=0.5), [2.0, -0.5]),
        (Dirichlet(concentration=[3.0, 0.5, 1.0]), [2.0, -0.5, 0.0]),
    ]
    for dist, eta in cases:
        assert_close(dist.natural_params, eta, rtol_eps=4)
        rebuilt = type(dist).from_natural_params(eta, **dist._fixed())
        assert_close(rebuilt.mean_params, dist.mean_params, rtol_eps=8)
    # sufficient statistics
    assert_close(Normal(loc=0.0, scale=1.0).sufficient_statistic(3.0), [3.0, 9.0])
    assert_close(Gamma(shape=1.0, rate=1.0).sufficient_statistic(2.0), [np.log(2.0), 2.0])
    assert_close(Beta(a=1.0, b=1.0).sufficient_statistic(0.25), [np.log(0.25), np.log(0.75)])


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Poisson(rate=-1.0), "`rate` must be non-negative and finite; found -1.0"),
        (lambda: Poisson(rate=np.nan), "`rate`"),
        (lambda: Exponential(rate=0.0), "`rate` must be positive and finite; found 0.0"),
        (lambda: Normal(loc=0.0, scale=0.0), "`scale` must be positive and finite; found 0.0"),
        (lambda: Normal(loc=0.0, scale=-2.0), "`scale`.*-2.0"),
        (lambda: Normal(loc=np.inf, scale=1.0), "`loc` must be finite"),
        (lambda: Gamma(shape=-1.0, rate=1.0), "`shape` must be positive"),
        (lambda: Gamma(shape=1.0, rate=-3.0), "`rate` must be positive.*-3.0"),
        (lambda: Beta(a=0.0, b=1.0), "`a` must be positive"),
        (lambda: Dirichlet(concentration=[1.0, -0.5]), "`concentration`.*-0.5"),
        (lambda: Dirichlet(concentration=[1.0]), "K >= 2"),
        (lambda: Bernoulli(probs=1.5), r"`probs` must be a probability in \[0, 1\]; found 1.5"),
        (lambda: Bernoulli(probs=-0.1), "`probs`.*-0.1"),
        (lambda: Binomial(n=10, probs=2.0), "`probs`"),
        (lambda: Binomial(n=2.5, probs=0.5), "`n` must be a positive integer.*2.5"),
        (lambda: Binomial(n=-3, probs=0.5), "`n`.*-3.0"),
        (lambda: Binomial(n=0, probs=0.5), "`n`"),
        (lambda: Geometric(probs=0.0), r"`probs` must be a probability in \(0, 1\]"),
        (lambda: Geometric(probs=1.2), "`probs`"),
        (lambda: Normal(loc=[0.0, 1.0], scale=[1.0, 2.0, 3.0]), "do not broadcast"),
        (lambda: Gamma.from_natural_params([-1.5, -1.0]), r"natural_params\[..., 0\]"),
        (lambda: Gamma.from_natural_params([1.0, 1.0, 1.0]), r"batch_shape \+ \(2,\)"),
        (lambda: Normal.from_natural_params([0.0, 0.5]), r"natural_params\[..., 1\]"),
        (lambda: Exponential.from_natural_params([1.0]), "negative"),
        (lambda: Geometric.from_natural_params([0.0]), "negative"),
        (lambda: Poisson.from_natural_params([np.inf]), "below \\+inf"),
        (lambda: Beta.from_natural_params([np.nan, 0.0]), "nan"),
    ],
)
def test_bad_parameters_raise_clear_errors(build: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_kinds_and_fixed_parameters() -> None:
    with pytest.raises(TypeError, match="complex"):
        Poisson(rate=1j)
    with pytest.raises(TypeError, match="exactly one"):
        Bernoulli()
    with pytest.raises(TypeError, match="exactly one"):
        Binomial(n=3, probs=0.5, logits=0.0)
    with pytest.raises(TypeError, match="`n`"):
        Binomial.from_natural_params([0.0])
    with pytest.raises(TypeError, match="no fixed parameters"):
        Poisson.from_natural_params([0.0], n=3)
    with pytest.raises(ValueError, match="does not broadcast"):
        Binomial.from_natural_params([[0.0], [1.0]], n=[1, 2, 3])
    with pytest.raises(ValueError, match="same known parameters"):
        Binomial(n=3, probs=0.5).kl_divergence(Binomial(n=4, probs=0.5))
    with pytest.raises(TypeError, match="must be a Poisson"):
        Poisson(rate=1.0).kl_divergence(Exponential(rate=1.0))


@pytest.mark.parametrize(
    ("dist", "x", "inside"),
    [
        (Poisson(rate=1.0), [-1, 1.5, np.inf, 2], [False, False, False, True]),
        (Bernoulli(probs=0.5), [2, 0.5, -1, 1], [False, False, False, True]),
        (Binomial(n=3, probs=0.5), [4, -1, 2.5, 3], [False, False, False, True]),
        (Geometric(probs=0.5), [0, 1.5, np.inf, 1], [False, False, False, True]),
        (Exponential(rate=1.0), [-0.1, np.inf, -np.inf, 0.0], [False, False, False, True]),
        (Gamma(shape=2.0, rate=1.0), [-1.0, np.inf, -1e-300, 0.5], [False, False, False, True]),
        (Beta(a=2.0, b=2.0), [1.5, -0.1, np.inf, 0.5], [False, False, False, True]),
        (Normal(loc=0.0, scale=1.0), [np.inf, -np.inf, np.inf, 0.0], [False, False, False, True]),
    ],
)
def test_log_prob_outside_the_support_is_minus_inf_and_nan_stays_nan(
    dist: ExponentialFamily, x: Any, inside: list[bool]
) -> None:
    # probability 0 is an answer, as in scipy.stats; nan propagates as in the kernels
    with np.errstate(all="raise"):
        lp = dist.log_prob(x)
        at_nan = dist.log_prob([np.nan, x[-1]])
    assert np.all(lp[~np.array(inside)] == -np.inf)
    assert np.all(lp[np.array(inside)] > -np.inf)
    assert np.isnan(at_nan[0])
    assert at_nan[1] == lp[-1]
    # T(x) has no value outside the support: fitting such data is an error
    with pytest.raises(ValueError, match="`x`"):
        dist.sufficient_statistic(x)


def test_a_batch_member_whose_support_misses_an_outcome_gives_minus_inf() -> None:
    lp = Binomial(n=[5, 10], probs=0.5).log_prob(7)
    assert lp[0] == -np.inf
    assert_close(lp[1], stats.binom(10, 0.5).logpmf(7), rtol_eps=8)


@pytest.mark.parametrize(
    ("dist", "x", "match"),
    [
        (Dirichlet(concentration=[1.0, 1.0]), [0.5, 0.6], "simplex"),
        (Dirichlet(concentration=[1.0, 1.0]), [0.5, 0.25, 0.25], r"\(2,\)"),
    ],
)
def test_outcomes_that_are_not_compositions_raise(
    dist: ExponentialFamily, x: Any, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        dist.log_prob(x)


# ---------------------------------------------------------------------- boundary members
def test_boundary_members_are_exact_limits() -> None:
    b = Bernoulli(probs=[0.0, 1.0])
    assert b.logits.tolist() == [-np.inf, np.inf]
    np.testing.assert_array_equal(b.log_prob([[0, 1], [1, 0]]), [[0.0, 0.0], [-np.inf, -np.inf]])
    np.testing.assert_array_equal(b.entropy(), [0.0, 0.0])
    np.testing.assert_array_equal(b.kl_divergence(b), [0.0, 0.0])
    np.testing.assert_array_equal(b.kl_divergence(Bernoulli(probs=[0.5, 0.5])), np.log([2, 2]))
    np.testing.assert_array_equal(b.kl_divergence(Bernoulli(probs=[1.0, 0.0])), [np.inf, np.inf])
    bi = Binomial(n=4, probs=[0.0, 1.0])
    np.testing.assert_array_equal(bi.log_prob([[0, 4]]), [[0.0, 0.0]])
    np.testing.assert_array_equal(bi.entropy(), [0.0, 0.0])
    g = Geometric(probs=1.0)
    assert float(g.log_prob(1)) == 0.0
    assert float(g.log_prob(2)) == -np.inf
    assert float(g.entropy()) == 0.0
    assert float(g.kl_divergence(g)) == 0.0
    assert_close(g.kl_divergence(Geometric(probs=0.5)), np.log(2.0))
    p = Poisson(rate=0.0)
    assert float(p.log_prob(0)) == 0.0
    assert float(p.entropy()) == 0.0
    assert_close(p.kl_divergence(Poisson(rate=2.5)), 2.5)
    assert float(Poisson(rate=2.5).kl_divergence(p)) == np.inf
    assert float(Bernoulli.fit([0, 0, 0]).probs) == 0.0


def test_samples_stay_in_the_open_support() -> None:
    g = Gamma(shape=np.float32(1e-3), rate=1.0).sample(2000, rng=0)
    assert g.dtype == np.float32
    assert np.all(g > 0)
    b = Beta(a=2000.0, b=np.float32(0.05)).sample(2000, rng=0)
    assert np.all((b > 0) & (b < 1))
    d = Dirichlet(concentration=np.array([0.01, 0.01, 5.0], dtype=np.float32)).sample(2000, rng=0)
    assert np.all(d > 0)
    assert np.all(np.isfinite(Dirichlet(concentration=[0.01, 0.01, 5.0]).log_prob(d)))


def test_float32_in_float32_out() -> None:
    dists: list[ExponentialFamily] = [
        Bernoulli(probs=np.float32(0.3)),
        Binomial(n=5, probs=np.float32(0.3)),
        Poisson(rate=np.float32(2.0)),
        Geometric(probs=np.float32(0.3)),
        Exponential(rate=np.float32(2.0)),
        Normal(loc=np.float32(0.0), scale=2.0),
        Gamma(shape=np.float32(2.0), rate=1.0),
        Beta(a=np.float32(2.0), b=1.0),
        Dirichlet(concentration=np.array([1.0, 2.0], dtype=np.float32)),
    ]
    for d in dists:
        assert d.dtype == np.float32
        x = d.sample(3, rng=0)
        for value in (
            d.log_prob(x),
            d.entropy(),
            d.mean(),  # type: ignore[attr-defined]
            d.variance(),  # type: ignore[attr-defined]
            d.mean_params,
            d.fisher_information(),
            d.kl_divergence(d),
        ):
            assert value.dtype == np.float32, type(d).__name__
    assert Normal(loc=0.0, scale=1.0).dtype == np.float64
    assert Poisson(rate=[1, 2]).dtype == np.float64


# ---------------------------------------------------------------------- review regressions
def test_small_shapes_keep_their_precision_on_construction() -> None:
    # stored as eta = alpha - 1, (1e-10 - 1) + 1 used to round to 1.00000008e-10
    assert float(Gamma(1e-10, 1.0).shape) == 1e-10
    assert float(Beta(1e-8, 1.0).a) == 1e-8
    assert Dirichlet([1e-10, 1.0]).concentration.tolist() == [1e-10, 1.0]
    assert float(Beta(a=np.float32(1e-8), b=1.0).a) == float(np.float32(1e-8))
    # entropies from the kept parameters (mpmath, 50 digits)
    assert_close(Gamma(1e-10, 1.0).entropy(), -9999999976.551365, rtol_eps=8)
    assert_close(Beta(1e-8, 1e-8).entropy(), -99999979.8861721063, rtol_eps=8)
    # natural parameters stay the derived alpha - 1, and rebuild from them
    g = Gamma(1e-10, 1.0)
    assert_close(g.natural_params, [1e-10 - 1, -1.0], rtol_eps=1)
    assert abs(float(Gamma.from_natural_params(g.natural_params).shape) - 1e-10) < 1e-16


@pytest.mark.parametrize(
    ("loc", "scale"),
    [(0.0, 1e-200), (0.0, 1e-160), (np.float32(0), np.float32(1e-20)), (1e10, 1e-150)],
)
def test_normal_extreme_scales_raise_naming_the_parameter(loc: Any, scale: Any) -> None:
    name = "loc" if loc else "scale"
    with pytest.raises(ValueError, match=rf"`{name}` must be .*(in \[|at most)"):
        Normal(loc, scale)


def test_normal_extreme_scales_work_where_representable() -> None:
    wide = Normal(0.0, 1e160)
    assert float(wide.scale) == 1e160
    assert_close(wide.entropy(), 0.5 + 0.5 * np.log(2 * np.pi) + np.log(1e160))
    assert_close(wide.log_prob(0.0), -0.5 * np.log(2 * np.pi) - np.log(1e160))
    assert float(wide.kl_divergence(wide)) == 0.0
    far = Normal(1e155, 1.0)
    assert_close(far.log_prob(1e155), -0.5 * np.log(2 * np.pi))
    assert_close(far.kl_divergence(Normal(1e155, 2.0)), np.log(2) + 1 / 8 - 0.5)
    with pytest.raises(ValueError, match=r"loc=1e\+155.*overflow"):
        far.mean_params  # noqa: B018 - E[x**2] = 1e310
    with pytest.raises(ValueError, match="overflow"):
        wide.fisher_information()
    tiny = Normal(0.0, 1e-150)
    assert float(tiny.scale) == 1e-150
    assert_close(tiny.log_prob(1e-150), -0.5 - 0.5 * np.log(2 * np.pi) - np.log(1e-150))


@pytest.mark.parametrize("x", [[[0.2, 0.3, 0.5]], [[0.2, 0.3, 0.5]] * 4])
def test_dirichlet_fit_without_spread_raises(x: Any) -> None:
    with pytest.raises(InfeasibleError, match="does not exist"):
        Dirichlet.fit(x)
    with pytest.raises(InfeasibleError, match="does not exist"):
        Beta.fit([0.3, 0.3, 0.3])


def _kl_exponential_ref(lp: float, lq: float) -> float:
    import mpmath

    mpmath.mp.dps = 50
    r = mpmath.mpf(lq) / mpmath.mpf(lp)
    return float(r - 1 - mpmath.log(r))


def _kl_gamma_ref(ap: float, bp: float, aq: float, bq: float) -> float:
    import mpmath

    mpmath.mp.dps = 50
    ap_, bp_, aq_, bq_ = (mpmath.mpf(v) for v in (ap, bp, aq, bq))
    return float(
        (ap_ - aq_) * mpmath.digamma(ap_)
        - mpmath.loggamma(ap_)
        + mpmath.loggamma(aq_)
        + aq_ * (mpmath.log(bp_) - mpmath.log(bq_))
        + ap_ * (bq_ - bp_) / bp_
    )


def _kl_bernoulli_ref(eta_p: float, eta_q: float) -> float:
    """KL between Bernoulli distributions given by their (exact, stored) logits."""
    import mpmath

    mpmath.mp.dps = 50
    p_ = 1 / (1 + mpmath.exp(-mpmath.mpf(eta_p)))
    q_ = 1 / (1 + mpmath.exp(-mpmath.mpf(eta_q)))
    return float(p_ * mpmath.log(p_ / q_) + (1 - p_) * mpmath.log((1 - p_) / (1 - q_)))


def _kl_geometric_ref(p: ExponentialFamily, q: ExponentialFamily) -> float:
    """KL between geometric distributions from their stored eta = log(1 - probs)."""
    import mpmath

    mpmath.mp.dps = 50
    qp = mpmath.exp(mpmath.mpf(float(p.natural_params[0])))
    qq = mpmath.exp(mpmath.mpf(float(q.natural_params[0])))
    pp, pq = 1 - qp, 1 - qq
    return float(mpmath.log(pp / pq) + qp / pp * mpmath.log(qp / qq))


def _kl_beta_ref(a: float, b: float, c: float, d: float) -> float:
    import mpmath

    mpmath.mp.dps = 50
    a_, b_, c_, d_ = (mpmath.mpf(v) for v in (a, b, c, d))

    def lb(x: Any, y: Any) -> Any:
        return mpmath.loggamma(x) + mpmath.loggamma(y) - mpmath.loggamma(x + y)

    return float(
        lb(c_, d_)
        - lb(a_, b_)
        + (a_ - c_) * mpmath.digamma(a_)
        + (b_ - d_) * mpmath.digamma(b_)
        + (c_ - a_ + d_ - b_) * mpmath.digamma(a_ + b_)
    )


def test_kl_between_nearby_distributions_does_not_cancel() -> None:
    assert_close(
        Exponential(3.0).kl_divergence(Exponential(3.000001)),
        _kl_exponential_ref(3.0, 3.000001),
        rtol_eps=8,
    )
    for ap, bp, aq, bq in [(2.5, 1.0, 2.500001, 1.0), (2.5, 1.0, 2.500001, 1.000001), (0.3, 2.0, 0.30001, 2.0)]:  # fmt: skip  # noqa: E501
        assert_close(
            Gamma(ap, bp).kl_divergence(Gamma(aq, bq)), _kl_gamma_ref(ap, bp, aq, bq), rtol_eps=16
        )
    # references from the stored natural parameters (logits; log(1 - p) for Geometric)
    p, q = Bernoulli(probs=0.3), Bernoulli(probs=0.300001)
    ref = _kl_bernoulli_ref(float(p.logits), float(q.logits))
    assert_close(p.kl_divergence(q), ref, rtol_eps=16)
    assert_close(
        Binomial(20, probs=0.3).kl_divergence(Binomial(20, probs=0.300001)), 20 * ref, rtol_eps=16
    )
    g, h = Geometric(probs=0.2), Geometric(probs=0.200001)
    assert_close(g.kl_divergence(h), _kl_geometric_ref(g, h), rtol_eps=16)
    for a, b, c, d in [(2.0, 3.0, 2.000001, 3.0), (2.0, 3.0, 2.000001, 3.000001), (50.0, 80.0, 50.001, 80.0)]:  # fmt: skip  # noqa: E501
        assert_close(Beta(a, b).kl_divergence(Beta(c, d)), _kl_beta_ref(a, b, c, d), rtol_eps=32)
    # tiny shapes: the series is shifted by the recurrence (polygammas of 1e-30 overflow)
    assert_close(Gamma(1e-30, 1.0).kl_divergence(Gamma(1.1e-30, 1.0)), 0.004689820195675124)
    dp, dq = Dirichlet([2.0, 3.0]), Dirichlet([2.000001, 3.0])
    assert_close(dp.kl_divergence(dq), _kl_beta_ref(2.0, 3.0, 2.000001, 3.0), rtol_eps=32)
    # cross-entropy at large parameters is H + KL (the generic form lost 8 digits)
    with mpmath.workdps(60):
        ap, bp, aq, bq = map(mpmath.mpf, (1e8, 1.0, 1e8, 1.0000001))
        e_log, e_x = mpmath.digamma(ap) - mpmath.log(bp), ap / bp
        ce = -(aq * mpmath.log(bq) - mpmath.loggamma(aq) + (aq - 1) * e_log - bq * e_x)
    assert_close(Gamma(1e8, 1.0).cross_entropy(Gamma(1e8, 1.0000001)), float(ce), rtol_eps=8)
    # Normal: nearly equal scales (the KL is ~d**2; expm1(2 log r) - 2 log r lost it)
    for sp, sq in [(1.0, 1.0 + 1e-9), (1.0, 1.0 + 1e-14), (3e10, 3e10 * (1 - 1e-12))]:
        with mpmath.workdps(50):
            rho = mpmath.mpf(sp) / mpmath.mpf(sq)
            ref = float((rho**2 - 1 - 2 * mpmath.log(rho)) / 2)
        assert_close(Normal(1.0, sp).kl_divergence(Normal(1.0, sq)), ref, rtol_eps=8)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: Normal([0.0, 1.0], 1.0).log_prob([0.0, 1.0, 2.0]),
            r"`x` with shape \(3,\).*\(2,\)",
        ),
        (
            lambda: Gamma([1.0, 1.0], 1.0).log_prob([0.0, 1.0, 2.0]),
            r"`x` with shape \(3,\).*\(2,\)",
        ),
        (lambda: Exponential([1.0, 2.0]).log_prob([1.0, 2.0, 3.0]), r"`x`.*batch shape \(2,\)"),
        (lambda: Beta([1.0, 2.0], 1.0).log_prob([0.1, 0.2, 0.3]), r"`x`.*batch shape \(2,\)"),
        (lambda: Poisson([1.0, 2.0]).log_prob([1, 2, 3]), r"`x`.*batch shape \(2,\)"),
        (lambda: Binomial(3, probs=[0.2, 0.3]).log_prob([1, 2, 3]), r"`x`.*batch shape \(2,\)"),
        (lambda: Bernoulli(probs=[0.2, 0.3]).log_prob([1, 0, 1]), r"`x`.*batch shape \(2,\)"),
        (lambda: Geometric(probs=[0.2, 0.3]).log_prob([1, 2, 3]), r"`x`.*batch shape \(2,\)"),
        (lambda: Dirichlet(np.ones((2, 2))).log_prob(np.full((3, 2), 0.5)), r"`x`.*\(2,\)"),
        (
            lambda: Binomial(n=[1, 2], probs=[0.5, 0.5, 0.5]),
            r"`n` with shape \(2,\) and `probs` with shape \(3,\)",
        ),
    ],
)
def test_shape_mismatches_name_the_argument(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    ("family", "x", "match"),
    [
        (Gamma, [0.0, 1.0], "`x` contains 0.*Gamma MLE needs x > 0"),
        (Beta, [0.0, 0.5], "`x` contains 0.0.*Beta MLE needs 0 < x < 1"),
        (Beta, [0.5, 1.0], "`x` contains 1.0"),
        (Dirichlet, [[0.0, 1.0], [0.5, 0.5]], "`x` has a component equal to 0"),
        (Exponential, [0.0, 0.0], "`x` is all 0"),
        (Gamma, [1.0, 1.0], "`x` has no spread"),
    ],
)
def test_fit_errors_blame_the_data(family: Any, x: Any, match: str) -> None:
    with pytest.raises(InfeasibleError, match=match):
        family.fit(x)


@pytest.mark.parametrize(
    "family", [Poisson, Exponential, Normal, Gamma, Beta, Bernoulli, Geometric]
)
def test_fit_unexpected_keyword_is_a_clear_type_error(family: Any) -> None:
    with pytest.raises(
        TypeError, match=rf"{family.__name__}\.fit\(\) got unexpected keyword.*`n`"
    ):
        family.fit([1, 2], n=3)


def test_probs_and_logits_are_keyword_only() -> None:
    with pytest.raises(TypeError, match="positional"):
        Bernoulli(0.3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        Binomial(10, 0.3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        Geometric(0.3)  # type: ignore[call-arg]
    assert float(Binomial(10, probs=0.3).mean()) == pytest.approx(3.0)


def test_support_messages_and_weight_values() -> None:
    with pytest.raises(ValueError, match=r"support \{0, 1\} of a Bernoulli"):
        Bernoulli.fit([0, 2])
    with pytest.raises(ValueError, match=r"support \{0, 1, 2, \.\.\.\} of a Poisson"):
        Poisson.fit([-1, 2])
    with pytest.raises(ValueError, match=r"support \{1, 2, 3, \.\.\.\} of a Geometric"):
        Geometric.fit([0, 1])
    with pytest.raises(ValueError, match=r"support \{0, \.\.\., n\} of a Binomial"):
        Binomial.fit([4, 1], n=3)
    with pytest.raises(
        ValueError, match=r"`weights` must be finite and non-negative; found -2\.0"
    ):
        Normal.fit([1.0, 2.0], weights=[1.0, -2.0])


def test_no_negative_zeros() -> None:
    for value in (
        Geometric(probs=1.0).entropy(),
        Bernoulli(probs=0.0).log_prob(0),
        Bernoulli(probs=1.0).log_prob(1),
        Binomial(3, probs=0.0).log_prob(0),
        Geometric(probs=1.0).log_prob(1),
        Poisson(rate=0.0).log_prob(0),
        Geometric(probs=1.0).kl_divergence(Geometric(probs=1.0)),
    ):
        assert float(value) == 0.0
        assert not np.signbit(value), value


def test_zero_weight_observation_outside_the_open_support_is_ignored_by_fit() -> None:
    # Regression: the generic fit used tensordot, so 0 * T(0) = 0 * (-inf) made a nan.
    from expfam import Gamma

    weighted = Gamma.fit([0.0, 1.0, 2.0, 4.0], weights=[0.0, 1.0, 1.0, 1.0])
    plain = Gamma.fit([1.0, 2.0, 4.0])
    np.testing.assert_allclose(weighted.natural_params, plain.natural_params, rtol=1e-13)


def test_gamma_fit_of_data_with_a_small_relative_spread() -> None:
    # s = log E[x] - E[log x] cancels in the mean parameters: 1e-6 spread lost every
    # digit and 1e-8 raised; the fit computes s as a sum of non-negative terms
    def mle_shape(x: Any, w: Any) -> float:
        with mpmath.workdps(60):
            xs, ws = [mpmath.mpf(float(v)) for v in x], [mpmath.mpf(float(v)) for v in w]
            tot = sum(ws)
            m = sum(wi * xi for wi, xi in zip(ws, xs, strict=True)) / tot
            elog = sum(wi * mpmath.log(xi) for wi, xi in zip(ws, xs, strict=True)) / tot
            s = mpmath.log(m) - elog
            return float(
                mpmath.findroot(lambda a: mpmath.log(a) - mpmath.digamma(a) - s, 1 / (2 * s))
            )

    rng = np.random.default_rng(8)
    for cv in (1e-2, 1e-4, 1e-6, 1e-8):
        x = 1.0 + cv * rng.standard_normal(200)
        w = rng.uniform(0.5, 2.0, 200)
        w[3] = 0.0
        x[3] = 1e300  # a zero-weight observation is ignored, however far out
        fitted = Gamma.fit(x, weights=w)
        assert_close(fitted.shape, mle_shape(np.delete(x, 3), np.delete(w, 3)), rtol_eps=8)
        m = np.average(np.delete(x, 3), weights=np.delete(w, 3))
        assert_close(fitted.rate, float(fitted.shape) / m, rtol_eps=4)
    batch = Gamma.fit(1.0 + 1e-6 * rng.standard_normal((300, 2)))
    assert batch.batch_shape == (2,)
