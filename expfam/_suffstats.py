r"""Sufficient statistics: the one door between data and every fit and posterior.

A sample :math:`x_1, \dots, x_N` with weights :math:`w_i` enters an exponential family
only through the total weight :math:`W = \sum_i w_i` and the weighted sum of the
sufficient statistics :math:`\sum_i w_i T(x_i)`. :class:`SufficientStatistics` holds
them for one family (and its known parameters), in a form chosen per family so that
no digits are lost (a compensated sum ``hi + lo``; for the normal family the centred
second moment, merged by the update of Chan, Golub and LeVeque; for the gamma family
the log-moment gap :math:`\log E[x] - E[\log x]` as a sum of non-negative terms,
re-centred exactly when merged). Statistics of separate chunks of data merge with
``+``; the fit of the merged statistics does not depend on how the data were
chunked or in which order the chunks were merged (up to a few ulp).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # the family base imports this module; it only needs the names for types
    from expfam._family import ExponentialFamily

__all__ = [
    "Block",
    "SufficientStatistics",
    "block_weight",
    "blocks_weight",
    "dd_quotient",
    "exact_block_sum",
    "int_block_sum",
    "sum_pairs",
    "two_sum_parts",
    "weighted_block_sum",
]

F64 = NDArray[np.float64]
Parts = dict[str, F64]
#: The weight (an exact pair) and the parts of one block of a streaming pass.
Block = tuple[tuple[float, float], Parts]


def two_sum_parts(a_hi: F64, a_lo: F64, b_hi: F64, b_lo: F64) -> tuple[F64, F64]:
    """Add two compensated sums ``hi + lo`` (Knuth's TwoSum on the high parts)."""
    with np.errstate(invalid="ignore", over="ignore"):
        s = a_hi + b_hi
        bb = s - a_hi
        err = (a_hi - (s - bb)) + (b_hi - bb)
        lo = a_lo + b_lo + np.where(np.isfinite(s), err, 0.0)
    return np.asarray(s), np.asarray(lo)


def _same_fixed(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    for key in a:
        va, vb = a[key], b[key]
        if va is None or vb is None:
            if va is not vb:
                return False
            continue
        try:
            if not np.array_equal(np.asarray(va), np.asarray(vb)):
                return False
        except (TypeError, ValueError):
            return False
    return True


class SufficientStatistics:
    r"""Weighted sufficient statistics of a sample, for one family.

    Build them with :meth:`ExponentialFamily.suffstats` (``Gamma.suffstats(x)``),
    merge the statistics of separate chunks with ``+`` (or ``sum(chunks)``, or
    :meth:`merge`), then :meth:`fit` the maximum-likelihood distribution or pass them
    to a conjugate prior's :meth:`~ExponentialFamily.posterior`. The statistics of
    an empty chunk (no observations, or all weights 0) are valid and merge as a no-op.

    Attributes
    ----------
    family : type
        The exponential family the statistics are for.
    fixed : mapping
        The family's known parameters (e.g. ``{"n": 10}`` for a binomial).
    count : int
        Number of observations, including those of weight 0.
    total_weight : float
        :math:`W = \sum_i w_i` (the count when there are no weights).
    batch_shape : tuple of int
        Shape of the batch the observations belong to (``x.shape[1:]``, less the
        event shape).
    dtype : numpy.dtype
        Floating dtype of the data; a fit returns a distribution of this dtype.

    Notes
    -----
    The maximum-likelihood estimate of an exponential family matches moments:
    :math:`\nabla A(\hat\eta) = \bar T = W^{-1} \sum_i w_i T(x_i)` (the
    :attr:`mean_params`), so :math:`(W, \sum_i w_i T(x_i))` is all a fit or a
    conjugate update needs. The sums are kept as compensated pairs, so merging chunks
    in any order reproduces the one-pass statistics to about one rounding.

    Examples
    --------
    Statistics of two chunks, merged, fit the same distribution as all the data:

    >>> import numpy as np
    >>> from expfam import Gamma
    >>> x = np.random.default_rng(0).gamma(2.0, 3.0, size=1000)
    >>> s = Gamma.suffstats(x[:400]) + Gamma.suffstats(x[400:])
    >>> s
    SufficientStatistics(Gamma, count=1000, total_weight=1000)
    >>> d = s.fit()
    >>> bool(np.allclose([d.shape, d.rate], [Gamma.fit(x).shape, Gamma.fit(x).rate], rtol=1e-15))
    True
    """

    __slots__ = ("_count", "_dtype", "_family", "_fixed", "_parts", "_shape", "_weight")

    def __init__(
        self,
        family: type[ExponentialFamily],
        *,
        count: int,
        weight: tuple[float, float],
        parts: Parts,
        fixed: Mapping[str, Any],
        batch_shape: tuple[int, ...],
        dtype: np.dtype[Any],
    ) -> None:
        self._family = family
        self._count = int(count)
        self._weight = (float(weight[0]), float(weight[1]))
        self._parts = parts
        self._fixed = MappingProxyType(dict(fixed))
        self._shape = tuple(batch_shape)
        self._dtype = np.dtype(dtype)

    # ------------------------------------------------------------------ read-only view
    @property
    def family(self) -> type[ExponentialFamily]:
        """The exponential family these statistics are for."""
        return self._family

    @property
    def fixed(self) -> Mapping[str, Any]:
        """Known parameters of the family (read-only mapping)."""
        return self._fixed

    @property
    def count(self) -> int:
        """Number of observations, including those of weight 0."""
        return self._count

    @property
    def total_weight(self) -> float:
        r"""Total weight :math:`W = \sum_i w_i`."""
        return self._weight[0] + self._weight[1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of the observations."""
        return self._shape

    def _mean_dd(self, key: str) -> tuple[F64, F64]:
        """Return the mean ``parts[key] / W`` to twice the precision (``key``, ``key_lo``)."""
        return dd_quotient(self._parts[key], self._parts[key + "_lo"], *self._weight)

    @property
    def dtype(self) -> np.dtype[Any]:
        """Floating dtype of the data, and of the distribution :meth:`fit` returns."""
        return self._dtype

    @property
    def mean_params(self) -> F64:
        r"""Weighted mean of :math:`T(x)`, shape ``batch_shape + param_shape`` (float64).

        Raises
        ------
        ValueError
            If the total weight is 0 (there are no data).
        """
        self._require_data()
        return self._family._stats_mean(self)

    def _require_data(self) -> None:
        if self._count == 0:
            raise ValueError(
                "`x` must hold at least one observation along its first axis (there are no "
                "data to fit)"
            )
        if not self.total_weight > 0:
            raise ValueError("`weights` must not all be zero (there are no data to fit)")

    # ------------------------------------------------------------------ uses
    def fit(self) -> ExponentialFamily:
        """Maximum-likelihood distribution of these statistics.

        The same distribution as ``family.fit(x, weights=w, **fixed)`` on the data.

        Raises
        ------
        ValueError
            If there are no data (total weight 0).
        InfeasibleError
            If the maximum-likelihood estimate does not exist (e.g. no spread).
        """
        self._require_data()
        return self._family._fit_stats(self)

    # ------------------------------------------------------------------ merging
    def __add__(self, other: object) -> SufficientStatistics:
        if isinstance(other, int) and other == 0:  # sum() starts from 0
            return self
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        if other._family is not self._family:
            raise TypeError(
                f"cannot merge statistics of {self._family.__name__} and {other._family.__name__}"
            )
        fixed = (
            self._fixed
            if _same_fixed(self._fixed, other._fixed)
            else self._family._stats_merged_fixed(self, other)
        )
        if fixed is None:
            raise ValueError(
                f"cannot merge statistics of {self._family.__name__} with different known "
                f"parameters: {dict(self._fixed)} and {dict(other._fixed)}"
            )
        try:
            shape = np.broadcast_shapes(self._shape, other._shape)
        except ValueError:
            raise ValueError(
                f"cannot merge statistics of batch shapes {self._shape} and {other._shape}"
            ) from None
        if other.total_weight == 0 and other._count == 0 and shape == self._shape:
            return self
        if self.total_weight == 0 and self._count == 0 and shape == other._shape:
            return other
        hi, lo = two_sum_parts(
            np.asarray(self._weight[0]),
            np.asarray(self._weight[1]),
            np.asarray(other._weight[0]),
            np.asarray(other._weight[1]),
        )
        try:
            parts = self._family._stats_merge(self, other)
        except ValueError:
            raise ValueError(
                f"cannot merge statistics of {self._family.__name__} with different known "
                "parameters or parameter shapes (e.g. numbers of categories)"
            ) from None
        return SufficientStatistics(
            self._family,
            count=self._count + other._count,
            weight=(float(hi), float(lo)),
            parts=parts,
            fixed=fixed,
            batch_shape=shape,
            dtype=np.result_type(self._dtype, other._dtype),
        )

    def __radd__(self, other: object) -> SufficientStatistics:
        return self.__add__(other)

    @staticmethod
    def merge(stats: Iterable[SufficientStatistics]) -> SufficientStatistics:
        """Merge the statistics of several chunks (in any order: the result is the same).

        Raises
        ------
        ValueError
            If `stats` is empty, or the statistics do not belong together.
        """
        out: SufficientStatistics | None = None
        for s in stats:
            if not isinstance(s, SufficientStatistics):
                raise TypeError(f"`stats` must hold SufficientStatistics; got {type(s).__name__}")
            out = s if out is None else out + s
        if out is None:
            raise ValueError("`stats` is empty: nothing to merge")
        return out

    def __repr__(self) -> str:
        w = self.total_weight
        wtxt = str(int(w)) if math.isfinite(w) and w == int(w) and abs(w) < 2**53 else f"{w:.6g}"
        extra = "".join(
            f", {k}={np.asarray(v).tolist()!r}" for k, v in self._fixed.items() if v is not None
        )
        shape = f", batch_shape={self._shape}" if self._shape else ""
        dtype = f", dtype={self._dtype}" if self._dtype != np.float64 else ""
        return (
            f"SufficientStatistics({self._family.__name__}, count={self._count}, "
            f"total_weight={wtxt}{extra}{shape}{dtype})"
        )


def exact_block_sum(
    v: NDArray[Any], axis: int = 0, *, top: Any = None, out: F64 | None = None
) -> tuple[F64, F64]:
    r"""Sum `v` along `axis` into a pair ``hi + lo``, to about :math:`n^2\epsilon^2 \sum|v|`.

    Rump's extraction: with :math:`\sigma = 2^k \ge 2n\max|v|`, the high parts
    :math:`q = (\sigma + v) - \sigma` are multiples of one unit and sum *exactly* in
    any order; the remainders :math:`v - q` (each below that unit) are summed plainly.
    So the statistics of a chunk do not depend on how numpy orders the sum, and
    merged chunks reproduce the one-pass sums to the last bit (in practice).
    Non-finite entries make both parts non-finite.

    `top`, when the caller knows it, is :math:`\max|v|` along `axis` (it saves a
    pass); `out`, a float64 work array of the shape of `v`, saves the temporaries.
    """
    n = v.shape[axis]
    if axis == 0 and top is not None and np.ndim(top) == 0:
        lean = _exact_sum_1d(v, float(top), n, out)
        if lean is not None:
            return lean
    with np.errstate(invalid="ignore", over="ignore"):
        if top is None:
            top = np.max(np.abs(v), axis=axis, initial=0.0)
        finite = np.isfinite(top) & (top > 0)
        e = np.frexp(np.where(finite, top, 1.0))[1] + max(n, 1).bit_length() + 1
        # a splitter beyond the float range (|v| within ~4n of the largest float): the
        # extraction runs on v / 2**64 (exact) and the parts are scaled back
        big = finite & (e > 1023)
        sigma = np.where(finite, np.ldexp(1.0, np.where(big, e - 64, e)), 0.0)
        s = np.expand_dims(sigma, axis)
        vs = v * np.expand_dims(np.where(big, 2.0**-64, 1.0), axis) if np.any(big) else v
        q = (s + vs) - s
        hi = q.sum(axis=axis)
        lo = (vs - q).sum(axis=axis)
        if np.any(big):
            up = np.where(big, 2.0**64, 1.0)
            hi, lo = hi * up, lo * up  # (exact, or inf where the sum itself overflows)
    plain = ~finite
    if np.any(plain):
        hi = np.where(plain, v.sum(axis=axis), hi)
        lo = np.where(plain, 0.0, lo)
    return np.asarray(hi, dtype=np.float64), np.asarray(lo, dtype=np.float64)


def _exact_sum_1d(v: NDArray[Any], top: float, n: int, out: F64 | None) -> tuple[F64, F64] | None:
    """:func:`exact_block_sum` over the first axis of `v` whose ``max|v|`` is the scalar `top`.

    Two passes of arithmetic in one work array and two sums; None where the lean form
    does not apply (non-finite `top`, or a splitter beyond the float range).
    """
    if not (math.isfinite(top) and top > 0):
        return None
    e = math.frexp(top)[1] + max(n, 1).bit_length() + 1
    if e > 1023:
        return None
    sigma = math.ldexp(1.0, e)
    q = np.empty(v.shape) if out is None else out
    np.add(v, sigma, out=q)
    q -= sigma  # exact: the high parts, multiples of one unit
    # their sum is exact in any order, and the remainders' to far below an ulp of the
    # total, so einsum's unrolled (single-threaded) sum serves for both
    hi = np.einsum("i->", q) if q.ndim == 1 else q.sum(axis=0)
    np.subtract(v, q, out=q)  # exact: the remainders, each below that unit
    lo = np.einsum("i->", q) if q.ndim == 1 else q.sum(axis=0)
    return np.asarray(hi, dtype=np.float64), np.asarray(lo, dtype=np.float64)


def sum_pairs(hi: F64, lo: F64) -> tuple[F64, F64]:
    """Sum compensated pairs ``hi + lo`` stacked along the first axis (one per block)."""
    h, h_lo = exact_block_sum(hi)
    with np.errstate(invalid="ignore"):
        low = h_lo + lo.sum(axis=0)
    return h, np.asarray(np.where(np.isfinite(h), low, 0.0), dtype=np.float64)


def blocks_weight(blocks: list[Block]) -> tuple[float, float]:
    """Total weight of the blocks of a pass as an exact pair."""
    hi, lo = sum_pairs(np.array([b[0][0] for b in blocks]), np.array([b[0][1] for b in blocks]))
    return float(hi), float(lo)


def int_block_sum(x: NDArray[Any], bound: int) -> tuple[F64, F64] | None:
    r"""Exact sum of integers `x` over the first axis as a pair ``hi + lo`` of floats.

    `bound` is :math:`\max|x|` (the caller's range check found it); None when an
    int64 sum of the block could overflow.
    """
    if bound * max(x.shape[0], 1) >= 2**62:
        return None
    if x.ndim == 1:
        total = int(x.sum(dtype=np.int64))
        hi = float(total)
        return np.asarray(hi), np.asarray(float(total - int(hi)))  # exact: |total| < 2**62
    s = np.asarray(x.sum(axis=0, dtype=np.int64))
    his = s.astype(np.float64)
    lo = (s - his.astype(np.int64)).astype(np.float64)  # exact: |s| < 2**62
    return np.asarray(his), np.asarray(lo)


_SPLITTER = 134217729.0  # 2**27 + 1, Dekker's splitter


def _split(a: F64) -> tuple[F64, F64]:
    """Dekker's split ``a = hi + lo`` (26-bit halves), also above 2**996.

    There ``_SPLITTER * a`` would overflow: the split is taken of ``a * 2**-64`` and
    scaled back (both exact, powers of two).
    """
    scale = np.where(np.abs(a) > 2.0**996, 2.0**-64, 1.0)
    s = a * scale
    c = _SPLITTER * s
    hi = c - (c - s)
    return hi / scale, (s - hi) / scale


def dd_quotient(hi: F64, lo: F64, w: float | F64, w_lo: float | F64 = 0.0) -> tuple[F64, F64]:
    """``(hi + lo) / (w + w_lo)`` as a pair ``q + e`` (a mean kept to twice the precision)."""
    with np.errstate(invalid="ignore", over="ignore"):
        q = (hi + lo) / (w + w_lo)
        # exact q * w = p + pe (Dekker's product), then the residual (hi - p) - pe + lo
        qh, ql = _split(q)
        wh, wl = _split(np.asarray(w, dtype=np.float64))
        p = q * w
        pe = ((qh * wh - p) + qh * wl + ql * wh) + ql * wl
        e = ((hi - p) - pe + lo - q * w_lo) / w
    return np.asarray(q), np.asarray(np.where(np.isfinite(e), e, 0.0))


def block_weight(n: int, w: F64 | None) -> tuple[float, float]:
    """Total weight of a block as an exact pair (the count when there are no weights)."""
    if w is None:
        return float(n), 0.0
    with np.errstate(over="ignore"):  # an overflowing total is refused by `suffstats`
        hi, lo = exact_block_sum(w)
    return float(hi), float(lo)


def weighted_block_sum(w: F64 | None, v: F64) -> tuple[F64, F64]:
    """``sum_i w_i v_i`` over the first axis as a pair ``hi + lo``, products kept exact.

    A zero weight drops its row even where `v` is infinite. Each product
    :math:`w_i v_i` is split into its rounded value and its exact error (Dekker), so
    a weighted mean does not depend on how the rows were chunked.
    """
    if w is None:
        return exact_block_sum(v)
    wn = w.reshape(w.shape + (1,) * (v.ndim - 1))
    with np.errstate(invalid="ignore", over="ignore"):
        vv = np.where(wn > 0, v, 0.0)
        p = wn * vv
        vh, vl = _split(vv)
        wh, wl = _split(wn)
        err = ((wh * vh - p) + wh * vl + wl * vh) + wl * vl
        hi, lo = exact_block_sum(p)
        extra = np.where(np.isfinite(err), err, 0.0).sum(axis=0)
    return hi, np.asarray(lo + extra, dtype=np.float64)
