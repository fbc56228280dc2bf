"""Gamma and Exponential fits of data at the ends of the float range.

Regressions from a review: ``Gamma.fit([1e-200, 1e200])`` raised "`x` contains 0" (the
term of 1e-200 took ``log(x / m)`` of an underflowed quotient), ``Gamma.fit([1e300,
1.7e308])`` "no spread" and ``Exponential.fit([1e300, 1.7e308])`` "`mean_params` must be
finite" (the exact sum's splitter overflowed; for [1e308, 1.7e308] the sum itself does).
The MLE is representable in all of them. References: mpmath at 50 digits, the shape
solving ``log a - digamma(a) = log(mean) - mean(log x)``; and the scale equivariance of
the fit (shape unchanged, rate / 2**k for data times 2**k) over the whole float range.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import expfam
from expfam import Exponential, Gamma, InfeasibleError

Mpf = Any


def gamma_mle_reference(x: list[float]) -> tuple[Mpf, Mpf, Mpf]:
    """Return the Gamma MLE (shape, rate) and the mean of `x`, with mpmath at 50 digits."""
    with mpmath.workdps(50):
        xs = [mpmath.mpf(v) for v in x]
        m = mpmath.fsum(xs) / len(xs)
        s = mpmath.log(m) - mpmath.fsum(mpmath.log(v) for v in xs) / len(xs)
        start = (3 - s + mpmath.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)  # Minka's guess
        shape = mpmath.findroot(
            lambda a: mpmath.log(a) - mpmath.digamma(a) - s,
            (start * mpmath.mpf("0.8"), start * mpmath.mpf("1.25")),
            solver="anderson",
        )
        return shape, shape / m, m


def ulps(value: Any, ref: Mpf, dtype: Any = np.float64) -> float:
    """|value - ref| in units of the spacing of `dtype` at ref (subnormal spacing too)."""
    spacing = np.spacing(np.asarray(float(ref), dtype=dtype))
    return float(abs(mpmath.mpf(float(value)) - ref) / mpmath.mpf(float(spacing)))


EXTREME = [
    [1e-200, 1e200],  # the review's: "contains 0"
    [1e300, 1.7e308],  # the review's: "no spread" (the sum fits, its splitter did not)
    [1e308, 1.7e308],  # the sum overflows, the mean does not
    [1.7e308, 8.5e307, 1e-5],
    [5e-324, 1.7e308],  # a subnormal observation beside the largest ones
    [5e-324, 1.5e-323, 1.0],
    [1e-300, 1.0],
    [1e-320, 1e-300, 1e-280, 1e300, 1e-10],
]


@pytest.mark.parametrize("x", EXTREME)
def test_gamma_fit_of_extreme_data_matches_mpmath(x: list[float]) -> None:
    shape, rate, _ = gamma_mle_reference(x)
    d = Gamma.fit(np.array(x))
    assert ulps(d.shape, shape) <= 2, ulps(d.shape, shape)
    assert ulps(d.rate, rate) <= 3, ulps(d.rate, rate)


@pytest.mark.parametrize("x", EXTREME)
def test_exponential_fit_of_extreme_data_matches_mpmath(x: list[float]) -> None:
    _, _, mean = gamma_mle_reference(x)
    if 1 / mean > np.finfo(np.float64).max:
        with pytest.raises(InfeasibleError, match="`x`"):
            Exponential.fit(np.array(x))
        return
    d = Exponential.fit(np.array(x))
    assert ulps(d.rate, 1 / mean) <= 1  # a subnormal rate: its spacing, 2**-1074
    assert ulps(Exponential.suffstats(np.array(x)).mean_params[0], mean) <= 1


@pytest.mark.parametrize(
    ("x", "dtype"),
    [
        ([1e-38, 3e38], np.float32),
        ([1e-45, 1.0, 3.4e38], np.float32),
        ([3e38, 3.4e38], np.float32),
    ],
)
def test_float32_extremes_stay_float32(x: list[float], dtype: Any) -> None:
    data = np.array(x, dtype=dtype)
    shape, rate, _ = gamma_mle_reference([float(v) for v in data])
    d = Gamma.fit(data)
    assert d.dtype == np.float32
    assert ulps(d.shape, shape, np.float32) <= 1
    assert ulps(d.rate, rate, np.float32) <= 1


def test_chunked_merged_and_weighted_statistics_of_extreme_data() -> None:
    # chunks whose sums fit merged with chunks whose sums overflow: the scales align
    x = np.array([1.7e308, 1e-300, 1.5e308, 3.0, 1e308, 2.5e-310, 8e307])
    one = Gamma.fit(x)
    shape, rate, mean = gamma_mle_reference(x.tolist())
    assert ulps(one.shape, shape) <= 2
    assert ulps(one.rate, rate) <= 3
    for parts in ([x[:2], x[2:]], [x[:1], x[1:4], x[4:]], [x[i : i + 1] for i in range(7)]):
        merged = sum(Gamma.suffstats(p) for p in parts)
        assert isinstance(merged, expfam.SufficientStatistics)
        fit = merged.fit()
        assert isinstance(fit, Gamma)
        assert ulps(fit.shape, shape) <= 2
        assert ulps(fit.rate, rate) <= 3
        assert ulps(merged.mean_params[1], mean) <= 1
        e = sum(Exponential.suffstats(p) for p in parts)
        assert isinstance(e, expfam.SufficientStatistics)
        assert ulps(e.fit().rate, 1 / mean) <= 1  # type: ignore[attr-defined]
    # integer weights: the same fit as the repeated data
    w = np.array([2.0, 1.0, 3.0, 1.0, 2.0, 1.0, 1.0])
    rep = np.repeat(x, w.astype(int))
    shape_w, rate_w, mean_w = gamma_mle_reference(rep.tolist())
    dw = Gamma.fit(x, weights=w)
    assert ulps(dw.shape, shape_w) <= 2
    assert ulps(dw.rate, rate_w) <= 3
    assert ulps(Exponential.fit(x, weights=w).rate, 1 / mean_w) <= 1


def test_dask_fit_of_extreme_data() -> None:
    da = pytest.importorskip("dask.array")
    x = np.array([1.7e308, 1e-300, 1.5e308, 3.0, 1e308, 2.5e-310, 8e307, 1e200])
    shape, rate, mean = gamma_mle_reference(x.tolist())
    for chunks in (1, 3, 8):
        d = Gamma.fit(da.from_array(x, chunks=chunks))
        assert ulps(d.shape, shape) <= 2
        assert ulps(d.rate, rate) <= 3
        assert ulps(Exponential.fit(da.from_array(x, chunks=chunks)).rate, 1 / mean) <= 1


def test_wide_block_of_huge_values() -> None:
    # a block of 4096 (the lean table path) whose sum overflows: the scaled block path
    rng = np.random.default_rng(7)
    y = rng.gamma(0.7, size=4096) + 0.01
    shape0 = Gamma.fit(y).shape
    big = np.ldexp(y / y.max(), 1023)
    d = Gamma.fit(big)
    assert abs(float(d.shape) - float(shape0)) <= 4 * np.spacing(float(shape0))
    shape, rate, mean = gamma_mle_reference(big.tolist())
    assert ulps(d.shape, shape) <= 4
    assert ulps(d.rate, rate) <= 6
    assert ulps(Exponential.fit(big).rate, 1 / mean) <= 1


def test_errors_at_the_extremes_name_x() -> None:
    with pytest.raises(InfeasibleError, match="`x` contains 0"):
        Gamma.fit([0.0, 1e308, 1.7e308])
    with pytest.raises(InfeasibleError, match="`x` has no spread"):
        Gamma.fit([1.7e308, 1.7e308, 1.7e308])
    with pytest.raises(InfeasibleError, match=r"`x`.*overflows float64"):
        Gamma.fit([1e-310, 1e-309])  # the rate ~2e309 is not representable
    with pytest.raises(InfeasibleError, match="overflows float64"):
        Exponential.fit([1e-310, 1e-309])
    with pytest.raises(ValueError, match="`x` must be finite"):
        Exponential.fit([1.0, np.inf])
    with pytest.raises(ValueError, match="`x` must be in the support"):
        Gamma.fit([1.0, np.inf])


def test_cli_fits_the_reviewed_data() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "expfam", "fit", "gamma", "-l", "1e-200 1e200", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    params = json.loads(r.stdout)["parameters"]
    shape, rate, _ = gamma_mle_reference([1e-200, 1e200])
    assert ulps(params["shape"], shape) <= 2
    assert ulps(params["rate"], rate) <= 3


# ---------------------------------------------------------------------- scale equivariance
def _check_scaled(x: Any, k: int, dtype: Any) -> None:
    """Fit `x` and ``x * 2**k`` (both exact in `dtype`): same shape, rate / 2**k."""
    x = np.asarray(x, dtype=dtype)
    info = np.finfo(dtype)
    with np.errstate(over="ignore", under="ignore"):
        y = np.ldexp(x, k).astype(dtype)
    assume(bool(np.all(np.isfinite(y)) and np.all(y >= info.tiny)))
    assume(bool(np.all(np.ldexp(y.astype(np.float64), -k) == x)))
    assume(not np.all(x == x[0]))
    dx = Gamma.fit(x)
    ex = Exponential.fit(x)
    with np.errstate(over="ignore", under="ignore"):
        want = float(np.ldexp(float(dx.rate), -k))
        want_exp = float(np.ldexp(float(ex.rate), -k))
    if want > float(info.max):
        with pytest.raises(InfeasibleError, match=r"`x`.*overflows"):
            Gamma.fit(y)
    else:
        dy = Gamma.fit(y)
        assert dy.dtype == dtype
        assert float(dy.shape) == float(dx.shape)
        # the rates are the same quotient of a mean scaled exactly (one rounding each,
        # two where the scaled one is subnormal)
        assert abs(float(dy.rate) - want) <= np.spacing(np.asarray(want, dtype=dtype))
    if want_exp > float(info.max):
        with pytest.raises(InfeasibleError, match="overflows"):
            Exponential.fit(y)
    else:
        ey = Exponential.fit(y)
        assert abs(float(ey.rate) - want_exp) <= np.spacing(np.asarray(want_exp, dtype=dtype))


@given(
    x=st.lists(st.floats(2.0**-30, 2.0**30), min_size=2, max_size=40),
    k=st.integers(-1000, 1000),
)
@example(x=[1.0, 2.0**40 / 2**10], k=1000)
@example(x=[1.0, 1.5], k=1022)
@example(x=[2.0**29 + i for i in range(40)], k=993)  # the scaled sum overflows
@example(x=[2.0**-30, 2.0**30], k=-992)  # tiny observations beside large ones
@example(x=[1.0, 1.0 + 2.0**-40, 1.0 + 2.0**-39], k=-1000)
def test_fit_is_scale_equivariant_over_the_float_range(x: list[float], k: int) -> None:
    _check_scaled(x, k, np.float64)


@given(
    x=st.lists(st.floats(2.0**-10, 2.0**10, width=32), min_size=2, max_size=40),
    k=st.integers(-115, 117),
)
def test_float32_fit_is_scale_equivariant(x: list[float], k: int) -> None:
    _check_scaled(x, k, np.float32)


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(-1000, 1010))
@example(seed=1, k=1008)  # the sum overflows
def test_large_sample_fit_is_scale_equivariant(seed: int, k: int) -> None:
    # 3000 observations: the lean table path where the sums fit, the scaled one where not
    rng = np.random.default_rng(seed)
    x = rng.gamma(rng.uniform(0.2, 20.0), size=3000)
    x = np.ldexp(x / x.max(), 13)
    y = np.ldexp(x, k)
    assume(bool(np.all(y >= np.finfo(np.float64).tiny) and np.all(np.isfinite(y))))
    dx, dy = Gamma.fit(x), Gamma.fit(y)
    assert abs(float(dy.shape) - float(dx.shape)) <= 4 * np.spacing(float(dx.shape))
    want = np.ldexp(float(dx.rate), -k)
    assert abs(float(dy.rate) - want) <= 6 * np.spacing(want)


@pytest.mark.parametrize("value", [0.1, 1.7e308, 3.0, 1e-300])
def test_equal_observations_have_no_spread(value: float) -> None:
    # [0.1] * 3 fitted shape 2.7e47: the rounded mean left a gap of ~1e-48
    x = np.full(7, value)
    for stats in (
        Gamma.suffstats(x),
        Gamma.suffstats(x[:3]) + Gamma.suffstats(x[3:]),
        sum(Gamma.suffstats(x[i : i + 1]) for i in range(7)),
        Gamma.suffstats(x, weights=[1.0, 0.0, 2.0, 1.0, 1.0, 3.0, 1.0]),
    ):
        assert isinstance(stats, expfam.SufficientStatistics)
        with pytest.raises(InfeasibleError, match="`x` has no spread"):
            stats.fit()
    # zero-weight observations do not count: the weighted data are all equal
    with pytest.raises(InfeasibleError, match="`x` has no spread"):
        Gamma.fit(np.array([value, value / 2, value]), weights=[1.0, 0.0, 1.0])
