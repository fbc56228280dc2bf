"""Registry cases (see ``tests/registry.py``) for the nine everyday families.

Each case draws parameters log-uniformly over several regimes, supplies a quadrature
over the support (enumeration for the discrete families; Gauss-Hermite for the
normal; the trapezoidal rule on a log or logit scale, exponentially convergent for
these analytic integrands, for the others), ``scipy.stats`` oracles, hand-picked
extreme members and finite-difference steps scaled to the distance from the
boundary of the natural domain.

Representation limits that shape the cases: a beta distribution has about
``(a eps)**b`` of its mass within one ulp of ``x = 1``, which no float ``x``
resolves (so neither a quadrature nor the sample mean of ``log(1 - x)`` can be
accurate there); the beta case keeps ``b >= 1`` (with ``a <= 2e3``), and small
``b`` is covered by the two-category Dirichlet, which takes the whole vector ``x``
(whose small coordinates are exact), and by ``tests/test_families.py``. The
``K = 3`` Dirichlet case uses a tensor (stick-breaking) rule and moderate
concentrations; the general case (``K`` up to 8) has no quadrature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from expfam import (
    Bernoulli,
    Beta,
    Binomial,
    Dirichlet,
    Exponential,
    ExponentialFamily,
    Gamma,
    Geometric,
    NegativeBinomial,
    Normal,
    Poisson,
)
from tests.registry import FamilyCase

__all__ = ["CASES"]

F64 = NDArray[np.float64]
Quad = tuple[NDArray[Any], NDArray[Any]]


def logu(rng: np.random.Generator, lo: float, hi: float, shape: tuple[int, ...]) -> F64:
    """Log-uniform draws in ``[lo, hi]``."""
    return f64(np.exp(rng.uniform(np.log(lo), np.log(hi), size=shape)))


def f64(a: Any) -> F64:
    out: F64 = np.asarray(a, dtype=np.float64)
    return out


# ---------------------------------------------------------------------- quadrature helpers
def _cutoff(g: Callable[[F64], F64], peak: F64, bound: F64, gmax: F64, drop: float) -> F64:
    """The point between `peak` and `bound` where the unimodal `g` falls to ``gmax - drop``."""
    a, b = bound.copy(), peak.copy()  # g(a) low (or a is the bound), g(b) high
    for _ in range(100):
        m = 0.5 * (a + b)
        high = g(m) > gmax - drop
        b = np.where(high, m, b)
        a = np.where(high, a, m)
    return f64(a)


def trapezoid_1d(
    g: Callable[[F64], F64],
    peak: F64,
    sd: F64,
    lo: float,
    hi: float,
    *,
    max_step: float = 0.25,
    max_nodes: int = 6000,
) -> tuple[F64, F64]:
    """Return trapezoidal nodes ``t`` (``(n,) + batch``) and weights ``h``, per element.

    The interval is where the log-integrand `g` (unimodal, maximal at `peak`, curvature
    scale `sd`) is within 45 of its maximum, clipped to ``[lo, hi]``. The rule converges
    like ``exp(-2 pi d / h)`` for an integrand analytic in the strip ``|Im t| < d``
    (``d`` about ``pi / 2`` for the double-exponential tails of a gamma density on the
    log scale, and of a beta density with a large parameter on the logit scale), so
    the step is at most 0.25.
    """
    gmax = g(peak)
    left = _cutoff(g, peak, np.full(peak.shape, lo), gmax, 45.0)
    right = _cutoff(g, peak, np.full(peak.shape, hi), gmax, 45.0)
    step = np.minimum(max_step, sd / 10)
    n = int(np.clip(np.max(np.ceil((right - left) / step)) + 1, 64, max_nodes))
    frac = np.linspace(0.0, 1.0, n).reshape((n,) + (1,) * peak.ndim)
    t = left + (right - left) * frac
    h = np.broadcast_to((right - left) / (n - 1), t.shape).copy()
    h[0] *= 0.5
    h[-1] *= 0.5
    return t, h


def gamma_quadrature(dist: ExponentialFamily) -> Quad:
    """Trapezoid in ``t = log x`` for a Gamma (or Exponential, shape 1)."""
    if isinstance(dist, Gamma):
        a, b = f64(dist.shape), f64(dist.rate)
    else:
        assert isinstance(dist, Exponential)
        b = f64(dist.rate)
        a = np.ones_like(b)

    def g(t: F64) -> F64:
        with np.errstate(over="ignore"):
            return np.asarray(a * t - b * np.exp(t))

    peak = np.log(a / b)
    t, h = trapezoid_1d(g, peak, 1 / np.sqrt(a), np.log(1e-300), np.log(1e300))
    x = np.exp(t)
    return x, h * x


def _logit_rule(a: F64, b: F64, hi: float, max_nodes: int = 6000) -> tuple[F64, F64]:
    """Trapezoid in ``t = logit x`` for the beta kernel ``x**a (1-x)**b`` (with dx = x(1-x) dt)."""

    def g(t: F64) -> F64:
        return np.asarray(a * t - (a + b) * np.logaddexp(0, t))

    return trapezoid_1d(g, np.log(a / b), np.sqrt(1 / a + 1 / b), -690.0, hi, max_nodes=max_nodes)


def beta_quadrature(dist: ExponentialFamily) -> Quad:
    assert isinstance(dist, Beta)
    t, h = _logit_rule(f64(dist.a), f64(dist.b), 36.0)
    x = special.expit(t)
    return x, h * x * special.expit(-t)


def dirichlet2_quadrature(dist: ExponentialFamily) -> Quad:
    assert isinstance(dist, Dirichlet)
    al = f64(dist.concentration)
    t, h = _logit_rule(al[..., 0], al[..., 1], 690.0)
    x1, x2 = special.expit(t), special.expit(-t)
    return np.stack([x1, x2], axis=-1), h * x1 * x2


def dirichlet3_quadrature(dist: ExponentialFamily) -> Quad:
    """Stick-breaking tensor rule: ``x = (v1, (1-v1) v2, (1-v1)(1-v2))``."""
    assert isinstance(dist, Dirichlet)
    al = f64(dist.concentration)
    # at most 300**2 nodes: the step stays below 0.25 for concentrations >= 1.5
    t1, h1 = _logit_rule(al[..., 0], al[..., 1] + al[..., 2], 690.0, max_nodes=300)
    t2, h2 = _logit_rule(al[..., 1], al[..., 2], 690.0, max_nodes=300)
    n1, n2 = t1.shape[0], t2.shape[0]
    t1, h1 = t1[:, None], h1[:, None]
    t2, h2 = t2[None, :], h2[None, :]
    x1, r = special.expit(t1), special.expit(-t1)
    s2, c2 = special.expit(t2), special.expit(-t2)
    x = np.stack(np.broadcast_arrays(x1, r * s2, r * c2), axis=-1)
    w = h1 * h2 * x1 * r * r * s2 * c2
    batch = al.shape[:-1]
    return x.reshape((n1 * n2, *batch, 3)), w.reshape((n1 * n2, *batch))


def normal_quadrature(dist: ExponentialFamily) -> Quad:
    """Gauss-Hermite (exact for the polynomial-times-Gaussian integrands involved)."""
    assert isinstance(dist, Normal)
    z, wz = special.roots_hermite(40)
    nb = len(dist.batch_shape)
    z = z.reshape((-1,) + (1,) * nb)
    wz = wz.reshape((-1,) + (1,) * nb)
    m, s = f64(dist.loc), f64(dist.scale)
    x = m + np.sqrt(2) * s * z
    return x, wz * np.exp(z * z) * np.sqrt(2) * s


def enumerate_quadrature(lo: int, hi: int, nb: int) -> Quad:
    x = np.arange(lo, hi + 1).reshape((-1,) + (1,) * nb)
    return x, np.ones(x.shape)


def poisson_quadrature(dist: ExponentialFamily) -> Quad:
    assert isinstance(dist, Poisson)
    lam = f64(dist.rate)
    return enumerate_quadrature(0, poisson_top(lam), len(dist.batch_shape))


def poisson_top(lam: F64) -> int:
    """Largest count needed: Bernstein bounds the mass above by ``e**-45``."""
    big_l = 45.0
    return int(np.max(lam + big_l / 3 + np.sqrt(big_l**2 / 9 + 2 * big_l * lam))) + 2


def geometric_quadrature(dist: ExponentialFamily) -> Quad:
    assert isinstance(dist, Geometric)
    p = f64(dist.probs)
    top = int(np.max(np.ceil(np.log(1e-18) / np.log1p(-p)))) + 2
    return enumerate_quadrature(1, top, len(dist.batch_shape))


def negative_binomial_quadrature(dist: ExponentialFamily) -> Quad:
    assert isinstance(dist, NegativeBinomial)
    r, p = f64(dist.r), f64(dist.probs)
    top = int(np.max(stats.nbinom.isf(1e-20, r, p))) + 2
    return enumerate_quadrature(0, top, len(dist.batch_shape))


def binomial_quadrature(dist: ExponentialFamily) -> Quad:
    """``0..max(n)``; nodes past an element's own ``n`` are clamped to it with weight 0."""
    assert isinstance(dist, Binomial)
    n = f64(dist.n)
    k = np.arange(int(np.max(n)) + 1, dtype=np.float64).reshape((-1,) + (1,) * n.ndim)
    w = (k <= n).astype(np.float64)
    return np.minimum(k, n), w


# ---------------------------------------------------------------------- makers
def make_bernoulli(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Bernoulli:
    scale = rng.choice([1.0, 5.0, 30.0])
    return Bernoulli(logits=(rng.normal(size=shape) * scale).astype(dtype))


def _binomial_logits(rng: np.random.Generator, shape: tuple[int, ...]) -> F64:
    return f64(rng.normal(size=shape) * rng.choice([1.0, 4.0, 12.0]))


def make_binomial(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Binomial:
    n = np.round(logu(rng, 1, 3000, shape)).astype(np.int64)
    return Binomial(n=n, logits=_binomial_logits(rng, shape).astype(dtype))


def make_other_binomial(rng: np.random.Generator, dist: ExponentialFamily) -> Binomial:
    assert isinstance(dist, Binomial)
    return Binomial(n=dist.n, logits=_binomial_logits(rng, dist.batch_shape).astype(dist.dtype))


def make_poisson(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Poisson:
    hi = rng.choice([10.0, 1e3, 3e4])
    return Poisson(rate=logu(rng, 1e-3, hi, shape).astype(dtype))


def make_geometric(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Geometric:
    return Geometric(probs=logu(rng, 1e-3, 0.99, shape).astype(dtype))


def scipy_negative_binomial_entropy(dist: ExponentialFamily) -> F64:
    """``-sum pmf log pmf`` of scipy's logpmf up to the 1e-20 quantile (its own sum warns)."""
    d = _as(NegativeBinomial, dist)
    r, p = f64(d.r), f64(d.probs)
    top = int(np.max(stats.nbinom.isf(1e-20, r, p))) + 2
    k = np.arange(top, dtype=np.float64).reshape((-1,) + (1,) * r.ndim)
    lp = stats.nbinom.logpmf(k, r, p)
    return f64(-(np.exp(lp) * lp).sum(axis=0))


def make_negative_binomial(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: Any
) -> NegativeBinomial:
    r = logu(rng, 0.3, 30.0, shape)
    return NegativeBinomial(r=r, probs=logu(rng, 0.02, 0.99, shape).astype(dtype))


def make_other_negative_binomial(
    rng: np.random.Generator, dist: ExponentialFamily
) -> NegativeBinomial:
    assert isinstance(dist, NegativeBinomial)
    probs = logu(rng, 0.02, 0.99, dist.batch_shape).astype(dist.dtype)
    return NegativeBinomial(r=f64(dist.r), probs=probs)


def negative_binomial_edges(dtype: Any) -> list[ExponentialFamily]:
    return [NegativeBinomial(r=[0.5, 2.0, 40.0], probs=np.array([0.05, 0.5, 1.0], dtype=dtype))]


def make_exponential(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Exponential:
    return Exponential(rate=logu(rng, 1e-3, 1e3, shape).astype(dtype))


def make_normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Normal:
    scale = logu(rng, 1e-3, 1e3, shape)
    ratio = rng.choice([0.0, 1.0, 30.0, 1e3])
    loc = scale * ratio * rng.normal(size=shape) + rng.normal(size=shape)
    return Normal(loc=loc.astype(dtype), scale=scale.astype(dtype))


def shapes(values: F64, dtype: Any) -> NDArray[Any]:
    """Shape parameters in `dtype` whose natural parameters ``alpha - 1`` are exact.

    A distribution built from usual parameters computes from them, while the law
    oracles rebuild it from its natural parameters (``as64``); snapping ``alpha`` to
    ``fl(1 + fl(alpha - 1))`` makes both the same distribution (``alpha - 1`` is then
    exact: Sterbenz for ``alpha`` in [0.5, 2], the grid of ``eta`` below and above).
    """
    dt = np.dtype(dtype)
    eta = np.asarray(values, dtype=dt) - dt.type(1)
    return np.asarray(eta + dt.type(1), dtype=dt)


def make_gamma(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Gamma:
    hi = rng.choice([2.0, 100.0, 1e4])
    return Gamma(
        shape=shapes(logu(rng, 0.05, hi, shape), dtype),
        rate=logu(rng, 1e-2, 1e2, shape).astype(dtype),
    )


def make_beta(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Beta:
    return Beta(
        a=shapes(logu(rng, 0.05, 2e3, shape), dtype), b=shapes(logu(rng, 1.0, 2e3, shape), dtype)
    )


def _dirichlet(
    rng: np.random.Generator, shape: tuple[int, ...], k: int, lo: float, hi: float
) -> F64:
    top = rng.choice([hi, np.sqrt(lo * hi), 3 * lo])
    return logu(rng, lo, max(top, 2 * lo), (*shape, k))


def make_dirichlet(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Dirichlet:
    k = int(rng.integers(2, 9))
    return Dirichlet(concentration=shapes(_dirichlet(rng, shape, k, 0.05, 2e3), dtype))


def make_dirichlet2(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Dirichlet:
    return Dirichlet(concentration=shapes(_dirichlet(rng, shape, 2, 0.05, 2e3), dtype))


def make_dirichlet3(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> Dirichlet:
    return Dirichlet(concentration=shapes(_dirichlet(rng, shape, 3, 1.5, 200.0), dtype))


def make_other_dirichlet(
    lo: float, hi: float
) -> Callable[[np.random.Generator, ExponentialFamily], ExponentialFamily]:
    def other(rng: np.random.Generator, dist: ExponentialFamily) -> ExponentialFamily:
        k = dist.param_shape[-1]
        return Dirichlet(
            concentration=shapes(_dirichlet(rng, dist.batch_shape, k, lo, hi), dist.dtype)
        )

    return other


# ---------------------------------------------------------------------- scipy oracles
def _pmf_entropy(logpmf: Callable[[F64], F64], top: int, nb: int) -> F64:
    k = np.arange(top + 1, dtype=np.float64).reshape((-1,) + (1,) * nb)
    return np.asarray(special.entr(np.exp(logpmf(k))).sum(axis=0))


def scipy_poisson_entropy(dist: ExponentialFamily) -> F64:
    """``-sum pmf log pmf`` with scipy's pmf (scipy's own ``entropy`` warns for large rates)."""
    assert isinstance(dist, Poisson)
    lam = f64(dist.rate)
    return _pmf_entropy(lambda k: stats.poisson.logpmf(k, lam), poisson_top(lam), lam.ndim)


def scipy_dirichlet_log_prob(dist: ExponentialFamily, x: NDArray[Any]) -> F64:
    assert isinstance(dist, Dirichlet)
    al = f64(dist.concentration)
    xb, ab = np.broadcast_arrays(f64(x), al)
    out = np.empty(xb.shape[:-1])
    for idx in np.ndindex(out.shape):
        out[idx] = stats.dirichlet.logpdf(xb[idx], ab[idx])
    return out


def scipy_dirichlet_entropy(dist: ExponentialFamily) -> F64:
    assert isinstance(dist, Dirichlet)
    al = f64(dist.concentration)
    out = np.empty(al.shape[:-1])
    for idx in np.ndindex(out.shape):
        out[idx] = stats.dirichlet(al[idx]).entropy()
    return out


def _as(cls: type[Any], dist: ExponentialFamily) -> Any:
    assert isinstance(dist, cls)
    return dist


# ---------------------------------------------------------------------- edge cases
def _edge(dtype: Any, build: Callable[[Any], list[ExponentialFamily]]) -> list[ExponentialFamily]:
    return build(np.dtype(dtype))


def bernoulli_edges(dtype: Any) -> list[ExponentialFamily]:
    big = 700.0 if np.dtype(dtype) == np.float64 else 80.0
    return [
        Bernoulli(probs=np.array([0.0, 0.5], dtype=dtype)),
        Bernoulli(logits=np.array([-big, big, -30.0, 30.0], dtype=dtype)),
    ]


def binomial_edges(dtype: Any) -> list[ExponentialFamily]:
    return [
        Binomial(n=[1, 7, 20], probs=np.array([0.0, 0.5, 1e-6], dtype=dtype)),
        Binomial(n=5000, logits=np.array([0.0, -25.0, 25.0], dtype=dtype)),
    ]


def poisson_edges(dtype: Any) -> list[ExponentialFamily]:
    tiny = 1e-300 if np.dtype(dtype) == np.float64 else 1e-30
    return [
        Poisson(rate=np.array([0.0, tiny, 1e-8, 1.0], dtype=dtype)),
        Poisson(rate=np.array([9999.0, 1e4, 1e5], dtype=dtype)),
    ]


def geometric_edges(dtype: Any) -> list[ExponentialFamily]:
    top = 1 - 1e-12 if np.dtype(dtype) == np.float64 else 1 - 1e-6
    return [Geometric(probs=np.array([1e-4, 0.5, top], dtype=dtype))]


def exponential_edges(dtype: Any) -> list[ExponentialFamily]:
    big = 1e100 if np.dtype(dtype) == np.float64 else 1e15
    return [Exponential(rate=np.array([1 / big, 1.0, big], dtype=dtype))]


def normal_edges(dtype: Any) -> list[ExponentialFamily]:
    if np.dtype(dtype) == np.float64:
        return [
            Normal(loc=[0.0, 1e4, -1e4, 0.0], scale=np.array([1e-100, 1.0, 1.0, 1e100])),
            Normal(loc=np.array([1e6]), scale=[3e2]),
        ]
    return [Normal(loc=np.array([0.0, 30.0, -1e3], dtype=dtype), scale=[1e-6, 1.0, 1e2])]


def gamma_edges(dtype: Any) -> list[ExponentialFamily]:
    return [
        Gamma(
            shape=np.array([0.05, 1.0, 24.9, 25.0, 1e6], dtype=dtype),
            rate=[1.0, 1e-20, 3.0, 0.5, 1e6],
        ),
    ]


def beta_edges(dtype: Any) -> list[ExponentialFamily]:
    return [
        Beta(a=np.array([0.05, 1.0, 1e4, 2e3, 24.9], dtype=dtype), b=[1.0, 1.0, 1e4, 1.0, 25.1]),
    ]


def dirichlet2_edges(dtype: Any) -> list[ExponentialFamily]:
    return [
        Dirichlet(concentration=np.array([[0.05, 0.05], [1e4, 0.05], [1.0, 1.0]], dtype=dtype))
    ]


def dirichlet3_edges(dtype: Any) -> list[ExponentialFamily]:
    return [Dirichlet(concentration=np.array([[1.5, 1.5, 1.5], [1.5, 2.0, 200.0]], dtype=dtype))]


def dirichlet_edges(dtype: Any) -> list[ExponentialFamily]:
    return [
        Dirichlet(concentration=np.array([[0.05] * 8, [1e4] * 8], dtype=dtype)),
        Dirichlet(concentration=np.array([0.05, 1e3, 1.0, 30.0], dtype=dtype)),
    ]


# ---------------------------------------------------------------------- finite-difference steps
def relative_steps(dist: ExponentialFamily) -> F64:
    """``1e-3 |eta|``: for a domain boundary at ``eta = 0`` (Exponential, Geometric)."""
    return 1e-3 * np.abs(f64(dist.natural_params))


def shape_steps(dist: ExponentialFamily) -> F64:
    """``1e-3 (eta + 1)``: ``eta + 1`` is a shape parameter (Beta, Dirichlet)."""
    return 1e-3 * (f64(dist.natural_params) + 1)


def gamma_steps(dist: ExponentialFamily) -> F64:
    eta = f64(dist.natural_params)
    return 1e-3 * np.stack([eta[..., 0] + 1, -eta[..., 1]], axis=-1)


def normal_steps(dist: ExponentialFamily) -> F64:
    eta = f64(dist.natural_params)
    return 1e-3 * np.stack([np.abs(eta[..., 0]) + np.sqrt(-eta[..., 1]), -eta[..., 1]], axis=-1)


# ---------------------------------------------------------------------- the cases
CASES: list[FamilyCase] = [
    FamilyCase(
        family=Bernoulli,
        make=make_bernoulli,
        quadrature=lambda d: enumerate_quadrature(0, 1, len(d.batch_shape)),
        scipy_log_prob=lambda d, x: stats.bernoulli.logpmf(x, f64(_as(Bernoulli, d).probs)),
        scipy_entropy=lambda d: stats.bernoulli(f64(_as(Bernoulli, d).probs)).entropy(),
        edge_cases=bernoulli_edges,
    ),
    FamilyCase(
        family=Binomial,
        make=make_binomial,
        make_other=make_other_binomial,
        quadrature=binomial_quadrature,
        scipy_log_prob=lambda d, x: stats.binom.logpmf(
            x, _as(Binomial, d).n, f64(_as(Binomial, d).probs)
        ),
        scipy_entropy=lambda d: stats.binom(
            _as(Binomial, d).n, f64(_as(Binomial, d).probs)
        ).entropy(),
        edge_cases=binomial_edges,
    ),
    FamilyCase(
        family=Poisson,
        make=make_poisson,
        quadrature=poisson_quadrature,
        scipy_log_prob=lambda d, x: stats.poisson.logpmf(x, f64(_as(Poisson, d).rate)),
        scipy_entropy=scipy_poisson_entropy,
        edge_cases=poisson_edges,
    ),
    FamilyCase(
        family=Geometric,
        make=make_geometric,
        quadrature=geometric_quadrature,
        scipy_log_prob=lambda d, x: stats.geom.logpmf(x, f64(_as(Geometric, d).probs)),
        scipy_entropy=lambda d: stats.geom(f64(_as(Geometric, d).probs)).entropy(),
        edge_cases=geometric_edges,
        fd_steps=relative_steps,
    ),
    FamilyCase(
        family=NegativeBinomial,
        make=make_negative_binomial,
        make_other=make_other_negative_binomial,
        quadrature=negative_binomial_quadrature,
        scipy_log_prob=lambda d, x: stats.nbinom.logpmf(
            x, f64(_as(NegativeBinomial, d).r), f64(_as(NegativeBinomial, d).probs)
        ),
        scipy_entropy=scipy_negative_binomial_entropy,
        edge_cases=negative_binomial_edges,
        fd_steps=relative_steps,
        scipy_rtol=1e-7,
    ),
    FamilyCase(
        family=Exponential,
        make=make_exponential,
        quadrature=gamma_quadrature,
        scipy_log_prob=lambda d, x: stats.expon.logpdf(x, scale=1 / f64(_as(Exponential, d).rate)),
        scipy_entropy=lambda d: stats.expon(scale=1 / f64(_as(Exponential, d).rate)).entropy(),
        edge_cases=exponential_edges,
        fd_steps=relative_steps,
    ),
    FamilyCase(
        family=Normal,
        make=make_normal,
        quadrature=normal_quadrature,
        scipy_log_prob=lambda d, x: stats.norm.logpdf(
            x, f64(_as(Normal, d).loc), f64(_as(Normal, d).scale)
        ),
        scipy_entropy=lambda d: stats.norm(scale=f64(_as(Normal, d).scale)).entropy(),
        edge_cases=normal_edges,
        fd_steps=normal_steps,
    ),
    FamilyCase(
        family=Gamma,
        make=make_gamma,
        quadrature=gamma_quadrature,
        scipy_log_prob=lambda d, x: stats.gamma.logpdf(
            x, f64(_as(Gamma, d).shape), scale=1 / f64(_as(Gamma, d).rate)
        ),
        scipy_entropy=lambda d: stats.gamma(
            f64(_as(Gamma, d).shape), scale=1 / f64(_as(Gamma, d).rate)
        ).entropy(),
        edge_cases=gamma_edges,
        fd_steps=gamma_steps,
    ),
    FamilyCase(
        family=Beta,
        make=make_beta,
        quadrature=beta_quadrature,
        scipy_log_prob=lambda d, x: stats.beta.logpdf(x, f64(_as(Beta, d).a), f64(_as(Beta, d).b)),
        scipy_entropy=lambda d: stats.beta(f64(_as(Beta, d).a), f64(_as(Beta, d).b)).entropy(),
        edge_cases=beta_edges,
        fd_steps=shape_steps,
    ),
    FamilyCase(
        family=Dirichlet,
        make=make_dirichlet,
        make_other=make_other_dirichlet(0.05, 2e3),
        scipy_log_prob=scipy_dirichlet_log_prob,
        scipy_entropy=scipy_dirichlet_entropy,
        edge_cases=dirichlet_edges,
        fd_steps=shape_steps,
    ),
    FamilyCase(
        family=Dirichlet,
        name="Dirichlet-K2",
        make=make_dirichlet2,
        make_other=make_other_dirichlet(0.05, 2e3),
        quadrature=dirichlet2_quadrature,
        scipy_log_prob=scipy_dirichlet_log_prob,
        scipy_entropy=scipy_dirichlet_entropy,
        edge_cases=dirichlet2_edges,
        fd_steps=shape_steps,
    ),
    FamilyCase(
        family=Dirichlet,
        name="Dirichlet-K3",
        make=make_dirichlet3,
        make_other=make_other_dirichlet(1.5, 200.0),
        quadrature=dirichlet3_quadrature,
        edge_cases=dirichlet3_edges,
        fd_steps=shape_steps,
    ),
]
