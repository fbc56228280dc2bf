r"""The Gamma family.

:class:`Gamma` (``shape`` :math:`\alpha`, ``rate`` :math:`\beta`):
:math:`\eta = (\alpha - 1, -\beta)`, :math:`T(x) = (\log x, x)`, :math:`h = 1` on
:math:`(0, \infty)`.
"""

from __future__ import annotations

import decimal
import math
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._distfns import ScalarFamily
from expfam._dual import DualProblem, solve_dual
from expfam._errors import InfeasibleError
from expfam._families._common import (
    _SUM_SHIFT,
    _cast,
    _check_positive,
    _common_scale,
    _finite_rate,
    _keep,
    _mean_input,
    _natural64,
    _no_fixed,
    _open_support,
    _probe,
    _readonly,
    _require,
    _rescale,
    _scaled_block_sum,
    _scaled_mean,
    _scaled_total,
    _size,
    _usual,
)
from expfam._family import ExponentialFamily
from expfam._kernels import mul0
from expfam._special import (
    _FIX,
    _TABLE_BITS,
    _digamma_scale,
    _f64,
    _gamma_entropy_unit,
    _lgamma_bregman,
    _log_dpois_raw,
    _log_fixed,
    _log_minus_digamma,
    _log_minus_digamma_dec,
    _log_sum_fixed,
    _phi_terms,
    _r_minus_log1p,
)
from expfam._suffstats import (
    Block,
    SufficientStatistics,
    block_weight,
    blocks_weight,
    dd_quotient,
    exact_block_sum,
    sum_pairs,
    two_sum_parts,
    weighted_block_sum,
)
from expfam._summation import two_sum
from expfam._support import Support, out_dtype
from expfam._tails import log_gammainc, log_gammaincc
from expfam._validation import FloatArray, as_float_array

__all__ = ["Gamma"]

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------- gamma
def _gamma_A(eta: F64) -> F64:
    a, b = eta[:, 0] + 1, -eta[:, 1]
    return _f64(special.gammaln(a) - a * np.log(b))


def _gamma_mean(eta: F64) -> F64:
    a, b = eta[..., 0] + 1, -eta[..., 1]
    return np.stack([special.digamma(a) - np.log(b), a / b], axis=-1)


def _gamma_fisher(eta: F64) -> F64:
    return _gamma_fisher_ab(eta[..., 0] + 1, -eta[..., 1])


def _gamma_fisher_ab(a: F64, b: F64) -> F64:
    with np.errstate(over="ignore", under="ignore"):  # +inf for a subnormal rate
        return _gamma_fisher_ab_raw(a, b)


def _gamma_fisher_ab_raw(a: F64, b: F64) -> F64:
    c = 1 / b
    return np.stack([np.stack([special.polygamma(1, a), c], -1), np.stack([c, a * c * c], -1)], -2)


_GAMMA = DualProblem(
    log_partition=_gamma_A,
    mean_map=_gamma_mean,
    fisher=_gamma_fisher,
    in_domain=lambda eta: np.all(np.isfinite(eta), axis=-1) & (eta[:, 0] > -1) & (eta[:, 1] < 0),
    scale=lambda eta: np.abs(eta + np.array([1.0, 0.0])),
    mean_scale=lambda eta: np.stack(
        [_digamma_scale(eta[:, 0] + 1) + np.abs(np.log(-eta[:, 1])), (eta[:, 0] + 1) / -eta[:, 1]],
        axis=-1,
    ),
)


def _gamma_shape_init(s: F64) -> F64:
    r"""Minka's initial guess for :math:`\alpha` solving :math:`\log\alpha - \psi(\alpha) = s`."""
    return (3 - s + np.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)


# Above this shape the Gamma fit solves log(a) - psi(a) = s from its asymptotic series
# with s computed without cancellation; below, the mean parameters are well conditioned.
_GAMMA_NARROW = 100.0


def _gamma_narrow_shape(s: F64) -> F64:
    r"""Shape :math:`\alpha` solving :math:`\log\alpha - \psi(\alpha) = s` for small `s`.

    :math:`y = 1/\alpha` solves :math:`y/2 + y^2/12 - y^4/120 + y^6/252 = s` (the
    series of :math:`\log\alpha - \psi(\alpha)`, exact to 1e-19 relative above
    :data:`_GAMMA_NARROW`) by Newton's method, monotonically from :math:`y = 2s`.
    """
    y = 2 * s
    for _ in range(8):  # Newton on a convex, increasing series: monotone convergence
        f = y / 2 + y**2 / 12 - y**4 / 120 + y**6 / 252 - s
        y = y - f / (0.5 + y / 6 - y**3 / 30 + y**5 / 42)
    return _f64(1 / y)


def _gamma_solve_shape(s: F64) -> F64:
    r"""Shape :math:`\alpha` solving :math:`\log\alpha - \psi(\alpha) = s`, by Newton's method.

    The left side comes from :func:`_log_minus_digamma`, free of cancellation, so
    the shape depends on the data only through the gap :math:`s` (never through
    :math:`\log E[x]`, whose rounding would swamp a small :math:`s`). The function
    is convex and decreasing; Newton's iterates from Minka's start approach the root
    from below after one step. Convergence is quadratic: once every step is below
    1e-9 relative, one more step leaves an error far below an ulp, and the loop stops
    there (the steps then stall at the ulp level of the evaluation of the left side,
    where a test for a step of 2 ulp could wait forever).
    """
    a = _gamma_shape_init(s)
    settled = False
    for _ in range(50):
        f = _log_minus_digamma(a) - s
        slope = 1 / a - special.polygamma(1, a)  # < 0
        step = f / slope
        new = np.where(a - step > 0, a - step, a / 2)
        change = np.abs(new - a)
        done = settled or bool(np.all(change <= 2 * np.finfo(np.float64).eps * a))
        settled = bool(np.all(change <= 1e-9 * a))
        a = new
        if done:
            break
    return _f64(a)


def _gamma_shape_scalar(s: float) -> float:
    r"""Solve :math:`\log\alpha - \psi(\alpha) = s` for one gap in doubles (Python floats).

    As :func:`_gamma_narrow_shape` (above :data:`_GAMMA_NARROW`) and
    :func:`_gamma_solve_shape` (below; here with ``log - digamma`` from scipy, which
    cancels to ~1e-13 relative at shape 100: enough, as :func:`_gamma_polish_shape`
    then takes one Newton step with the left side exact, which squares the error).
    """
    a = (3 - s + math.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    if a > _GAMMA_NARROW:
        y = 2 * s
        for _ in range(8):
            f = y / 2 + y**2 / 12 - y**4 / 120 + y**6 / 252 - s
            y -= f / (0.5 + y / 6 - y**3 / 30 + y**5 / 42)
        return 1 / y
    for _ in range(50):
        f = math.log(a) - float(special.digamma(a)) - s
        step = f / (1 / a - float(special.zeta(2.0, a)))  # the slope is < 0
        new = a - step if a - step > 0 else a / 2
        done = abs(new - a) <= 1e-12 * a
        a = new
        if done:
            break
    return a


def _gamma_polish_shape(shape: F64, s: F64, s_lo: F64 | float = 0.0) -> F64:
    r"""One Newton step on :math:`\log\alpha - \psi(\alpha) = s` with the left side exact.

    The double evaluation of :math:`\log\alpha - \psi(\alpha)` errs by up to ~4 ulp
    (its recurrence cancels below 10), so the double solve stops anywhere in an
    interval of that width around the root: gaps one ulp apart gave shapes 4.5 ulp
    apart. From there one Newton step with the left side to 36 digits
    (:func:`_log_minus_digamma_dec`) leaves the root correctly rounded up to the
    double slope's error times the step (far below an ulp), so the shape follows the
    gap as the problem's conditioning (about 1:1) allows, not the evaluation's noise.
    The gap is taken to twice the precision (``s + s_lo``), so statistics whose gaps
    agree to far below an ulp (merged chunks) give the same shape.
    """
    a = np.array(shape, dtype=np.float64)
    flat, gaps = a.reshape(-1), np.broadcast_to(s, a.shape).reshape(-1)
    gaps_lo = np.broadcast_to(s_lo, a.shape).reshape(-1)
    for i in range(flat.size):
        ai, si = float(flat[i]), float(gaps[i])
        if not (0 < ai < math.inf and si > 0):
            continue
        exact_gap = decimal.Decimal(si) + decimal.Decimal(float(gaps_lo[i]))
        f = float(_log_minus_digamma_dec(ai) - exact_gap)
        slope = 1 / ai - float(special.polygamma(1, ai))  # < 0
        if slope < 0:
            flat[i] = ai - f / slope
    return a


_TINY = float(np.finfo(np.float64).tiny)  # the smallest normal float
#: The table form of the gap is taken when its error bound is at most this many u
#: (u = 2**-53) of the gap: 2 ulp, a tenth of the series form's bound.
_TABLE_TOLERANCE = 4.0
#: Blocks below this size take the series (the table's fixed cost, ~30 us, dominates).
_TABLE_MIN = 2048
_LOG1P_ULPS = 2.0  # assumed accuracy of numpy's log1p (SIMD builds: within an ulp)


def _table_gap(
    logs: int, t: float, total: float, total_lo: float, *, n: int, total_err: float
) -> tuple[float, float] | None:
    r"""Return the gap :math:`G = n\log m - \sum_i\log x_i` of a block (exact log sums), or None.

    `logs` is :math:`\sum_i \log x_i` from :func:`_log_sum_fixed` (an integer in
    units of :math:`2^{-100}`, exact but for a float sum :math:`t \approx 2^{-11} n`
    of small terms), ``total + total_lo`` the block's sum (its error at most
    ``total_err`` u), and :math:`\log m` of the mean comes from :func:`_log_fixed`:
    the difference is formed exactly and rounded once (a pair). It cancels, but only
    the errors of :math:`t`, of the sum and of :math:`\mathrm{log1p}` of the mean's
    :math:`d` remain:

    .. math:: |\Delta G| \le u\,\bigl((2 + L + \lceil\log_2 n\rceil + 16)\,t
              + 3 \cdot 2^{-10} n + n\,\delta_S / S\bigr),

    against :math:`u(13.4 + \dots)G` for the series of terms :math:`\varphi(r_i)`.
    The table form is returned when this bound is at most :data:`_TABLE_TOLERANCE`
    u of :math:`G` (gamma samples of shape up to about 60); None sends narrower
    data, where :math:`G` is small against :math:`t`, to the series. One read of the
    block and about nine elementwise passes (the bits, a bincount, one ``log1p``),
    against a ``log1p`` and ~30 passes over half the block for the series form, and
    the terms do not depend on the block's mean, so the gap of any chunking is the
    same to far below an ulp.
    """
    if _SAFE[0] <= total <= _SAFE[1]:
        mean, mean_lo = _dd_div(total, total_lo, float(n), 0.0)
    else:
        q, e = dd_quotient(np.asarray(total), np.asarray(total_lo), float(n))
        mean, mean_lo = float(q), float(e)
    big = n * _log_fixed(mean, mean_lo) - logs
    gap = math.ldexp(float(big), -_FIX)
    bound = (2 + _LOG1P_ULPS + n.bit_length() + 16) * t + 3 * n * 2.0**-_TABLE_BITS
    bound += n * total_err / total
    if not (bound * 2.0**-53 <= _TABLE_TOLERANCE * 2.0**-53 * gap and gap > 2.0**-40):
        return None
    # the rest of the exact difference (gap * 2**100 is an integer above 2**-47)
    return gap, math.ldexp(float(big - int(math.ldexp(gap, _FIX))), -_FIX)


# ---------------------------------------------------------------------- scalar combines
# The statistics of 1-d data hold one number per part: their combines and merges are
# written for Python floats too, which spares ~50 numpy calls on 0-d arrays (~0.3 ms)
# per combine; a Dask chunk pays one, and so does each merge.
_SPLIT = 134217729.0  # 2**27 + 1
_SAFE = (2.0**-900, 2.0**900)  # Dekker's products of numbers in this range stay exact


def _two_prod(a: float, b: float) -> tuple[float, float]:
    """Return ``p, e`` with ``a * b = p + e`` exactly (Dekker; floats in `_SAFE`)."""
    p = a * b
    c = _SPLIT * a
    ah = c - (c - a)
    c = _SPLIT * b
    bh = c - (c - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _dd_div(hi: float, lo: float, w: float, w_lo: float) -> tuple[float, float]:
    """``(hi + lo) / (w + w_lo)`` as a pair (the scalar form of `dd_quotient`)."""
    q = (hi + lo) / (w + w_lo)
    p, pe = _two_prod(q, w)
    return q, ((hi - p) - pe + lo - q * w_lo) / w


def _exact_pair(values: list[float]) -> tuple[float, float]:
    """Return the sum of `values` correctly rounded, and its rounding error."""
    hi = math.fsum(values)
    return hi, math.fsum([*values, -hi])


def _phi_scalar(r: float, log_ratio: float) -> float:
    """:func:`_r_minus_log1p` of one float (``log_ratio`` = log(1 + r) computed directly)."""
    if abs(r) < 0.25:
        top = abs(r)
        last = 2 + (math.ceil(math.log(1e-22) / math.log(top)) if top else 0)
        acc = 0.0
        for k in range(min(last, 40), 1, -1):
            acc = acc * -r + 1.0 / k
        return acc * r * r
    return r - (log_ratio if r < -0.5 else math.log1p(r))


def _combine_scalar(blocks: list[Block]) -> Block | None:
    """:meth:`Gamma._stats_combine` for parts of one number each, or None (not such parts)."""
    rows = []
    for (w, w_lo), p in blocks:
        vals = [p["s"], p["s_lo"], p["g"], p["g_lo"]]
        if any(np.ndim(v) for v in vals) or np.ndim(p["e"]) or float(p["e"]) != 0:
            return None
        row = (w, w_lo, *(float(v) for v in vals))
        if not all(math.isfinite(v) for v in row):
            return None
        if not all(v == 0 or _SAFE[0] <= abs(v) <= _SAFE[1] for v in row[:3]):
            return None
        rows.append(row)
    w, w_lo = _exact_pair([v for row in rows for v in row[:2]])
    s, s_lo = _exact_pair([v for row in rows for v in row[2:4]])
    if not w > 0 or not s > 0:
        return None
    m, m_lo = _dd_div(s, s_lo, w, w_lo)
    terms = [v for row in rows for v in row[4:6]]
    for wb, wb_lo, sb, sb_lo, _, _ in rows:
        if wb + wb_lo > 0:
            mb, mb_lo = _dd_div(sb, sb_lo, wb, wb_lo)
            r = ((mb - m) + (mb_lo - m_lo)) / m
            lr = math.log(mb) - math.log(m) if mb > 0 else -math.inf
            terms.append((wb + wb_lo) * _phi_scalar(r, lr))
    g, g_lo = _exact_pair(terms)
    parts = {"s": s, "s_lo": s_lo, "g": g, "g_lo": g_lo, "e": 0.0}
    return (w, w_lo), {k: np.asarray(v) for k, v in parts.items()}


def _redo_underflow(phi: F64, x: F64, m: float | F64, r: F64) -> None:
    r"""Redo in place the terms :math:`\varphi(r_i)` whose ``x / m`` underflows.

    Where :math:`x_i/m` is below the smallest normal float (data spanning more than
    the float range's half, e.g. [1e-200, 1e200]) its logarithm lost digits, or was
    :math:`-\infty` (read as an observation 0): :math:`\log x_i - \log m` instead,
    both above 708 in magnitude, to a few ulp of the term.
    """
    with np.errstate(under="ignore", divide="ignore", invalid="ignore"):
        q = x / m
    idx = np.flatnonzero((q < _TINY) & (x > 0))
    if idx.size:
        mi = m if np.ndim(m) == 0 else np.broadcast_to(m, x.shape).ravel()[idx]
        phi.ravel()[idx] = r.ravel()[idx] - (np.log(x.ravel()[idx]) - np.log(mi))


def _mean_ratio(mb: F64, mb_lo: F64, k: F64, m: F64, m_lo: F64) -> tuple[F64, F64]:
    r"""Return :math:`r = 2^k m_b/m - 1` and :math:`\log(1 + r)` for means kept as pairs.

    A chunk's mean :math:`m_b` is at its own scale, :math:`2^k` (``k <= 0``) times
    the merged mean's: rescaled, a mean of tiny data would underflow (and its
    logarithm with it), so the logarithm is :math:`\log m_b - \log m + k\log 2`.
    """
    kk = np.asarray(k).astype(np.int64)
    with np.errstate(under="ignore", invalid="ignore", divide="ignore"):
        r = ((np.ldexp(mb, kk) - m) + (np.ldexp(mb_lo, kk) - m_lo)) / m
        lr = (np.log(mb) - np.log(m)) + k * math.log(2)
    return _f64(r), _f64(lr)


def _centre_gap(gap: F64, total: F64, total_lo: F64, weight: tuple[float, float]) -> F64:
    r"""Move a block's gap from its rounded mean :math:`c` to its exact mean :math:`m`.

    The terms were taken about :math:`c = \mathrm{fl}(m)`;
    :math:`\sum_i w_i\varphi(x_i/c - 1) = \sum_i w_i\varphi(x_i/m - 1) +
    W\varphi(m/c - 1)` exactly, and :math:`W\varphi(m/c - 1) \approx W\epsilon^2/8`
    is many ulp of the gap of data of relative spread 1e-9 (it was the error of
    merged chunks there). Merging re-centres from the exact mean, to twice the
    precision, so the block's gap must be about that mean.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        c, e = dd_quotient(total, total_lo, *weight)
        shift = sum(weight) * _r_minus_log1p(np.where(np.isfinite(e / c), e / c, 0.0))
        return _f64(np.where(np.isfinite(gap), np.maximum(gap - shift, 0.0), gap))


class Gamma(ScalarFamily):
    r"""Gamma distributions with shape :math:`\alpha > 0` and rate :math:`\beta > 0`.

    Density :math:`\beta^\alpha x^{\alpha-1} e^{-\beta x} / \Gamma(\alpha)` on
    :math:`x > 0`. As an exponential family: :math:`T(x) = (\log x, x)`,
    :math:`\eta = (\alpha - 1, -\beta)`, :math:`h(x) = 1`,
    :math:`A(\eta) = \ln\Gamma(\alpha) - \alpha\log\beta`, mean parameters
    :math:`(\psi(\alpha) - \log\beta,\; \alpha/\beta)`.

    Parameters
    ----------
    shape : array_like
        Shapes :math:`\alpha > 0`.
    rate : array_like
        Rates :math:`\beta > 0`. `shape` and `rate` broadcast to the batch shape.

    Notes
    -----
    The inverse mean map has no closed form: :math:`\alpha` solves
    :math:`\log\alpha - \psi(\alpha) = \log E[x] - E[\log x] =: s`, which has a
    solution exactly when :math:`s > 0` (Jensen's inequality). It is solved on the
    convex dual by :func:`expfam._dual.solve_dual` from Minka's initial guess
    :math:`\alpha_0 = (3 - s + \sqrt{(s-3)^2 + 24 s}) / (12 s)` [1]_. A fit instead
    solves :math:`\log\alpha - \psi(\alpha) = s` directly from its statistics, with
    :math:`s` kept as a mean of non-negative terms (see :meth:`suffstats`).

    It is the conjugate prior over a rate (:meth:`~ExponentialFamily.posterior`,
    :meth:`~ExponentialFamily.posterior_predictive`; :math:`N = \sum_i w_i`):

    ====================  ==========================================
    likelihood            posterior
    ====================  ==========================================
    :class:`Poisson`      :math:`(\alpha + \sum x_i,\; \beta + N)`
    :class:`Exponential`  :math:`(\alpha + N,\; \beta + \sum x_i)`
    ====================  ==========================================

    The predictives (:mod:`scipy.stats`): the negative binomial
    ``nbinom(shape, rate / (1 + rate))`` and the Lomax ``lomax(shape, scale=rate)``.

    :meth:`entropy` uses an asymptotic series for :math:`\alpha \ge 25`, where the
    closed form :math:`\alpha - \log\beta + \ln\Gamma(\alpha) + (1-\alpha)\psi(\alpha)`
    cancels terms of size :math:`\alpha\log\alpha`.

    References
    ----------
    .. [1] T. P. Minka, "Estimating a Gamma distribution", 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import Gamma
    >>> d = Gamma(shape=2.0, rate=[1.0, 4.0])
    >>> d.mean()
    array([2. , 0.5])
    >>> x = d.sample(100_000, rng=0)
    >>> fitted = Gamma.fit(x[:, 0])  # MLE: moment matching of (log x, x)
    >>> bool(abs(fitted.shape - 2.0) < 0.05)
    True
    """

    _repr_params = ("shape", "rate")
    _support = Support(lower=0.0, safe=1.0)

    def __init__(self, shape: ArrayLike, rate: ArrayLike) -> None:
        dtype, (a, b) = _usual({"shape": shape, "rate": rate})
        _check_positive(a, "shape")
        _check_positive(b, "rate")
        super().__init__(np.stack([a - 1, -b], axis=-1).astype(dtype))
        _keep(self, "_params64", (_readonly(np.array(a)), _readonly(np.array(b))))

    def _check_natural(self) -> None:
        eta = _natural64(self, 2, "Gamma")
        _require(np.isfinite(eta), eta, "natural_params", "finite")
        with np.errstate(invalid="ignore"):
            _require(eta[..., 0] > -1, eta[..., 0], "natural_params[..., 0]", "> -1 (shape > 0)")
            _require(eta[..., 1] < 0, eta[..., 1], "natural_params[..., 1]", "< 0 (rate > 0)")

    @cached_property
    def _params64(self) -> tuple[F64, F64]:
        eta = self._natural.astype(np.float64)
        return eta[..., 0] + 1, -eta[..., 1]

    @property
    def shape(self) -> FloatArray:
        r"""Shapes :math:`\alpha`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[0], self.dtype))

    @property
    def rate(self) -> FloatArray:
        r"""Rates :math:`\beta`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[1], self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`\alpha/\beta`."""
        a, b = self._params64
        with np.errstate(over="ignore", under="ignore"):  # +inf or 0 beyond the float range
            return _cast(a / b, self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`\alpha/\beta^2`."""
        a, b = self._params64
        with np.errstate(over="ignore", under="ignore"):
            return _cast(a / b / b, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\ln\Gamma(\alpha) - \alpha\log\beta`, shape ``batch_shape``."""
        a, b = self._params64
        return _cast(special.gammaln(a) - a * np.log(b), self.dtype)

    def _mean_map(self) -> FloatArray:
        a, b = self._params64
        with np.errstate(over="ignore", under="ignore"):  # E[x] beyond the float range
            return _cast(np.stack([special.digamma(a) - np.log(b), a / b], axis=-1), self.dtype)

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`[[\psi_1(\alpha), 1/\beta], [1/\beta, \alpha/\beta^2]]`."""
        a, b = self._params64
        return _cast(_gamma_fisher_ab(a, b), self.dtype)

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _mean_input(mean_params, 2, "Gamma")
        flat = mu.reshape(-1, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.log(flat[:, 1]) - flat[:, 0]
        bad = ~(flat[:, 1] > 0) | ~(s > 0)
        if np.any(bad):
            i = np.flatnonzero(bad)[0]
            raise InfeasibleError(
                "`mean_params` = (E[log x], E[x]) of a Gamma need E[x] > 0 and "
                f"E[log x] < log E[x] (Jensen); found {flat[i].tolist()}"
            )
        a0 = _gamma_shape_init(s)
        init = np.stack([a0 - 1, -a0 / flat[:, 1]], axis=-1)
        eta = solve_dual(_GAMMA, flat, init)
        return _cast(eta.reshape(mu.shape), as_float_array(mean_params, "mean_params").dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        r""":math:`T(x) = (\log x, x)` for ``x >= 0``, shape ``x.shape + (2,)``."""
        a = as_float_array(x, "x")
        with np.errstate(invalid="ignore"):
            _require(np.isfinite(a) & (a >= 0), a, "x", "in the support [0, inf) of a Gamma")
        with np.errstate(divide="ignore"):
            t = np.stack([np.log(a), a], axis=-1)
        return _cast(t, out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (Lebesgue measure on ``(0, inf)``), shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.zeros(t.shape[:-1], dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def _log_prob(self, x: F64) -> F64:
        r"""Log density :math:`(\alpha - 1)\log x - \beta x - A`, with :math:`0\log 0 = 0`.

        For :math:`\alpha \ge 1` in Loader's form
        :math:`\log\beta + \log\mathrm{dpois}(\alpha - 1, \beta x)`, which keeps full
        precision where the terms above are large and cancel (large shapes).
        """
        al, b = self._params64
        al, b, x64 = np.broadcast_arrays(al, b, x)
        out = _f64(special.xlogy(al - 1, x64) - b * x64 - (special.gammaln(al) - al * np.log(b)))
        y = b * x64
        loader = (al >= 1) & (y > 0) & np.isfinite(y)  # f(x) = beta * dpois(alpha - 1, beta x)
        out[loader] = np.log(b[loader]) + _log_dpois_raw(al[loader] - 1, y[loader])
        return out

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`\alpha - \log\beta + \ln\Gamma(\alpha) + (1-\alpha)\psi(\alpha)`.

        Computed with an asymptotic series for :math:`\alpha \ge 25` (see Notes of the
        class), so it keeps full precision for large shapes.
        """
        a, b = self._params64
        return _cast(_gamma_entropy_unit(a) - np.log(b), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other), written so that nearby distributions keep their digits.

        With :math:`\delta = \alpha_q - \alpha_p` and :math:`\rho = \beta_q/\beta_p - 1`,

        .. math:: \mathrm{KL} = [\ln\Gamma(\alpha_q) - \ln\Gamma(\alpha_p)
                  - \delta\psi(\alpha_p)] + \alpha_p(\rho - \mathrm{log1p}\rho)
                  - \delta\mathrm{log1p}\rho,

        the first two terms non-negative and each summed without cancellation (a
        Taylor series for the first when :math:`|\delta| \le \alpha_p/8`).
        """
        self._check_same_family(other)
        assert isinstance(other, Gamma)  # noqa: S101 - narrowed by _check_same_family
        ap, bp = self._params64
        aq, bq = other._params64
        d = aq - ap
        rho = (bq - bp) / bp
        lr = np.where(rho < -0.5, np.log(bq) - np.log(bp), np.log1p(rho))
        kl = _lgamma_bregman(ap, d) + ap * _r_minus_log1p(rho, lr) - d * lr
        return _cast(np.maximum(kl, 0.0), np.result_type(self.dtype, other.dtype))

    # ------------------------------------------------------------------ statistics
    # parts: "s" + "s_lo" = sum w x (compensated) and "g" + "g_lo" = sum w phi(x/m - 1) with
    # m = sum w x / W: W times the log-moment gap log E[x] - E[log x], a sum of
    # non-negative terms (phi(r) = r - log1p(r)), re-centred exactly when merged.
    @classmethod
    def _stats_block(
        cls, probe: ExponentialFamily, x: FloatArray, w: F64 | None
    ) -> SufficientStatistics:
        a = x.astype(np.float64)
        with np.errstate(invalid="ignore"):
            _require(np.isfinite(a) & (a >= 0), a, "x", "in the support [0, inf) of a Gamma")
        weight = block_weight(a.shape[0], w)
        # the sum scaled by 2**-64 where it overflows (the mean is representable)
        total, total_lo, e = _scaled_block_sum(
            weighted_block_sum(w, a), lambda: weighted_block_sum(w, np.ldexp(a, -int(_SUM_SHIFT)))
        )
        if w is not None:
            wn = w.reshape(w.shape + (1,) * (a.ndim - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            m = (
                _scaled_mean(total, total_lo, e, sum(weight))
                if sum(weight) > 0
                else np.ones(a.shape[1:])
            )
            mm = np.broadcast_to(m, a.shape).ravel()
            r = ((a - m) / m).ravel()
        work = np.empty((3, r.size))
        # the terms in the forms of the lean path (`_stats_fast`), so that a weighted
        # block and an unweighted one give the same terms
        bounds = (float(np.min(r)), float(np.max(r))) if r.size else (0.0, 0.0)
        phi = _phi_terms(a.ravel(), mm, r, r_min=bounds[0], r_max=bounds[1], work=work)
        if bounds[0] <= -0.75:
            _redo_underflow(phi, a.ravel(), mm, r)
        phi = phi.reshape(a.shape)
        gap = phi.sum(axis=0) if w is None else mul0(wn, phi).sum(axis=0)
        if sum(weight) > 0:
            gap = _centre_gap(gap, total, total_lo, weight)
            # equal positive observations have no gap: their rounded mean (its error
            # re-centred only to twice the precision) would leave one of ~1e-48
            kept = a if w is None else a[w > 0]
            gap = np.where(np.all(kept == kept[:1], axis=0) & (kept[0] > 0), 0.0, gap)
        parts = {
            "s": total,
            "s_lo": total_lo,
            "g": _f64(gap),
            "g_lo": np.zeros(np.shape(gap)),
            "e": e,
        }
        return cls._make_stats(probe, x, weight, parts)

    @classmethod
    def _stats_fast(
        cls,
        probe: ExponentialFamily,  # noqa: ARG003 - the base's signature
        x: NDArray[Any],
        w: F64 | None,
        buf: F64,
    ) -> Block | None:
        """Return the parts of :meth:`_stats_block` for an unweighted 1-d block, lean.

        The support check is the block's minimum and maximum (a 0, where the gap is
        infinite, takes :meth:`_stats_block`). A wide block of 2048 values or more
        takes the gap and the sum from exact sums of logarithms (:func:`_log_sum_fixed`,
        :func:`_table_gap`) when their error bound allows; other blocks take the
        terms of :func:`_phi_terms`, in the work buffers.
        """
        if w is not None or x.ndim != 1 or x.shape[0] == 0:
            return None
        lowest, highest = float(x.min()), float(x.max())
        if not (lowest > 0 and highest < math.inf):  # False at nan
            return None
        n = x.shape[0]
        table = None
        if highest >= 1.5 * lowest and lowest >= _TINY and _TABLE_MIN <= n <= 1 << 26:
            with np.errstate(over="ignore"):  # an overflowing sum: the scaled path
                logs, t, csum, dsum = _log_sum_fixed(x, buf[1:])
            span = math.frexp(highest)[1] - math.frexp(lowest)[1]
            if span <= 42 - n.bit_length():
                # the sum of the leading bits is exact, that of the rest (< 2**-10 of
                # it) is a float sum: no extraction passes
                hi = csum + dsum  # a fast two-sum: 0 <= dsum < csum
                total, total_lo = np.asarray(hi), np.asarray(dsum - (hi - csum))
                total_err = (n.bit_length() + 16) * dsum
            else:
                total, total_lo = exact_block_sum(x, top=highest, out=buf[0])
                total_err = 0.0
            if 0 < float(total) < math.inf:
                table = _table_gap(
                    logs, t, float(total), float(total_lo), n=n, total_err=total_err
                )
        else:
            total, total_lo = exact_block_sum(x, top=highest, out=buf[0])
        if table is not None:
            g, g_lo = (np.asarray(v) for v in table)
            parts = {"s": total, "s_lo": total_lo, "g": g, "g_lo": g_lo, "e": np.zeros(())}
            return (float(n), 0.0), parts
        m = (float(total) + float(total_lo)) / n
        if not (0 < m < math.inf):  # also an overflowing sum: `_stats_block` scales it
            return None
        if lowest == highest:  # no gap (the rounded mean's error would leave ~1e-48)
            parts = {"s": total, "s_lo": total_lo, "g": np.zeros(()), "g_lo": np.zeros(())}
            return (float(n), 0.0), {**parts, "e": np.zeros(())}
        r = np.subtract(x, m, out=buf[0])
        r /= m
        # rounding is monotone: the extremes of the computed r
        r_min, r_max = (lowest - m) / m, (highest - m) / m
        phi = _phi_terms(x, m, r, r_min=r_min, r_max=r_max, work=buf[1:])
        if lowest / m < _TINY:  # data spanning more than half the float range
            _redo_underflow(phi, x, m, r)
        gap = _centre_gap(phi.sum(), total, total_lo, (float(n), 0.0))
        parts = {"s": total, "s_lo": total_lo, "g": gap, "g_lo": np.zeros(()), "e": np.zeros(())}
        return (float(n), 0.0), parts

    @classmethod
    def _stats_combine(cls, blocks: list[Block]) -> Block:
        r"""Re-centre all blocks' gaps on the common mean at once.

        :math:`G = \sum_b G_b + \sum_b W_b\,\varphi(m_b/m - 1)`, the means to twice
        the precision (the same identity as :meth:`_stats_merge`).
        """
        scalar = _combine_scalar(blocks)
        if scalar is not None:
            return scalar
        w_hi, w_lo = blocks_weight(blocks)
        sb = np.stack([p["s"] for _, p in blocks])
        sb_lo = np.stack([p["s_lo"] for _, p in blocks])
        eb = np.stack([np.broadcast_to(p["e"], sb.shape[1:]) for _, p in blocks])
        # the sums at their largest scale (2**64 where the plain total overflows)
        top, (s, s_lo) = _common_scale(
            np.max(eb, axis=0), lambda to: sum_pairs(*_rescale((sb, sb_lo), eb, to))
        )
        gb = np.stack([np.broadcast_to(p["g"], s.shape) for _, p in blocks])
        gb_lo = np.stack([np.broadcast_to(p["g_lo"], s.shape) for _, p in blocks])
        shape = (-1,) + (1,) * s.ndim
        wn = np.array([b[0][0] for b in blocks]).reshape(shape)
        wn_lo = np.array([b[0][1] for b in blocks]).reshape(shape)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            m, m_lo = dd_quotient(s, s_lo, w_hi, w_lo)
            mb, mb_lo = dd_quotient(sb, sb_lo, wn, wn_lo)
            has = np.broadcast_to((wn + wn_lo) > 0, mb.shape)
            r, lr = _mean_ratio(np.where(has, mb, m), np.where(has, mb_lo, 0.0), eb - top, m, m_lo)
            r, lr = np.where(has, r, 0.0), np.where(has, lr, 0.0)
            shift = np.where(has, (wn + wn_lo) * _r_minus_log1p(r, lr), 0.0)
            # the gaps and shifts summed as exact pairs: merged chunks keep every digit
            g, g_lo = two_sum(
                *sum_pairs(
                    np.concatenate([gb, shift]), np.concatenate([gb_lo, np.zeros(shift.shape)])
                )
            )
        return (w_hi, w_lo), {"s": s, "s_lo": s_lo, "g": g, "g_lo": g_lo, "e": top}

    @classmethod
    def _stats_merge(cls, a: SufficientStatistics, b: SufficientStatistics) -> dict[str, F64]:
        pa, pb = a._parts, b._parts
        wa, wb = a.total_weight, b.total_weight
        if wa > 0 and wb > 0:
            scalar = _combine_scalar([(a._weight, pa), (b._weight, pb)])
            if scalar is not None:
                return scalar[1]
        sa, sb = (pa["s"], pa["s_lo"]), (pb["s"], pb["s_lo"])

        def total(to: F64) -> tuple[F64, F64]:
            return two_sum_parts(*_rescale(sa, pa["e"], to), *_rescale(sb, pb["e"], to))

        # the sums at their larger scale (2**64 where the plain total overflows)
        top, (hi, lo) = _common_scale(np.maximum(pa["e"], pb["e"]), total)
        scale = np.broadcast_to(top, hi.shape).copy()
        if wa == 0 or wb == 0:
            keep = pb if wa == 0 else pa
            g = np.broadcast_to(keep["g"], hi.shape).copy()
            g_lo = np.broadcast_to(keep["g_lo"], hi.shape).copy()
            return {"s": hi, "s_lo": lo, "g": g, "g_lo": g_lo, "e": scale}
        # the chunk means against the merged one, all to twice the precision: their
        # differences are tiny for data of small relative spread
        w_hi, w_lo = two_sum_parts(*(np.asarray(v) for v in (*a._weight, *b._weight)))
        m, m_lo = dd_quotient(hi, lo, float(w_hi), float(w_lo))
        ra, la = _mean_ratio(*dd_quotient(*sa, *a._weight), pa["e"] - top, m, m_lo)
        rb, lb = _mean_ratio(*dd_quotient(*sb, *b._weight), pb["e"] - top, m, m_lo)
        with np.errstate(invalid="ignore", divide="ignore"):
            shift = wa * _r_minus_log1p(ra, la) + wb * _r_minus_log1p(rb, lb)
        g, g_lo = two_sum_parts(pa["g"], pa["g_lo"], pb["g"], pb["g_lo"])
        with np.errstate(invalid="ignore"):
            g, e = two_sum(g, _f64(shift))
            g, g_lo = two_sum(g, _f64(np.where(np.isfinite(g), g_lo + e, 0.0)))
        g_lo = np.where(np.isfinite(g), g_lo, 0.0)
        return {"s": hi, "s_lo": lo, "g": g, "g_lo": g_lo, "e": scale}

    @classmethod
    def _stats_sum(cls, s: SufficientStatistics) -> F64:
        total = _scaled_total(s._parts["s"], s._parts["s_lo"], s._parts["e"])
        mean = cls._stats_mean(s)
        return _f64(np.stack([mean[..., 0] * s.total_weight, total], axis=-1))

    @classmethod
    def _stats_mean(cls, s: SufficientStatistics) -> F64:
        p = s._parts
        mean = _scaled_mean(p["s"], p["s_lo"], p["e"], s.total_weight)
        with np.errstate(divide="ignore"):
            log_mean = np.log(mean) - (p["g"] + p["g_lo"]) / s.total_weight
        return _f64(np.stack(np.broadcast_arrays(log_mean, mean), axis=-1))

    @classmethod
    def _fit_stats(cls, s: SufficientStatistics) -> Gamma:
        r"""Fit from the mean :math:`m` and the gap :math:`s = \log m - E[\log x]`.

        The shape solves :math:`\log\alpha - \psi(\alpha) = s`. Above
        :data:`_GAMMA_NARROW` (data of small relative spread) from the asymptotic
        series with :math:`s` kept as a sum of non-negative terms (the mean parameters
        hold it only to :math:`\epsilon\,|\log m|`: for a relative spread of 1e-6
        that lost every digit); below, by the inverse mean map.

        Raises
        ------
        InfeasibleError
            If an observation is 0 (where the likelihood is unbounded) or all
            observations are equal: the MLE does not exist.
        """
        p = s._parts
        m = _scaled_mean(p["s"], p["s_lo"], p["e"], s.total_weight)
        gap, gap_lo = dd_quotient(p["g"], p["g_lo"], *s._weight)
        if np.any(gap == np.inf):
            raise InfeasibleError(
                "`x` contains 0: the Gamma MLE needs x > 0 (at 0 the likelihood is unbounded)"
            )
        if np.any(~(gap > 0)):
            raise InfeasibleError(
                "`x` has no spread (all observations are equal): the Gamma MLE does not "
                "exist (the mean parameters lie on the boundary of their domain)"
            )
        if np.ndim(gap) == 0:  # one fit: Python floats (numpy's 0-d calls cost ~0.5 ms)
            shape = np.asarray(_gamma_shape_scalar(float(gap)))
        else:
            narrow = _gamma_shape_init(gap) > _GAMMA_NARROW
            shape = np.where(narrow, _gamma_narrow_shape(np.where(narrow, gap, 1.0)), 1.0)
            if not np.all(narrow):
                shape = np.where(narrow, shape, _gamma_solve_shape(np.where(narrow, 1.0, gap)))
        shape = _gamma_polish_shape(shape, gap, gap_lo)
        rate = _finite_rate(shape, m, "the mean of `x`", s.dtype)
        return cls(shape=_cast(shape, s.dtype), rate=_cast(rate, s.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Draw samples of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        a, b = self._params64
        x = gen.gamma(a, 1 / b, size=_size(size) + self.batch_shape)
        return _open_support(x, self.dtype)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Gamma:
        _no_fixed(cls, fixed)
        return _probe(cls(shape=1.0, rate=1.0))

    # ------------------------------------------------------------------ distribution functions
    def _df_params(self) -> tuple[F64, ...]:
        return self._params64

    def _df_support(self) -> tuple[float, float]:
        return 0.0, np.inf

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        return _f64(special.gammainc(a, b * x))

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        return _f64(special.gammaincc(a, b * x))

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        return log_gammainc(a, b * x)

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        return log_gammaincc(a, b * x)

    def _df_ppf(self, q: F64, p: tuple[F64, ...]) -> F64:
        # each inverse where its probability is the small tail: 1 - q is exact there
        a, b = p
        y = np.where(q <= 0.5, special.gammaincinv(a, q), special.gammainccinv(a, 1 - q))
        return _f64(y / b)

    def _df_isf(self, q: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        y = np.where(q <= 0.5, special.gammainccinv(a, q), special.gammaincinv(a, 1 - q))
        return _f64(y / b)

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        a, b = p
        return _f64(np.sqrt(a) / b)

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """``(shape - 1) / rate`` for ``shape >= 1``, else 0 (where the density is infinite)."""
        a, b = p
        return _f64(np.where(a >= 1, (a - 1) / b, 0.0))
