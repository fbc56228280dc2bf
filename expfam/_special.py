r"""Special-function kernels that several families share.

Loader's saddle-point pieces (``stirlerr``, ``bd0``, the Poisson and binomial log-pmfs),
cancellation-free digamma and log-gamma differences, the multivariate log-beta, the
unit-rate gamma entropy, :math:`r - \mathrm{log1p}(r)` to full precision, and the
window sums of the discrete entropies. Each is documented where it is defined. They
take and return float64 arrays; the families cast results to their dtype.
"""

from __future__ import annotations

import decimal
import functools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from expfam._fpstate import quiet

__all__ = []

F64 = NDArray[np.float64]
_HALF_LOG_2PI = 0.5 * float(np.log(2 * np.pi))


def _f64(x: Any) -> F64:
    """``x`` as a float64 array (typed: scipy's special functions are untyped)."""
    out: F64 = np.asarray(x, dtype=np.float64)
    return out


def _r_minus_log1p(r: F64, log_ratio: F64 | None = None) -> F64:
    r""":math:`\varphi(r) = r - \mathrm{log1p}(r) \ge 0` (``r >= -1``), to full precision.

    The series :math:`\sum_{k\ge2}(-r)^k/k` for :math:`|r| < 1/4`; for
    :math:`r < -1/2`, where :math:`1 + r` has lost digits, `log_ratio` (the same
    :math:`\log(1 + r)`, computed directly, e.g. as :math:`\log(\lambda_q/\lambda_p)`)
    replaces ``log1p(r)`` when given. KL divergences of nearby members are sums of such
    terms (e.g. the exponential family's :math:`\varphi(\lambda_q/\lambda_p - 1)`),
    so they keep their digits.
    """
    r = np.asarray(r, dtype=np.float64)
    small = np.abs(r) < 0.25
    rs = np.where(small, r, 0.0)
    acc = np.zeros(r.shape)
    top = float(np.max(np.abs(rs), initial=0.0))
    # (1/4)**38 < 1e-22: the terms up to k = 40 for |r| < 1/4, fewer for smaller |r|
    last = 40 if top >= 0.25 else 2 + (math.ceil(math.log(1e-22) / math.log(top)) if top else 0)
    for k in range(min(last, 40), 1, -1):
        acc = acc * -rs + 1.0 / k
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.log1p(r)
        if log_ratio is not None:
            lg = np.where(r < -0.5, np.broadcast_to(log_ratio, r.shape), lg)
        big = np.where(r == np.inf, np.inf, r - lg)
    return _f64(np.where(small, acc * rs * rs, big))


def _lgamma_bregman(x: F64, d: F64) -> F64:
    r""":math:`\ln\Gamma(x + d) - \ln\Gamma(x) - d\,\psi(x) \ge 0` for ``x, x + d > 0``.

    The textbook difference cancels terms of size :math:`|d\,\psi(x)|` to leave about
    :math:`\psi_1(x)d^2/2`; for :math:`|d| \le x/8` the Taylor series
    :math:`\sum_{k\ge2}\psi^{(k-1)}(x)d^k/k!` (relative truncation below ``1e-16``) is
    summed instead.
    """
    x, d = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(d, np.float64))
    small = np.abs(d) <= x / 8
    out = np.empty(x.shape)
    xs, ds = x[small], d[small]
    # below 1, shift by the recurrence lgamma(x) = lgamma(x + 1) - log x (the polygammas
    # of a tiny x overflow): B(x + d, x) = B(x + 1 + d, x + 1) + phi(d / x)
    low = xs < 1
    shifted = np.where(low, xs + 1, xs)
    acc = np.zeros(xs.shape)
    term = np.ones(xs.shape)
    for k in range(2, 22):
        term = term * ds / k if k > 2 else ds * ds / 2
        acc = acc + special.polygamma(k - 1, shifted) * term
    acc[low] += _r_minus_log1p(ds[low] / xs[low])
    out[small] = acc
    xb, db = x[~small], d[~small]
    out[~small] = special.gammaln(xb + db) - special.gammaln(xb) - db * special.digamma(xb)
    return _f64(np.maximum(out, 0.0))


def _gamma_entropy_unit(x: F64) -> F64:
    r"""Entropy of a Gamma(x, rate 1) distribution, :math:`x + \ln\Gamma(x) + (1-x)\psi(x)`.

    For :math:`x \ge 25` the closed form cancels terms of size :math:`x\log x`, so the
    asymptotic series (from Stirling's series for :math:`\ln\Gamma` and :math:`\psi`)

    .. math:: \tfrac12(1 + \ln 2\pi) + \tfrac12\ln x - \frac1{2x}
              + \sum_k \frac{B_{2k}}{(2k-1)x^{2k-1}} - \sum_k \frac{B_{2k}}{2k\,x^{2k}}

    is used, through :math:`x^{-10}` (truncation error below ``2e-17``).
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = x < 25
    xs = x[small]
    with np.errstate(invalid="ignore"):  # inf - inf: psi(x) = -1/x overflows
        hs = xs + special.gammaln(xs) + (1 - xs) * special.digamma(xs)
    # below 1 / (float max) the entropy, about -1/x, is below -max: -inf
    out[small] = np.where(np.isneginf(special.digamma(xs)), -np.inf, hs)
    xl = x[~small]
    with np.errstate(under="ignore"):  # 1 / x is subnormal near the float max
        r = 1 / xl
    # coefficients of r**1 ... r**10
    coef = (
        -1 / 3,
        -1 / 12,
        -1 / 90,
        1 / 120,
        1 / 210,
        -1 / 252,
        -1 / 210,
        1 / 240,
        5 / 594,
        -1 / 132,
    )
    series = np.zeros_like(xl)
    with np.errstate(under="ignore"):
        for c in reversed(coef):
            series = (series + c) * r
    out[~small] = 0.5 * (1 + np.log(2 * np.pi)) + 0.5 * np.log(xl) + series
    return _f64(out)


# ---------------------------------------------------------------------- Loader's kernels
# stirlerr(n) = log(n!) - log(sqrt(2 pi n) (n/e)**n) for n = 1..15, from mpmath:
#   mp.dps = 40; [loggamma(n+1) - (n+0.5)*log(n) + n - log(2*pi)/2 for n in 1..15]
_STIRLERR = np.array(
    [
        0.0,  # n = 0: not used (x = 0 is handled separately)
        0.08106146679532726,
        0.0413406959554093,
        0.02767792568499834,
        0.020790672103765093,
        0.016644691189821193,
        0.013876128823070748,
        0.01189670994589177,
        0.010411265261972096,
        0.009255462182712733,
        0.00833056343336287,
        0.007573675487951841,
        0.00694284010720953,
        0.006408994188004207,
        0.0059513701127588475,
        0.005554733551962801,
    ]
)
# Stirling series coefficients B_2k / (2k (2k-1)) of n**-(2k-1), k = 1..8
_STIRLING = (
    1 / 12,
    -1 / 360,
    1 / 1260,
    -1 / 1680,
    1 / 1188,
    -691 / 360360,
    1 / 156,
    -3617 / 122400,
)


def _stirling_terms(low: float) -> int:
    """Terms of Stirling's series enough for ``n >= low >= 15`` (truncation below 1e-17)."""
    for k in range(1, len(_STIRLING)):
        # the first omitted term against the first, 1 / (12 n)
        if abs(_STIRLING[k]) * 12 * low ** (-2 * k) < 1e-17:
            return k
    return len(_STIRLING)


def _stirling_series(n: F64) -> F64:
    """Stirling's series for ``stirlerr(n)``, ``n > 15`` (as many terms as the minimum needs)."""
    with quiet():  # r2 underflows for n > 1e154, as it should
        r2 = (1 / n) ** 2  # 1 / (n * n) overflows near the largest floats
        terms = _stirling_terms(float(np.min(n, initial=np.inf)))
        acc = np.full(n.shape, _STIRLING[terms - 1])
        for c in reversed(_STIRLING[: terms - 1]):
            acc *= r2
            acc += c
        acc /= n
    return _f64(acc)


#: Integers below this take :func:`_stirlerr_int`'s table (512 kB; a gather from it
#: costs a third of the three-term series on a 1e6 vector).
_STIRLERR_TABLE_SIZE = 1 << 16


@functools.cache
def _stirlerr_table() -> F64:
    """``stirlerr(k)`` for the integers ``0 <= k < 2**16`` (built once, on first use)."""
    k = np.arange(_STIRLERR_TABLE_SIZE, dtype=np.float64)
    table = np.empty(k.shape)
    table[:16] = _STIRLERR
    table[16:] = _stirling_series(k[16:])
    table.flags.writeable = False
    return table


def _stirlerr_int(k: F64) -> F64:
    """:func:`_stirlerr` for non-negative integers (as floats): a table below ``2**16``.

    Above, Stirling's series needs two terms; the table's entries are the series'
    with eight terms (or the exact values up to 15).
    """
    k = np.asarray(k, dtype=np.float64)
    table = _stirlerr_table()
    size = _STIRLERR_TABLE_SIZE
    if float(np.max(k, initial=0.0)) < size:
        return _f64(table[k.astype(np.intp)])
    small = k < size
    out = _stirling_series(np.where(small, float(size), k))
    if np.any(small):
        out = np.where(small, table[np.where(small, k, 0.0).astype(np.intp)], out)
    return _f64(out)


def _stirlerr_shifted(k: F64, r: F64) -> F64:
    """``stirlerr(k + r)`` for integers ``k >= 0`` (as floats) and ``r > 0`` (broadcast).

    Below ``k = 16`` the values come from a table of ``stirlerr(r + j)``, ``j < 16``,
    built on the shape of `r` (16 values per distinct parameter instead of the
    recurrence of :func:`_stirlerr` per element, which dominated the negative
    binomial's log-mass for small ``r`` and small means); above, the series.
    """
    k = np.asarray(k, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    shape = np.broadcast_shapes(k.shape, r.shape)
    if 16 * r.size >= max(k.size, 1) or float(np.min(k, initial=16.0)) >= 16:
        return _stirlerr(k + r)
    table = _stirlerr(r[..., None] + np.arange(16.0))
    low = k < 16
    idx = np.broadcast_to(np.where(low, k, 0.0).astype(np.intp), shape)[..., None]
    small = np.take_along_axis(np.broadcast_to(table, (*shape, 16)), idx, axis=-1)[..., 0]
    if bool(np.all(low)):
        return _f64(small)
    big = _stirlerr(np.where(low, 16.0, k) + r)
    return _f64(np.where(low, small, big))


def _stirlerr_step(y: F64) -> F64:
    r"""``stirlerr(y) - stirlerr(y + 1) > 0`` for ``y >= 1``, without cancellation.

    The difference is :math:`(y + \tfrac12)\mathrm{log1p}(1/y) - 1 =
    \operatorname{artanh}(u)/u - 1 = u^2 S(u^2)` with :math:`u = 1/(2y + 1) \le 1/3` and
    :math:`S(z) = \sum_{k\ge0} z^k/(2k + 3)` (:func:`_artanh_s`).
    """
    u = 1 / (2 * y + 1)
    z = u * u
    return _f64(z * _artanh_s(z, float(np.max(z, initial=0.0))))


def _stirlerr(n: F64) -> F64:
    r""":math:`\ln\Gamma(n+1) - \log(\sqrt{2\pi n}(n/e)^n)` for ``n >= 0`` (0 for ``n = 0``).

    Exact table values for the integers up to 15; Stirling's series above 15 (with
    as many terms as the smallest argument needs); for other ``1 <= n < 15`` the
    series at :math:`n + K > 15` plus the positive steps of :func:`_stirlerr_step`
    (a few ulp); below 1 the closed form, whose terms are below 1 in magnitude
    (absolute error a few ``1e-16``).
    """
    n = np.asarray(n, dtype=np.float64)
    small = n <= 15
    if not np.any(small):
        return _stirling_series(n)
    idx = np.flatnonzero(small)
    # the series on the whole array (the small entries clamped), then the small entries
    out = np.zeros(n.shape) if idx.size == n.size else _stirling_series(np.where(small, 16.0, n))
    out.reshape(-1)[idx] = _stirlerr_small(n.reshape(-1)[idx])
    return out


def _stirlerr_small(ns: F64) -> F64:
    """:func:`_stirlerr` for ``0 <= ns <= 15`` (1-d)."""
    vals = np.zeros(ns.shape)
    whole = ns == np.round(ns)
    vals[whole] = _STIRLERR[ns[whole].astype(np.intp)]
    low = ~whole & (ns < 1)
    nl = ns[low]
    vals[low] = special.gammaln(nl + 1) - (nl + 0.5) * np.log(nl) + nl - _HALF_LOG_2PI
    mid = ~whole & ~low
    nm = ns[mid]
    steps = np.ceil(15 - nm)  # nm + steps > 15 (nm is not an integer)
    acc = _stirling_series(nm + steps)
    for j in range(int(np.max(steps, initial=0.0))):
        live = j < steps
        acc[live] += _stirlerr_step(nm[live] + j)
    vals[mid] = acc
    return vals


def _bd0(x: F64, m: F64) -> F64:
    r"""Loader's :math:`\mathrm{bd0}(x, M) = x\log(x/M) + M - x \ge 0`, without cancellation.

    :func:`_bd0_d` with :math:`d = x - M` computed here. Requires ``M > 0`` and
    ``x >= 0``.
    """
    x, m = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64))
    with quiet():
        return _bd0_d(x, m, x - m)


def _bd0_d(x: F64, m: F64, d: F64) -> F64:
    r""":math:`\mathrm{bd0}(x, M) = x\log(x/M) + M - x \ge 0` given :math:`d = x - M`.

    With :math:`v = d/(x + M)` (so :math:`\log(x/M) = 2\operatorname{artanh} v`),

    .. math:: \mathrm{bd0}(x, M) = d\,v + 2x\,v^3 S(v^2), \qquad
              S(z) = \sum_{k\ge0}\frac{z^k}{2k + 3},

    for :math:`|v| < 1/3` (:math:`x/M \in (1/2, 2)`): the first term is non-negative
    and the second is at most 8% of it where negative. Outside,
    :math:`x\log(x/M) - d`, whose terms cancel at most fourfold there. The caller
    passes `d` computed without cancellation where it can (the binomial and negative
    binomial pass :math:`kq - (n-k)p` and :math:`rq - xp`, not differences of large
    numbers). Requires ``M > 0`` and ``x >= 0``, broadcast to one shape.
    """
    x, m, d = (np.asarray(a, dtype=np.float64) for a in np.broadcast_arrays(x, m, d))
    with quiet():  # underflow of tiny terms is expected; the caller's errstate is not ours
        v = d / (0.5 * x + 0.5 * m)  # finite up to the largest floats
        v *= 0.5
        z = v * v
        close = z < 1 / 9
        if np.all(close):
            return _bd0_series(x, d, v, z)
        far = np.log(x / m)
        far *= x
        far = np.where(x == 0, 0.0, far)  # 0 log 0 = 0
        far -= d
        if not np.any(close):
            return _f64(far)
        # both forms on the whole block: cheaper than gathering and scattering a subset
        return _f64(np.where(close, _bd0_series(x, d, v, np.where(close, z, 0.0)), far))


def _bd0_series(x: F64, d: F64, v: F64, z: F64) -> F64:
    """``d v + 2 x v**3 S(v**2)`` of :func:`_bd0_d` (``z = v**2 < 1/9``)."""
    s = _artanh_s(z, float(np.max(z, initial=0.0)))
    s *= z
    s *= v
    s *= x
    s *= 2.0
    s += d * v
    return s


def _artanh_s(z: F64, top: float) -> F64:
    r""":math:`S(z) = \sum_{k\ge0} z^k/(2k + 3) = (\operatorname{artanh} t - t)/t^3`, ``z = t**2``.

    For ``0 <= z <= top <= 1/9``: the Taylor series cut where `top` needs it, or the
    fitted polynomial :data:`_PHI_CHEB` (3.7e-18 relative), by Horner's rule.
    """
    terms = _phi_series_length(top)
    coef = (
        _PHI_CHEB
        if terms >= len(_PHI_CHEB)
        else tuple(1.0 / (2 * k + 3) for k in range(terms, -1, -1))
    )
    acc = np.multiply(z, coef[0])
    acc += coef[1]
    for c in coef[2:]:
        acc *= z
        acc += c
    return _f64(acc)


def _log_dpois_raw(k: F64, lam: F64) -> F64:
    r""":math:`\log(\lambda^k e^{-\lambda}/\Gamma(k+1))` for real ``k >= 0``, ``lam > 0`` (Loader).

    :math:`-\tfrac12\log(2\pi k) - \mathrm{stirlerr}(k) - \mathrm{bd0}(k, \lambda)`, free of
    the cancellation of :math:`k\log\lambda - \lambda - \ln\Gamma(k+1)` between terms of
    size :math:`k\log k`. The Poisson pmf, and the gamma density through
    :math:`f(x) = \beta\,\mathrm{dpois}(\alpha - 1, \beta x)`.
    """
    k, lam = np.broadcast_arrays(np.asarray(k, np.float64), np.asarray(lam, np.float64))
    out = -lam.copy()
    pos = k > 0
    kp = k[pos]
    out[pos] = -_HALF_LOG_2PI - 0.5 * np.log(kp) - _stirlerr(kp) - _bd0(kp, lam[pos])
    return _f64(out)


# B_2k / (2k), k = 1..7: psi(x) ~ log x - 1/(2x) - sum_k c_k x**-2k
_PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _digamma_diff(x: F64, d: F64) -> F64:
    r""":math:`\psi(x) - \psi(x + d)` for ``x > 0``, ``d >= 0``, to full relative precision.

    The mean map of the beta and Dirichlet families is
    :math:`\psi(\alpha_k) - \psi(\alpha_0)`; subtracting two digammas loses
    :math:`\log_{10}(\psi(\alpha_0)/|\mu_k|)` digits when the other concentrations
    :math:`d = \alpha_0 - \alpha_k` are small against :math:`\alpha_k`. Here both
    arguments are shifted to :math:`X = x + m \ge 10` with the recurrence
    (:math:`\sum_{j<m} d/((x+j)(x+d+j))`), and the difference at :math:`X` is summed
    from the asymptotic series,

    .. math:: -\mathrm{log1p}(d/X) - \frac{d}{2X(X+d)}
              + \sum_k c_k X^{-2k} \operatorname{expm1}(-2k\mathrm{log1p}(d/X)),

    every term of which carries the factor :math:`d` exactly. `d` must be computed
    without cancellation (e.g. as a sum of the other concentrations).
    """
    x, d = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(d, np.float64))
    out = np.zeros(x.shape)
    big = x
    for _ in range(10):  # shift the arguments below 10 up, one step at a time
        low = big < 10
        if not np.any(low):
            break
        out = np.where(low, out - d / (big * (big + d)), out)
        big = np.where(low, big + 1, big)
    lg = np.log1p(d / big)
    series = np.zeros(x.shape)
    r2 = 1 / (big * big)
    for k in range(len(_PSI_SERIES), 0, -1):
        series = (series + _PSI_SERIES[k - 1] * np.expm1(-2 * k * lg)) * r2
    out = out - lg - d / (2 * big * (big + d)) + series
    return _f64(out)


def _lgamma_diff(x: F64, d: F64) -> F64:
    r""":math:`\ln\Gamma(x + d) - \ln\Gamma(x)` for ``x >= 10`` and ``d >= 0``.

    From Stirling's series, with every difference written through
    :math:`\mathrm{log1p}(d/x)`:
    :math:`(x - \tfrac12)\mathrm{log1p}(d/x) + d\log(x+d) - d
    + \sum_k s_k x^{1-2k}\operatorname{expm1}((1-2k)\mathrm{log1p}(d/x))`.
    """
    lg = np.log1p(d / x)
    series = np.zeros(np.broadcast_shapes(x.shape, d.shape))
    r2 = 1 / (x * x)
    for k in range(len(_STIRLING), 0, -1):
        series = series * r2 + _STIRLING[k - 1] * np.expm1((1 - 2 * k) * lg)
    return _f64((x - 0.5) * lg + d * np.log(x + d) - d + series / x)


def _log_beta(alpha: F64) -> F64:
    r"""Multivariate log-beta :math:`\sum_k\ln\Gamma(\alpha_k) - \ln\Gamma(\alpha_0)` (last axis).

    When the largest concentration :math:`\alpha_m \ge 10`, it is evaluated as
    :math:`\sum_{k\ne m}\ln\Gamma(\alpha_k) - (\ln\Gamma(\alpha_m + d) - \ln\Gamma(\alpha_m))`
    with :math:`d = \sum_{k \ne m}\alpha_k` and the difference from
    :func:`_lgamma_diff`, which keeps full precision where :func:`scipy.special.betaln`
    loses up to ten digits (small :math:`d` against a large :math:`\alpha_m`).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    out = _f64(special.gammaln(alpha).sum(axis=-1) - special.gammaln(alpha.sum(axis=-1)))
    m = np.argmax(alpha, axis=-1)[..., None]
    top = np.take_along_axis(alpha, m, axis=-1)[..., 0]
    big = top >= 10
    if np.any(big):
        rest = alpha[big].copy()
        np.put_along_axis(rest, m[big], 0.0, axis=-1)
        d = rest.sum(axis=-1)  # the other concentrations, summed without cancellation
        np.put_along_axis(rest, m[big], 1.0, axis=-1)  # lgamma(1) = 0 drops the largest
        others = _f64(special.gammaln(rest).sum(axis=-1))
        out[big] = others - _lgamma_diff(top[big], d)
    return out


def _digamma_scale(x: F64) -> F64:
    return _f64(np.abs(special.digamma(x)))


_LOG_2PI = float(np.log(2 * np.pi))


# ---------------------------------------------------------------------- log-pmfs in Loader form
def _poisson_logpmf(k: F64, lam: F64) -> F64:
    """Log-pmf of Poisson(lam) at non-negative integers `k` (broadcast), with lam >= 0."""
    k, lam = np.broadcast_arrays(np.asarray(k, np.float64), np.asarray(lam, np.float64))
    out = np.where(k == 0, 0.0, -np.inf)  # the point mass at 0 (lam = 0)
    pos = lam > 0
    out[pos] = _log_dpois_raw(k[pos], lam[pos])
    return _f64(out)


def _log_choose(n: F64, k: F64) -> F64:
    r""":math:`\log\binom{n}{k}` for integers ``0 <= k <= n``, accurate for huge `n`.

    With :math:`s = \min(k, n-k)` (the symmetry keeps :math:`s/n \le 1/2`, where
    ``log1p(-s/n)`` has its digits),
    :math:`s\log(n/s) - (n-s)\,\mathrm{log1p}(-s/n) - \tfrac12(\log(2\pi s)
    + \mathrm{log1p}(-s/n)) + \mathrm{stirlerr}(n) - \mathrm{stirlerr}(k)
    - \mathrm{stirlerr}(n-k)`.
    """
    n, k = np.broadcast_arrays(np.asarray(n, np.float64), np.asarray(k, np.float64))
    out = np.zeros(n.shape)
    mid = (k > 0) & (k < n)
    nm, km = n[mid], k[mid]
    j = nm - km
    sm = np.minimum(km, j)
    l1 = np.log1p(-sm / nm)
    out[mid] = (
        sm * np.log(nm / sm)
        - (nm - sm) * l1
        - 0.5 * (_LOG_2PI + np.log(sm) + l1)
        + _stirlerr(nm)
        - _stirlerr(km)
        - _stirlerr(j)
    )
    return out


#: Means :math:`np`, :math:`nq` below this take the textbook log-pmf (Loader's
#: :math:`x/M` would overflow); there it has no cancellation to fear.
_TINY_MEAN = 1e-280


def _binom_logpmf(k: F64, n: F64, eta: F64) -> F64:
    r"""Log-pmf of Binomial(n, expit(eta)) at integers ``0 <= k <= n`` (broadcast).

    Loader's form :math:`\mathrm{stirlerr}(n) - \mathrm{stirlerr}(k) - \mathrm{stirlerr}(n-k)
    - \mathrm{bd0}(k, np) - \mathrm{bd0}(n-k, nq) - \tfrac12\log(2\pi k(n-k)/n)`, with
    the common difference :math:`k - np = kq - (n-k)p` of the two :math:`\mathrm{bd0}`
    formed from small products (not as a difference of numbers near :math:`n`) and
    :math:`\log(k(n-k)/n) = \log s + \mathrm{log1p}(-s/n)`, :math:`s = \min(k, n-k)`.
    """
    k, n, eta = np.broadcast_arrays(
        np.asarray(k, np.float64), np.asarray(n, np.float64), np.asarray(eta, np.float64)
    )
    with np.errstate(under="ignore"):  # log1p(exp(-745)) is 0: no event
        logp = -np.logaddexp(0, -eta)
        logq = -np.logaddexp(0, eta)
    p = special.expit(eta)
    q = special.expit(-eta)
    out = np.empty(k.shape)
    lo = k == 0
    hi = (k == n) & ~lo
    out[lo] = -_mul_weight(n[lo], -logq[lo])
    out[hi] = -_mul_weight(n[hi], -logp[hi])
    mid = ~(lo | hi)
    km, nm, pm, qm = k[mid], n[mid], p[mid], q[mid]
    j = nm - km
    sm = np.minimum(km, j)
    with quiet():
        m1, m2 = nm * pm, nm * qm
        dd = km * qm - j * pm  # k - n p = (n - k) - n q
        val = (
            _stirlerr_int(nm)
            - _stirlerr_int(km)
            - _stirlerr_int(j)
            - _bd0_d_safe(km, m1, dd)
            - _bd0_d_safe(j, m2, -dd)
            - 0.5 * (_LOG_2PI + np.log(sm) + np.log1p(-sm / nm))
        )
        tiny = (m1 < _TINY_MEAN) | (m2 < _TINY_MEAN)
        if np.any(tiny):  # lgamma's terms have the sign of k log p + (n - k) log q there
            lt, lq_t = logp[mid][tiny], logq[mid][tiny]
            val[tiny] = (
                _log_choose(nm[tiny], km[tiny])
                + _mul_weight(km[tiny], lt)
                + _mul_weight(j[tiny], lq_t)
            )
    out[mid] = val
    return out


def _bd0_d_safe(x: F64, m: F64, d: F64) -> F64:
    """:func:`_bd0_d` that is ``+inf`` where ``m == 0 < x`` (a zero-probability outcome)."""
    ok = m > 0
    if np.all(ok):
        return _bd0_d(x, m, d)
    out = np.full(x.shape, np.inf)
    out[ok] = _bd0_d(x[ok], m[ok], d[ok])
    return out


def _log1mexp(y: F64) -> F64:
    r""":math:`\log(1 - e^y)` for :math:`y \le 0` (Mächler's rule, as ``_tails.log1mexp``)."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore"):  # y = 0: log 0 = -inf
        return _f64(np.where(y > -np.log(2), np.log(-np.expm1(y)), np.log1p(-np.exp(y))))


def _neg_bd0_pair(a: F64, b: F64, d: F64, *, n: F64, p: F64, q: F64) -> F64:
    r"""Minus :math:`\mathrm{bd0}(a, np) + \mathrm{bd0}(b, nq)` where :math:`n = a + b = np + nq`.

    With :math:`M_a = np`, :math:`M_b = nq` and :math:`d = a - M_a = M_b - b`
    (computed without cancellation by the caller)
    the terms :math:`M - x` cancel exactly, leaving
    :math:`a\log(a/M_a) + b\log(b/M_b)` with
    :math:`\log(a/M_a) = -\mathrm{log1p}(-d/a)` and
    :math:`\log(b/M_b) = -\mathrm{log1p}(d/b)` where these arguments are above
    :math:`-1/2`, else the log of the ratio to the given :math:`M` (whose ``1 + d/x``
    would have lost its digits). The two terms, each about :math:`\pm d`, cancel to
    about :math:`d^2/(2a) + d^2/(2b)`, so the absolute error is a few
    :math:`\epsilon|d|` rather than a few :math:`\epsilon\,\mathrm{bd0}`; the
    negative binomial's :math:`d` is :math:`-p` times its score
    :math:`x - E[x]`, so that error stays below the one a single rounding of
    :math:`\eta = \log(1-p)` makes (:math:`\epsilon|\eta|\,|x - E[x]|`). The
    series of :func:`_bd0_d` (a few eps of each bd0) costs three times as much.
    All arguments positive; they broadcast.
    """
    ua = np.asarray(np.divide(-d, a))  # log(a / M_a) = -log1p(-d / a)
    lb = np.asarray(np.divide(d, b))  # log(b / M_b) = -log1p(d / b)
    fa = ua < -0.5
    fb = lb < -0.5
    la = np.log1p(ua, out=ua)
    np.log1p(lb, out=lb)
    if np.any(fa):
        la = np.where(fa, np.log(n * p / a), la)
    if np.any(fb):
        lb = np.where(fb, np.log(n * q / b), lb)
    la *= a
    lb *= b
    la += lb
    return _f64(la)  # minus the sum


def _nbinom_logpmf(x: F64, r: F64, eta: F64) -> F64:
    r"""Log-pmf of the negative binomial (`r` successes, :math:`\log(1-p) = \eta`) at integers `x`.

    :math:`\log\binom{x + r - 1}{x} + r\log p + x\log(1-p)` for ``x >= 0``, ``r > 0``,
    :math:`\eta < 0` (:math:`-\infty`: the point mass at 0), broadcast. The mass is
    :math:`r/(x + r)` times the binomial mass of :math:`r` successes in
    :math:`n = x + r` trials, so in Loader's form (as R's ``dnbinom``)

    .. math:: \mathrm{stirlerr}(n) - \mathrm{stirlerr}(r) - \mathrm{stirlerr}(x)
              - \mathrm{bd0}(r, np) - \mathrm{bd0}(x, nq)
              - \tfrac12\bigl(\log(2\pi x) + \mathrm{log1p}(x/r)\bigr),

    where the textbook :math:`\ln\Gamma(x + r) - \ln\Gamma(x + 1) - \ln\Gamma(r)`
    cancels terms of size :math:`x\log x` (three digits lost at :math:`x = 5000`). The
    difference :math:`r - np = nq - x = rq - xp` of both :math:`\mathrm{bd0}` terms is
    formed from the small products. ``x = 0`` is :math:`r\log p`; where :math:`np` or
    :math:`nq` is below ``1e-280`` (or :math:`n` overflows) the textbook form, which
    does not cancel there.
    """
    return _nbinom_terms(x, r, eta, log_h=False)[0]


def _nbinom_logpmf_log_h(x: F64, r: F64, eta: F64) -> tuple[F64, F64]:
    """:func:`_nbinom_logpmf` and :func:`_nbinom_log_h` together (they share most terms)."""
    logpmf, log_h = _nbinom_terms(x, r, eta, log_h=True)
    assert log_h is not None  # noqa: S101 - asked for
    return logpmf, log_h


def _nbinom_core(xs: F64, r: F64) -> tuple[F64, F64]:
    r"""Return the terms the log-mass and :math:`\log h` share (``xs >= 1``) and :math:`\log(n/r)`.

    :math:`\mathrm{stirlerr}(n) - \mathrm{stirlerr}(r) - \mathrm{stirlerr}(x)
    - \tfrac12(\log(2\pi x) + \log(n/r))`, with :math:`n = x + r`.
    """
    lg = np.log1p(xs / r)  # log(n / r): a new array
    if np.max(lg, initial=0.0) == np.inf:  # x / r overflows
        lg = np.where(np.isinf(lg), np.log(xs) - np.log(r), lg)
    core = _stirlerr_shifted(xs, r)
    core -= _stirlerr(r) + _HALF_LOG_2PI  # parameter-sized
    core -= _stirlerr_int(xs)
    half = np.log(xs) + lg  # broadcast: not in place
    half *= 0.5
    core -= half
    return core, lg


def _nbinom_terms(x: F64, r: F64, eta: F64, *, log_h: bool) -> tuple[F64, F64 | None]:
    """Return the log-mass of :func:`_nbinom_logpmf` and, if asked, ``log h``."""
    eta = np.asarray(eta, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    with quiet():
        p, q, lp = -np.expm1(eta), np.exp(eta), _log1mexp(eta)
        # whole arrays with x = 0 set aside (to 1) and put back: cheaper than gathers
        zero = x == 0
        some_zero = bool(np.any(zero))
        xs = np.where(zero, 1.0, x) if some_zero else x
        n = xs + r
        dd = r * q - xs * p  # r - n p = n q - x
        core, lg = _nbinom_core(xs, r)
        h = None
        if log_h:
            h = xs * np.log1p(r / xs)
            h += r * lg
            h += core
        val = core
        val += _neg_bd0_pair(r, xs, dd, n=n, p=p, q=q)
        # n p, n q >= (min x + min r) min(p, q); where that is not clearly normal, check
        low = (float(np.min(xs, initial=np.inf)) + float(np.min(r, initial=np.inf))) * float(
            np.min(np.minimum(p, q), initial=np.inf)
        )
        if not (low >= _TINY_MEAN and np.isfinite(np.max(n, initial=0.0))):
            val = _nbinom_textbook(val, xs, r, eta)
        if some_zero:
            val = np.where(zero, r * lp, val)
            if h is not None:
                h = np.where(zero, 0.0, h)
    return _f64(val), None if h is None else _f64(h)


def _nbinom_log_h(x: F64, r: F64) -> F64:
    r""":math:`\log\binom{x + r - 1}{x}` for integers ``x >= 0`` and ``r > 0`` (broadcast).

    With :math:`n = x + r`, Stirling's formula for the three log-gammas gives

    .. math:: \mathrm{stirlerr}(n) - \mathrm{stirlerr}(r) - \mathrm{stirlerr}(x)
              + x\,\mathrm{log1p}(r/x) + r\,\mathrm{log1p}(x/r)
              - \tfrac12\bigl(\log(2\pi x) + \mathrm{log1p}(x/r)\bigr),

    terms of the size of the result, where the textbook
    :math:`\ln\Gamma(x + r) - \ln\Gamma(r) - \ln\Gamma(x + 1)` cancels terms of size
    :math:`x\log x`. 0 at ``x = 0``.
    """
    x = np.asarray(x, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    with quiet():
        zero = x == 0
        some_zero = bool(np.any(zero))
        xs = np.where(zero, 1.0, x) if some_zero else x
        core, lg = _nbinom_core(xs, r)
        val = xs * np.log1p(r / xs)
        val += r * lg
        val += core
        if some_zero:
            val = np.where(zero, 0.0, val)
    return _f64(val)


def _nbinom_textbook(val: F64, x: F64, r: F64, eta: F64) -> F64:
    """Replace the entries of `val` whose ``n p`` or ``n q`` is tiny (or ``n`` infinite)."""
    val, x, r, eta = np.broadcast_arrays(val, x, r, eta)
    p, q, lp = -np.expm1(eta), np.exp(eta), _log1mexp(eta)
    n = x + r
    odd = ~((n * p >= _TINY_MEAN) & (n * q >= _TINY_MEAN) & np.isfinite(n))
    out = _f64(val.copy())
    if not np.any(odd):
        return out
    xo, ro = x[odd], r[odd]
    out[odd] = (
        special.gammaln(xo + ro)
        - special.gammaln(ro)
        - special.gammaln(xo + 1)
        + _mul_weight(ro, lp[odd])
        + _mul_weight(xo, eta[odd])
    )
    return out


def _mul_weight(w: F64, x: F64) -> F64:
    """``w * x`` with ``0 * inf = inf * 0 = 0`` (a zero factor wins)."""
    zero = (w == 0) | (x == 0)
    with quiet():  # w * x underflows or overflows as it should
        return np.where(zero, 0.0, w * np.where(zero, 1.0, x))


def _binary_entropy(eta: F64) -> F64:
    r"""Bernoulli entropy :math:`p\,\mathrm{softplus}(-\eta) + q\,\mathrm{softplus}(\eta)`."""
    p, q = special.expit(eta), special.expit(-eta)
    with np.errstate(under="ignore"):  # log1p(exp(-745)) is 0: no event
        return _mul_weight(p, np.logaddexp(0, -eta)) + _mul_weight(q, np.logaddexp(0, eta))


# ---------------------------------------------------------------------- window sums
def _window(mean: F64, var: F64, upper: F64 | None = None) -> tuple[F64, F64]:
    """Integer window ``[lo, hi]`` holding all but ``2 e**-45`` of the mass (Bernstein)."""
    big_l = 45.0
    t = big_l / 3 + np.sqrt(big_l * big_l / 9 + 2 * big_l * var)
    lo = np.maximum(np.floor(mean - t), 0)
    hi = np.ceil(mean + t)
    if upper is not None:
        hi = np.minimum(hi, upper)
    return lo, hi


def _window_sum(lo: F64, hi: F64, terms: Any) -> F64:
    """``sum_{k=lo_i}^{hi_i} terms(k, rows)[i]`` for each row ``i``, in chunks."""
    m = lo.shape[0]
    out = np.zeros(m)
    if m == 0:
        return out
    width = int(np.max(hi - lo)) + 1
    chunk = max(1, (1 << 20) // width)
    offsets = np.arange(width, dtype=np.float64)
    for start in range(0, m, chunk):
        rows = np.arange(start, min(m, start + chunk))
        k = lo[rows, None] + offsets
        valid = k <= hi[rows, None]
        k = np.where(valid, k, lo[rows, None])
        with quiet():  # far terms of the window underflow to 0, as they should
            vals = terms(k, rows)
        out[rows] = np.where(valid, vals, 0.0).sum(axis=-1)
    return out


def _neg_plogp(lp: F64) -> F64:
    """``-exp(lp) * lp`` with 0 where ``lp = -inf``."""
    with np.errstate(invalid="ignore", under="ignore"):  # exp(-800) is 0: no event
        return np.where(np.isneginf(lp), 0.0, -np.exp(lp) * lp)


def _phi_series_length(top: float) -> int:
    """Terms of the series of :func:`_phi_series_into` for ``t**2 <= top`` (1e-17 relative)."""
    if top <= 1e-17:
        return 1
    return min(18, max(1, math.ceil(math.log(1e-17) / math.log(top))))


# S(z) = sum_k z**k / (2k + 3) = (artanh(t) - t) / t**3 (z = t**2) on [0, 1/9] by a
# polynomial of degree 10 (highest first), relative error 3.7e-18 where the Taylor
# series needs 18 terms:
#   with mpmath.workdps(50), S(z) = (atanh(sqrt(z)) - sqrt(z)) / sqrt(z)**3:
#   mpmath.chebyfit(S, [0, mpmath.mpf(1) / 9], 11, error=True)  # noqa: ERA001
_PHI_CHEB = (
    0.07815288900461426,
    0.03746071897775383,
    0.05422589197440007,
    0.05867139530651599,
    0.06667589315724629,
    0.07692271982430275,
    0.09090909948981357,
    0.11111111099118386,
    0.1428571428580005,
    0.19999999999999762,
    0.3333333333333333,
)


def _phi_series_into(r: F64, t: F64, t2: F64, acc: F64, top: float | None = None) -> F64:
    r""":math:`\varphi(r) = r - \mathrm{log1p}(r)` for :math:`|r| < 1/2`, in work arrays.

    With :math:`t = r/(2 + r)` (so that :math:`\mathrm{log1p}(r) =
    2\operatorname{artanh} t`, :math:`t^2 \le 1/9`),

    .. math:: \varphi(r) = t r - 2t^3 S(t^2), \quad
              S(z) = \sum_{k \ge 0} \frac{z^k}{2k + 3},

    a sum without cancellation. :math:`S` is its Taylor series cut where the largest
    :math:`t^2` needs it (one term for data of relative spread 1e-9), or beyond 10
    terms a polynomial of degree 10 fitted on :math:`[0, 1/9]` (:data:`_PHI_CHEB`,
    3.7e-18 relative), both evaluated by Horner's rule (0.65 eps measured).
    `t`, `t2` and `acc` are float64 work arrays of the shape of `r` (overwritten;
    the result is returned in `t`); `top`, when known, bounds :math:`t^2`.
    """
    np.add(r, 2.0, out=t)
    np.divide(r, t, out=t)  # t = r / (2 + r)
    np.multiply(t, t, out=t2)
    terms = _phi_series_length(float(np.max(t2)) if top is None else top)
    coef = (
        _PHI_CHEB
        if terms >= len(_PHI_CHEB)
        else tuple(1.0 / (2 * k + 3) for k in range(terms, -1, -1))
    )
    np.multiply(t2, coef[0], out=acc)
    acc += coef[1]
    for c in coef[2:]:
        acc *= t2
        acc += c
    acc *= t2
    acc *= t  # t**3 S(t**2)
    acc *= 2.0
    t *= r
    t -= acc  # t r - 2 t**3 S(t**2)
    return t


#: :func:`_phi_series_into` serves for :math:`|r| < 1/2` (:math:`|t| \le 1/3`);
#: :func:`_phi_terms` relies on the range being symmetric.
_PHI_SERIES_RANGE = (-0.5, 0.5)


def _phi_terms(
    x: NDArray[Any], m: float | F64, r: F64, *, r_min: float, r_max: float, work: F64
) -> F64:
    r""":math:`\varphi(r_i)`, :math:`r_i = (x_i - m)/m`, for one block of data (1-d).

    `r` holds the :math:`r_i` (computed as ``(x - m) / m``; `m` a number or an
    array of the shape of `x`), `r_min` and `r_max` bound them; `work` is three
    float64 work arrays of the block's shape, and ``work[0]`` is returned holding
    the terms. The forms, each to a few ulp per term:

    * :math:`|r| < 1/2`: the series of :func:`_phi_series_into`.
    * :math:`r \ge 1/2` or :math:`-3/4 < r \le -1/2`: :math:`r -
      \mathrm{log1p}(r)`. With :math:`r` rounded by :math:`2u` relative
      (:math:`u = 2^{-53}`) and ``log1p`` to :math:`L` ulp, the error is at most
      :math:`u(2|r|\,|r/(1+r)| + 2L|\mathrm{log1p} r| + \varphi)`: for
      :math:`L = 1`, :math:`13.1u\varphi` at :math:`r = 1/2`, :math:`13.4u\varphi`
      at :math:`r = -1/2`, :math:`12.4u\varphi` at :math:`r = -3/4`, less between.
    * :math:`r \le -3/4`: :math:`r - \log(x/m)`, at most
      :math:`u(2|r| + 1 + 2L|\log(x/m)| + \varphi)`, :math:`9.3u\varphi` at
      :math:`r = -3/4` and less below (where ``log1p`` of a rounded
      :math:`r \approx -1` would lose the digits of :math:`x/m`).

    A block whose :math:`r` all lie in the series range (data of small relative
    spread) takes the series on the whole block without any gather; other blocks
    take ``log1p`` on the whole block and the series on the compressed subset.
    """
    lo_r, hi_r = _PHI_SERIES_RANGE
    t: F64 = work[0]
    t2: F64 = work[1]
    acc: F64 = work[2]
    if lo_r < r_min and r_max < hi_r:
        top = max((r_min / (2.0 + r_min)) ** 2, (r_max / (2.0 + r_max)) ** 2)
        # the scalar bound rounds like the elementwise t**2 (monotone in r) up to an
        # ulp; the series' truncation is far below that at the chosen term count
        return _phi_series_into(r, t, t2, acc, top * (1 + 4e-16))
    phi = t
    with np.errstate(divide="ignore", invalid="ignore"):  # x = 0: r = -1, phi = inf
        np.log1p(r, out=phi)
        np.subtract(r, phi, out=phi)
        if r_min <= -0.75:
            idx = np.flatnonzero(r <= -0.75)
            mi = m if np.ndim(m) == 0 else np.asarray(m)[idx]
            phi[idx] = r[idx] - np.log(x[idx] / mi)
    if r_min < hi_r and r_max > lo_r:
        np.abs(r, out=t2)  # the range is symmetric
        idx = np.flatnonzero(t2 < hi_r)
        if idx.size:
            ws = np.empty((3, idx.size))
            phi[idx] = _phi_series_into(r[idx], ws[0], ws[1], ws[2])
    return _f64(phi)


def _bernoulli_kl(eta_p: F64, eta_q: F64) -> F64:
    r"""KL between Bernoulli distributions with logits `eta_p` and `eta_q` (broadcast).

    For nearby logits (:math:`|\eta_q - \eta_p| < 1`) it is summed as
    :math:`p\varphi(p'/p - 1) + (1-p)\varphi((1-p')/(1-p) - 1)` with
    :math:`\varphi(r) = r - \mathrm{log1p}(r) \ge 0` and the ratios
    :math:`p'/p - 1 = \sigma(-\eta_q)\operatorname{expm1}(\eta_q - \eta_p)`,
    :math:`(1-p')/(1-p) - 1 = \sigma(\eta_q)\operatorname{expm1}(\eta_p - \eta_q)`:
    non-negative terms, no cancellation. Otherwise (and at the boundary members) the
    textbook :math:`p\log(p/p') + (1-p)\log((1-p)/(1-p'))`, which does not cancel there.
    """
    eta_p, eta_q = np.broadcast_arrays(
        np.asarray(eta_p, np.float64), np.asarray(eta_q, np.float64)
    )
    p, q = special.expit(eta_p), special.expit(-eta_p)
    with np.errstate(invalid="ignore", under="ignore"):  # inf - inf at boundary members
        d1 = np.logaddexp(0, -eta_q) - np.logaddexp(0, -eta_p)
        d0 = np.logaddexp(0, eta_q) - np.logaddexp(0, eta_p)
        delta = eta_q - eta_p
    out = _f64(_mul_weight(p, d1) + _mul_weight(q, d0))
    near = np.isfinite(delta) & (np.abs(delta) < 1)
    if np.any(near):
        dn, en = delta[near], eta_q[near]
        r1 = special.expit(-en) * np.expm1(dn)
        r0 = special.expit(en) * np.expm1(-dn)
        lr1, lr0 = -d1[near], -d0[near]  # log(p'/p), log(q'/q)
        out[near] = p[near] * _r_minus_log1p(r1, lr1) + q[near] * _r_minus_log1p(r0, lr0)
    # +inf where q has no mass on an outcome p can take (p may underflow to 0 beside it:
    # logits -744 hold p = 5e-324), and never below 0 (rounding of d0, d1)
    escapes = ((eta_q == -np.inf) & (eta_p > -np.inf)) | ((eta_q == np.inf) & (eta_p < np.inf))
    return _f64(np.where(escapes, np.inf, np.maximum(out, 0.0)))


# B_2k / (2k), k = 1..10: log x - psi(x) ~ 1/(2x) + sum_k c_k x**-2k
_LOG_MINUS_PSI = (
    1 / 12,
    -1 / 120,
    1 / 252,
    -1 / 240,
    1 / 132,
    -691 / 32760,
    1 / 12,
    -3617 / 8160,
    43867 / 14364,
    -174611 / 6600,
)


def _log_minus_digamma(x: F64) -> F64:
    r""":math:`\log x - \psi(x) > 0` for ``x > 0``, without the cancellation of the difference.

    For :math:`x \ge 10` the asymptotic series
    :math:`1/(2x) + \sum_{k=1}^{10} B_{2k}/(2k x^{2k})` (truncation below 1e-17
    relative); below, shifted up by the recurrence:
    :math:`f(x) = f(x + K) + \sum_{j<K} 1/(x + j) - \mathrm{log1p}(K/x)`.
    The gamma family's maximum-likelihood shape solves :math:`f(\alpha) = s`.
    """
    x = np.asarray(x, dtype=np.float64)
    k = np.maximum(np.ceil(10.0 - x), 0.0)
    big = x + k
    r2 = 1 / (big * big)
    acc = np.zeros(x.shape)
    for c in reversed(_LOG_MINUS_PSI):
        acc = (acc + c) * r2
    out = 0.5 / big + acc
    shift = np.zeros(x.shape)
    for j in range(int(np.max(k, initial=0.0))):
        shift += np.where(j < k, 1.0 / (x + j), 0.0)
    with np.errstate(divide="ignore"):
        return _f64(out + shift - np.log1p(k / x))


# B_2k for k = 1..14, exact: log y - psi(y) ~ 1/(2y) + sum_k B_2k / (2k y**2k) (for y >= 25
# the 14th term is below 1e-33 relative). Checked against mpmath.bernoulli in the tests.
_BERNOULLI_2K = (
    (1, 6),
    (-1, 30),
    (1, 42),
    (-1, 30),
    (5, 66),
    (-691, 2730),
    (7, 6),
    (-3617, 510),
    (43867, 798),
    (-174611, 330),
    (854513, 138),
    (-236364091, 2730),
    (8553103, 6),
    (-23749461029, 870),
)
_DEC = decimal.Context(prec=40, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _log_minus_digamma_dec(x: float) -> decimal.Decimal:
    r""":math:`\log x - \psi(x)` for a float ``x > 0``, to about 36 digits (a Decimal).

    The recurrence :math:`f(x) = f(x + K) + \sum_{j<K} 1/(x + j) - \log((x + K)/x)`
    up to :math:`y = x + K \ge 25`, then the asymptotic series
    :math:`f(y) = 1/(2y) + \sum_{k=1}^{14} B_{2k}/(2k\,y^{2k})`, all in 40-digit
    decimal arithmetic (the standard library's :mod:`decimal`; the float ``x`` is
    converted exactly). For a final Newton step of the gamma shape, where the double
    evaluation of :func:`_log_minus_digamma` (its terms cancel below ``x = 10``)
    left the root a few ulp off, and off differently for gaps one ulp apart.
    """
    c = _DEC
    xd = decimal.Decimal(x)
    k = max(0, math.ceil(25.0 - x))
    y = c.add(xd, k)
    acc = c.divide(1, c.multiply(2, y))
    inv2 = c.divide(1, c.multiply(y, y))
    power = decimal.Decimal(1)
    for j, (num, den) in enumerate(_BERNOULLI_2K, start=1):
        power = c.multiply(power, inv2)
        acc = c.add(acc, c.divide(c.multiply(num, power), 2 * j * den))
    for j in range(k):
        acc = c.add(acc, c.divide(1, c.add(xd, j)))
    if k:
        acc = c.subtract(acc, c.ln(c.divide(y, xd)))
    return acc


# ------------------------------------------------------------------ exact sums of logarithms
#: Mantissa bits of the table of :func:`_log_sum_fixed`: each x is split as
#: ``c (1 + d)`` with ``c`` its leading 1 + 10 bits, ``0 <= d < 2**-10``.
_TABLE_BITS = 10
#: Binary digits after the point of the fixed-point integers of the exact log sums.
_FIX = 100
_LIMB = 25  # a table value < 2**100 as four 25-bit limbs: counts (< 2**26) x limb sums fit int64
_CLEAR_LOW = -(1 << (52 - _TABLE_BITS))  # int64 mask keeping the sign, exponent, 10 bits


def _atanh_inv(d: int, unit: int) -> int:
    r""":math:`\operatorname{artanh}(1/d)` in units of ``1/unit`` (each term rounded down)."""
    total, term, k, d2 = 0, unit // d, 0, d * d
    while term:
        total += term // (2 * k + 1)
        term //= d2
        k += 1
    return total


@functools.cache
def _log_table() -> tuple[NDArray[np.int64], tuple[int, ...], int]:
    r""":math:`\log(1 + j/2^{10})` and :math:`\log 2` as integers in units of :math:`2^{-100}`.

    Computed once, on first use (~5 ms), in integers with 40 guard bits:
    :math:`\log\frac{N + j + 1}{N + j} = 2\operatorname{artanh}\frac{1}{2(N + j) + 1}`
    summed up over :math:`j` (:math:`N = 2^{10}`; each series term rounded down, far
    below a unit in all), and :math:`\log 2 = 2\operatorname{artanh}(1/3)`, then
    rounded to the nearest unit (error at most :math:`2^{-101}` each). Returns the
    table as four 25-bit limbs (shape ``(4, 1024)``, for exact integer dot products
    with counts), the table as Python integers, and :math:`\log 2`.
    """
    guard = 40
    unit = 1 << (_FIX + guard)
    size = 1 << _TABLE_BITS
    acc, fine = 0, [0]
    for j in range(size - 1):
        acc += 2 * _atanh_inv(2 * (size + j) + 1, unit)
        fine.append(acc)
    half = 1 << (guard - 1)
    table = tuple((v + half) >> guard for v in fine)
    mask = (1 << _LIMB) - 1
    limbs = np.array([[(v >> (_LIMB * i)) & mask for v in table] for i in range(4)], np.int64)
    return limbs, table, (2 * _atanh_inv(3, unit) + half) >> guard


def _fixed(v: float) -> int:
    """Return the float `v` in units of ``2**-100`` (exact above ``2**-100``, else truncated)."""
    return int(math.ldexp(v, _FIX))


def _log_fixed(q: float, e: float = 0.0) -> int:
    r""":math:`\log(q + e)` in units of :math:`2^{-100}` (a normal float q > 0, |e| <= ulp(q)).

    :math:`q = 2^E c (1 + d)` with the table's :math:`c`, so :math:`\log q = E\log 2 +
    \log c + \mathrm{log1p}(d)` with the first two exact (to :math:`2^{-100}`) and
    :math:`\mathrm{log1p}(d) + e/q` in double: an error below
    :math:`3u\,2^{-10}` (:math:`d < 2^{-10}` is rounded once, ``log1p`` to an ulp).
    """
    _, table, ln2 = _log_table()
    mant, expo = math.frexp(q)  # q = mant 2**expo, 1/2 <= mant < 1
    f = 2 * mant
    j = int((f - 1) * (1 << _TABLE_BITS))  # exact: f has 53 bits
    c = 1 + j / (1 << _TABLE_BITS)
    return (expo - 1) * ln2 + table[j] + _fixed(math.log1p((f - c) / c) + e / q)


def _log_sum_fixed(x: F64, work: F64) -> tuple[int, float, float, float]:
    r""":math:`\sum_i \log x_i` for a block of normal positive floats, as a fixed-point integer.

    Each :math:`x_i = 2^{E_i} c_i (1 + d_i)` with :math:`c_i` the leading 11 bits of
    its significand (:math:`1 + j_i/2^{10}`) and :math:`0 \le d_i < 2^{-10}`, so

    .. math:: \sum_i \log x_i = \log 2 \sum_i E_i + \sum_j n_j \log c_j
              + \sum_i \mathrm{log1p}(d_i),

    the first two exact in integers (the :math:`E_i` and the counts :math:`n_j` of
    each :math:`j`, from the bits; the table of :func:`_log_table`), the last a float
    sum :math:`t` of small non-negative terms. ``x - c`` is exact (Sterbenz), so
    :math:`d_i` is rounded once: each term errs by at most :math:`(1 + L)u\,d_i`
    (``log1p`` to :math:`L` ulp) and numpy's pairwise sum by at most
    :math:`(\lceil\log_2 n\rceil + 16)u\,t`, an error proportional to :math:`t
    \approx 2^{-11} n`, not to :math:`\sum|\log x_i|`. `work` is two float64 work
    arrays of the block's shape. Returns the integer (units of :math:`2^{-100}`) with
    `t` included, `t` (for the caller's error bound), and the float sums of the
    :math:`c_i` and of the :math:`x_i - c_i` (the first is exact when the block spans
    at most :math:`42 - \lceil\log_2(n + 1)\rceil` binades: every :math:`c_i` is
    a multiple of :math:`2^{E_{min} - 10}`). Blocks of at most :math:`2^{26}` elements.
    """
    limbs, _, ln2 = _log_table()
    n = x.shape[0]
    bits = x.view(np.int64)
    k = work[0].view(np.int64)
    np.right_shift(bits, 52 - _TABLE_BITS, out=k)  # biased exponent, then the 10 bits
    ksum = int(k.sum())
    np.bitwise_and(k, (1 << _TABLE_BITS) - 1, out=k)
    counts = np.bincount(k, minlength=1 << _TABLE_BITS)
    jsum = int(counts @ np.arange(1 << _TABLE_BITS))
    dots = limbs @ counts
    tab = sum(int(v) << (_LIMB * i) for i, v in enumerate(dots.tolist()))
    esum = ((ksum - jsum) >> _TABLE_BITS) - 1023 * n
    c = work[1]
    np.bitwise_and(bits, _CLEAR_LOW, out=c.view(np.int64))  # the leading bits of each x
    d = work[0]
    np.subtract(x, c, out=d)  # exact
    csum, dsum = float(np.add.reduce(c)), float(np.add.reduce(d))
    d /= c
    np.log1p(d, out=d)
    t = float(np.add.reduce(d))
    return esum * ln2 + tab + _fixed(t), t, csum, dsum
