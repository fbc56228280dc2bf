"""Helpers that every family module shares: parameter conversion, checks and outcomes."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._errors import InfeasibleError
from expfam._family import ExponentialFamily
from expfam._sampling import sample_shape
from expfam._validation import FloatArray, as_float_array

__all__ = []

F64 = NDArray[np.float64]

_D = TypeVar("_D", bound=ExponentialFamily)


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


def _require(ok: NDArray[np.bool_], values: FloatArray, name: str, what: str) -> None:
    """Raise ``ValueError`` naming `name` and the first offending value where ``ok`` fails."""
    if not np.all(ok):
        bad = np.broadcast_to(values, ok.shape)[~ok].flat[0]
        raise ValueError(f"`{name}` must be {what}; found {float(bad)!r}")


def _keep(dist: ExponentialFamily, name: str, value: Any) -> None:
    """Preset the cached property `name` of `dist` (usual parameters kept from construction)."""
    dist.__dict__[name] = value


def _no_fixed(cls: type, fixed: dict[str, Any]) -> None:
    """Raise ``TypeError`` naming unexpected keyword arguments of ``cls.fit``."""
    if fixed:
        names = ", ".join(f"`{k}`" for k in sorted(fixed))
        raise TypeError(
            f"{cls.__name__}.fit() got unexpected keyword argument(s) {names}: a "
            f"{cls.__name__} takes no fixed parameters (it has no known ones)"
        )


def _finite_rate(numerator: Any, mean: Any, what: str, dtype: Any) -> F64:
    """Return ``numerator / mean`` (a fitted rate); raise if `dtype` cannot hold it.

    A positive mean below about ``numerator / finfo(dtype).max`` (subnormal data)
    has no representable rate: the MLE exists but the dtype cannot hold it.
    """
    with np.errstate(over="ignore", divide="ignore"):
        rate = np.asarray(np.divide(numerator, mean), dtype=np.float64)
    big = ~(np.abs(rate) <= float(np.finfo(dtype).max))
    if np.any(big):
        bad = np.broadcast_to(np.asarray(mean, dtype=np.float64), rate.shape)[big]
        raise InfeasibleError(
            f"{what} is {float(bad.flat[0])!r}: the fitted rate overflows "
            f"{np.dtype(dtype).name} (rescale the data, e.g. to other units)"
        )
    return rate


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
    """`size` of ``sample``, checked (see :func:`expfam._sampling.sample_shape`)."""
    return sample_shape(size)


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


# ---------------------------------------------------------------------- checks
def _check_probs(p: F64, name: str = "probs") -> None:
    with np.errstate(invalid="ignore"):
        _require((p >= 0) & (p <= 1), p, name, "a probability in [0, 1]")


def _integers(
    x: ArrayLike,
    name: str,
    family: str,
    lower: float = 0,
    upper: F64 | None = None,
    *,
    upper_label: str = "n",
) -> F64:
    """Outcomes as float64 after checking they are integers in the support.

    The support is named ``{lower, ..., upper_label}`` (``{lower, lower + 1, ...}``
    without an upper bound).
    """
    a = as_float_array(x, name)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(a) & (a == np.round(a)) & (a >= lower)
        if upper is not None:
            ok = ok & (a <= upper)
    if not np.all(ok):
        bad = np.broadcast_to(a, ok.shape)[~ok].flat[0]
        lo = int(lower)
        if upper is None:
            support = f"{{{lo}, {lo + 1}, {lo + 2}, ...}}"
        elif upper_label == str(lo + 1):
            support = f"{{{lo}, {upper_label}}}"
        else:
            support = f"{{{lo}, ..., {upper_label}}}"
        raise ValueError(
            f"`{name}` must hold integers in the support {support} of a "
            f"{family}; found {float(bad)!r}"
        )
    return a.astype(np.float64)


def _stat_dtype(dist: ExponentialFamily, x: ArrayLike) -> np.dtype[Any]:
    """Return the dtype of :math:`T(x)`: the distribution's, or for a fit probe the data's."""
    if dist.__dict__.get("_probe", False):
        return as_float_array(x, "x").dtype
    return dist.dtype


# ---------------------------------------------------------------------- scaled sums
# A sum of observations can overflow float64 where their mean (at most their maximum)
# is representable: e.g. [1e308, 1.7e308]. Families whose fit reads the mean of the
# data keep the sum as a pair scaled by a power of two, ``(hi + lo) * 2**e`` with ``e``
# 0 or `_SUM_SHIFT` (an extra part "e"): 2**64 covers any sum of float64 values of
# fewer than 2**63 observations. The scaled pair is taken only where the plain one is
# not finite, so ordinary data keep their exact sums bit for bit.
_SUM_SHIFT = 64.0


def _rescale(pair: tuple[F64, F64], e: F64, to: F64) -> tuple[F64, F64]:
    """Return ``pair * 2**(e - to)`` (``to >= e``; exact unless parts fall below 2**-1022)."""
    k = np.asarray(e - to, dtype=np.float64)
    if not k.any():  # the usual case: nothing to scale
        return np.asarray(pair[0]), np.asarray(pair[1])
    with np.errstate(under="ignore"):
        return np.asarray(np.ldexp(pair[0], k.astype(np.int64))), np.asarray(
            np.ldexp(pair[1], k.astype(np.int64))
        )


def _scaled_block_sum(pair: tuple[F64, F64], rescaled: Any) -> tuple[F64, F64, F64]:
    """Return a block's sum as ``(hi, lo, e)``: `pair` where finite, else `rescaled()`.

    `rescaled` computes the block's sum of the observations times ``2**-_SUM_SHIFT``
    (called only where `pair` overflowed or its exact summation's splitter did).
    """
    hi, lo = (np.asarray(v, dtype=np.float64) for v in pair)
    bad = ~np.isfinite(hi)
    if not np.any(bad):
        return hi, lo, np.zeros(hi.shape)
    s_hi, s_lo = (np.asarray(v, dtype=np.float64) for v in rescaled())
    e = np.where(bad, _SUM_SHIFT, 0.0)
    return np.where(bad, s_hi, hi), np.where(bad, s_lo, lo), e


def _common_scale(top: F64, total: Any) -> tuple[F64, tuple[F64, F64]]:
    """Sum scaled pairs at scale `top` (their largest), or `_SUM_SHIFT` where that overflows.

    `total` maps a target scale (broadcast against one pair) to the summed pair at
    that scale. Returns the scale and the pair.
    """
    hi, lo = total(top)
    bad = ~np.isfinite(hi)
    if np.any(bad):
        top = np.where(bad, _SUM_SHIFT, top)
        hi, lo = total(top)
    return np.asarray(top, dtype=np.float64), (np.asarray(hi), np.asarray(lo))


def _scaled_mean(hi: F64, lo: F64, e: F64, weight: float) -> F64:
    """Return the mean ``(hi + lo) * 2**e / weight`` (finite: at most the largest value)."""
    with np.errstate(over="ignore"):
        return np.asarray(np.ldexp((hi + lo) / weight, np.asarray(e).astype(np.int64)))


def _scaled_total(hi: F64, lo: F64, e: F64) -> F64:
    """Return the sum ``(hi + lo) * 2**e`` (+inf where it overflows float64)."""
    with np.errstate(over="ignore"):
        return np.asarray(np.ldexp(hi + lo, np.asarray(e).astype(np.int64)))
