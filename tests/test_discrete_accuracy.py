"""Accuracy of the discrete families' ``log_prob`` at large counts, against mpmath.

The references evaluate the textbook log-mass at 50 digits from the float parameters
the distribution stores: the natural parameter :math:`\\eta` (``log(1 - p)`` for the
negative binomial and geometric families, the logit for the binomial) and Poisson's
rate. The contract, in units of eps (float64):

.. math:: |\\mathrm{log\\_prob} - \\mathrm{exact}| \\le 4\\,\\epsilon\\,(|\\mathrm{exact}|
          + \\max(1, |\\eta|)\\,|x - E[x]|),

the second term being what a single rounding of :math:`\\eta` (or of :math:`p` computed
from it) makes, since :math:`\\partial\\log P/\\partial\\eta = x - E[x]`. No formula in
double precision of the stored :math:`\\eta` can do better where that term dominates
(far from the mean at huge counts). Poisson's rate is stored exactly: there the bound
is :math:`4\\epsilon|\\mathrm{exact}|`.

Before the Loader forms, the negative binomial lost ~850 ulp at ``r = 50``,
``probs = 0.01``, ``x = 4850`` (its mode test found two equal masses differing by
1.3e-11) and up to 1e15 eps at counts of 1e15; the binomial lost 1.5e5 eps at
``k = n - 1`` for ``probs = 1 - 1e-6``; the geometric's ``log p`` lost its digits for
``probs`` near 1; Poisson's far tail was 16 eps off. Those points are pinned below.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from expfam import Binomial, Geometric, NegativeBinomial, Poisson
from expfam._special import _bd0_d, _stirlerr, _stirlerr_int, _stirlerr_shifted
from tests.helpers import assert_close

EPS = float(np.finfo(np.float64).eps)
DPS = 50
TOL = 4.0

Mpf = Any


# ---------------------------------------------------------------------- references
def _mp(v: float) -> Mpf:
    return mpmath.mpf(float(v))


def ref_nbinom(x: float, r: float, eta: float) -> Mpf:
    """``lgamma(x + r) - lgamma(r) - lgamma(x + 1) + r log p + x eta``, ``p = 1 - e**eta``."""
    with mpmath.workdps(DPS):
        xm, rm, em = _mp(x), _mp(r), _mp(eta)
        lp = mpmath.log(-mpmath.expm1(em))
        return (
            mpmath.loggamma(xm + rm)
            - mpmath.loggamma(rm)
            - mpmath.loggamma(xm + 1)
            + rm * lp
            + xm * em
        )


def ref_binom(k: float, n: float, eta: float) -> Mpf:
    """``log C(n, k) + k log p + (n - k) log q`` with ``p = expit(eta)``."""
    with mpmath.workdps(DPS):
        km, nm, em = _mp(k), _mp(n), _mp(eta)
        lp, lq = -mpmath.log1p(mpmath.exp(-em)), -mpmath.log1p(mpmath.exp(em))
        return (
            mpmath.loggamma(nm + 1)
            - mpmath.loggamma(km + 1)
            - mpmath.loggamma(nm - km + 1)
            + km * lp
            + (nm - km) * lq
        )


def ref_poisson(k: float, lam: float) -> Mpf:
    with mpmath.workdps(DPS):
        km, lm = _mp(k), _mp(lam)
        return km * mpmath.log(lm) - lm - mpmath.loggamma(km + 1)


def ref_geometric(x: float, eta: float) -> Mpf:
    with mpmath.workdps(DPS):
        em = _mp(eta)
        return mpmath.log(-mpmath.expm1(em)) + (_mp(x) - 1) * em


def ref_stirlerr(n: float) -> Mpf:
    # the terms are n log n in size: their digits come on top of the 50
    with mpmath.workdps(DPS + 2 * max(0, int(np.log10(n)))):
        m = _mp(n)
        half_log_2pi = mpmath.log(2 * mpmath.pi) / 2
        return mpmath.loggamma(m + 1) - (m + 0.5) * mpmath.log(m) + m - half_log_2pi


def ref_bd0(x: float, m: float) -> Mpf:
    with mpmath.workdps(DPS):
        xm, mm = _mp(x), _mp(m)
        return mm if x == 0 else xm * mpmath.log(xm / mm) + mm - xm


def _eta(d: Any) -> float:
    return float(d.natural_params[0])


def _check(got: Any, exact: Mpf, cond: float, what: str) -> None:
    """``|got - exact| <= TOL eps (|exact| + cond)``, measured in 50 digits."""
    with mpmath.workdps(DPS):
        err = abs(_mp(float(got)) - exact)
        scale = abs(exact) + _mp(cond)
        assert err <= TOL * EPS * scale, (
            f"{what}: got {float(got)!r}, exact {mpmath.nstr(exact, 20)}, "
            f"error {float(err / (EPS * scale)):.3g} eps of {float(scale):.3g}"
        )


def _check_eta_family(d: Any, x: float, exact: Mpf) -> None:
    cond = max(1.0, abs(_eta(d))) * abs(x - float(d.mean()))
    _check(d.log_prob(x), exact, cond, repr(d) + f" at x={x!r}")


# ---------------------------------------------------------------------- strategies
def _log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(np.log10(lo), np.log10(hi)).map(lambda e: float(10.0**e))


#: probabilities from 1e-10 to 1 - 1e-13, log-uniform towards both ends
probs = st.one_of(
    _log_uniform(1e-10, 0.5),
    _log_uniform(1e-13, 0.5).map(lambda t: 1.0 - t),
)
#: where to look: the mean plus a multiple of the standard deviation, or anywhere
spread = st.sampled_from([0.0, 0.1, 1.0, 3.0, 10.0, 40.0])


def _count(data: st.DataObject, mean: float, sd: float, top: float) -> float:
    if data.draw(st.booleans(), label="near the mean"):
        z = data.draw(st.floats(-1, 1), label="z") * data.draw(spread, label="spread")
        return float(np.clip(np.floor(mean + z * sd), 0, top))
    return float(min(np.floor(data.draw(_log_uniform(1.0, 1e12), label="x")), top))


# ---------------------------------------------------------------------- the regression
def test_negative_binomial_equal_masses_at_the_mode_regression() -> None:
    """r = 50, probs = 0.01: P(4850) = P(4851) (mpmath: to 2e-19); they differed by 1.3e-11."""
    d = NegativeBinomial(r=50, probs=0.01)
    lp = d.log_prob([4850, 4851])
    for x, got in zip((4850.0, 4851.0), lp, strict=True):
        _check(got, ref_nbinom(x, 50.0, _eta(d)), 0.0, f"x={x}")
    assert abs(lp[0] - lp[1]) <= 2 * np.spacing(abs(lp[0]))
    assert float(d.mode()) in {4850.0, 4851.0}


# ---------------------------------------------------------------------- negative binomial
@given(
    r=_log_uniform(1e-3, 1e8),
    p=probs,
    data=st.data(),
)
@example(r=1e7, p=1e-8, data=None)
@example(r=1e7, p=1 - 1e-6, data=None)
@example(r=1e5, p=0.01, data=None)
@example(r=0.05, p=1e-8, data=None)
def test_negative_binomial_log_prob_accuracy(r: float, p: float, data: Any) -> None:
    d = NegativeBinomial(r=r, probs=p)
    mean, sd = float(d.mean()), float(d.std())
    if data is None:  # the explicit examples: the mean, a few sd out, 0, 1 and 1e7
        xs = [np.floor(mean), np.floor(mean + 3 * sd), np.floor(max(mean - 2 * sd, 0)), 0, 1, 1e7]
    else:
        xs = [_count(data, mean, sd, 1e15) for _ in range(3)]
    for x in xs:
        _check_eta_family(d, float(x), ref_nbinom(float(x), r, _eta(d)))


@pytest.mark.parametrize(
    ("r", "p", "x"),
    [
        (1e7, 1e-8, 999999890000002.0),  # was 8e14 eps off
        (1e7, 1 - 1e-6, 8.0),  # was 5e7 eps
        (1e7, 1 - 1e-12, 1.0),  # was 6e6 eps
        (7.3, 1e-4, 554102.0),  # was 2e5 eps
        (14.9, 0.3, 12.0),  # stirlerr of a non-integer below 15
        (0.001, 1e-8, 6614741.0),
    ],
)
def test_negative_binomial_log_prob_pinned(r: float, p: float, x: float) -> None:
    d = NegativeBinomial(r=r, probs=p)
    _check_eta_family(d, x, ref_nbinom(x, r, _eta(d)))


def test_negative_binomial_vector_matches_scalars() -> None:
    """Zeros, tiny and huge counts in one call give what each gives alone (no mixing)."""
    d = NegativeBinomial(r=[[0.5], [7.3], [1e6]], probs=[1e-6, 0.3, 0.999])
    x = np.array([0.0, 1.0, 3.0, 14.0, 15.0, 16.0, 4850.0, 1e7, 1e15])[:, None, None]
    full = d.log_prob(x)
    for i in range(x.shape[0]):
        np.testing.assert_array_equal(full[i], d.log_prob(x[i]))
    np.testing.assert_array_equal(full[0], d.log_partition() * -1.0)  # r log p at 0


def test_negative_binomial_float32_and_edges() -> None:
    d32 = NegativeBinomial(r=np.float32(50), probs=np.float32(0.01))
    got = d32.log_prob(np.array([0, 4850, 10**6], dtype=np.float32))
    assert got.dtype == np.float32
    d64 = NegativeBinomial(r=50.0, probs=float(np.float32(0.01)))
    assert_close(got, d64.log_prob([0, 4850, 10**6]).astype(np.float32), dtype=np.float32)
    point = NegativeBinomial(r=2.0, probs=1.0)  # the point mass at 0
    np.testing.assert_array_equal(point.log_prob([0, 1, 10**9]), [0.0, -np.inf, -np.inf])
    # np or nq below 1e-280: the textbook form (no overflow, no warning)
    tiny = NegativeBinomial(r=3.0, probs=1e-320)
    for x in (0.0, 1.0, 10.0):
        _check_eta_family(tiny, x, ref_nbinom(x, 3.0, _eta(tiny)))
    huge = NegativeBinomial(r=1e300, probs=0.5).log_prob([1e300, 1.7e308])
    assert np.all(np.isfinite(huge))


@given(r=_log_uniform(1e-3, 1e8), x=st.one_of(st.integers(0, 20), _log_uniform(1.0, 1e15)))
@example(r=4.41382, x=130.0)  # the generic log_prob's oracle was 85 eps off through it
@example(r=1.0, x=1e6)  # log h = 0 exactly
def test_negative_binomial_log_base_measure_accuracy(r: float, x: float) -> None:
    """log C(x + r - 1, x) in Stirling's form: lgamma's difference cancelled x log x."""
    x = float(np.floor(x))
    d = NegativeBinomial(r=r, probs=0.5)
    with mpmath.workdps(DPS):
        xm, rm = _mp(x), _mp(r)
        exact = mpmath.loggamma(xm + rm) - mpmath.loggamma(rm) - mpmath.loggamma(xm + 1)
    # the terms are of the size of log x and log r; log h itself may vanish (r = 1)
    cond = abs(np.log(x)) + abs(np.log(r)) + 1.0 if x > 0 else 0.0
    _check(d.log_base_measure(x), exact, cond, f"log h({x!r}; r={r!r})")


# ---------------------------------------------------------------------- binomial
@given(n=_log_uniform(1.0, 2.0**53).map(np.floor), p=probs, data=st.data())
@example(n=1e7, p=1 - 1e-6, data=None)
@example(n=2.0**53, p=1e-9, data=None)
@example(n=1e9, p=0.5, data=None)
def test_binomial_log_prob_accuracy(n: float, p: float, data: Any) -> None:
    d = Binomial(n=n, probs=p)
    mean, sd = float(d.mean()), float(d.std())
    if data is None:
        xs = [np.floor(mean), np.floor(mean + 3 * sd), n - 1, n, 1, 0]
    else:
        xs = [_count(data, mean, sd, n) for _ in range(3)]
    for k in (float(np.clip(x, 0, n)) for x in xs):
        _check_eta_family(d, k, ref_binom(k, n, _eta(d)))


def test_binomial_log_prob_k_near_n_regression() -> None:
    """log1p(-k/n) lost 1.5e5 eps at k = n - 1 (probs = 1 - 1e-6, n = 1e7)."""
    for n in (1e5, 1e7, 1e9):
        d = Binomial(n=n, probs=1 - 1e-6)
        for k in (n - 1, n - 10, n - 1000):
            _check_eta_family(d, k, ref_binom(k, n, _eta(d)))


# ---------------------------------------------------------------------- Poisson
@given(lam=_log_uniform(1e-10, 1e12), data=st.data())
@example(lam=3.3e6, data=None)
def test_poisson_log_prob_accuracy(lam: float, data: Any) -> None:
    d = Poisson(rate=lam)
    if data is None:
        xs = [4375479.0, 6614741.0, np.floor(lam), 0.0]  # the far tail was 16 eps off
    else:
        xs = [_count(data, lam, np.sqrt(lam), 1e15) for _ in range(3)]
    for x in xs:
        _check(d.log_prob(x), ref_poisson(float(x), lam), 0.0, f"{d!r} at x={x!r}")


# ---------------------------------------------------------------------- geometric
@given(p=probs, data=st.data())
@example(p=1 - 1e-15, data=None)
@example(p=1 - 1e-10, data=None)
def test_geometric_log_prob_accuracy(p: float, data: Any) -> None:
    d = Geometric(probs=p)
    mean = float(d.mean())
    if data is None:  # log p near 0: log(-expm1(eta)) lost its digits (13 eps at 1 - 1e-15)
        xs = [1.0, 2.0, 41.0]
    else:
        xs = [1.0 + _count(data, mean, mean, 1e15) for _ in range(3)]
    for x in xs:
        _check_eta_family(d, float(x), ref_geometric(float(x), _eta(d)))


@pytest.mark.parametrize("p", [1 - 1e-15, 1 - 1e-10, 1 - 1e-6])
def test_log_p_near_zero_regression(p: float) -> None:
    """log p for probs near 1 is log1mexp(eta): log(-expm1(eta)) was 13 eps off at 1 - 1e-15.

    Measured against |log P| alone (no allowance for the rounding of eta).
    """
    g = Geometric(probs=p)
    _check(g.log_prob(1.0), ref_geometric(1.0, _eta(g)), 0.0, f"{g!r} at 1")
    nb = NegativeBinomial(r=2.5, probs=p)
    _check(nb.log_prob(0.0), ref_nbinom(0.0, 2.5, _eta(nb)), 0.0, f"{nb!r} at 0")


# ---------------------------------------------------------------------- the kernels
_STIRLERR_POINTS = np.array(
    [
        0.0,
        1e-300,
        1e-8,
        0.5,
        0.999,
        1.0,
        1.0000001,
        2.5,
        7.3,
        8.0,
        14.9,
        15.0,
        15.0000001,
        15.3,
        16.0,
        123.456,
        1e4,
        1e15,
        1e200,
    ]
)


def test_stirlerr_against_mpmath() -> None:
    """Relative to the value from 1 up (the log-pmfs need it), absolute below 1."""
    got = _stirlerr(_STIRLERR_POINTS)
    for n, g in zip(_STIRLERR_POINTS, got, strict=True):
        if n == 0:
            assert g == 0.0
            continue
        exact = ref_stirlerr(float(n))
        _check(g, exact, 1.0 if n < 1 else 0.0, f"stirlerr({n!r})")


def test_stirlerr_int_against_mpmath() -> None:
    """The table below 2**16 (entries from the eight-term series) and the two-term series above."""
    k = np.array([0, 1, 15, 16, 17, 100, 1023, 65535, 65536, 65537, 1e6, 2.0**53, 1e300])
    got = _stirlerr_int(k)
    assert got[0] == 0.0
    for n, g in zip(k[1:], got[1:], strict=True):
        _check(g, ref_stirlerr(float(n)), 0.0, f"stirlerr_int({n!r})")
    np.testing.assert_array_equal(_stirlerr_int(k[:8]), got[:8])  # table only


@given(
    r=st.lists(_log_uniform(1e-3, 1e6), min_size=1, max_size=3),
    k=st.lists(st.one_of(st.integers(0, 20), st.integers(0, 10**9)), min_size=1, max_size=80),
)
def test_stirlerr_shifted_matches_stirlerr(r: list[float], k: list[int]) -> None:
    """The per-parameter table below k = 16 gives stirlerr(k + r) as computed directly."""
    ra = np.array(r)[:, None]
    ka = np.array(k, dtype=np.float64)
    np.testing.assert_allclose(_stirlerr_shifted(ka, ra), _stirlerr(ka + ra), rtol=4 * EPS, atol=0)


@given(st.permutations(list(range(_STIRLERR_POINTS.size))))
def test_stirlerr_entries_do_not_depend_on_their_neighbours(order: list[int]) -> None:
    """The whole-array series and the small-argument fix-ups: a mixed array gives each
    entry what it gives alone (a clamp once sent 15.3 to the series at 16)."""
    pts = _STIRLERR_POINTS[order]
    alone = np.array([float(_stirlerr(np.array([v]))[0]) for v in pts])
    np.testing.assert_array_equal(_stirlerr(pts), alone)
    np.testing.assert_array_equal(_stirlerr(pts[:4]), alone[:4])


@pytest.mark.parametrize(
    "ratio", [0.0, 1e-9, 0.3, 0.49, 0.5, 0.51, 0.9, 1 - 1e-9, 1.0, 1 + 1e-9, 1.5, 1.99, 2.0, 2.01]
)
def test_bd0_against_mpmath(ratio: float) -> None:
    """bd0(x, m) = x log(x/m) + m - x to a few eps, on both sides of the series' range."""
    for m in (1.0, 7.3, 1e6, 1e300):
        x = ratio * m
        d = np.array(x) - np.array(m)
        got = _bd0_d(np.array([x]), np.array([m]), np.array([d]))[0]
        exact = ref_bd0(x, m)
        if exact == 0:
            assert got == 0.0
            continue
        # x = ratio * m is rounded; the reference takes the rounded x
        _check(got, exact, 0.0, f"bd0({x!r}, {m!r})")
