r"""Logarithms of the regularised incomplete gamma and beta functions, in both tails.

``log(scipy.special.gammainc(a, x))`` is exact to rounding where the function is a
normal float, but is ``-inf`` where it underflows (a far tail whose logarithm is an
ordinary number, e.g. :math:`\log P(X > x) = -2000`). Below :data:`_TINY` these
functions recompute the logarithm from the prefactor and a series or continued
fraction, all in log space:

- :math:`P(a, x) = \frac{x^a e^{-x}}{\Gamma(a+1)} \sum_{k \ge 0}
  \frac{x^k}{(a+1)\cdots(a+k)}` (the lower tail, where :math:`x < a`);
- :math:`Q(a, x) = \frac{x^a e^{-x}}{\Gamma(a)}\,\mathrm{CF}(a, x)`, Legendre's
  continued fraction (the upper tail, :math:`x > a`), evaluated by the modified
  Lentz method;
- :math:`I_x(a, b) = \frac{x^a (1-x)^b}{a B(a, b)}\,\mathrm{CF}(a, b, x)`, the
  continued fraction of the incomplete beta function (valid for
  :math:`x < (a+1)/(a+b+2)`, where it is tiny).

The prefactors use Loader's form (:func:`expfam._special._log_dpois_raw`) and
:func:`expfam._special._log_beta`, which avoid the cancellation of
:math:`a\log x - x - \ln\Gamma(a+1)` for large arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from expfam._special import _log_beta, _log_dpois_raw

__all__: list[str] = []

F64 = NDArray[np.float64]

#: Below this value a regularised function is recomputed in log space.
_TINY = 1e-280
_EPS = 1e-16
_FPMIN = 1e-300
_MAX_TERMS = 20_000
_LN2 = float(np.log(2.0))


def _f64(x: Any) -> F64:
    out: F64 = np.asarray(x, dtype=np.float64)
    return out


def log1mexp(y: F64) -> F64:
    r""":math:`\log(1 - e^y)` for :math:`y \le 0`, accurate for every `y` (Mächler's rule)."""
    y = _f64(y)
    near = y > -_LN2
    out = np.empty(y.shape)
    out[near] = np.log(-np.expm1(y[near]))
    out[~near] = np.log1p(-np.exp(y[~near]))
    return out


def log_gammainc(a: F64, x: F64) -> F64:
    r""":math:`\log P(a, x)`, the log of the regularised lower incomplete gamma function."""
    a, x = (_f64(v) for v in np.broadcast_arrays(a, x))
    out = _f64(np.log(special.gammainc(a, x)))
    redo = ~(out > np.log(_TINY)) & (x > 0) & np.isfinite(x)
    if np.any(redo):
        out[redo] = _log_p_series(a[redo], x[redo])
    return out


def log_gammaincc(a: F64, x: F64) -> F64:
    r""":math:`\log Q(a, x)`, the log of the regularised upper incomplete gamma function."""
    a, x = (_f64(v) for v in np.broadcast_arrays(a, x))
    out = _f64(np.log(special.gammaincc(a, x)))
    redo = ~(out > np.log(_TINY)) & (x > 0) & np.isfinite(x)
    if np.any(redo):
        out[redo] = _log_q_fraction(a[redo], x[redo])
    return out


def log_betainc(a: F64, b: F64, x: F64, y: F64) -> F64:
    r""":math:`\log I_x(a, b)`, with `y` the complement :math:`1 - x` (to full precision).

    Callers pass the complement they hold exactly (a binomial's :math:`1 - p`), so
    :math:`\log(1-x)` keeps its digits.
    """
    a, b, x, y = (_f64(v) for v in np.broadcast_arrays(a, b, x, y))
    out = _f64(np.log(special.betainc(a, b, x)))
    redo = ~(out > np.log(_TINY)) & (x > 0) & (y > 0)
    if np.any(redo):
        out[redo] = _log_beta_fraction(a[redo], b[redo], x[redo], y[redo])
    return out


def _log_p_series(a: F64, x: F64) -> F64:
    total = np.ones(a.shape)
    term = np.ones(a.shape)
    active = np.arange(a.size)
    for k in range(1, _MAX_TERMS):
        term[active] *= x[active] / (a[active] + k)
        total[active] += term[active]
        active = active[term[active] > _EPS * total[active]]
        if active.size == 0:
            break
    return _f64(_log_dpois_raw(a, x) + np.log(total))


def _log_q_fraction(a: F64, x: F64) -> F64:
    b = x + 1 - a
    c = np.full(a.shape, 1 / _FPMIN)
    d = 1 / np.where(np.abs(b) < _FPMIN, _FPMIN, b)
    h = d.copy()
    active = np.arange(a.size)
    for i in range(1, _MAX_TERMS):
        ai, bi = a[active], b[active] + 2
        b[active] = bi
        an = -i * (i - ai)
        di = an * d[active] + bi
        di = np.where(np.abs(di) < _FPMIN, _FPMIN, di)
        ci = bi + an / c[active]
        ci = np.where(np.abs(ci) < _FPMIN, _FPMIN, ci)
        di = 1 / di
        delta = di * ci
        d[active], c[active] = di, ci
        h[active] *= delta
        active = active[np.abs(delta - 1) > _EPS]
        if active.size == 0:
            break
    # x^a e^-x / Gamma(a) = a * dpois(a, x)
    return _f64(np.log(a) + _log_dpois_raw(a, x) + np.log(h))


def _log_beta_fraction(a: F64, b: F64, x: F64, y: F64) -> F64:
    qab, qap, qam = a + b, a + 1, a - 1
    c = np.ones(a.shape)
    d = 1 - qab * x / qap
    d = 1 / np.where(np.abs(d) < _FPMIN, _FPMIN, d)
    h = d.copy()
    active = np.arange(a.size)

    def step(aa: F64) -> F64:
        di = 1 + aa * d[active]
        di = 1 / np.where(np.abs(di) < _FPMIN, _FPMIN, di)
        ci = 1 + aa / c[active]
        ci = np.where(np.abs(ci) < _FPMIN, _FPMIN, ci)
        d[active], c[active] = di, ci
        return _f64(di * ci)

    for m in range(1, _MAX_TERMS):
        aa_, bb, xx = a[active], b[active], x[active]
        m2 = 2 * m
        h[active] *= step(m * (bb - m) * xx / ((qam[active] + m2) * (aa_ + m2)))
        delta = step(-(aa_ + m) * (qab[active] + m) * xx / ((aa_ + m2) * (qap[active] + m2)))
        h[active] *= delta
        active = active[np.abs(delta - 1) > _EPS]
        if active.size == 0:
            break
    with np.errstate(divide="ignore"):
        ly = np.where(x < 0.5, np.log1p(-x), np.log(y))
    front = a * np.log(x) + b * ly - np.log(a) - _log_beta(np.stack([a, b], axis=-1))
    return _f64(front + np.log(h))
