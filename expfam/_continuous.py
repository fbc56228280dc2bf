r"""Continuous families: exponential, normal, gamma and beta.

* :class:`Exponential` (``rate`` :math:`\lambda`): :math:`\eta = -\lambda`,
  :math:`T(x) = x`, :math:`h = 1` on :math:`[0, \infty)`.
* :class:`Normal` (``loc`` :math:`\mu`, ``scale`` :math:`\sigma`):
  :math:`\eta = (\mu/\sigma^2, -1/(2\sigma^2))`, :math:`T(x) = (x, x^2)`,
  :math:`h = (2\pi)^{-1/2}`.
* :class:`Gamma` (``shape`` :math:`\alpha`, ``rate`` :math:`\beta`):
  :math:`\eta = (\alpha - 1, -\beta)`, :math:`T(x) = (\log x, x)`, :math:`h = 1` on
  :math:`(0, \infty)`.
* :class:`Beta` (``a``, ``b``): :math:`\eta = (a - 1, b - 1)`,
  :math:`T(x) = (\log x, \log(1 - x))`, :math:`h = 1` on :math:`(0, 1)`.

A distribution holds its natural parameters, stored in its dtype. One built from its
usual parameters also keeps those (rounded to its dtype, held in float64), reads them
back exactly and computes everything from them: a gamma, beta or Dirichlet shape
:math:`\alpha` is not recovered from :math:`\eta = \alpha - 1` (which holds it only
to an absolute precision of one ulp of 1: relative ``eps / alpha`` for
:math:`\alpha < 1`), nor a normal's :math:`(\mu, \sigma)` from
:math:`\eta = (\mu/\sigma^2, -1/(2\sigma^2))`. One built from natural or mean
parameters derives its usual parameters from the natural ones.

Everything is computed in float64 and returned in the distribution's dtype (float32
parameters give float32 results).

Samples of the gamma and beta families are rounded to the nearest float of the
*open* support: a variate below the smallest positive float becomes that float (and
a beta variate within half an ulp of 1 becomes the largest float below 1), never 0
or 1, where :math:`T(x)` would be infinite.

Where a textbook closed form cancels, a rearranged one is used (each documented
where it is used): the gamma log-density in Loader's form for large shapes,
cancellation-free digamma differences (the beta and Dirichlet mean maps), log-beta
functions (scipy's ``betaln`` loses up to ten digits for a small argument against a
large one) and entropies (asymptotic series for large shapes).

This module also holds the small helpers that the discrete and Dirichlet modules
share: parameter conversion and checks, Loader's ``stirlerr`` and ``bd0``, and the
special-function kernels above.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._dual import DualProblem, solve_dual
from expfam._errors import InfeasibleError
from expfam._family import ExponentialFamily
from expfam._kernels import mul0
from expfam._validation import FloatArray, as_float_array

__all__ = ["Beta", "Exponential", "Gamma", "Normal"]

_D = TypeVar("_D", bound=ExponentialFamily)

F64 = NDArray[np.float64]
_HALF_LOG_2PI = 0.5 * float(np.log(2 * np.pi))


# ---------------------------------------------------------------------- shared helpers
def _usual(named: dict[str, ArrayLike]) -> tuple[np.dtype[Any], list[F64]]:
    """Convert, broadcast and round the usual parameters; return their dtype and float64 copies.

    Python scalars and lists are *weak*: they take the dtype of the numpy arguments, so
    ``Normal(loc=np.float32(0), scale=1.0)`` is float32. Without numpy arguments the
    dtype is float64. Values are rounded to that dtype, then widened to float64.
    """
    arrays = {k: as_float_array(v, k) for k, v in named.items()}
    strong = [arrays[k] for k, v in named.items() if isinstance(v, (np.ndarray, np.generic))]
    dtype = np.result_type(*strong) if strong else np.dtype(np.float64)
    try:
        parts = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"`{k}` {a.shape}" for k, a in arrays.items())
        raise ValueError(f"parameter shapes do not broadcast: {shapes}") from None
    return dtype, [np.asarray(p, dtype=dtype).astype(np.float64) for p in parts]


def _scalar_mean_params(mean_params: ArrayLike, family: str) -> FloatArray:
    """Return the mean parameters of a one-parameter `family`, shape ``batch + (1,)``."""
    mu = as_float_array(mean_params, "mean_params")
    if mu.ndim == 0 or mu.shape[-1] != 1:
        raise ValueError(
            f"`mean_params` of a {family} must have shape batch_shape + (1,); got {mu.shape}"
        )
    return mu


def _cast(x: Any, dtype: Any) -> FloatArray:
    """``x`` as an array of `dtype` (float32 or float64): the last step of every result."""
    out: FloatArray = np.asarray(x, dtype=dtype)
    return out


def _f64(x: Any) -> F64:
    """``x`` as a float64 array (typed: scipy's special functions are untyped)."""
    out: F64 = np.asarray(x, dtype=np.float64)
    return out


def _require(ok: NDArray[np.bool_], values: FloatArray, name: str, what: str) -> None:
    """Raise ``ValueError`` naming `name` and the first offending value where ``ok`` fails."""
    if not np.all(ok):
        bad = np.broadcast_to(values, ok.shape)[~ok].flat[0]
        raise ValueError(f"`{name}` must be {what}; found {float(bad)!r}")


def _log_prob_outcomes(
    dist: ExponentialFamily,
    x: ArrayLike,
    inside: Callable[[FloatArray], NDArray[np.bool_]],
    safe: float,
) -> tuple[FloatArray, F64, NDArray[np.bool_], NDArray[np.bool_]]:
    """Outcomes for ``log_prob``, checked against the batch and split by the support.

    `inside` gives the mask of the outcomes in the support (it may broadcast them
    against parameters). Returns the outcomes as given (converted), as float64
    broadcast to the mask's shape with those outside replaced by `safe` (a point of
    the support, so that the formula runs on them quietly), and the masks of the
    entries outside the support and of the nan entries, for :func:`_finish_log_prob`.
    """
    a = as_float_array(x, "x")
    dist._check_x_batch(np.shape(a))
    with np.errstate(invalid="ignore"):
        ok = inside(a)
    a64 = a.astype(np.float64)
    nan = np.broadcast_to(np.isnan(a64), ok.shape)
    return a, np.where(ok, a64, safe), ~ok & ~nan, nan


def _finish_log_prob(out: Any, outside: NDArray[np.bool_], nan: NDArray[np.bool_]) -> F64:
    """``log_prob`` is -inf outside the support (probability 0) and nan at nan outcomes."""
    return np.where(nan, np.nan, np.where(outside, -np.inf, out))


def _integer_outcomes(a: FloatArray, lower: float, upper: Any = None) -> NDArray[np.bool_]:
    """Mask of the entries of `a` that are integers in ``[lower, upper]``."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(a) & (a == np.round(a)) & (a >= lower)
        if upper is not None:
            ok = ok & (a <= upper)
    return np.asarray(ok)


def _entropy_plus_kl(p: ExponentialFamily, q: ExponentialFamily) -> FloatArray:
    r"""Cross-entropy as :math:`H(p) + KL(p \| q)`, two closed forms that keep their digits.

    The generic :math:`A(\eta_q) - \langle\eta_q, \mu_p\rangle - E_p[\log h]`
    cancels when the parameters are large (shapes of 1e8 lost 8 digits).
    """
    return np.asarray(p.entropy() + p.kl_divergence(q))


def _keep(dist: ExponentialFamily, name: str, value: Any) -> None:
    """Preset the cached property `name` of `dist` (usual parameters kept from construction)."""
    dist.__dict__[name] = value


def _no_fixed(cls: type, fixed: dict[str, Any]) -> None:
    """Raise ``TypeError`` naming unexpected keyword arguments of ``cls.fit``."""
    if fixed:
        names = ", ".join(f"`{k}`" for k in sorted(fixed))
        raise TypeError(
            f"{cls.__name__}.fit() got unexpected keyword argument(s) {names}: a "
            f"{cls.__name__} has no known (fixed) parameters"
        )


def _fit_data(x: ArrayLike, weights: ArrayLike | None, event_ndim: int = 0) -> F64 | None:
    """Return the observations that carry weight, as float64.

    Returns None when `x` or `weights` are malformed: the generic fit then raises its
    own error about them.
    """
    try:
        a = as_float_array(x, "x")
    except (TypeError, ValueError):
        return None
    if a.ndim <= event_ndim or a.shape[0] == 0:
        return None
    a64 = a.astype(np.float64)
    if weights is not None:
        try:
            w = as_float_array(weights, "weights")
        except (TypeError, ValueError):
            return None
        if w.shape != a.shape[:1]:
            return None
        with np.errstate(invalid="ignore"):
            a64 = a64[w > 0]
    return a64


def _no_spread(a: F64, family: str, event_ndim: int = 0) -> None:
    """Raise ``InfeasibleError`` if all weighted observations are equal (no MLE)."""
    if a.shape[0] == 0:
        return
    with np.errstate(invalid="ignore"):
        same = np.all(a == a[:1], axis=0)
    if event_ndim:
        same = np.all(same, axis=tuple(range(-event_ndim, 0)))
    if np.any(same):
        raise InfeasibleError(
            f"`x` has no spread (all observations are equal): the {family} MLE does not "
            "exist (the mean parameters lie on the boundary of their domain)"
        )


def _r_minus_log1p(r: F64, log_ratio: F64 | None = None) -> F64:
    r""":math:`\varphi(r) = r - \operatorname{log1p}(r) \ge 0` (``r >= -1``), to full precision.

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
    for k in range(40, 1, -1):  # (1/4)**38 < 1e-22
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


def _check_positive(a: F64, name: str) -> None:
    with np.errstate(invalid="ignore"):
        _require(np.isfinite(a) & (a > 0), a, name, "positive and finite")


def _natural64(dist: ExponentialFamily, d: int | None, family: str) -> F64:
    """Return the natural parameters as float64, after checking their trailing axis."""
    eta = dist._natural
    if d is not None and eta.shape[-1] != d:
        raise ValueError(
            f"`natural_params` of a {family} must have shape batch_shape + ({d},); got {eta.shape}"
        )
    _require(~np.isnan(eta), eta, "natural_params", "free of nan")
    return eta.astype(np.float64)


def _mean_input(mean_params: FloatArray, d: int, family: str) -> F64:
    """Check the trailing axis and finiteness of mean parameters; return float64."""
    mu = as_float_array(mean_params, "mean_params")
    if mu.ndim == 0 or mu.shape[-1] != d:
        raise ValueError(
            f"`mean_params` of a {family} must have shape batch_shape + ({d},); got {mu.shape}"
        )
    _require(np.isfinite(mu), mu, "mean_params", "finite")
    return mu.astype(np.float64)


def _out_dtype(dist: ExponentialFamily, x: ArrayLike, a: FloatArray) -> np.dtype[Any]:
    """Return the result dtype for outcomes `x` (converted: `a`).

    A float numpy `x` joins the parameters' dtype.

    Python scalars, lists and integer arrays take the distribution's dtype. The probe
    built by ``_fit_probe`` has no dtype of its own: its results take the dtype of `x`
    (float32 data fit to a float32 distribution).
    """
    if dist.__dict__.get("_probe", False):
        return a.dtype
    if isinstance(x, (np.ndarray, np.generic)) and np.asarray(x).dtype.kind == "f":
        return np.result_type(a.dtype, dist.dtype)
    return dist.dtype


def _probe(dist: _D) -> _D:
    """Mark `dist` as a fit probe (see :func:`_out_dtype`)."""
    dist.__dict__["_probe"] = True
    return dist


def _open_support(x: F64, dtype: np.dtype[Any], upper: float | None = None) -> FloatArray:
    """Round variates to `dtype`, then into the open support ``(0, upper)`` (see module docs)."""
    out = np.maximum(x.astype(dtype), np.finfo(dtype).smallest_subnormal)
    if upper is not None:
        out = np.minimum(out, np.nextafter(np.asarray(upper, dtype), np.asarray(0, dtype)))
    return _cast(out, dtype)


def _size(size: int | tuple[int, ...]) -> tuple[int, ...]:
    return (size,) if isinstance(size, (int, np.integer)) else tuple(size)


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


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
    out[small] = xs + special.gammaln(xs) + (1 - xs) * special.digamma(xs)
    xl = x[~small]
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


def _stirlerr(n: F64) -> F64:
    r""":math:`\ln\Gamma(n+1) - \log(\sqrt{2\pi n}(n/e)^n)` for ``n >= 0`` (0 for ``n = 0``).

    Exact table values for the integers up to 15, the closed form for other
    ``n <= 15`` (whose terms are below 90, so the absolute error stays below ``2e-14``:
    what a log-density needs), Stirling's series above.
    """
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros(n.shape)
    small = (n <= 15) & (n > 0)
    ns = n[small]
    whole = ns == np.round(ns)
    vals = np.empty(ns.shape)
    vals[whole] = _STIRLERR[ns[whole].astype(np.intp)]
    nf = ns[~whole]
    vals[~whole] = special.gammaln(nf + 1) - (nf + 0.5) * np.log(nf) + nf - _HALF_LOG_2PI
    out[small] = vals
    big = n > 15
    nb = n[big]
    r2 = 1 / (nb * nb)
    acc = np.zeros_like(nb)
    for c in reversed(_STIRLING):
        acc = acc * r2 + c
    out[big] = acc / nb
    return out


def _bd0(x: F64, m: F64) -> F64:
    r"""Loader's :math:`\mathrm{bd0}(x, M) = x\log(x/M) + M - x \ge 0`, without cancellation.

    For :math:`|x - M| < 0.1(x + M)` it is summed as
    :math:`(x-M)v + 2x\sum_{j\ge1} v^{2j+1}/(2j+1)` with :math:`v = (x-M)/(x+M)`.
    Requires ``M > 0`` and ``x >= 0``.
    """
    x, m = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64))
    d = x - m
    s = x + m
    close = np.abs(d) < 0.1 * s
    out = np.empty(d.shape)
    v = d[close] / s[close]
    v2 = v * v
    ej = 2 * x[close] * v
    acc = np.zeros_like(v)
    for j in range(1, 12):
        ej = ej * v2
        acc = acc + ej / (2 * j + 1)
    out[close] = d[close] * v + acc
    far = ~close
    out[far] = special.xlogy(x[far], x[far] / m[far]) + m[far] - x[far]
    return out


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

    .. math:: -\operatorname{log1p}(d/X) - \frac{d}{2X(X+d)}
              + \sum_k c_k X^{-2k} \operatorname{expm1}(-2k\operatorname{log1p}(d/X)),

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
    :math:`\operatorname{log1p}(d/x)`:
    :math:`(x - \tfrac12)\operatorname{log1p}(d/x) + d\log(x+d) - d
    + \sum_k s_k x^{1-2k}\operatorname{expm1}((1-2k)\operatorname{log1p}(d/x))`.
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


def _others(a: F64) -> F64:
    """``sum_{j != k} a_j`` for each ``k``, from prefix and suffix sums (no cancellation)."""
    zero = np.zeros((*a.shape[:-1], 1))
    prefix = np.concatenate([zero, np.cumsum(a[..., :-1], axis=-1)], axis=-1)
    suffix = np.concatenate([np.cumsum(a[..., :0:-1], axis=-1)[..., ::-1], zero], axis=-1)
    return _f64(prefix + suffix)


def _dirichlet_entropy(alpha: F64) -> F64:
    r"""Entropy of Dirichlet distributions (last axis: the concentrations), in nats.

    :math:`\sum_k H_\Gamma(\alpha_k) - H_\Gamma(\alpha_0) - (K-1)\psi(\alpha_0)`, with
    :math:`H_\Gamma` the entropy of a unit-rate gamma distribution
    (:func:`_gamma_entropy_unit`), free of the cancellation of the textbook formula
    :math:`A - \langle\eta, \mu\rangle` for large concentrations. Where the textbook
    formula does not cancel (its terms are within a factor 4 of the result) it is used
    instead: it is then as accurate, and exact for the uniform distribution.
    """
    a0 = alpha.sum(axis=-1)
    k = alpha.shape[-1]
    h = _gamma_entropy_unit(alpha).sum(axis=-1) - _gamma_entropy_unit(a0)
    h = h - (k - 1) * special.digamma(a0)
    log_b = _log_beta(alpha)
    eta_mu = (alpha - 1) * _digamma_diff(alpha, _others(alpha))
    textbook = log_b - eta_mu.sum(axis=-1)
    scale = np.abs(log_b) + np.abs(eta_mu).sum(axis=-1)
    return _f64(np.where(scale <= 4 * np.abs(textbook), textbook, h))


def _dirichlet_kl(alpha_p: F64, alpha_q: F64) -> F64:
    r"""KL between Dirichlet distributions (last axis: concentrations), broadcast.

    The Bregman divergence of :math:`\ln B`. Where every concentration moves by at most
    1/8 of itself (:math:`|\alpha_{q,k} - \alpha_{p,k}| \le \alpha_{p,k}/8`, also for
    the totals), as
    :math:`\sum_k B(\alpha_{q,k}, \alpha_{p,k}) - B(\alpha_{q,0}, \alpha_{p,0})`
    with :math:`B` the Bregman divergence of :math:`\ln\Gamma` summed from its Taylor
    series (:func:`_lgamma_bregman`): no cancellation between the large terms of the
    textbook formula. Elsewhere the textbook
    :math:`\ln B(\alpha_q) - \ln B(\alpha_p) - \langle\alpha_q - \alpha_p,
    \psi(\alpha_p) - \psi(\alpha_{p,0})\rangle`, with the careful log-beta and
    digamma differences.
    """
    alpha_p, alpha_q = np.broadcast_arrays(alpha_p, alpha_q)
    d = alpha_q - alpha_p
    a0, d0 = alpha_p.sum(axis=-1), d.sum(axis=-1)
    near = np.all(np.abs(d) <= alpha_p / 8, axis=-1) & (np.abs(d0) <= a0 / 8)
    out = np.empty(a0.shape)
    if np.any(near):
        parts = _lgamma_bregman(alpha_p[near], d[near]).sum(axis=-1)
        out[near] = parts - _lgamma_bregman(a0[near], d0[near])
    far = ~near
    if np.any(far):
        ap, aq = alpha_p[far], alpha_q[far]
        mu = _digamma_diff(ap, _others(ap))
        out[far] = _log_beta(aq) - _log_beta(ap) - ((aq - ap) * mu).sum(axis=-1)
    return _f64(np.maximum(out, 0.0))


def _normalised_weights(weights: ArrayLike | None, n: int) -> F64:
    """Weights of `n` observations, checked and normalised to sum to one (float64)."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = as_float_array(weights, "weights")
    if w.shape != (n,):
        raise ValueError(f"`weights` must have shape {(n,)} (one per observation); got {w.shape}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(w) | (w < 0)
    if np.any(bad):
        raise ValueError(
            f"`weights` must be finite and non-negative; found {float(w[bad].flat[0])!r}"
        )
    w64 = w.astype(np.float64)
    if not w64.sum() > 0:
        raise ValueError("`weights` must not all be zero")
    return _f64(w64 / w64.sum())


def _digamma_scale(x: F64) -> F64:
    return _f64(np.abs(special.digamma(x)))


# ---------------------------------------------------------------------- exponential
class Exponential(ExponentialFamily):
    r"""Exponential distributions with rate :math:`\lambda > 0`.

    Density :math:`\lambda e^{-\lambda x}` on :math:`x \ge 0`. As an exponential
    family: :math:`T(x) = x`, :math:`\eta = -\lambda`, :math:`h(x) = 1`,
    :math:`A(\eta) = -\log(-\eta)`, mean parameter :math:`E[x] = 1/\lambda`.

    Parameters
    ----------
    rate : array_like
        Rates :math:`\lambda > 0`; the batch shape is ``rate.shape``.

    See Also
    --------
    Gamma : its conjugate prior (see :meth:`Gamma.posterior`).

    Examples
    --------
    >>> from expfam import Exponential
    >>> d = Exponential(rate=[0.5, 2.0])
    >>> d.mean()
    array([2. , 0.5])
    >>> d.natural_params
    array([[-0.5],
           [-2. ]])
    """

    _repr_params = ("rate",)
    _one_parameter = True

    def __init__(self, rate: ArrayLike) -> None:
        dtype, (lam,) = _usual({"rate": rate})
        _check_positive(lam, "rate")
        super().__init__((-lam[..., None]).astype(dtype))
        _keep(self, "_params64", (_readonly(np.array(lam)),))

    def _check_natural(self) -> None:
        eta = _natural64(self, 1, "Exponential")
        with np.errstate(invalid="ignore"):
            _require(np.isfinite(eta) & (eta < 0), eta, "natural_params", "negative and finite")

    @cached_property
    def _params64(self) -> tuple[F64]:
        return (-self._natural[..., 0].astype(np.float64),)

    @property
    def rate(self) -> FloatArray:
        r"""Rates :math:`\lambda`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[0], self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`1/\lambda`."""
        return _cast(1 / self._params64[0], self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`1/\lambda^2`."""
        return _cast(1 / self._params64[0] ** 2, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`A(\eta) = -\log(-\eta) = -\log\lambda`."""
        return _cast(-np.log(self._params64[0]), self.dtype)

    def _mean_map(self) -> FloatArray:
        return self.mean()[..., None]

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`1/\eta^2 = 1/\lambda^2`, shape ``batch_shape + (1, 1)``."""
        return self.variance()[..., None, None]

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _mean_input(mean_params, 1, "Exponential")
        if np.any(mu <= 0):
            raise InfeasibleError(
                f"`mean_params` of an Exponential (the mean) must be positive; "
                f"found {float(mu[mu <= 0].flat[0])!r}"
            )
        return _cast(-1 / mu, as_float_array(mean_params, "mean_params").dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = x` for ``x >= 0``, shape ``x.shape + (1,)``."""
        a = as_float_array(x, "x")
        with np.errstate(invalid="ignore"):
            _require(a >= 0, a, "x", "in the support [0, inf) of an Exponential")
        return _cast(a[..., None], _out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (Lebesgue measure on ``[0, inf)``), shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.zeros(t.shape[:-1], dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`, from the two closed forms."""
        return _entropy_plus_kl(self, other)

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Draw samples of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        shape = _size(size) + self.batch_shape
        return _cast(gen.exponential(1 / self._params64[0], size=shape), self.dtype)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Exponential:
        _no_fixed(cls, fixed)
        return _probe(cls(rate=1.0))

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log density :math:`\log\lambda - \lambda x` on ``x >= 0``.

        Parameters
        ----------
        x : array_like
            Outcomes ``x >= 0``, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        a, x64, outside, nan = _log_prob_outcomes(
            self, x, lambda a: (a >= 0) & np.isfinite(a), 0.0
        )
        lam = self._params64[0]
        with np.errstate(over="ignore"):
            out = np.log(lam) - lam * x64
        return _cast(_finish_log_prob(out, outside, nan), _out_dtype(self, x, a))

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= r - \operatorname{log1p}(r)`, :math:`r = \lambda_q/\lambda_p - 1`.

        Summed without cancellation (a series for small :math:`|r|`), so nearby
        distributions keep their digits.
        """  # noqa: E501
        self._check_same_family(other)
        assert isinstance(other, Exponential)  # noqa: S101 - narrowed by _check_same_family
        lp, lq = self._params64[0], other._params64[0]
        with np.errstate(over="ignore"):
            r = (lq - lp) / lp
        kl = _r_minus_log1p(r, np.log(lq) - np.log(lp))
        return _cast(kl, np.result_type(self.dtype, other.dtype))

    @classmethod
    def fit(
        cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any
    ) -> Exponential:
        """Maximum-likelihood fit: ``rate = 1 / mean(x)``.

        Raises
        ------
        InfeasibleError
            If all (weighted) observations are 0: the MLE does not exist.
        """
        _no_fixed(cls, fixed)
        data = _fit_data(x, weights)
        if data is not None and data.size and np.all(data == 0):
            raise InfeasibleError(
                "`x` is all 0: the Exponential MLE (rate = 1 / mean) needs a positive mean"
            )
        return super().fit(x, weights=weights)


# ---------------------------------------------------------------------- normal
class Normal(ExponentialFamily):
    r"""Normal distributions with unknown mean :math:`\mu` and standard deviation :math:`\sigma`.

    As an exponential family: :math:`T(x) = (x, x^2)`,
    :math:`\eta = (\mu/\sigma^2,\; -1/(2\sigma^2))`, :math:`h(x) = (2\pi)^{-1/2}`,

    .. math:: A(\eta) = -\frac{\eta_1^2}{4\eta_2} - \frac12\log(-2\eta_2)
              = \frac{\mu^2}{2\sigma^2} + \log\sigma,

    mean parameters :math:`(\mu,\; \mu^2 + \sigma^2)`.

    Parameters
    ----------
    loc : array_like
        Means :math:`\mu`.
    scale : array_like
        Standard deviations :math:`\sigma > 0`. `loc` and `scale` broadcast to the
        batch shape.

    Notes
    -----
    :meth:`log_prob`, :meth:`entropy`, :meth:`cross_entropy` and
    :meth:`kl_divergence` use the textbook closed forms in :math:`(\mu, \sigma)`:
    the generic formulas cancel terms of size :math:`\mu^2/\sigma^2` and lose
    :math:`2\log_{10}|\mu/\sigma|` digits. :meth:`fit` centres the data before
    squaring for the same reason.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import Normal
    >>> d = Normal(loc=1.0, scale=2.0)
    >>> d.natural_params
    array([ 0.25 , -0.125])
    >>> d.mean_params  # E[x], E[x**2]
    array([1., 5.])
    >>> bool(np.isclose(d.entropy(), 0.5 * np.log(2 * np.pi * np.e * 4)))
    True
    """

    _repr_params = ("loc", "scale")

    def __init__(self, loc: ArrayLike, scale: ArrayLike) -> None:
        dtype, (m, s) = _usual({"loc": loc, "scale": scale})
        _require(np.isfinite(m), m, "loc", "finite")
        _check_positive(s, "scale")
        info = np.finfo(dtype)
        big = float(info.max)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            prec = 1 / s / s  # 1 / sigma**2, without the overflow of sigma**2
            eta = np.stack([m * prec, -0.5 * prec], axis=-1).astype(dtype)
        # the representable range of scale in this dtype: 0.5 / scale**2 must neither
        # overflow nor underflow to zero
        lo = float(np.sqrt(0.5 / big)) * (1 + 4 * float(info.eps))
        hi = float(np.sqrt(0.5) / np.sqrt(float(info.smallest_subnormal)))
        hi *= 1 - 4 * float(info.eps)
        _require(
            np.isfinite(eta[..., 1]) & (eta[..., 1] < 0),
            s,
            "scale",
            f"in [{lo:.3g}, {hi:.3g}] for a {dtype} Normal (the natural parameter "
            "-1/(2 scale**2) must be representable)",
        )
        _require(
            np.isfinite(eta[..., 0]),
            m,
            "loc",
            f"at most {big:.3g} * scale**2 in magnitude for a {dtype} Normal (the natural "
            "parameter loc/scale**2 must be representable)",
        )
        super().__init__(eta)
        _keep(self, "_params64", (_readonly(np.array(m)), _readonly(np.array(s))))

    def _moments_ok(self, values: F64, what: str) -> F64:
        """Return `values`, or raise ``ValueError`` naming `loc`/`scale` if they overflow."""
        if not np.all(np.isfinite(values)):
            m, s = np.broadcast_arrays(*self._params64)
            bad = ~np.all(np.isfinite(values).reshape(*m.shape, -1), axis=-1)
            limit = float(np.sqrt(np.finfo(self.dtype).max / 2))
            raise ValueError(
                f"the {what} of a Normal with loc={float(m[bad].flat[0])!r}, "
                f"scale={float(s[bad].flat[0])!r} overflow {self.dtype}: they need "
                f"|loc| and scale below about {limit:.3g} (log_prob, entropy and KL work "
                "beyond)"
            )
        return values

    def _check_natural(self) -> None:
        eta = _natural64(self, 2, "Normal")
        _require(np.isfinite(eta), eta, "natural_params", "finite")
        with np.errstate(invalid="ignore"):
            _require(eta[..., 1] < 0, eta[..., 1], "natural_params[..., 1]", "negative")
        _, s = self._params64
        _require(
            np.isfinite(s) & (s > 0),
            s,
            "scale",
            "positive and finite (the parameters over- or underflow in natural form)",
        )

    @cached_property
    def _params64(self) -> tuple[F64, F64]:
        eta = self._natural.astype(np.float64)
        with np.errstate(over="ignore", divide="ignore"):
            var = -0.5 / eta[..., 1]
            return var * eta[..., 0], np.sqrt(var)

    @property
    def loc(self) -> FloatArray:
        r"""Means :math:`\mu`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[0], self.dtype))

    @property
    def scale(self) -> FloatArray:
        r"""Standard deviations :math:`\sigma`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[1], self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`\mu`."""
        return _cast(self._params64[0], self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`\sigma^2` (``inf`` where it overflows the dtype)."""
        with np.errstate(over="ignore"):
            return _cast(self._params64[1] ** 2, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\mu^2/(2\sigma^2) + \log\sigma`, shape ``batch_shape``."""
        m, s = self._params64
        with np.errstate(over="ignore"):
            out = _f64(_cast(0.5 * (m / s) ** 2 + np.log(s), self.dtype))
        return _cast(self._moments_ok(out, "log-partition"), self.dtype)

    def _mean_map(self) -> FloatArray:
        m, s = self._params64
        with np.errstate(over="ignore"):
            out = _f64(_cast(np.stack([m, m * m + s * s], axis=-1), self.dtype))
        return _cast(self._moments_ok(out, "mean parameters (E[x], E[x**2])"), self.dtype)

    def fisher_information(self) -> FloatArray:
        r"""Covariance of :math:`(x, x^2)`: :math:`[[\sigma^2, 2\mu\sigma^2], [2\mu\sigma^2, 4\mu^2\sigma^2 + 2\sigma^4]]`."""  # noqa: E501
        m, s = self._params64
        with np.errstate(over="ignore", invalid="ignore"):
            v = s * s
            c = 2 * m * v
            out = np.stack(
                [np.stack([v, c], -1), np.stack([c, 4 * m * m * v + 2 * v * v], -1)], -2
            )
            out = _f64(_cast(out, self.dtype))
        return _cast(self._moments_ok(out, "Fisher information"), self.dtype)

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _mean_input(mean_params, 2, "Normal")
        var = mu[..., 1] - mu[..., 0] ** 2
        if np.any(var <= 0):
            bad = np.flatnonzero(var.ravel() <= 0)[0]
            raise InfeasibleError(
                "`mean_params` = (E[x], E[x**2]) of a Normal need E[x**2] > E[x]**2; found "
                f"{mu.reshape(-1, 2)[bad].tolist()}"
            )
        eta = np.stack([mu[..., 0] / var, -0.5 / var], axis=-1)
        return _cast(eta, as_float_array(mean_params, "mean_params").dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = (x, x^2)` for finite real ``x``, shape ``x.shape + (2,)``."""
        a = as_float_array(x, "x")
        _require(np.isfinite(a), a, "x", "finite (the support of a Normal is the real line)")
        return _cast(np.stack([a, a * a], axis=-1), _out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        r""":math:`\log h(x) = -\tfrac12\log(2\pi)`, shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.full(t.shape[:-1], -_HALF_LOG_2PI, dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.full(self.batch_shape, -_HALF_LOG_2PI, dtype=self.dtype)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log density :math:`-\tfrac12((x-\mu)/\sigma)^2 - \log\sigma - \tfrac12\log 2\pi`.

        Parameters
        ----------
        x : array_like
            Real outcomes, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        a, x64, outside, nan = _log_prob_outcomes(self, x, np.isfinite, 0.0)
        m, s = self._params64
        with np.errstate(over="ignore"):  # far in the tails: -inf, the correct limit
            z = (x64 - m) / s
            out = -0.5 * z * z - np.log(s) - _HALF_LOG_2PI
        return _cast(_finish_log_prob(out, outside, nan), _out_dtype(self, x, a))

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`\tfrac12\log(2\pi e\sigma^2)`, in nats."""
        return _cast(0.5 + _HALF_LOG_2PI + np.log(self._params64[1]), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= \log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p - \mu_q)^2}{2\sigma_q^2} - \frac12`."""  # noqa: E501
        self._check_same_family(other)
        assert isinstance(other, Normal)  # noqa: S101 - narrowed by _check_same_family
        mp, sp = self._params64
        mq, sq = other._params64
        # rho**2 - 1 - 2 log rho (rho = sp / sq) = phi(r), r = rho**2 - 1 formed from the
        # exact difference sp - sq: nearby scales keep their digits
        with np.errstate(over="ignore"):  # a divergence beyond the largest float: inf
            r = ((sp - sq) / sq) * ((sp + sq) / sq)
            phi = _r_minus_log1p(r, 2 * (np.log(sp) - np.log(sq)))
            kl = 0.5 * (((mp - mq) / sq) ** 2 + phi)
        return _cast(kl, np.result_type(self.dtype, other.dtype))

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`, from the two closed forms."""
        return _entropy_plus_kl(self, other)

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Draw samples of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        m, s = self._params64
        return _cast(gen.normal(m, s, size=_size(size) + self.batch_shape), self.dtype)

    @classmethod
    def fit(cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any) -> Normal:
        r"""Maximum-likelihood fit: the (weighted) mean and the centred (weighted) variance.

        Same result as the generic moment matching of :math:`(x, x^2)`, but the
        variance is computed from centred data (two passes), so it keeps its digits
        when :math:`|\bar x| \gg s`.

        Parameters
        ----------
        x : array_like
            Observations along the first axis, shape ``(n,) + batch_shape``.
        weights : array_like, optional
            Non-negative weights of shape ``(n,)``.
        **fixed
            None for this family.

        Returns
        -------
        Normal

        Raises
        ------
        InfeasibleError
            If the data have zero variance (the MLE does not exist).

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Normal
        >>> x = 1e8 + np.array([-1.0, 1.0])
        >>> d = Normal.fit(x)  # E[x**2] - E[x]**2 would round to 0 here
        >>> float(d.loc), float(d.scale)
        (100000000.0, 1.0)
        """
        a = as_float_array(x, "x")
        t = cls._fit_probe(**fixed).sufficient_statistic(a)
        if t.ndim < 2 or t.shape[0] == 0:
            raise ValueError("`x` must hold at least one observation along its first axis")
        a64 = a.astype(np.float64)
        w = _normalised_weights(weights, a.shape[0])
        mean = np.tensordot(w, a64, axes=(0, 0))
        var = np.tensordot(w, (a64 - mean) ** 2, axes=(0, 0))
        if np.any(var <= 0):
            raise InfeasibleError("`x` has zero variance: the Normal MLE does not exist")
        dtype = t.dtype
        return cls(loc=mean.astype(dtype), scale=np.sqrt(var).astype(dtype))

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Normal:
        _no_fixed(cls, fixed)
        return _probe(cls(loc=0.0, scale=1.0))


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


def _gamma_fit_narrow(x: ArrayLike, weights: ArrayLike | None) -> Gamma | None:
    r"""Gamma MLE for data of small relative spread, or None for the generic fit.

    The MLE solves :math:`\log\alpha - \psi(\alpha) = s` with
    :math:`s = \log E[x] - E[\log x]`, which the mean parameters hold only to
    :math:`\epsilon\,|\log E[x]|`: for a relative spread of 1e-6 (:math:`\alpha \approx
    10^{12}`) that lost every digit. Here :math:`s = E[\varphi(x/m - 1)]`,
    :math:`\varphi(r) = r - \operatorname{log1p}(r)` and :math:`m = E[x]` (a sum of
    non-negative terms), and :math:`y = 1/\alpha` solves
    :math:`y/2 + y^2/12 - y^4/120 + y^6/252 = s` (the series of
    :math:`\log\alpha - \psi(\alpha)`, exact to 1e-19 relative above
    :data:`_GAMMA_NARROW`) by Newton's method.
    """
    xa = as_float_array(x, "x")
    a = xa.astype(np.float64)
    if weights is None:
        w = np.full(a.shape[0], 1.0 / a.shape[0])
    else:
        w = as_float_array(weights, "weights").astype(np.float64)
        w = w / w.sum()
    wn = w.reshape(w.shape + (1,) * (a.ndim - 1))
    m = mul0(wn, a).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (a - m) / m
        phi = _r_minus_log1p(r, np.log(a) - np.log(m))
    s = mul0(wn, phi).sum(axis=0)  # a zero weight ignores its observation
    if not np.all(_gamma_shape_init(s) > _GAMMA_NARROW):
        return None
    y = 2 * s
    for _ in range(8):  # Newton on a convex, increasing series: monotone convergence
        f = y / 2 + y**2 / 12 - y**4 / 120 + y**6 / 252 - s
        y = y - f / (0.5 + y / 6 - y**3 / 30 + y**5 / 42)
    shape = 1 / y
    return Gamma(shape=_cast(shape, xa.dtype), rate=_cast(shape / m, xa.dtype))


class Gamma(ExponentialFamily):
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
    :math:`\alpha_0 = (3 - s + \sqrt{(s-3)^2 + 24 s}) / (12 s)` [1]_.

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
        return _cast(a / b, self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`\alpha/\beta^2`."""
        a, b = self._params64
        return _cast(a / b / b, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\ln\Gamma(\alpha) - \alpha\log\beta`, shape ``batch_shape``."""
        a, b = self._params64
        return _cast(special.gammaln(a) - a * np.log(b), self.dtype)

    def _mean_map(self) -> FloatArray:
        a, b = self._params64
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
        return _cast(t, _out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (Lebesgue measure on ``(0, inf)``), shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.zeros(t.shape[:-1], dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log density :math:`(\alpha - 1)\log x - \beta x - A`, with :math:`0\log 0 = 0`.

        For :math:`\alpha \ge 1` in Loader's form
        :math:`\log\beta + \log\mathrm{dpois}(\alpha - 1, \beta x)`, which keeps full
        precision where the terms above are large and cancel (large shapes).

        Parameters
        ----------
        x : array_like
            Outcomes ``x >= 0``, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        a, x64, outside, nan = _log_prob_outcomes(
            self, x, lambda a: (a >= 0) & np.isfinite(a), 1.0
        )
        al, b = self._params64
        al, b, x64 = np.broadcast_arrays(al, b, x64)
        out = _f64(special.xlogy(al - 1, x64) - b * x64 - (special.gammaln(al) - al * np.log(b)))
        y = b * x64
        loader = (al >= 1) & (y > 0) & np.isfinite(y)  # f(x) = beta * dpois(alpha - 1, beta x)
        out[loader] = np.log(b[loader]) + _log_dpois_raw(al[loader] - 1, y[loader])
        return _cast(_finish_log_prob(out, outside, nan), _out_dtype(self, x, a))

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
                  - \delta\psi(\alpha_p)] + \alpha_p(\rho - \operatorname{log1p}\rho)
                  - \delta\operatorname{log1p}\rho,

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

    @classmethod
    def fit(cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any) -> Gamma:
        """Maximum-likelihood fit (see :meth:`ExponentialFamily.fit`).

        Raises
        ------
        InfeasibleError
            If an observation is 0 (where the likelihood is unbounded) or all
            observations are equal: the MLE does not exist.
        """
        _no_fixed(cls, fixed)
        data = _fit_data(x, weights)
        if data is not None:
            with np.errstate(invalid="ignore"):
                zero = np.any(data == 0)
            if zero:
                raise InfeasibleError(
                    "`x` contains 0: the Gamma MLE needs x > 0 (at 0 the likelihood is unbounded)"
                )
            _no_spread(data, "Gamma")
            narrow = _gamma_fit_narrow(x, weights)
            if narrow is not None:
                return narrow
        return super().fit(x, weights=weights)

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`, from the two closed forms."""
        return _entropy_plus_kl(self, other)

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

    def posterior(
        self,
        likelihood: type[ExponentialFamily],
        x: ArrayLike,
        *,
        weights: ArrayLike | None = None,
    ) -> Gamma:
        r"""Posterior after observing `x` from a Poisson or Exponential `likelihood`.

        ====================  ===================================================
        likelihood            posterior
        ====================  ===================================================
        :class:`Poisson`      :math:`\text{Gamma}(\alpha + \sum x_i,\; \beta + n)`
        :class:`Exponential`  :math:`\text{Gamma}(\alpha + n,\; \beta + \sum x_i)`
        ====================  ===================================================

        Parameters
        ----------
        likelihood : type
            :class:`~expfam.Poisson` (the gamma distribution is over its rate) or
            :class:`~expfam.Exponential`.
        x : array_like
            Observations along the first axis, shape ``(n,) + batch_shape``
            (broadcasting against this prior's batch).
        weights : array_like, optional
            Non-negative weights of shape ``(n,)`` (fractional counts).

        Returns
        -------
        Gamma

        See Also
        --------
        posterior_predictive

        Examples
        --------
        >>> from expfam import Gamma, Poisson
        >>> post = Gamma(shape=2.0, rate=1.0).posterior(Poisson, [3, 0, 4])
        >>> float(post.shape), float(post.rate)
        (9.0, 4.0)
        """
        from expfam._conjugate import posterior  # noqa: PLC0415 - _conjugate imports the families

        out = posterior(self, likelihood, x, weights=weights)
        assert isinstance(out, Gamma)  # noqa: S101 - the dispatch table maps Gamma to Gamma
        return out

    def posterior_predictive(self, likelihood: type[ExponentialFamily]) -> Any:
        r"""Predictive distribution of a new observation, with this distribution as the prior.

        ====================  ====================================================
        likelihood            predictive (a frozen :mod:`scipy.stats` distribution)
        ====================  ====================================================
        :class:`Poisson`      negative binomial ``nbinom(n=shape, p=rate/(1+rate))``
        :class:`Exponential`  Lomax ``scipy.stats.lomax(c=shape, scale=rate)``
        ====================  ====================================================

        Parameters
        ----------
        likelihood : type
            :class:`~expfam.Poisson` or :class:`~expfam.Exponential`.

        Returns
        -------
        scipy.stats frozen distribution
            Batched over this distribution's batch; computes in float64.

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Gamma, Poisson
        >>> pred = Gamma(shape=2.0, rate=1.0).posterior_predictive(Poisson)
        >>> bool(np.isclose(pred.pmf(0), (1 / 2) ** 2))
        True
        """
        from expfam._conjugate import posterior_predictive  # noqa: PLC0415 - see posterior

        return posterior_predictive(self, likelihood)


# ---------------------------------------------------------------------- beta
def _beta_mean(a: F64, b: F64) -> F64:
    return np.stack([_digamma_diff(a, b), _digamma_diff(b, a)], axis=-1)


def _beta_fisher(a: F64, b: F64) -> F64:
    c = -special.polygamma(1, a + b)
    return np.stack(
        [
            np.stack([special.polygamma(1, a) + c, c], -1),
            np.stack([c, special.polygamma(1, b) + c], -1),
        ],
        -2,
    )


class Beta(ExponentialFamily):
    r"""Beta distributions with shape parameters :math:`a > 0` and :math:`b > 0`.

    Density :math:`x^{a-1}(1-x)^{b-1}/B(a, b)` on :math:`0 < x < 1`. As an
    exponential family: :math:`T(x) = (\log x, \log(1-x))`,
    :math:`\eta = (a - 1, b - 1)`, :math:`h(x) = 1`, :math:`A(\eta) = \ln B(a, b)`,
    mean parameters :math:`(\psi(a) - \psi(a+b),\; \psi(b) - \psi(a+b))`. It is the
    two-category :class:`Dirichlet`.

    Parameters
    ----------
    a, b : array_like
        Positive shape parameters, broadcast to the batch shape.

    Notes
    -----
    The inverse mean map has no closed form; it exists exactly when
    :math:`e^{\mu_1} + e^{\mu_2} < 1` (Jensen) and is solved on the convex dual (see
    :class:`Dirichlet` for the initial guess). :meth:`entropy` is evaluated as
    :math:`H_\Gamma(a) + H_\Gamma(b) - H_\Gamma(a+b) - \psi(a+b)` with
    :math:`H_\Gamma` the entropy of a unit-rate gamma distribution, which avoids the
    cancellation of the textbook formula for large :math:`a, b`.

    Examples
    --------
    >>> from expfam import Beta, Bernoulli
    >>> prior = Beta(a=1.0, b=1.0)
    >>> post = prior.posterior(Bernoulli, [1, 1, 0, 1])
    >>> float(post.a), float(post.b)
    (4.0, 2.0)
    >>> float(post.posterior_predictive(Bernoulli).probs)
    0.6666666666666666
    """

    _repr_params = ("a", "b")

    def __init__(self, a: ArrayLike, b: ArrayLike) -> None:
        dtype, (a64, b64) = _usual({"a": a, "b": b})
        _check_positive(a64, "a")
        _check_positive(b64, "b")
        super().__init__(np.stack([a64 - 1, b64 - 1], axis=-1).astype(dtype))
        _keep(self, "_params64", (_readonly(np.array(a64)), _readonly(np.array(b64))))

    def _check_natural(self) -> None:
        eta = _natural64(self, 2, "Beta")
        _require(np.isfinite(eta), eta, "natural_params", "finite")
        with np.errstate(invalid="ignore"):
            _require(eta > -1, eta, "natural_params", "> -1 (a, b > 0)")

    @cached_property
    def _params64(self) -> tuple[F64, F64]:
        eta = self._natural.astype(np.float64)
        return eta[..., 0] + 1, eta[..., 1] + 1

    @property
    def a(self) -> FloatArray:
        """First shape parameters ``a``, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[0], self.dtype))

    @property
    def b(self) -> FloatArray:
        """Second shape parameters ``b``, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[1], self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`a/(a+b)`."""
        a, b = self._params64
        return _cast(a / (a + b), self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`ab/((a+b)^2(a+b+1))`."""
        a, b = self._params64
        c = a + b
        return _cast(a / c * (b / c) / (c + 1), self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\ln B(a, b)`, shape ``batch_shape``."""
        a, b = self._params64
        return _cast(_log_beta(np.stack([a, b], axis=-1)), self.dtype)

    def _mean_map(self) -> FloatArray:
        a, b = self._params64
        return _cast(_beta_mean(a, b), self.dtype)

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`\operatorname{diag}(\psi_1(a), \psi_1(b)) - \psi_1(a+b)`."""
        a, b = self._params64
        return _cast(_beta_fisher(a, b), self.dtype)

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        from expfam._dirichlet import _dirichlet_inverse  # noqa: PLC0415 - Dirichlet imports Beta's helpers

        mu = _mean_input(mean_params, 2, "Beta")
        eta = _dirichlet_inverse(mu.reshape(-1, 2), "Beta")
        return _cast(eta.reshape(mu.shape), as_float_array(mean_params, "mean_params").dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        r""":math:`T(x) = (\log x, \log(1-x))` for ``0 <= x <= 1``, shape ``x.shape + (2,)``."""
        a = as_float_array(x, "x")
        with np.errstate(invalid="ignore"):
            _require((a >= 0) & (a <= 1), a, "x", "in the support [0, 1] of a Beta")
        with np.errstate(divide="ignore"):
            t = np.stack([np.log(a), np.log1p(-a)], axis=-1)
        return _cast(t, _out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (Lebesgue measure on ``(0, 1)``), shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.zeros(t.shape[:-1], dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log density :math:`(a-1)\log x + (b-1)\log(1-x) - \ln B(a, b)`, :math:`0\log 0 = 0`.

        Parameters
        ----------
        x : array_like
            Outcomes in ``[0, 1]``, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        xa, x64, outside, nan = _log_prob_outcomes(self, x, lambda a: (a >= 0) & (a <= 1), 0.5)
        a, b = self._params64
        lb = _log_beta(np.stack([a, b], axis=-1))
        out = special.xlogy(a - 1, x64) + special.xlog1py(b - 1, -x64) - lb
        return _cast(_finish_log_prob(out, outside, nan), _out_dtype(self, x, xa))

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`\ln B(a,b) - (a-1)\psi(a) - (b-1)\psi(b) + (a+b-2)\psi(a+b)`.

        Evaluated without cancellation for large :math:`a, b` (see Notes of the class).
        """
        a, b = self._params64
        return _cast(_dirichlet_entropy(np.stack([a, b], axis=-1)), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other), written so that nearby distributions keep more digits.

        :math:`B(a_q, a_p) + B(b_q, b_p) - B(a_q + b_q, a_p + b_p)` with
        :math:`B(y, x) = \ln\Gamma(y) - \ln\Gamma(x) - (y - x)\psi(x)` (see
        :func:`_lgamma_bregman`), the Bregman divergence of :math:`\ln B(a, b)`.
        """
        self._check_same_family(other)
        assert isinstance(other, Beta)  # noqa: S101 - narrowed by _check_same_family
        ap, bp = self._params64
        aq, bq = other._params64
        alpha_p = np.stack(np.broadcast_arrays(ap, bp), axis=-1)
        alpha_q = np.stack(np.broadcast_arrays(aq, bq), axis=-1)
        kl = _dirichlet_kl(alpha_p, alpha_q)
        return _cast(kl, np.result_type(self.dtype, other.dtype))

    @classmethod
    def fit(cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any) -> Beta:
        """Maximum-likelihood fit (see :meth:`ExponentialFamily.fit`).

        Raises
        ------
        InfeasibleError
            If an observation is 0 or 1 (where the likelihood is unbounded) or all
            observations are equal: the MLE does not exist.
        """
        _no_fixed(cls, fixed)
        data = _fit_data(x, weights)
        if data is not None:
            with np.errstate(invalid="ignore"):
                edge = data[(data == 0) | (data == 1)]
            if edge.size:
                raise InfeasibleError(
                    f"`x` contains {float(edge[0])!r}: the Beta MLE needs 0 < x < 1 (at 0 "
                    "and 1 the likelihood is unbounded)"
                )
            _no_spread(data, "Beta")
        return super().fit(x, weights=weights)

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`, from the two closed forms."""
        return _entropy_plus_kl(self, other)

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Draw samples of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        a, b = self._params64
        x = gen.beta(a, b, size=_size(size) + self.batch_shape)
        return _open_support(x, self.dtype, upper=1.0)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Beta:
        _no_fixed(cls, fixed)
        return _probe(cls(a=1.0, b=1.0))

    def posterior(
        self,
        likelihood: type[ExponentialFamily],
        x: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        n: ArrayLike | None = None,
    ) -> Beta:
        r"""Posterior after observing `x` from a Bernoulli, Binomial or Geometric `likelihood`.

        =====================  ==================================================
        likelihood             posterior (``N`` observations)
        =====================  ==================================================
        :class:`Bernoulli`     :math:`\text{Beta}(a + \sum x_i,\; b + N - \sum x_i)`
        :class:`Binomial`      :math:`\text{Beta}(a + \sum x_i,\; b + \sum (n_i - x_i))`
        :class:`Geometric`     :math:`\text{Beta}(a + N,\; b + \sum x_i - N)`
        =====================  ==================================================

        The beta distribution is over the success probability ``probs``. (Geometric
        outcomes count trials up to and including the first success, ``x >= 1``.)

        Parameters
        ----------
        likelihood : type
            :class:`~expfam.Bernoulli`, :class:`~expfam.Binomial` or
            :class:`~expfam.Geometric`.
        x : array_like
            Observations along the first axis, shape ``(n_obs,) + batch_shape``.
        weights : array_like, optional
            Non-negative weights of shape ``(n_obs,)`` (fractional counts).
        n : array_like, optional
            Number of trials; required for :class:`~expfam.Binomial` only. It
            broadcasts against `x`: one number, one per batch member, or one per
            observation (shape ``(n_obs,)``).

        Returns
        -------
        Beta

        See Also
        --------
        posterior_predictive
        """
        from expfam._conjugate import posterior  # noqa: PLC0415 - _conjugate imports the families

        fixed = {} if n is None else {"n": n}
        out = posterior(self, likelihood, x, weights=weights, **fixed)
        assert isinstance(out, Beta)  # noqa: S101 - the dispatch table maps Beta to Beta
        return out

    def posterior_predictive(
        self, likelihood: type[ExponentialFamily], *, n: ArrayLike | None = None
    ) -> Any:
        r"""Predictive distribution of a new observation, with this distribution as the prior.

        ===================  =========================================================
        likelihood           predictive
        ===================  =========================================================
        :class:`Bernoulli`   :class:`~expfam.Bernoulli` with ``probs = a / (a + b)``
        :class:`Binomial`    beta-binomial ``scipy.stats.betabinom(n, a, b)``
        :class:`Geometric`   beta-geometric ``scipy.stats.betanbinom(1, a, b, loc=1)``
        ===================  =========================================================

        Parameters
        ----------
        likelihood : type
            :class:`~expfam.Bernoulli`, :class:`~expfam.Binomial` or
            :class:`~expfam.Geometric`.
        n : array_like, optional
            Number of trials; required for :class:`~expfam.Binomial` only.

        Returns
        -------
        Bernoulli or scipy.stats frozen distribution
            Batched over this distribution's batch; the scipy objects compute in float64.
        """
        from expfam._conjugate import posterior_predictive  # noqa: PLC0415 - see posterior

        fixed = {} if n is None else {"n": n}
        return posterior_predictive(self, likelihood, **fixed)
