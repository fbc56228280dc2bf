"""Distribution functions of the scalar families: cdf, sf, logs, quantiles, intervals, modes.

References:

- mpmath at 50 digits from the parameters each distribution holds (a binomial's
  success probability as given, a geometric's ``1 - exp(eta)`` of its natural
  parameter). The tolerance is ``1e-13`` relative plus ``8 eps`` times the
  condition number of the function in its inputs (``x`` for a continuous family, the
  parameters the formula derives in float64 for a discrete one), measured in mpmath:
  where the function is well conditioned this is ``1e-13``.
- scipy.stats over random parameters (hypothesis), where scipy's own values are
  accurate (it computes ``logcdf`` as ``log(cdf)`` and returns nan for ``isf`` of tiny
  probabilities, where expfam is finite and right).
- The laws of the discrete quantile convention (scipy's): ``ppf(q)`` is the smallest
  ``k`` with ``cdf(k) >= q`` and ``isf(q)`` the smallest with ``sf(k) <= q``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from expfam import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Dirichlet,
    Exponential,
    Gamma,
    Geometric,
    NegativeBinomial,
    Normal,
    Poisson,
)
from expfam._distfns import ScalarFamily

mpmath.mp.dps = 50
Mpf = Any
EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
TAILS = ("cdf", "sf", "logcdf", "logsf")

SCALAR_FAMILIES = (
    Bernoulli,
    Binomial,
    Poisson,
    Geometric,
    NegativeBinomial,
    Exponential,
    Normal,
    Gamma,
    Beta,
)


# ---------------------------------------------------------------------- mpmath references
def _m(v: Any) -> Mpf:
    return mpmath.mpf(float(v))


def held_params(d: ScalarFamily) -> tuple[Mpf, ...]:  # noqa: PLR0911 - one per family
    """The parameters `d` holds, exactly, as mpmath numbers (its formulas' inputs)."""
    if isinstance(d, Poisson):
        return (_m(d.rate),)
    if isinstance(d, (Bernoulli, Binomial)):  # built from probs: kept exactly
        p = _m(d.probs)
        return (p,) if isinstance(d, Bernoulli) else (_m(d.n), p)
    if isinstance(d, (Geometric, NegativeBinomial)):
        p = -mpmath.expm1(_m(d.natural_params[..., 0]))
        return (p,) if isinstance(d, Geometric) else (_m(d.r), p)
    if isinstance(d, Exponential):
        return (_m(d.rate),)
    if isinstance(d, Normal):
        return _m(d.loc), _m(d.scale)
    if isinstance(d, Gamma):
        return _m(d.shape), _m(d.rate)
    assert isinstance(d, Beta)
    return _m(d.a), _m(d.b)


def ref_tails(family: type, params: tuple[Mpf, ...], x: Mpf) -> tuple[Mpf, Mpf]:  # noqa: PLR0911
    """``(cdf, sf)`` at `x` inside the support, each from its own integral (no 1 - F)."""
    inc = mpmath.gammainc
    beta = mpmath.betainc
    k = mpmath.floor(x)
    if family is Poisson:
        (lam,) = params
        return inc(k + 1, lam, mpmath.inf, regularized=True), inc(k + 1, 0, lam, regularized=True)
    if family is Bernoulli:
        (p,) = params
        return (1 - p, p) if k < 1 else (mpmath.mpf(1), mpmath.mpf(0))
    if family is Binomial:
        n, p = params
        if k >= n:
            return mpmath.mpf(1), mpmath.mpf(0)
        return (
            beta(n - k, k + 1, 0, 1 - p, regularized=True),
            beta(k + 1, n - k, 0, p, regularized=True),
        )
    if family is Geometric:
        (p,) = params
        return -mpmath.expm1(k * mpmath.log1p(-p)), (1 - p) ** k
    if family is NegativeBinomial:
        r, p = params
        return beta(r, k + 1, 0, p, regularized=True), beta(k + 1, r, 0, 1 - p, regularized=True)
    if family is Exponential:
        (lam,) = params
        return -mpmath.expm1(-lam * x), mpmath.exp(-lam * x)
    if family is Normal:
        m, s = params
        z = (x - m) / s
        return mpmath.ncdf(z), mpmath.ncdf(-z)
    if family is Gamma:
        a, b = params
        return inc(a, 0, b * x, regularized=True), inc(a, b * x, mpmath.inf, regularized=True)
    assert family is Beta
    a, b = params
    return beta(a, b, 0, x, regularized=True), beta(b, a, 0, 1 - x, regularized=True)


def ref_value(family: type, params: tuple[Mpf, ...], x: Mpf, fn: str) -> Mpf:
    cdf, sf = ref_tails(family, params, x)
    if fn == "cdf":
        return cdf
    if fn == "sf":
        return sf
    # the log of a value near 1 from its complement: 50 digits of F = 1 - 1e-60 hold no
    # digit of log F
    if fn == "logcdf":
        return mpmath.log1p(-sf) if sf < 0.5 else mpmath.log(cdf)
    return mpmath.log1p(-cdf) if cdf < 0.5 else mpmath.log(sf)


def condition(family: type, params: tuple[Mpf, ...], x: Mpf, fn: str) -> float:
    """Largest relative sensitivity of `fn` to a relative change of one of its inputs.

    The inputs are ``x`` (continuous families) and the parameters the family's
    formulas derive by rounding (all but a binomial's ``n`` and a negative binomial's
    ``r``, which are exact; for a discrete family ``x`` is an exact integer).
    """
    h = mpmath.mpf(10) ** -20
    f0 = ref_value(family, params, x, fn)
    out = 0.0
    inputs: list[int] = list(range(len(params)))
    if family in (Binomial, NegativeBinomial):
        inputs = [1]
    if family not in (Bernoulli, Binomial, Poisson, Geometric, NegativeBinomial):
        inputs.append(-1)
    for i in inputs:
        if i == -1:
            f1 = ref_value(family, params, x * (1 + h), fn)
        else:
            bumped = tuple(v * (1 + h) if j == i else v for j, v in enumerate(params))
            f1 = ref_value(family, bumped, x, fn)
        if f0 != 0:
            out = max(out, float(abs((f1 - f0) / (h * f0))))
    return out


# ---------------------------------------------------------------------- the tail table
# (distribution, points): each point in the bulk or far in a tail of the distribution
TAIL_CASES: list[tuple[Callable[[Any], ScalarFamily], list[float]]] = [
    (lambda t: Poisson(rate=t(3.5)), [0, 1, 3, 10, 30, 100, 300]),
    (lambda t: Poisson(rate=t(1e4)), [9000, 9900, 10000, 10100, 11000, 13000]),
    (lambda t: Poisson(rate=t(0.01)), [0, 1, 5, 50]),
    (lambda t: Bernoulli(probs=t(1e-20)), [0]),
    (lambda t: Bernoulli(probs=t(0.3)), [0]),
    (lambda t: Binomial(n=1000, probs=t(0.3)), [0, 100, 250, 300, 350, 600, 999]),
    (lambda t: Binomial(n=20, probs=t(1e-5)), [0, 1, 5, 19]),
    (lambda t: Geometric(probs=t(0.01)), [1, 10, 1000, 1e5]),
    (lambda t: Geometric(probs=t(0.9)), [1, 2, 10, 300]),
    (lambda t: NegativeBinomial(r=2.5, probs=t(0.3)), [0, 5, 50, 500, 3000]),
    (lambda t: Exponential(rate=t(2.0)), [1e-300, 1e-10, 0.5, 10, 400]),
    (lambda t: Normal(t(1.0), t(2.0)), [-80, -10, 0, 1, 3, 30]),
    (lambda t: Gamma(shape=t(2.5), rate=t(1.5)), [1e-100, 1e-3, 1, 5, 50, 600]),
    (lambda t: Gamma(shape=t(300.0), rate=t(2.0)), [50, 120, 150, 180, 400]),
    (lambda t: Gamma(shape=t(0.01), rate=t(1.0)), [1e-200, 1e-5, 1, 30]),
    (lambda t: Beta(a=t(2.5), b=t(0.7)), [1e-200, 1e-10, 0.01, 0.3, 0.9, 1 - 1e-10]),
    (lambda t: Beta(a=t(50.0), b=t(80.0)), [1e-3, 0.1, 0.3, 0.38, 0.5, 0.9]),
]


def _table(dtype: Any) -> list[Any]:
    rows = []
    for build, xs in TAIL_CASES:
        d = build(dtype)
        rows += [pytest.param(d, x, id=f"{d!r}-{x:g}") for x in xs]
    return rows


def _rel_err(actual: float, expected: Mpf) -> float:
    if expected == 0:
        return 0.0 if actual == 0 else np.inf
    return float(abs((mpmath.mpf(actual) - expected) / expected))


@pytest.mark.parametrize(("d", "x"), _table(np.float64))
@pytest.mark.parametrize("fn", TAILS)
def test_tails_against_mpmath_float64(d: ScalarFamily, x: float, fn: str) -> None:
    """Relative error <= 1e-13 (+ 8 eps times the condition number), both tails.

    ``logcdf`` and ``logsf`` are finite where the cdf and sf underflow (the far tails
    of the table hold values down to ``exp(-1400)``).
    """
    family, params = type(d), held_params(d)
    expected = ref_value(family, params, mpmath.mpf(x), fn)
    got = getattr(d, fn)(x)
    assert got.dtype == np.float64
    tol = 1e-13 + 8 * EPS64 * condition(family, params, mpmath.mpf(x), fn)
    if abs(expected) < float(np.finfo(np.float64).tiny):  # subnormal or below
        assert abs(float(got) - float(expected)) <= 1e-323 + tol * abs(float(expected))
        return
    assert _rel_err(float(got), expected) <= tol, (float(got), float(expected), tol)


@pytest.mark.parametrize(("d", "x"), _table(np.float32))
@pytest.mark.parametrize("fn", TAILS)
def test_tails_against_mpmath_float32(d: ScalarFamily, x: float, fn: str) -> None:
    """float32 distributions give float32 values within 2 ulp of the exact ones."""
    family, params = type(d), held_params(d)
    expected = ref_value(family, params, mpmath.mpf(x), fn)
    got = getattr(d, fn)(x)
    assert got.dtype == np.float32
    tol = 2 * EPS32 + 8 * EPS64 * condition(family, params, mpmath.mpf(x), fn)
    if abs(expected) < float(np.finfo(np.float32).tiny):  # subnormal or below
        tiny = float(np.finfo(np.float32).smallest_subnormal)
        assert abs(float(got) - float(expected)) <= tiny + tol * abs(float(expected))
        return
    assert _rel_err(float(got), expected) <= tol, (float(got), float(expected), tol)


# ---------------------------------------------------------------------- quantiles vs mpmath
QS = [1e-300, 1e-50, 1e-10, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-10]
CONTINUOUS_CASES = [
    lambda t: Exponential(rate=t(2.0)),
    lambda t: Normal(t(1.0), t(2.0)),
    lambda t: Gamma(shape=t(2.5), rate=t(1.5)),
    lambda t: Gamma(shape=t(300.0), rate=t(2.0)),
    lambda t: Gamma(shape=t(0.5), rate=t(1.0)),
    lambda t: Beta(a=t(2.5), b=t(0.7)),
    lambda t: Beta(a=t(50.0), b=t(80.0)),
]


def _ref_quantile(d: ScalarFamily, q: float, upper: bool, start: float, width: float) -> Mpf:
    """The `x` with ``cdf(x) = q`` (``sf(x) = q``), solved in mpmath from `start`."""
    family, params = type(d), held_params(d)
    fn = "logsf" if upper else "logcdf"
    target = mpmath.log(mpmath.mpf(q))

    def f(t: Mpf) -> Mpf:
        return ref_value(family, params, t, fn) - target

    x0 = mpmath.mpf(start)
    w = abs(x0) * mpmath.mpf(width)
    lo, hi = x0 - w, x0 + w
    if isinstance(d, Beta):
        hi = min(hi, 1 - (1 - x0) / 2)
    if isinstance(d, (Gamma, Beta, Exponential)):
        lo = max(lo, x0 / 2)
    flo, fhi = f(lo), f(hi)
    assert flo * fhi < 0, f"the answer is not within {width} of the root"
    for _ in range(110):  # bisection: 2**-110 of the relative width
        mid = (lo + hi) / 2
        fm = f(mid)
        if (fm < 0) == (flo < 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("build", CONTINUOUS_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("upper", [False, True], ids=["ppf", "isf"])
def test_continuous_quantiles_against_mpmath(build: Any, dtype: Any, upper: bool) -> None:
    """``ppf`` and ``isf`` invert the exact cdf and sf down to ``q = 1e-300``.

    Tolerance: 1e-13 (float64; 2 ulp for float32) plus 8 eps over the condition number
    of the cdf (``|x f(x) / F(x)|``, that of the quantile is its inverse).
    """
    d = build(dtype)
    fn = d.isf if upper else d.ppf
    got = fn(QS)
    assert got.dtype == dtype
    eps = EPS32 if dtype == np.float32 else EPS64
    base = 2 * EPS32 if dtype == np.float32 else 1e-13
    for q, x in zip(QS, got.tolist(), strict=True):
        assert np.isfinite(x), (q, x)
        tiny = float(np.finfo(dtype).tiny)
        if abs(x) < tiny:
            # the exact quantile is below the dtype's normal range (Gamma(0.5).ppf(1e-300))
            below = float(d.logcdf(tiny))
            assert below >= (np.log1p(-q) if upper else np.log(q)) * (1 + 1e-5)
            continue
        if isinstance(d, Beta) and x == 1.0:  # the answer is within 1 ulp of 1
            continue
        expected = _ref_quantile(d, q, upper, float(x), 1e-5 if dtype == np.float32 else 1e-9)
        family, params = type(d), held_params(d)
        cond = condition(family, params, expected, "logsf" if upper else "logcdf")
        cond = max(cond * abs(float(ref_value(family, params, expected, "logcdf"))), 1e-300)
        tol = base + 8 * eps / min(cond, 1.0)
        assert _rel_err(x, expected) <= tol, (q, x, float(expected), tol)


DISCRETE_CASES = [
    lambda: Poisson(rate=3.5),
    lambda: Poisson(rate=1e4),
    lambda: Binomial(n=1000, probs=0.3),
    lambda: Binomial(n=7, probs=0.999),
    lambda: Geometric(probs=0.01),
    lambda: Geometric(probs=0.9),
    lambda: NegativeBinomial(r=2.5, probs=0.3),
    lambda: Bernoulli(probs=0.3),
]


@pytest.mark.parametrize("build", DISCRETE_CASES)
def test_discrete_quantiles_against_mpmath(build: Any) -> None:
    """``ppf(q)`` is the smallest k with F(k) >= q; ``isf(q)`` the smallest with S(k) <= q.

    Checked with the exact F and S, down to ``q = 1e-300`` (isf stays finite and right);
    a step within 4 eps of `q` may fall on either side (``Geometric(0.01).sf(1)`` is
    ``0.99`` rounded, while the float ``0.99`` is 8e-18 below the exact value).
    """
    d = build()
    family, params = type(d), held_params(d)
    lower = 1 if family is Geometric else 0
    for q in QS:
        for upper in (False, True):
            k = float((d.isf if upper else d.ppf)(q))
            assert np.isfinite(k)
            at = ref_tails(family, params, mpmath.mpf(k))
            below = ref_tails(family, params, mpmath.mpf(k - 1)) if k > lower else None
            i = 1 if upper else 0

            def beyond(v: Mpf, *, upper: bool = upper, q: float = q) -> bool:
                # the step is on the right side of q, or within rounding of it
                near = abs(v - q) <= 4 * EPS64 * q
                return bool((v <= q if upper else v >= q) or near)

            assert beyond(at[i]), (q, k)
            assert below is None or not beyond(below[i]) or abs(below[i] - q) <= 4 * EPS64 * q


# ---------------------------------------------------------------------- scipy over random params
def _draw(data: st.DataObject, family: type) -> tuple[ScalarFamily, Any]:  # noqa: PLR0911
    """A random distribution of `family` and its scipy.stats twin (float64)."""
    pos = st.floats(0.05, 50.0)
    prob = st.floats(0.01, 0.99)
    if family is Bernoulli:
        p = data.draw(prob)
        return Bernoulli(probs=p), stats.bernoulli(p)
    if family is Binomial:
        n, p = data.draw(st.integers(1, 500)), data.draw(prob)
        return Binomial(n=n, probs=p), stats.binom(n, p)
    if family is Poisson:
        lam = data.draw(st.floats(0.01, 1e4))
        return Poisson(rate=lam), stats.poisson(lam)
    if family is Geometric:
        p = data.draw(prob)
        return Geometric(probs=p), stats.geom(p)
    if family is NegativeBinomial:
        r, p = data.draw(pos), data.draw(prob)
        return NegativeBinomial(r=r, probs=p), stats.nbinom(r, p)
    if family is Exponential:
        lam = data.draw(pos)
        return Exponential(rate=lam), stats.expon(scale=1 / lam)
    if family is Normal:
        m, s = data.draw(st.floats(-100, 100)), data.draw(pos)
        return Normal(m, s), stats.norm(m, s)
    if family is Gamma:
        a, b = data.draw(pos), data.draw(pos)
        return Gamma(shape=a, rate=b), stats.gamma(a, scale=1 / b)
    a, b = data.draw(pos), data.draw(pos)
    return Beta(a=a, b=b), stats.beta(a, b)


@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.__name__)
@given(data=st.data())
def test_agrees_with_scipy(family: type, data: st.DataObject) -> None:
    """cdf, sf and their logs match scipy.stats where its values are normal floats.

    ``rtol = 1e-9``: scipy's logcdf is ``log(cdf)`` (which loses digits near 0) and both
    carry the condition number of the far tails.
    """
    d, s = _draw(data, family)
    qs = np.array(data.draw(st.lists(st.floats(1e-12, 1 - 1e-12), min_size=1, max_size=8)))
    x = np.concatenate([s.ppf(qs), s.ppf(qs) + 0.5, [-1.0, 0.0]])
    with np.errstate(all="ignore"):
        for fn in ("cdf", "sf"):
            got, want = getattr(d, fn)(x), getattr(s, fn)(x)
            ok = want > 1e-290
            np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=0)
            np.testing.assert_array_less(got[~ok], 1e-280)
            log_got, log_want = getattr(d, "log" + fn)(x), getattr(s, "log" + fn)(x)
            fine = ok & (want < 0.5)  # where scipy's log(value) keeps its digits
            np.testing.assert_allclose(log_got[fine], log_want[fine], rtol=1e-9, atol=0)
    for fn in ("ppf", "isf"):
        got, want = getattr(d, fn)(qs), getattr(s, fn)(qs)
        if d._discrete:
            # identical but where q is within rounding of a step: the cdf (sf) at the
            # smaller answer is q (Binomial(53, 0.5).cdf(26) is exactly 1/2)
            differ = got != want
            if np.any(differ):
                k = np.minimum(got, want)[differ]
                tail = s.cdf(k) if fn == "ppf" else s.sf(k)
                np.testing.assert_allclose(tail, qs[differ], rtol=1e-12)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)
    if d._discrete and float(d.median()) != float(s.median()):
        assert float(s.cdf(min(d.median(), s.median()))) == pytest.approx(0.5, rel=1e-12)
    else:
        assert float(d.median()) == pytest.approx(float(s.median()), rel=1e-9)
    assert float(d.std()) == pytest.approx(float(s.std()), rel=1e-12)
    lo, hi = d.interval(0.9)
    slo, shi = s.interval(0.9)
    if d._discrete and float(lo) != float(slo):  # a step within rounding of 0.05
        assert float(s.cdf(min(lo, slo))) == pytest.approx(0.05, rel=1e-12)
    else:
        assert float(lo) == pytest.approx(float(slo), rel=1e-9)
    if d._discrete and float(hi) != float(shi):  # scipy's ppf(0.95) rounds 1 - 0.05
        assert float(s.sf(shi)) == pytest.approx(0.05, rel=1e-12)
    else:
        assert float(hi) == pytest.approx(float(shi), rel=1e-9)


# ---------------------------------------------------------------------- laws
@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.__name__)
@given(data=st.data())
def test_quantile_laws(family: type, data: st.DataObject) -> None:
    """Discrete: ``ppf(cdf(k))`` is the smallest j with ``cdf(j) == cdf(k)`` (so k where
    the cdf steps at k), likewise ``isf(sf(k))``; continuous: ``ppf(cdf(x)) = x`` and
    ``isf(sf(x)) = x`` up to the conditioning of the quantile."""
    d, s = _draw(data, family)
    qs = np.array(data.draw(st.lists(st.floats(1e-9, 1 - 1e-9), min_size=1, max_size=6)))
    if d._discrete:
        k = np.unique(s.ppf(qs))
        c, sv = d.cdf(k), d.sf(k)
        j = d.ppf(c)
        assert np.all(j <= k)
        np.testing.assert_array_equal(d.cdf(j), c)
        stepped = d.cdf(k - 1) < c
        np.testing.assert_array_equal(j[stepped], k[stepped])
        i = d.isf(sv)
        assert np.all(i <= k)
        np.testing.assert_array_equal(d.sf(i), sv)
        stepped = d.sf(k - 1) > sv
        np.testing.assert_array_equal(i[stepped], k[stepped])
        return
    x = s.ppf(qs)
    for tail, inverse in (("cdf", "ppf"), ("sf", "isf")):
        p = getattr(d, tail)(x)
        back = getattr(d, inverse)(p)
        # the quantile's condition number |F / (x f)| times the rounding of p
        with np.errstate(divide="ignore"):
            cond = np.abs(np.exp(getattr(d, "log" + tail)(x) - d.log_prob(x)) / x)
        tol = 1e-12 + 16 * EPS64 * np.maximum(cond, 1.0)
        np.testing.assert_array_less(np.abs(back - x), tol * np.abs(x) + 1e-300)


@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.__name__)
@given(data=st.data())
def test_interval_median_mode(family: type, data: st.DataObject) -> None:
    """The interval holds its level (its ends are the tail quantiles), the median is a
    0.5-quantile, and the mode maximises the density or mass."""
    d, _ = _draw(data, family)
    level = data.draw(st.floats(0.05, 0.99))
    lo, hi = d.interval(level)
    tail = (1 - level) / 2
    np.testing.assert_array_equal(lo, d.ppf(tail))
    np.testing.assert_array_equal(hi, d.isf(tail))
    assert lo <= d.median() <= hi
    if d._discrete:
        assert d.cdf(lo) >= tail > d.cdf(lo - 1) or lo == d._df_support()[0]
        assert float(d.cdf(hi)) >= 1 - tail - 1e-12
    m = float(d.mode())
    if isinstance(d, Beta) and np.isnan(m):
        assert (d.a < 1 and d.b < 1) or (d.a == 1 and d.b == 1)
        return
    lp = float(d.log_prob(m))
    if d._discrete:
        grid = m + np.array([-1.0, 1.0])
        near = d.log_prob(grid[grid >= d._df_support()[0]])
        # ties (two equal masses) are decided by the rounding of the parameters
        assert np.all(near <= lp + 1e-12 * (1 + abs(lp)))
    else:
        lo_s, hi_s = d._df_support()
        width = float(d.std()) * 1e-3
        grid = np.clip(m + width * np.array([-1.0, 1.0]), lo_s, hi_s)
        assert np.all(d.log_prob(grid) <= lp + 1e-12)


def test_std_is_sqrt_variance() -> None:
    for d in (
        Poisson(rate=[0.0, 2.5]),
        Binomial(n=[3, 40], probs=0.25),
        Geometric(probs=[0.5, 1.0]),
        NegativeBinomial(r=2.5, probs=[0.3, 1.0]),
        Exponential(rate=[0.5, 3.0]),
        Normal(1.0, [0.5, 3.0]),
        Gamma(shape=[0.5, 30.0], rate=2.0),
        Beta(a=[0.5, 30.0], b=2.0),
        Bernoulli(probs=[0.0, 0.3]),
    ):
        np.testing.assert_allclose(d.std(), np.sqrt(d.variance()), rtol=4 * EPS64)


# ---------------------------------------------------------------------- edges and shapes
def test_edge_arguments_follow_scipy() -> None:
    """nan gives nan, +-inf the limits; q outside [0, 1] gives nan (a level outside it
    raises, as in scipy); ppf(0), ppf(1)."""
    for d in (Poisson(rate=2.0), Normal(0.0, 1.0), Gamma(shape=2.0, rate=1.0), Beta(a=2, b=3)):
        x = np.array([np.nan, -np.inf, np.inf])
        np.testing.assert_array_equal(d.cdf(x), [np.nan, 0.0, 1.0])
        np.testing.assert_array_equal(d.sf(x), [np.nan, 1.0, 0.0])
        np.testing.assert_array_equal(d.logcdf(x), [np.nan, -np.inf, 0.0])
        np.testing.assert_array_equal(d.logsf(x), [np.nan, 0.0, -np.inf])
        q = np.array([-0.1, 1.1, np.nan, -np.inf, np.inf])
        assert np.all(np.isnan(d.ppf(q)))
        assert np.all(np.isnan(d.isf(q)))
        assert all(np.isnan(v) for v in d.interval(np.nan))
        for level in (1.5, -0.1, [0.5, 2.0]):
            with pytest.raises(ValueError, match=r"`level` must be a probability in \[0, 1\]"):
                d.interval(level)
    cases: list[tuple[ScalarFamily, Any]] = [
        (Poisson(rate=2.0), stats.poisson(2.0)),
        (Binomial(n=10, probs=0.3), stats.binom(10, 0.3)),
        (Geometric(probs=0.3), stats.geom(0.3)),
        (Bernoulli(probs=0.3), stats.bernoulli(0.3)),
        (NegativeBinomial(r=2, probs=0.3), stats.nbinom(2, 0.3)),
        (Exponential(rate=2.0), stats.expon(scale=0.5)),
        (Normal(0.0, 1.0), stats.norm()),
        (Gamma(shape=2.0, rate=1.0), stats.gamma(2.0)),
        (Beta(a=2.0, b=3.0), stats.beta(2.0, 3.0)),
    ]
    ends = np.array([0.0, 1.0])
    for dist, s in cases:
        np.testing.assert_array_equal(dist.ppf(ends), s.ppf(ends))
        np.testing.assert_array_equal(dist.isf(ends), s.isf(ends))
        # at the support's ends (and a non-integer for the discrete families)
        lo = dist._df_support()[0]
        x = np.array([lo, lo + 0.5, lo - 0.5])
        np.testing.assert_allclose(dist.cdf(x), s.cdf(x), rtol=1e-14, atol=0)
        np.testing.assert_allclose(dist.sf(x), s.sf(x), rtol=1e-14, atol=0)


def test_point_masses() -> None:
    """Boundary members: every quantile is the one outcome."""
    for d, at in (
        (Poisson(rate=0.0), 0.0),
        (Bernoulli(probs=0.0), 0.0),
        (Bernoulli(probs=1.0), 1.0),
        (Binomial(n=5, probs=1.0), 5.0),
        (Binomial(n=5, probs=0.0), 0.0),
        (Geometric(probs=1.0), 1.0),
        (NegativeBinomial(r=3, probs=1.0), 0.0),
    ):
        q = np.array([1e-300, 0.3, 0.5, 1 - 1e-16])
        np.testing.assert_array_equal(d.ppf(q), at)
        np.testing.assert_array_equal(d.isf(q), at)
        np.testing.assert_array_equal(d.cdf([at - 1, at]), [0.0, 1.0])
        np.testing.assert_array_equal(d.logsf(at), -np.inf)
        assert float(d.mode()) == at
        assert float(d.std()) == 0.0


def test_isf_of_tiny_probabilities_is_finite() -> None:
    """``isf(1e-300)``: finite and right (scipy gives nan for the discrete ones)."""
    assert float(Exponential(rate=1.0).isf(1e-300)) == pytest.approx(300 * np.log(10), 1e-15)
    assert float(Normal(0.0, 1.0).isf(1e-300)) == pytest.approx(37.0471, 1e-5)
    for d in (Poisson(rate=3.0), Geometric(probs=0.5), NegativeBinomial(r=2, probs=0.5)):
        k = float(d.isf(1e-300))
        assert np.isfinite(k)
        assert float(d.logsf(k)) <= np.log(1e-300) < float(d.logsf(k - 1))


@pytest.mark.parametrize(
    "d",
    [
        Poisson(rate=[1.0, 2.0, 3.0]),
        Binomial(n=[4, 5, 6], probs=0.5),
        Normal(0.0, [1.0, 2.0, 3.0]),
        Beta(a=[1.0, 2.0, 3.0], b=2.0),
    ],
    ids=lambda d: type(d).__name__,
)
def test_broadcasting_and_dtypes(d: ScalarFamily) -> None:
    """x broadcasts as in log_prob (sample_shape + batch_shape); float32 stays float32."""
    x = np.array([[0.25], [0.75]])
    for fn in TAILS:
        assert getattr(d, fn)(x).shape == (2, 3)
    assert d.ppf(np.array([[0.25], [0.5]])).shape == (2, 3)
    assert d.interval(0.5)[0].shape == (3,)
    assert d.median().shape == d.mode().shape == d.std().shape == (3,)
    with pytest.raises(ValueError, match="`x` with shape"):
        d.cdf(np.zeros(2))
    with pytest.raises(ValueError, match="`q` with shape"):
        d.ppf(np.zeros(2))
    with pytest.raises(TypeError, match="`q`"):
        d.ppf("a")
    f32 = type(d).from_natural_params(d.natural_params.astype(np.float32), **d._fixed())
    for fn in (*TAILS, "ppf", "isf"):
        assert getattr(f32, fn)(0.5).dtype == np.float32
        assert getattr(f32, fn)(np.float32(0.5)).dtype == np.float32
        assert getattr(f32, fn)(np.float64(0.5)).dtype == np.float64  # a numpy float joins
    for fn in ("median", "mode", "std"):
        assert getattr(f32, fn)().dtype == np.float32


@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.__name__)
def test_quiet_under_any_errstate(family: type) -> None:
    """No warning, and no FloatingPointError under the caller's ``errstate(all="raise")``."""
    edge: dict[type, ScalarFamily] = {
        Bernoulli: Bernoulli(probs=[0.0, 0.3, 1.0]),
        Binomial: Binomial(n=5, probs=[0.0, 0.3, 1.0]),
        Poisson: Poisson(rate=[0.0, 3.0, 1e300]),
        Geometric: Geometric(probs=[1e-300, 0.3, 1.0]),
        NegativeBinomial: NegativeBinomial(r=2.0, probs=[1e-300, 0.3, 1.0]),
        Exponential: Exponential(rate=[5e-324, 1.0, 1e308]),
        Normal: Normal(0.0, [1e-150, 1.0, 1e150]),
        Gamma: Gamma(shape=[1e-300, 1.0, 1e300], rate=1.0),
        Beta: Beta(a=[1e-300, 1.0, 1e300], b=1.0),
    }
    d = edge[family]
    x = np.array([[-np.inf], [-1.0], [0.0], [1e-310], [0.5], [1.0], [3.0], [1e300], [np.inf]])
    q = np.array([[0.0], [1e-300], [0.5], [1.0], [np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            for fn in TAILS:
                getattr(d, fn)(x)
            d.ppf(q)
            d.isf(q)
            d.interval(0.9)
            d.median()
            d.mode()
            d.std()


# ---------------------------------------------------------------------- Dirichlet, Categorical
def test_dirichlet_mode_and_marginals() -> None:
    d = Dirichlet([[3.0, 2.0, 4.0], [0.5, 2.0, 2.0]])
    mode = d.mode()
    np.testing.assert_allclose(mode[0], [2 / 6, 1 / 6, 3 / 6], rtol=1e-15)
    assert np.all(np.isnan(mode[1]))  # alpha_0 < 1: the density is unbounded at x_0 = 0
    # the mode maximises the density: every small move inside the simplex lowers it
    lp = float(d.log_prob(mode[0])[0])
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = rng.normal(size=3)
        v -= v.mean()
        assert float(d.log_prob(mode[0] + 1e-4 * v)[0]) < lp
    for k in (0, 1, 2, -1):
        m = d.marginal(k)
        assert isinstance(m, Beta)
        np.testing.assert_allclose(m.mean(), d.mean()[..., k], rtol=1e-15)
        np.testing.assert_allclose(m.variance(), d.variance()[..., k], rtol=1e-14)
    # a tiny component beside a large one: b = alpha_0 - alpha_k without cancellation
    m = Dirichlet([1e-20, 1e20, 1.0]).marginal(0)
    assert float(m.b) == 1e20 + 1.0
    assert Dirichlet(np.array([1.0, 2.0], np.float32)).marginal(1).dtype == np.float32
    with pytest.raises(ValueError, match=r"`k` must be in \[-3, 3\)"):
        d.marginal(3)
    with pytest.raises(TypeError, match="`k` must be an integer"):
        d.marginal(1.0)  # type: ignore[arg-type]


def test_categorical_mode() -> None:
    c = Categorical(logits=[[0.0, 2.0, 1.0], [5.0, -np.inf, 5.0], [-np.inf, 0.0, -np.inf]])
    mode = c.mode()
    assert mode.dtype == np.int64
    np.testing.assert_array_equal(mode, [1, 0, 1])
