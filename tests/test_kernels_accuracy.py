"""Accuracy of the kernels against mpmath references, in units of the dtype's eps.

The inputs are generated from fixed seeds; the references are computed at test time by
:mod:`tests.mpmath_refs` (mpmath, 50 digits) from the exact float inputs. Run this module
as a script to print the table of measured maximum errors::

    python -m tests.test_kernels_accuracy

Bounds (``eps`` of the result's dtype, errors of subnormal results measured against the
smallest normal number):

* ``logsumexp``, ``log_softmax``, ``cross_entropy_with_logits``: 4 eps relative. For
  ``logsumexp`` of rows whose result is nearly 0 through cancellation (``cancel_deep``),
  the documented bound is ``4 eps |LSE| + 2**-100``.
* ``softmax``: ``4 eps + eps |x_j - max|`` relative, per element.
* ``entropy``, ``kl_divergence``, ``cross_entropy``: 4 eps relative to the sum of the
  magnitudes of the terms.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import cache
from typing import Any

import mpmath
import numpy as np
import pytest

import expfam
from expfam import _kernels
from tests import mpmath_refs as ref

BOUND = 4.0
DD_ATOL = 2.0**-100  # documented absolute term of logsumexp for cancelling rows
DTYPES = ["float64", "float32"]
Rows = list[np.ndarray[Any, Any]]


# --------------------------------------------------------------------------------------
# Logit regimes: each returns a list of 2-D arrays (rows x categories) of the dtype
# --------------------------------------------------------------------------------------


def _benign(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    return [rng.normal(0, 3, s).astype(dt) for s in [(20, 5), (6, 60), (2, 1000)]]


def _wide(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    top = 300 if dt == np.float64 else 37
    out = []
    for s in [(20, 4), (6, 40)]:
        mag = 10.0 ** rng.uniform(-3, top, s)
        out.append((mag * rng.choice([-1.0, 1.0], s)).astype(dt))
    return out


def _dominant(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    out = []
    for lead, s in [(40.0, (4, 1000)), (25.0, (20, 10)), (-5.0, (10, 50))]:
        x = rng.normal(min(lead, 0) - 40 if lead < 0 else 0, 1, s)
        x[:, 0] = lead
        out.append(x.astype(dt))
    return out


def _pair(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    t = np.geomspace(20, 700, 40)
    base = np.stack([np.zeros_like(t), -t], axis=1)
    shifted = base + rng.normal(0, 10, (40, 1))
    return [base.astype(dt), shifted.astype(dt)]


def _near_ties(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    out = []
    for s in [(20, 4), (4, 100)]:
        c = rng.normal(0, 10, (s[0], 1)).astype(dt)
        k = rng.integers(-3, 4, s)
        out.append((c + k * np.spacing(np.abs(c))).astype(dt))
    return out


def _ties(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    out = [np.repeat(rng.normal(0, 20, (10, 1)), 7, axis=1).astype(dt)]
    # ties at -log K: the log-sum-exp cancels to ~1e-17
    out.extend(np.full((1, K), -np.log(K), dtype=dt) for K in range(2, 11))
    # one max above many tied logits, x_j - max inexact: rounding errors add coherently
    far = np.full((3, 3000), 0.3)
    far[:, 0] = [10.1, 13.7, 6.35]
    out.append(far.astype(dt))
    return out


def _masked(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    out = []
    for s in [(20, 6), (5, 100)]:
        x = rng.normal(0, 5, s)
        x[rng.random(s) < 0.5] = -np.inf
        x[np.arange(s[0]), rng.integers(0, s[1], s[0])] = rng.normal(0, 5, s[0])
        out.append(x.astype(dt))
    out.append(np.array([[0.0, -np.inf], [-np.inf, 3.0], [-7.0, -np.inf]], dtype=dt))
    return out


def _cancel(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    """log-sum-exp near 0 with a negative max: log(p) + c for small shifts c."""
    out = []
    for K in [2, 3, 7, 30]:
        logp = np.log(rng.dirichlet(np.ones(K), 8))
        c = np.array([1e-2, -1e-3, 1e-5, -1e-6, 3e-8, -1e-9, 1e-12, -2e-13])[:, None]
        if dt == np.float32:
            c = np.sqrt(np.abs(c)) * np.sign(c)  # float32 cannot hold shifts below ~1e-7
        out.append((logp + c).astype(dt))
    # all-negative logits whose log-sum-exp lands anywhere near 0: moderate cancellation
    out.extend(rng.normal(-1.2 * np.log(K), 0.7, (60, K)).astype(dt) for K in (2, 3, 5, 9))
    return out


def _cancel_deep(rng: np.random.Generator, dt: np.dtype[Any]) -> Rows:
    """Normalised log-probabilities: the log-sum-exp is ~1e-17 (float64), pure rounding."""
    return [np.log(rng.dirichlet(np.ones(K), 10)).astype(dt) for K in [2, 3, 5, 10, 100]]


LOGIT_REGIMES: dict[str, Callable[[np.random.Generator, np.dtype[Any]], Rows]] = {
    "benign": _benign,
    "wide": _wide,
    "dominant": _dominant,
    "pair": _pair,
    "near_ties": _near_ties,
    "ties": _ties,
    "masked": _masked,
    "cancel": _cancel,
    "cancel_deep": _cancel_deep,
}


@cache
def _logit_case(regime: str, dtype: str) -> tuple[Rows, Rows, list[list[Any]], list[list[Any]]]:
    """Inputs, target weights and references (LSE per row, log-softmax per entry)."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(zlib.crc32(f"{regime}/{dtype}".encode()))
    xs = LOGIT_REGIMES[regime](rng, dt)
    ps = []
    for x in xs:  # probability targets with zeros, zero wherever the logit is masked
        w = rng.dirichlet(np.ones(x.shape[1]), x.shape[0])
        w[rng.random(x.shape) < 0.3] = 0.0
        w[np.isneginf(x)] = 0.0
        w[np.arange(x.shape[0]), np.argmax(x, axis=1)] += 0.5
        ps.append((w / w.sum(axis=1, keepdims=True)).astype(dt))
    lse = [[ref.logsumexp_ref(row) for row in x] for x in xs]
    lsm = [[ref.log_softmax_ref(row) for row in x] for x in xs]
    return xs, ps, lse, lsm


def _lse_err(regime: str, dtype: str, *, atol: float = 0.0) -> float:
    xs, _, lse, _ = _logit_case(regime, dtype)
    errs = [
        ref.error_in_eps(v, r, dtype, atol=atol)
        for x, refs in zip(xs, lse, strict=True)
        for v, r in zip(expfam.logsumexp(x), refs, strict=True)
    ]
    return max(errs)


def _lsm_err(regime: str, dtype: str) -> float:
    xs, _, _, lsm = _logit_case(regime, dtype)
    return max(
        ref.error_in_eps(v, r, dtype)
        for x, refs in zip(xs, lsm, strict=True)
        for vrow, rrow in zip(expfam.log_softmax(x), refs, strict=True)
        for v, r in zip(vrow, rrow, strict=True)
    )


def _softmax_err(regime: str, dtype: str) -> float:
    """Max over entries of ``err_j - |x_j - max|`` (in eps): must be <= 4."""
    xs, _, _, lsm = _logit_case(regime, dtype)
    worst = -np.inf
    for x, refs in zip(xs, lsm, strict=True):
        d = np.abs(x.astype(np.float64) - x.max(axis=1, keepdims=True))
        for vrow, rrow, drow in zip(expfam.softmax(x), refs, d, strict=True):
            for v, r, dj in zip(vrow, rrow, drow, strict=True):
                e = ref.error_in_eps(v, mpmath.exp(r) if r != -mpmath.inf else 0, dtype)
                worst = max(worst, e - (0.0 if np.isnan(dj) else dj))
    return float(worst)


def _ce_logits_err(regime: str, dtype: str) -> float:
    xs, ps, _, _ = _logit_case(regime, dtype)
    return max(
        ref.error_in_eps(v, ref.ce_logits_ref(prow, xrow), dtype)
        for x, p in zip(xs, ps, strict=True)
        for v, prow, xrow in zip(expfam.cross_entropy_with_logits(p, x), p, x, strict=True)
    )


LOGIT_KERNELS: dict[str, Callable[[str, str], float]] = {
    "logsumexp": _lse_err,
    "log_softmax": _lsm_err,
    "softmax": _softmax_err,
    "cross_entropy_with_logits": _ce_logits_err,
}


# logsumexp / cancel_deep has its own, documented bound: see the next test
LOGIT_CASES = [
    (kernel, regime)
    for kernel in LOGIT_KERNELS
    for regime in LOGIT_REGIMES
    if (kernel, regime) != ("logsumexp", "cancel_deep")
]


@pytest.mark.parametrize("path", ["blocks", "long rows"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("kernel", "regime"), LOGIT_CASES)
def test_logit_kernels_within_4_eps(
    kernel: str, regime: str, dtype: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "long rows":  # rows longer than a block are processed chunk by chunk
        monkeypatch.setattr(_kernels, "_BLOCK", 4)
    err = LOGIT_KERNELS[kernel](regime, dtype)
    assert err <= BOUND, f"{kernel} / {regime} / {dtype} / {path}: {err:.3g} eps"


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_cancelling_rows_documented_bound(dtype: str) -> None:
    # |error| <= 4 eps |LSE| + 2**-100 where the result is ~1e-17 by cancellation
    assert _lse_err("cancel_deep", dtype, atol=DD_ATOL) <= BOUND


def test_logsumexp_deep_cancellation_needs_the_absolute_term() -> None:
    # the documented absolute term is not vacuous: without it some row exceeds 4 eps
    # relative in float64, and the float64 fast path alone would be far off
    xs, _, lse, _ = _logit_case("cancel_deep", "float64")
    assert _lse_err("cancel_deep", "float64") > BOUND
    x, refs = xs[0], lse[0]
    m = x.max(axis=1)
    naive = m + np.log1p(np.exp(x - m[:, None]).sum(axis=1) - 1)
    assert max(ref.error_in_eps(v, r, "float64") for v, r in zip(naive, refs, strict=True)) > 1e3


def test_logsumexp_log_half_pair_within_4_eps() -> None:
    # the example: x = [log 0.5, log 0.5]; LSE = 2.3e-17, not 0
    x = np.log([0.5, 0.5])
    r = ref.logsumexp_ref(x)
    assert float(r) > 0
    assert ref.error_in_eps(expfam.logsumexp(x), r, "float64") <= BOUND


# --------------------------------------------------------------------------------------
# Probability-vector regimes for entropy, KL and cross-entropy: pairs (p, q)
# --------------------------------------------------------------------------------------

Pairs = list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]


def _simplex(rng: np.random.Generator, shape: tuple[int, int], zeros: float = 0.0) -> Any:
    w = rng.dirichlet(np.ones(shape[1]), shape[0])
    w[rng.random(shape) < zeros] = 0.0
    w[:, 0] += 0.1
    return w / w.sum(axis=1, keepdims=True)


def _pv_benign(rng: np.random.Generator) -> Pairs:
    return [
        (_simplex(rng, (20, 6)), _simplex(rng, (20, 6))),
        (_simplex(rng, (3, 500)), _simplex(rng, (3, 500))),
    ]


def _pv_sparse(rng: np.random.Generator) -> Pairs:
    p = _simplex(rng, (20, 8), zeros=0.5)
    q = _simplex(rng, (20, 8), zeros=0.3)
    q[p > 0] = np.maximum(q[p > 0], 1e-3)
    return [(p, q / q.sum(axis=1, keepdims=True))]


def _pv_near(rng: np.random.Generator) -> Pairs:
    """q within a relative 1e-12 .. 1e-3 of p: KL is tiny, its terms nearly cancel."""
    p = _simplex(rng, (24, 6))
    rel = 10.0 ** rng.uniform(-12, -3, (24, 1))
    q = p * (1 + rel * rng.normal(size=p.shape))
    return [(p, q / q.sum(axis=1, keepdims=True))]


def _pv_tiny(rng: np.random.Generator) -> Pairs:
    """Probabilities spanning 1e-300 .. 1 (1e-38 .. 1 in float32 after the cast)."""
    p = 10.0 ** rng.uniform(-300, 0, (20, 5))
    q = 10.0 ** rng.uniform(-300, 0, (20, 5))
    return [(p, q)]


def _pv_counts(rng: np.random.Generator) -> Pairs:
    return [(rng.integers(0, 1000, (20, 6)).astype(float), rng.uniform(0.01, 3, (20, 6)))]


PV_REGIMES: dict[str, Callable[[np.random.Generator], Pairs]] = {
    "benign": _pv_benign,
    "sparse": _pv_sparse,
    "near": _pv_near,
    "tiny": _pv_tiny,
    "counts": _pv_counts,
}


@cache
def _pv_case(regime: str, dtype: str) -> Pairs:
    rng = np.random.default_rng(zlib.crc32(f"pv/{regime}".encode()))
    dt = np.dtype(dtype)
    with np.errstate(under="ignore"):
        return [(p.astype(dt), q.astype(dt)) for p, q in PV_REGIMES[regime](rng)]


def _entropy_err(regime: str, dtype: str) -> float:
    errs = []
    for p, _ in _pv_case(regime, dtype):
        for v, prow in zip(expfam.entropy(p), p, strict=True):
            val, scale = ref.entropy_ref(prow)
            errs.append(ref.error_in_eps(v, val, dtype, scale=scale))
    return max(errs)


def _kl_err(regime: str, dtype: str) -> float:
    errs = []
    for p, q in _pv_case(regime, dtype):
        for v, prow, qrow in zip(expfam.kl_divergence(p, q), p, q, strict=True):
            val, scale = ref.kl_ref(prow, qrow)
            errs.append(ref.error_in_eps(v, val, dtype, scale=scale))
    return max(errs)


def _ce_err(regime: str, dtype: str) -> float:
    errs = []
    for p, q in _pv_case(regime, dtype):
        for v, prow, qrow in zip(expfam.cross_entropy(p, q), p, q, strict=True):
            val, scale = ref.cross_entropy_ref(prow, qrow)
            errs.append(ref.error_in_eps(v, val, dtype, scale=scale))
    return max(errs)


PV_KERNELS: dict[str, Callable[[str, str], float]] = {
    "entropy": _entropy_err,
    "kl_divergence": _kl_err,
    "cross_entropy": _ce_err,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("regime", list(PV_REGIMES))
@pytest.mark.parametrize("kernel", list(PV_KERNELS))
def test_probability_kernels_within_4_eps_of_term_magnitudes(
    kernel: str, regime: str, dtype: str
) -> None:
    err = PV_KERNELS[kernel](regime, dtype)
    assert err <= BOUND, f"{kernel} / {regime} / {dtype}: {err:.3g} eps"


def test_kl_of_nearby_distributions_keeps_relative_accuracy() -> None:
    # p/q rounded first would leave an error of ~eps / |log(p/q)| in each term
    p = np.array([0.3, 0.7])
    q = np.array([0.3 + 1e-12, 0.7 - 1e-12])
    val, scale = ref.kl_ref(p, q)
    assert ref.error_in_eps(expfam.kl_divergence(p, q), val, "float64", scale=scale) <= BOUND
    naive = float((p * np.log(p / q)).sum())
    assert ref.error_in_eps(naive, val, "float64", scale=scale) > 1e3


# --------------------------------------------------------------------------------------
# The double-double constants are derived from integers: check them against mpmath
# --------------------------------------------------------------------------------------


def test_double_double_constants_match_mpmath() -> None:
    from expfam._kernels import _dd_constants

    c1, c2, c3, t_hi, t_lo, coef = _dd_constants()
    with mpmath.workdps(60):
        c = mpmath.log(2) / 64
        assert (
            abs(mpmath.mpf(c1) + mpmath.mpf(c2) + mpmath.mpf(c3) - c) < c * mpmath.mpf(2) ** -120
        )
        for j in range(64):
            t = mpmath.mpf(2) ** (mpmath.mpf(j) / 64)
            # a double-double holds about 107 bits
            assert abs(mpmath.mpf(t_hi[j]) + mpmath.mpf(t_lo[j]) - t) < t * mpmath.mpf(2) ** -106
        for n, (h, lo) in enumerate(coef, start=2):
            assert (
                abs(mpmath.mpf(h) + mpmath.mpf(lo) - 1 / mpmath.factorial(n))
                < mpmath.mpf(2) ** -110
            )
    for v in (c1, c2):  # 36 significant bits, so k * c is exact for |k| < 2**17
        assert float(v) * 2.0 ** (35 - np.floor(np.log2(abs(v)))) % 1 == 0


def test_double_double_exp_accuracy() -> None:
    from expfam._kernels import _exp_dd, _expm1_dd

    rng = np.random.default_rng(7)
    d = np.concatenate([-rng.exponential(3, 300), [0.0, -1e-300, -0.0054, -np.log(2), -745.0]])
    lo = rng.uniform(-1, 1, d.shape) * np.spacing(d) / 2
    eh, el = _exp_dd(d, lo)
    with mpmath.workdps(60):
        for h, low, x, y in zip(eh, el, d, lo, strict=True):
            exact = mpmath.exp(mpmath.mpf(x) + mpmath.mpf(y))
            tol = 4 * exact * mpmath.mpf(2) ** -106 + mpmath.mpf(2) ** -1074  # subnormals
            assert abs(mpmath.mpf(h) + mpmath.mpf(low) - exact) <= tol
    y = np.concatenate([rng.exponential(2, 300), [1e-300, 1e-10, 0.0054, np.log(2)]])
    mh, ml = _expm1_dd(y)
    with mpmath.workdps(60):
        for h, low, x in zip(mh, ml, y, strict=True):
            exact = mpmath.expm1(mpmath.mpf(x))
            # relative 2**-104 near 0; absolute 2**-104 of exp(x) elsewhere
            tol = mpmath.mpf(2) ** -104 * min(exact + 1, exact / mpmath.mpf(x) * 2)
            assert abs(mpmath.mpf(h) + mpmath.mpf(low) - exact) <= tol


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------


def accuracy_table() -> str:
    """Markdown table of the measured maximum errors (eps units) per kernel x regime x dtype."""
    lines = [
        "| kernel | regime | float64 | float32 |",
        "|---|---|---:|---:|",
    ]
    for kernel, fn in LOGIT_KERNELS.items():
        for regime in LOGIT_REGIMES:
            cells = [f"{fn(regime, dt):.2f}" for dt in DTYPES]
            if kernel == "logsumexp" and regime == "cancel_deep":
                cells = [
                    f"{fn(regime, dt):.3g} rel; {_lse_err(regime, dt, atol=DD_ATOL):.2f} "
                    "after 2**-100"
                    for dt in DTYPES
                ]
            lines.append(f"| {kernel} | {regime} | {cells[0]} | {cells[1]} |")
    for kernel, fn in PV_KERNELS.items():
        for regime in PV_REGIMES:
            cells = [f"{fn(regime, dt):.2f}" for dt in DTYPES]
            lines.append(f"| {kernel} | {regime} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(accuracy_table())  # noqa: T201
