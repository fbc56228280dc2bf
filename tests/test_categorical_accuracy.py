"""Accuracy of the categorical's entropy, cross-entropy and KL divergence against mpmath.

The contract: ``entropy()`` computed from the logits, and ``cross_entropy``/``kl_divergence``
between two Categoricals, are within 4 eps of the exact value of the same floating-point
inputs, relative to the magnitude of their terms:

* entropy :math:`H = \\sum_j p_j(-\\log p_j)` and cross-entropy :math:`\\sum_j p_j(-\\log q_j)`
  are sums of non-negative terms, so the magnitude is the value itself;
* KL :math:`\\sum_j p_j(\\log p_j - \\log q_j)` is measured against
  :math:`\\sum_j p_j(|\\log p_j| + |\\log q_j|)`.

Regimes: confident rows (one dominant logit, the others 20 to 700 below it, so that the
shifted logits are not exact in floating point), masked categories, spreads up to 1e300 and
large common shifts. On confident rows ``scipy.stats.entropy(softmax(u))`` is off by
1e12-1e14 eps (the dominant term :math:`p_{j^*}\\log p_{j^*}` is lost when
:math:`p_{j^*}` rounds to 1); it is measured here as the motivating regression.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray
from scipy import stats

from expfam import Categorical, softmax
from tests.helpers import eps_of

inf = np.inf
mpmath.mp.dps = 60
F = NDArray[np.floating[Any]]

# ---------------------------------------------------------------------- mpmath references


def ref_log_probs(u: Any) -> list[Any]:
    """Exact (60-digit) log-softmax of the float logits `u`; None for a masked category.

    Computed as ``(u_j - m) - log1p(sum_{j != j*} exp(u_j - m))`` so that the tiny
    ``log1p`` of a confident row is not lost next to ``m``.
    """
    vals = [mpmath.mpf(float(x)) if np.isfinite(x) else None for x in np.asarray(u).ravel()]
    finite = [v for v in vals if v is not None]
    m = max(finite)
    top = finite.index(m)
    s = mpmath.fsum(mpmath.exp(v - m) for i, v in enumerate(finite) if i != top)
    l1p = mpmath.log1p(s)
    return [None if v is None else (v - m) - l1p for v in vals]


def ref_entropy(u: Any) -> Any:
    return mpmath.fsum(-mpmath.exp(lp) * lp for lp in ref_log_probs(u) if lp is not None)


def ref_cross_entropy(u: Any, v: Any) -> Any:
    terms = []
    for a, b in zip(ref_log_probs(u), ref_log_probs(v), strict=True):
        if a is None:
            continue
        if b is None:
            return mpmath.inf
        terms.append(-mpmath.exp(a) * b)
    return mpmath.fsum(terms)


def ref_kl(u: Any, v: Any) -> tuple[Any, Any]:
    """KL and the magnitude of its terms, ``sum p (|log p| + |log q|)``."""
    terms, mags = [], []
    for a, b in zip(ref_log_probs(u), ref_log_probs(v), strict=True):
        if a is None:
            continue
        if b is None:
            return mpmath.inf, mpmath.inf
        p = mpmath.exp(a)
        terms.append(p * (a - b))
        mags.append(p * (abs(a) + abs(b)))
    return mpmath.fsum(terms), mpmath.fsum(mags)


def err_eps(actual: Any, exact: Any, scale: Any, dtype: Any) -> float:
    """|actual - exact| / scale in eps of `dtype`; the scale is floored at the tiniest normal."""
    if mpmath.isinf(exact):
        return 0.0 if np.isinf(actual) and actual > 0 else inf
    floor = mpmath.mpf(float(np.finfo(dtype).tiny))
    err = abs(mpmath.mpf(float(actual)) - exact) / max(abs(scale), floor)
    return float(err) / eps_of(dtype)


# ---------------------------------------------------------------------- regimes


def confident(rng: np.random.Generator, K: int) -> NDArray[np.float64]:
    u = rng.normal(size=K) * 3 - rng.uniform(20, 700)
    u[rng.integers(K)] = rng.normal() * 5
    return u


def masked(rng: np.random.Generator, K: int) -> NDArray[np.float64]:
    u = rng.normal(size=K) * 5
    u[rng.random(K) < 0.4] = -inf
    u[rng.integers(K)] = rng.normal()
    return u


def spread(rng: np.random.Generator, K: int) -> NDArray[np.float64]:
    # two or three logits within ~30 of the top, the others up to 1e300 below (or above 0)
    u = rng.normal(size=K) * 10.0 ** rng.uniform(0, 300, size=K)
    top = rng.choice([0.0, 1e300, -1e300, rng.normal() * 1e150])
    u[:2] = top - np.abs(rng.normal(size=2) * 10)
    u[0] = top
    return rng.permutation(u)


def shifted(rng: np.random.Generator, K: int) -> NDArray[np.float64]:
    return rng.normal(size=K) * 2 + rng.normal() * 1e3


REGIMES = {"confident": confident, "masked": masked, "spread": spread, "shifted": shifted}


def pairs(name: str, n: int = 60) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """`n` pairs (u, v) of logits of the regime; v is u perturbed (so KL is small) or not."""
    rng = np.random.default_rng(sum(map(ord, name)))
    out = []
    for i in range(n):
        K = int(rng.integers(2, 8))
        u = REGIMES[name](rng, K)
        near = u + rng.normal(size=K) * 10.0 ** rng.uniform(-8, 0)
        v = REGIMES[name](rng, K) if i % 2 else near
        out.append((u, v))
    return out


# ---------------------------------------------------------------------- the 4-eps contract


@pytest.mark.parametrize("regime", list(REGIMES))
def test_entropy_within_4_eps(regime: str) -> None:
    worst = 0.0
    for u, _ in pairs(regime):
        h = ref_entropy(u)
        worst = max(worst, err_eps(Categorical(logits=u).entropy(), h, h, np.float64))
    assert worst <= 4, f"entropy: worst error {worst:.3g} eps"


@pytest.mark.parametrize("regime", list(REGIMES))
def test_cross_entropy_within_4_eps(regime: str) -> None:
    worst = 0.0
    for u, v in pairs(regime):
        ce = ref_cross_entropy(u, v)
        got = Categorical(logits=u).cross_entropy(Categorical(logits=v))
        worst = max(worst, err_eps(got, ce, ce, np.float64))
    assert worst <= 4, f"cross-entropy: worst error {worst:.3g} eps"


@pytest.mark.parametrize("regime", list(REGIMES))
def test_kl_within_4_eps_of_its_terms(regime: str) -> None:
    worst = 0.0
    for u, v in pairs(regime):
        kl, mag = ref_kl(u, v)
        got = Categorical(logits=u).kl_divergence(Categorical(logits=v))
        worst = max(worst, err_eps(got, kl, mag, np.float64))
    assert worst <= 4, f"KL: worst error {worst:.3g} eps"


@pytest.mark.parametrize("regime", list(REGIMES))
def test_float32_within_2_eps(regime: str) -> None:
    # float32 in: computed in float64 and rounded once
    worst = 0.0
    for u, v in pairs(regime, 30):
        with np.errstate(over="ignore"):
            u32, v32 = u.astype(np.float32), v.astype(np.float32)
        if not (np.isfinite(u32).any() and np.isfinite(v32).any()) or np.isinf(u32).any():
            continue
        if np.isposinf(u32).any() or np.isposinf(v32).any():
            continue
        p, q = Categorical(logits=u32), Categorical(logits=v32)
        h, ce = ref_entropy(u32), ref_cross_entropy(u32, v32)
        kl, mag = ref_kl(u32, v32)
        for got, exact, scale in ((p.entropy(), h, h), (p.cross_entropy(q), ce, ce)):
            assert got.dtype == np.float32
            worst = max(worst, err_eps(got, exact, scale, np.float32))
        worst = max(worst, err_eps(p.kl_divergence(q), kl, mag, np.float32))
    assert worst <= 2, f"float32: worst error {worst:.3g} eps"


@settings(max_examples=min(settings().max_examples, 50))
@given(
    u=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-800, 800)),
    drop=st.floats(0, 700),
)
def test_confident_rows_property(u: NDArray[np.float64], drop: float) -> None:
    # push all but the first logit `drop` further down: a confident row
    u = u.copy()
    u[1:] -= drop
    u[0] = u.max() + 1 if u.size > 1 else u[0]
    h = ref_entropy(u)
    assert err_eps(Categorical(logits=u).entropy(), h, h, np.float64) <= 4


# ---------------------------------------------------------------------- pinned references


# Reference values, exact for the float inputs: mpmath.nstr(ref_entropy(np.array(u)), 25)
# with mpmath.mp.dps = 60
@pytest.mark.parametrize(
    ("u", "expected"),
    [
        ([0.0, -40.0], 1.741825244669551480775338e-16),
        ([0.0, -40.3, -41.7], 1.631214200750818950362348e-16),
        ([5.0, -35.3], 1.299817653215290769884293e-16),
        ([0.0, -745.0], 2.105473644932065058959666e-321),  # subnormal: absolute 4 eps * tiny
        ([0.0, -700.0, -inf], 6.911633257175599370550466e-302),
        ([1e300, 1e300, -1e300], 0.6931471805599453094172321),
        ([0.0, -1e300, -3.0, -inf], 0.1908649711064424013954704),
    ],
)
def test_pinned_entropies(u: list[float], expected: float) -> None:
    exact = ref_entropy(np.array(u))
    assert err_eps(expected, exact, exact, np.float64) <= 0.5  # the table is right
    assert err_eps(Categorical(logits=u).entropy(), exact, exact, np.float64) <= 4


def test_extreme_divergences() -> None:
    # spreads up to 1e300: KL = 1e300 is finite in float64
    p, q = Categorical(logits=[0.0, -1e300]), Categorical(logits=[-1e300, 0.0])
    assert p.kl_divergence(q) == 1e300
    assert p.cross_entropy(q) == 1e300
    # the value overflows: +inf, no warning, no nan
    big = Categorical(logits=[1.7e308, -1.7e308])
    with np.errstate(all="raise"):
        assert big.kl_divergence(Categorical(logits=[-1.7e308, 1.7e308])) == inf
        assert big.entropy() == 0


# ---------------------------------------------------------------------- the regression


def test_regression_scipy_entropy_of_softmax_loses_confident_rows() -> None:
    # scipy.stats.entropy(softmax(u)) rounds p_{j*} to 1 and drops its term p log p: for
    # u = [0, -40.3, -41.7] it is 2% off (1e14 eps), expfam is within 4 eps.
    worst_scipy, worst_ours = 0.0, 0.0
    for u, _ in pairs("confident"):
        h = ref_entropy(u)
        if h < mpmath.mpf(float(np.finfo(np.float64).tiny)):
            continue
        with np.errstate(all="ignore"):
            naive = stats.entropy(softmax(u))
        worst_scipy = max(worst_scipy, err_eps(naive, h, h, np.float64))
        worst_ours = max(worst_ours, err_eps(Categorical(logits=u).entropy(), h, h, np.float64))
    assert worst_ours <= 4
    assert worst_scipy > 1e10, f"scipy is now accurate ({worst_scipy:.3g} eps): update the docs"
