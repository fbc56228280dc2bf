"""The log-sum-exp family of kernels.

All reduce over ``axis=-1`` by default, accept any axis, broadcast like numpy, keep
float32 and float64, turn integer and boolean input into float64 and reject complex
input with ``TypeError``. The edge policy (``±inf``, ``nan``, zeros, empty axes) is
documented once, in the module docstring of :mod:`expfam` and in the docs'
*Conventions* page, and every kernel follows it.

Implementation notes
--------------------
*Blocking.* The reduction axis is moved last and the other axes are flattened into rows
(a view; when the strides do not allow it, the rows are visited through a loop over the
outer indices instead of a copy). Rows are processed in blocks of about ``_BLOCK``
elements, so that arg-max, shift, ``exp`` and sum of a block all run while it sits in
the L2 cache, with one reusable work buffer per call; a row longer than a block is
processed in chunks along the axis. A block whose rows are not contiguous along the
axis is first copied into a buffer. A single short row takes a lean path (a handful of
numpy calls) when its max is finite and not huge.

*Precision.* float64 input is computed in float64; float32 input is computed in float64
and rounded once at the end. With ``m = max_j x_j`` at ``j*`` and
``s = sum_{j != j*} exp(x_j - m)``, every kernel is written with ``m``, ``s`` and
``log1p(s)`` so that no result is a difference of nearly equal numbers.

*Unshifted first.* log-sum-exp and softmax first try ``t = sum_j exp(x_j)`` without the
shift (one pass fewer, and no rounded ``x_j - m``): ``log(t)`` when ``e**2 <= t < inf``
(the result is at least 2, so the error of ``t`` stays relative), ``exp(x_j) / t`` when
``1/2 <= t < inf`` (an underflowed term then errs by less than a subnormal unit); the
arg-max term is summed apart, as in ``1 + s``, so that the other terms do not all round
relative to it. Rows outside these ranges (large or very negative logits, results
near 0, non-finite values) take the shifted path.

Two exceptions to "no cancellation" are handled on the rare rows where they matter:

* ``exp(x_j - m)`` inherits the rounding error of ``x_j - m`` (up to ``eps/2 * |x_j - m|``
  relative), which is not averaged away when one or a few far terms make up ``s``
  (``x = [c, c - 30]``). Where ``log1p(s)`` is (part of) a result, rows whose ``s`` is
  small enough for this to exceed about 2 eps get the exact rounding errors added back
  (:func:`_delta_dot`). softmax does not need it: an entry far from the max has
  ``eps * |x_j - m|`` of slack, and for one near the max the error through ``1 + s``
  exceeds an eps only with thousands of coherent (tied) far terms, where the rounding of
  their sum is as large.
* log-sum-exp itself when ``m < 0`` and ``log1p(s)`` nearly cancels ``m`` (for example
  ``x = [log 0.5, log 0.5]``, whose log-sum-exp is ``2.3e-17``). Such rows are detected
  from the float64 result and recomputed in double-double arithmetic (:func:`_lse_dd`),
  which costs about a hundred times the fast path per element, for those rows only.

Floating-point exceptions are silenced with ``np.errstate(all="ignore")`` around every
path, the lean one included (their results are set by the edge policy): a kernel gives
the same results, and lets no warning or error escape, whatever the caller's
``np.errstate`` (``all="raise"``, ``under="warn"``, ...).

*Intermediates.* Values kept between passes (the exponentials of a long row) are kept
in float64; a float32 output only ever receives final results, rounded once: it could
not hold ``exp(x_j)`` of a logit above 88.7, nor the digits of a term below 2**-126.

*Signed zeros.* A weight of ``-0.0`` is a zero weight (``p / -0.0`` is ``+inf``, and
``0 log 0 = 0``), and no result is ``-0.0``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._dask import dask_module, is_dask_collection
from expfam._fpstate import quiet
from expfam._summation import dd_add as _dd_add
from expfam._summation import dd_mul as _dd_mul
from expfam._summation import fast_two_sum as _fast_two_sum
from expfam._summation import split as _split
from expfam._summation import two_sum as _two_sum
from expfam._validation import (
    FloatArray,
    as_float_array,
    check_axis,
    check_nonnegative,
    result_float_dtype,
)

__all__ = [
    "cross_entropy",
    "cross_entropy_with_logits",
    "entropy",
    "kl_divergence",
    "log_softmax",
    "logsumexp",
    "mul0",
    "softmax",
]

F64 = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

# Elements per block (512 KiB of float64): an input block and one or two work blocks sit
# in L2 (1 MiB and more on current x86) or L3, and the per-block overhead of a dozen
# numpy calls stays a few percent of the exponentials. Rows longer than this are
# processed in chunks of this length.
_BLOCK = 1 << 16
# A single row with a finite max below this in magnitude may take the lean path: then
# x - m cannot overflow. Below _LEAN_DIRECT, exp(x) cannot overflow either, nor its sum
# over a row of at most _BLOCK entries.
_LEAN = 2.0**969
_LEAN_DIRECT = 690.0
# A log-sum-exp row is redone in double-double when m < 0 and log1p(s) > _CANCEL * |result|:
# the float64 result carries an absolute error of about 2-3 units of roundoff of
# log1p(s), relative to the result amplified by log1p(s) / |result| (measured: at most
# 1.4 eps up to 1.5, 3 eps up to 2, 5 eps up to 6). float32 results, computed in
# float64, only need it when the cancellation eats 26 bits.
_CANCEL = {np.dtype(np.float64): 1.5, np.dtype(np.float32): 2.0**26}
# log-sum-exp and softmax of a row are first computed without the shift, as
# log(sum(exp(x))) and exp(x_j) / sum(exp(x)): valid (and more accurate, no rounded
# x_j - m) when the sum is finite and at least _DIRECT_MIN (log-sum-exp: a result >= 2,
# so the absolute error of the log is small relative to it) or _DIRECT_MIN_SOFTMAX
# (softmax: an underflowed exp(x_j) then errs by less than a subnormal unit).
_DIRECT_MIN = math.exp(2.0)
_DIRECT_MIN_SOFTMAX = 0.5
# Unshifted terms exp(x_j) of a long log-softmax row with a negative max give s when
# their sum is at least this: then the terms lost to underflow (each below 2**-1022)
# are negligible against it.
_DIRECT_MIN_REST = 2.0**-969
# Rows with s * log((K-1)/s) > _COMP * (1 + s) * log1p(s) get the rounding errors of
# x_j - m added back to s: the left side bounds the error they cause (in units of eps/2,
# by Jensen's inequality), the right side the result's magnitude. Not needed for
# float32 input, which is computed in float64.
_COMP = {np.dtype(np.float64): 4.0, np.dtype(np.float32): math.inf}
_TINY = float(np.finfo(np.float64).tiny)


def _on_dask() -> Any:
    """Return the kernels on Dask arrays, :mod:`expfam._dask_kernels` (imports Dask)."""
    return dask_module("expfam._dask_kernels")


def mul0(w: FloatArray, x: FloatArray) -> FloatArray:
    """Elementwise ``w * x`` with ``0 * (±inf) = 0``: a zero weight contributes zero.

    This is the one place where the convention ``0 · log 0 = 0`` (and its relatives,
    such as a masked category with zero target mass) is implemented.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam._kernels import mul0
    >>> mul0(np.array([0.0, 2.0]), np.array([-np.inf, 3.0]))
    array([0., 6.])
    """
    out = np.zeros(np.broadcast_shapes(w.shape, x.shape), dtype=np.result_type(w, x))
    np.multiply(w, x, out=out, where=(w != 0))
    return out


# ---------------------------------------------------------------------------------------
# Rows and blocks
# ---------------------------------------------------------------------------------------


def _axis_last(a: NDArray[Any], ax: int) -> NDArray[Any]:
    """View of `a` with axis `ax` moved last (``np.moveaxis`` without its overhead)."""
    nd = a.ndim
    if ax == nd - 1:
        return a
    moved: NDArray[Any] = a.transpose((*range(ax), *range(ax + 1, nd), ax))
    return moved


def _rows(a: NDArray[Any]) -> NDArray[Any] | None:
    """Return a 2-D ``(rows, K)`` view of `a` (shaped ``lead + (K,)``), or None if none exists."""
    if a.ndim == 2:
        return a
    if a.ndim == 1:
        return a[None, :]
    dims = [(n, s) for n, s in zip(a.shape[:-1], a.strides[:-1], strict=True) if n != 1]
    for (_, s0), (n1, s1) in itertools.pairwise(dims):
        if s0 != s1 * n1:
            return None
    n_rows = math.prod(a.shape[:-1])
    row_stride = dims[-1][1] if dims else 0
    return np.lib.stride_tricks.as_strided(
        a, shape=(n_rows, a.shape[-1]), strides=(row_stride, a.strides[-1])
    )


def _slabs(
    full: list[NDArray[Any]], reduced: list[NDArray[Any]]
) -> Iterator[tuple[list[NDArray[Any]], list[NDArray[Any]]]]:
    """Yield 2-D views of arrays shaped ``lead + (K,)`` and 1-D views of arrays shaped ``lead``.

    Once with all leading axes flattened when that is possible without copying, else
    once per index of all leading axes but the last.
    """
    views = [_rows(a) for a in full]
    if all(v is not None for v in views):
        yield [v for v in views if v is not None], [r.reshape(-1) for r in reduced]
        return
    for idx in np.ndindex(full[0].shape[:-2]):
        yield [a[idx] for a in full], [r[idx] for r in reduced]


def _row_blocks(n_rows: int, K: int) -> Iterator[tuple[int, int]]:
    step = max(1, _BLOCK // K)
    for r0 in range(0, n_rows, step):
        yield r0, min(r0 + step, n_rows)


def _contiguous_rows(a: NDArray[Any]) -> bool:
    return a.shape[-1] <= 1 or a.strides[-1] == a.itemsize


def _block_in(X: NDArray[Any], buf: F64) -> NDArray[Any]:
    """Return `X` if its rows are contiguous, else a contiguous float64 copy in `buf`."""
    if _contiguous_rows(X):
        return X
    out = buf[: X.size].reshape(X.shape)
    np.copyto(out, X)
    return out


def _full_out(moved: NDArray[Any], ax: int, dtype: Any) -> tuple[FloatArray, NDArray[Any]]:
    """Allocate a C-ordered result laid out like the input of the axis-last view `moved`.

    Returns the result and its own axis-last view.
    """
    shape = list(moved.shape[:-1])
    shape.insert(ax, moved.shape[-1])
    res = np.empty(shape, dtype=dtype)
    return res, _axis_last(res, ax)


def _target(out_block: NDArray[Any], work: F64) -> F64:
    """Return `out_block` if it is C-contiguous float64 (compute in place), else `work`."""
    if out_block.dtype == np.float64 and out_block.flags.c_contiguous:
        return out_block
    return work[: out_block.size].reshape(out_block.shape)


@lru_cache(maxsize=32)
def _offsets(n: int, K: int) -> IntArray:
    off = np.arange(0, n * K, K)
    off.flags.writeable = False
    return off


def _flat_at(E: F64, idx: IntArray) -> tuple[F64, IntArray]:
    """Return a 1-D view of the C-contiguous block `E` and the flat indices of ``E[r, idx[r]]``.

    One-dimensional fancy indexing costs a fraction of ``E[arange(n), idx]``.
    """
    return E.reshape(-1), idx + _offsets(*E.shape)


def _finite(m: F64) -> bool:
    """Whether all of `m` is finite, cheaply: its sum is (or overflowed: a false alarm).

    False means "look closer" (``np.isfinite(m)``), never a wrong result.
    """
    return math.isfinite(np.add.reduce(m))


# ---------------------------------------------------------------------------------------
# The shared core: max, shifted exponentials, s and log1p(s)
# ---------------------------------------------------------------------------------------


@cache
def _comp_threshold(K: int, c: float) -> float:
    """Return ``s*`` with: ``s * log((K-1)/s) > c (1 + s) log1p(s)`` iff ``0 < s < s*``.

    ``log((K-1)/s) - c (1 + s) log1p(s) / s`` decreases in ``s``: bisect its root.
    """
    if K < 2 or c == math.inf:
        return 0.0
    lo, hi = 1e-300, float(K - 1)
    for _ in range(200):
        mid = math.sqrt(lo * hi) if hi / lo > 4 else (lo + hi) / 2
        if math.log((K - 1) / mid) > c * (1 + mid) * math.log1p(mid) / mid:
            lo = mid
        else:
            hi = mid
    return lo


def _delta_dot(X: NDArray[Any], m: F64, E: F64) -> F64:
    """Return ``sum_j E_j * delta_j`` per row, ``delta_j = (x_j - m) - fl(x_j - m)`` exactly.

    ``exp(x_j - m) = exp(fl(x_j - m)) * (1 + delta_j)`` to second order, so adding this
    to ``s`` removes the error that rounding ``x_j - m`` puts into ``s``.
    """
    x = X.astype(np.float64, copy=False)
    neg_m = -m[:, None]
    d = x + neg_m
    bb = d - x
    delta = (x - (d - bb)) + (neg_m - bb)  # two_sum error term
    np.copyto(delta, 0.0, where=~np.isfinite(delta))  # masked entries (e_j = 0)
    return np.add.reduce(E * delta, axis=1)  # type: ignore[no-any-return]


def _scan(X: NDArray[Any], D: F64, E: F64, c: float) -> tuple[IntArray, F64, F64, F64]:
    """Shift and exponentiate a block of rows; return arg-max, max, ``s`` and ``log1p(s)``.

    `D` receives ``fl(x_j - m)`` and `E` ``exp(D)`` with 0 at the arg-max (`E` may be
    `D`). Rows whose ``s`` is below the threshold of `c` get the rounding errors of
    ``x_j - m`` added back. Rows with a non-finite max give garbage. Runs inside
    ``np.errstate(all="ignore")``.
    """
    rows = np.arange(X.shape[0])
    idx = X.argmax(axis=1)  # the first nan of a row that has one
    m = X[rows, idx].astype(np.float64, copy=False)
    np.subtract(X, m[:, None], out=D)
    np.exp(D, out=E)
    ef, fi = _flat_at(E, idx)
    ef[fi] = 0.0
    s = np.add.reduce(E, axis=1)
    L = np.log1p(s)
    s_star = _comp_threshold(X.shape[1], c)
    if s_star > 0 and np.fmin.reduce(s) < s_star:
        (f,) = np.nonzero((s > 0) & (s < s_star) & (m != 0))
        if f.size:
            s[f] += _delta_dot(X[f], m[f], E[f])
            L[f] = np.log1p(s[f])
    return idx, m, s, L


def _needs_compensation(s: float, m: float, K: int, c: float) -> bool:
    """Scalar version of the test in :func:`_scan`."""
    return 0.0 < s < _comp_threshold(K, c) and m != 0


def _long_argmax(row: NDArray[Any]) -> tuple[int, float]:
    """Arg-max and max of a long 1-D row (the first nan if any), in chunks if strided."""
    if _contiguous_rows(row):
        i = int(row.argmax())
        return i, float(row[i])
    best_i, best = 0, -math.inf
    for c0 in range(0, row.shape[0], _BLOCK):
        chunk = row[c0 : c0 + _BLOCK]
        j = int(chunk.argmax())
        v = float(chunk[j])
        if math.isnan(v):
            return c0 + j, v
        if v > best or c0 == 0:
            best_i, best = c0 + j, v
    return best_i, best


def _long_delta_dot(row: NDArray[Any], m: float, w: F64) -> float:
    """Return :func:`_delta_dot` of one long row, chunk by chunk."""
    parts = []
    for c0 in range(0, row.shape[0], _BLOCK):
        chunk = np.asarray(row[c0 : c0 + _BLOCK], dtype=np.float64)[None]
        e = w[: chunk.shape[1]][None]
        np.subtract(chunk, m, out=e)
        np.exp(e, out=e)
        parts.append(_delta_dot(chunk, np.array([m]), e)[0])
    return float(np.add.reduce(np.array(parts)))


def _long_sum_exp(row: NDArray[Any], i: int, m: float, w: F64, out: NDArray[Any] | None) -> float:
    """Return ``s = sum_{j != i} exp(row_j - m)`` of a long row, chunk by chunk.

    The exponentials are computed in the buffer `w`, or written into `out` (same shape
    as `row`; the arg-max entry gets 1) when given. ``s`` is compensated for the
    rounding of ``row_j - m`` when that matters.
    """
    parts = []
    for c0 in range(0, row.shape[0], _BLOCK):
        chunk = row[c0 : c0 + _BLOCK]
        n = chunk.shape[0]
        oc = None if out is None else out[c0 : c0 + n]
        e = w[:n] if oc is None else _target(oc, w)
        np.subtract(chunk, m, out=e, dtype=np.float64)
        np.exp(e, out=e)
        if c0 <= i < c0 + n:
            e[i - c0] = 0.0
            parts.append(np.add.reduce(e))
            e[i - c0] = 1.0
        else:
            parts.append(np.add.reduce(e))
        if oc is not None and e is not oc:
            oc[...] = e
    s = float(np.add.reduce(np.array(parts)))
    if _needs_compensation(s, m, row.shape[0], _COMP[row.dtype]):
        s += _long_delta_dot(row, m, w)
    return s


# ---------------------------------------------------------------------------------------
# Double-double arithmetic for the rows where log-sum-exp cancels
# ---------------------------------------------------------------------------------------
# A double-double (h, lo) represents h + lo with |lo| <= ulp(h)/2: about 106 bits. numpy
# has no fused multiply-add, so exact products use Dekker's splitting.


def _dd_from(v: Fraction) -> tuple[float, float]:
    hi = float(v)  # correctly rounded
    return hi, float(v - Fraction(hi))


def _round_bits(v: Fraction, bits: int) -> float:
    """Round `v` to a float with at most `bits` significant bits."""
    e = math.floor(math.log2(v))
    scale = Fraction(2) ** (bits - 1 - e)
    return float(Fraction(round(v * scale)) / scale)


@cache
def _dd_constants() -> tuple[float, float, float, F64, F64, tuple[tuple[float, float], ...]]:
    """Constants of the double-double exponential, derived from exact integer arithmetic.

    Returns ``C1, C2, C3`` with ``C1 + C2 + C3 = ln(2)/64`` to about 125 bits (``C1`` and
    ``C2`` with 36 significant bits, so ``k * C1`` and ``k * C2`` are exact for
    ``|k| < 2**17``), the table ``2**(j/64) = T_hi[j] + T_lo[j]`` (j = 0..63) to the
    precision of a double-double, and the Taylor coefficients ``1/n!`` (n = 2..5) as
    double-doubles.
    """
    bits = 240
    one = 1 << bits
    # ln 2 = sum_k 1 / (k 2**k); each truncated term is off by < 1 unit of 2**-240
    ln2 = Fraction(sum((one >> k) // k for k in range(1, bits + 1)), one)
    c = ln2 / 64
    c1 = _round_bits(c, 36)
    c2 = _round_bits(c - Fraction(c1), 36)
    c3 = float(c - Fraction(c1) - Fraction(c2))
    t_hi, t_lo = np.empty(64), np.empty(64)
    for j in range(64):
        n = 1 << (j + 64 * 110)
        for _ in range(6):  # floor(sqrt(floor(sqrt(n)))) = floor(n**(1/4)), six times
            n = math.isqrt(n)
        t_hi[j], t_lo[j] = _dd_from(Fraction(n, 1 << 110))  # 2**(j/64) to 2**-110
    coef = tuple(_dd_from(Fraction(1, math.factorial(n))) for n in range(2, 6))
    return c1, c2, c3, t_hi, t_lo, coef


def _exp_dd_parts(h: F64, lo: F64) -> tuple[tuple[F64, F64], tuple[F64, F64]]:
    """Return ``G`` and ``P`` with ``exp(h + lo) = G * (1 + P)``, both double-doubles.

    ``G = 2**(k/64)`` and ``|P| < 0.0055``. `h` must lie in [-1100, 800] and
    ``|lo| <= ulp(h)``. ``P`` has an absolute error below about ``2**-107``, so
    ``G * (1 + P)`` is within a few units of ``2**-106`` of the exponential, relative.
    """
    c1, c2, c3, t_hi, t_lo, coef = _dd_constants()
    k = np.rint(h * (64 / math.log(2)))
    r = h - k * c1  # exact (Sterbenz), as k * c1 is
    rh, rl = _two_sum(r, -(k * c2))
    rh, rl = _fast_two_sum(rh, rl + (lo - k * c3))
    # Taylor series of expm1(r), |r| <= ln(2)/128: terms from r**6 on in float64 ...
    q: Any = 1 / math.factorial(11)
    for n in (10, 9, 8, 7, 6):
        q = 1 / math.factorial(n) + rh * q
    # ... the others in double-double: P = r * (1 + r * (1/2 + r * (1/6 + r * (1/24 + ...))))
    r_dd, r_split = (rh, rl), _split(rh)
    ph, pl = _fast_two_sum(np.full_like(rh, coef[3][0]), rh * q)
    p = (ph, pl + coef[3][1])
    for ch, cl in (coef[2], coef[1], coef[0], (1.0, 0.0)):
        ph, pl = _dd_mul(r_dd, p, r_split)
        p = _fast_two_sum(ch + ph, (ch - (ch + ph) + ph) + pl + cl)
    p = _dd_mul(r_dd, p, r_split)
    ki = k.astype(np.int64)
    # 2**(ki >> 6) from its bits (np.ldexp is slow); below 2**-1022 it is flushed to 0:
    # such terms are far below the precision that matters where _lse_dd is used
    e = np.maximum((ki >> 6) + 1023, 0).astype(np.uint64) << np.uint64(52)
    scale = e.view(np.float64)
    j = ki & 63
    return (t_hi[j] * scale, t_lo[j] * scale), p


def _exp_dd(h: F64, lo: F64) -> tuple[F64, F64]:
    """Return ``exp(h + lo)`` as a double-double, for ``h <= 0``."""
    g, p = _exp_dd_parts(np.maximum(h, -1100.0), lo)
    return _dd_add(g, _dd_mul(g, p, _split(g[0])))


def _expm1_dd(h: F64) -> tuple[F64, F64]:
    """Return ``expm1(h)`` as a double-double for ``0 <= h <= 700``, accurate near 0."""
    g, p = _exp_dd_parts(h, np.zeros_like(h))
    bh, bl = _two_sum(g[0], np.full_like(g[0], -1.0))  # G - 1, exactly 0 when G == 1
    return _dd_add(_dd_mul(g, p, _split(g[0])), (bh, bl + g[1]))


def _lse_dd(X: NDArray[Any], idx: IntArray, m: F64) -> F64:
    """Log-sum-exp of the rows of `X` (finite max `m` at `idx`) in double-double.

    ``s = sum_{j != idx} exp(x_j - m)`` is summed exactly from double-double terms,
    ``log1p(s)`` is one Newton step from the float64 value, and ``m + log1p(s)`` is
    rounded once. The absolute error is a few units of ``2**-106``.
    """
    X = X.astype(np.float64, copy=False)
    n, K = X.shape
    sh, sl = np.zeros(n), np.zeros(n)
    chunk = 16384
    step = max(1, chunk // max(K, 1))
    for r0 in range(0, n, step):  # blocks of rows ...
        for c0 in range(0, K, chunk):  # ... or chunks of a long row
            xb = X[r0 : r0 + step, c0 : c0 + chunk]
            dh, dl = _two_sum(xb, -m[r0 : r0 + step, None])  # exact x - m
            fin = dh > -1100.0  # also False for -inf: those terms are 0
            eh, el = _exp_dd(np.where(fin, dh, -1100.0), np.where(fin, dl, 0.0))
            own = np.arange(c0, c0 + xb.shape[1]) == idx[r0 : r0 + step, None]
            eh[own] = 0.0
            el[own] = 0.0
            # pairwise two_sum reduction of the high parts, low parts summed plainly
            while eh.shape[1] > 1:
                if eh.shape[1] % 2:
                    eh = np.concatenate([eh, np.zeros((eh.shape[0], 1))], axis=1)
                    el = np.concatenate([el, np.zeros((el.shape[0], 1))], axis=1)
                a, b = _two_sum(eh[:, 0::2], eh[:, 1::2])
                eh, el = a, b + el[:, 0::2] + el[:, 1::2]
            bh, bl = _two_sum(sh[r0 : r0 + step], eh[:, 0])
            sh[r0 : r0 + step], sl[r0 : r0 + step] = _fast_two_sum(
                bh, bl + sl[r0 : r0 + step] + el[:, 0]
            )
    # log1p(s): Newton step y = y0 + log1p((s - expm1(y0)) / (1 + expm1(y0)))
    y0 = np.log1p(sh)
    eh, el = _expm1_dd(y0)
    dh, dl = _dd_add((sh, sl), (-eh, -el))
    z = (dh + dl) / (1.0 + eh)
    lh, ll = _two_sum(y0, z - 0.5 * z * z)
    # m + log1p(s), rounded once
    th, tl = _two_sum(m, lh)
    return th + (tl + ll)


def _dd_sum(H: F64, Lo: F64) -> tuple[F64, F64]:
    """Sum the double-doubles ``H + Lo`` along the last axis (pairwise, error-free highs).

    The low parts are summed plainly: the result is a double-double within a few units
    of ``2**-106`` of the sum of the magnitudes.
    """
    H, Lo = np.asarray(H, dtype=np.float64), np.asarray(Lo, dtype=np.float64)
    if H.shape[-1] == 0:
        return np.zeros(H.shape[:-1]), np.zeros(H.shape[:-1])
    while H.shape[-1] > 1:
        if H.shape[-1] % 2:
            pad = [(0, 0)] * (H.ndim - 1) + [(0, 1)]
            H, Lo = np.pad(H, pad), np.pad(Lo, pad)
        a, b = _two_sum(H[..., 0::2], H[..., 1::2])
        H, Lo = a, b + Lo[..., 0::2] + Lo[..., 1::2]
    return _fast_two_sum(H[..., 0], Lo[..., 0])


def _sum_exp_dd(X: NDArray[Any]) -> tuple[F64, F64]:
    """``sum_j exp(x_j)`` of each row of the 2-D `X` (all entries <= 0) as a double-double.

    Terms below about ``exp(-1100)`` count as 0. Used where a log-sum-exp near 0 is
    assembled from the sums of several chunks of a row (:mod:`expfam._dask_kernels`).
    """
    X = X.astype(np.float64, copy=False)
    n, K = X.shape
    sh, sl = np.zeros(n), np.zeros(n)
    chunk = 16384
    step = max(1, chunk // max(K, 1))
    for r0 in range(0, n, step):
        for c0 in range(0, K, chunk):
            xb = X[r0 : r0 + step, c0 : c0 + chunk]
            fin = xb > -1100.0  # also False for -inf: those terms are 0
            eh, el = _exp_dd(np.where(fin, xb, -1100.0), np.zeros_like(xb))
            eh[~fin] = 0.0
            el[~fin] = 0.0
            bh, bl = _dd_sum(eh, el)
            th, tl = _two_sum(sh[r0 : r0 + step], bh)
            sh[r0 : r0 + step], sl[r0 : r0 + step] = _fast_two_sum(
                th, tl + sl[r0 : r0 + step] + bl
            )
    return sh, sl


# ---------------------------------------------------------------------------------------
# log-sum-exp
# ---------------------------------------------------------------------------------------


def _moved(x: ArrayLike, name: str, axis: Any) -> tuple[FloatArray, int]:
    a = as_float_array(x, name)
    if a.ndim == 0:
        raise ValueError(f"`{name}` must have at least one dimension to reduce over")
    ax = check_axis(axis, a.ndim)
    return _axis_last(a, ax), ax


def _lean_max(a: FloatArray) -> tuple[int, float] | None:
    """Arg-max and max of a short 1-D row if the lean path applies to it, else None.

    The lean path only takes rows whose max is finite and below ``2**969`` in
    magnitude: then ``x - m`` cannot overflow, ``exp(x - m) <= 1`` and ``log1p(s)`` of
    ``s >= 0`` is finite, so it needs none of the edge-policy fix-ups of the blocked
    path.
    """
    i = int(a.argmax())
    m = float(a[i])
    return (i, m) if -_LEAN < m < _LEAN else None


def _lean_scan(a: FloatArray, i: int, m: float) -> tuple[F64, F64, float]:
    """Lean version of :func:`_scan` for one row: ``d``, ``exp(d)`` (0 at `i`) and ``s``."""
    d = np.subtract(a, m, dtype=np.float64)
    e = np.exp(d)
    e[i] = 0.0
    s = float(np.add.reduce(e))
    if _needs_compensation(s, m, a.shape[0], _COMP[a.dtype]):
        s += float(_delta_dot(a[None], np.array([m]), e[None])[0])
    return d, e, s


def _lse_vector(a: FloatArray, i: int, m: float) -> float:
    if m <= _LEAN_DIRECT:  # unshifted first, as in _lse_block
        t = float(np.add.reduce(np.exp(a, dtype=np.float64)))
        if t >= _DIRECT_MIN:
            return math.log(t)
    _, _, s = _lean_scan(a, i, m)
    L = math.log1p(s)
    r = m + L
    if m < 0 and abs(r) * _CANCEL[a.dtype] < L:
        r = float(_lse_dd(a[None], np.array([i]), np.array([m]))[0])
    return r


def _lse_block(X: NDArray[Any], W: F64, cancel: float, comp: float) -> F64:
    """Log-sum-exp of the rows of a block.

    Unshifted first: ``log(sum(exp(x)))`` is accurate to a few units of roundoff when the
    sum lies in ``[e**2, overflow)`` (it has no rounded ``x_j - m``, and its log is at
    least 2). The other rows -- large logits, a result below 2, non-finite values -- go
    through :func:`_lse_shifted`.
    """
    np.exp(X, out=W, dtype=np.float64)
    t = np.add.reduce(W, axis=1)
    r: F64 = np.log(t)
    if not (np.minimum.reduce(t) >= _DIRECT_MIN and np.maximum.reduce(t) < np.inf):
        (bad,) = np.nonzero(~((t >= _DIRECT_MIN) & (t < np.inf)))
        Xbad = X[bad]
        r[bad] = _lse_shifted(Xbad, W[: bad.size], cancel, comp)
    return r


def _lse_shifted(X: NDArray[Any], W: F64, cancel: float, comp: float) -> F64:
    """Log-sum-exp of the rows of a block, shifted by the max.

    With the edge policy for non-finite maxima and the double-double fix for cancelling
    rows.
    """
    idx, m, _, L = _scan(X, W, W, comp)
    r = m + L
    if not _finite(m):  # +inf, -inf or nan max: that is the result
        bad = ~np.isfinite(m)
        r[bad] = m[bad]
    if np.fmin.reduce(m) < 0:
        redo = (m < 0) & (cancel * np.abs(r) < L)
        if redo.any():
            r[redo] = _lse_dd(X[redo], idx[redo], m[redo])
    return r


def _lse_long(row: NDArray[Any], w: F64, cancel: float) -> float:
    parts = []
    for c0 in range(0, row.shape[0], _BLOCK):  # unshifted first, as in _lse_block
        e = w[: row[c0 : c0 + _BLOCK].shape[0]]
        np.exp(row[c0 : c0 + _BLOCK], out=e, dtype=np.float64)
        parts.append(np.add.reduce(e))
    t = float(np.add.reduce(np.array(parts)))
    if _DIRECT_MIN <= t < math.inf:
        return math.log(t)
    i, m = _long_argmax(row)
    if not math.isfinite(m):
        return m
    L = math.log1p(_long_sum_exp(row, i, m, w, None))
    r = m + L
    if m < 0 and abs(r) * cancel < L:
        r = float(_lse_dd(row[None], np.array([i]), np.array([m]))[0])
    return r


def _lse_rows(X: NDArray[Any], out: NDArray[Any], buf: F64, work: F64) -> None:
    """Log-sum-exp of each row of the 2-D `X` into `out`."""
    n_rows, K = X.shape
    cancel, comp = _CANCEL[X.dtype], _COMP[X.dtype]
    if K > _BLOCK:
        for i in range(n_rows):
            out[i] = _lse_long(X[i], work, cancel)
        return
    for r0, r1 in _row_blocks(n_rows, K):
        Xb = _block_in(X[r0:r1], buf)
        out[r0:r1] = _lse_block(Xb, work[: Xb.size].reshape(Xb.shape), cancel, comp)


def logsumexp(x: ArrayLike, axis: int = -1, *, keepdims: bool = False) -> FloatArray:
    r"""Log of the sum of exponentials, :math:`\log \sum_j e^{x_j}`, without overflow.

    The log-partition function :math:`A(u)` of the categorical family.

    Parameters
    ----------
    x : array_like or dask.array.Array
        Real input (logits). A Dask array gives a Dask array, lazily, with the same
        accuracy for any chunking.
    axis : int, optional
        Axis to reduce over. Default ``-1``.
    keepdims : bool, optional
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray
        ``log(sum(exp(x), axis))``, float32 for float32 input, else float64.

    See Also
    --------
    softmax : its gradient.
    log_softmax

    Notes
    -----
    When :math:`t = \sum_j e^{x_j}` is finite and at least :math:`e^2`, the result is
    :math:`\log t`, accurate to a few units of roundoff as it is at least 2. Otherwise,
    with :math:`m = \max_j x_j` attained at :math:`j^*`, it is computed as
    :math:`m + \mathrm{log1p}(s)`, :math:`s = \sum_{j \ne j^*} e^{x_j - m}`,
    which keeps the digits of a sum that is tiny compared with 1 [1]_. When
    :math:`m < 0` and :math:`\mathrm{log1p}(s)` nearly cancels :math:`m` (the
    result is close to 0, as for normalised log-probabilities), the row is recomputed
    in double-double arithmetic. The error is at most
    :math:`4\,\epsilon\,|\mathrm{LSE}(x)| + 2^{-100}` (:math:`\epsilon` the machine
    epsilon of the result's dtype): 4 eps relative unless the exact result is below
    about :math:`10^{-15}` in magnitude. Results in the subnormal range are within one
    unit of the subnormal spacing. float32 input is computed in float64 and rounded once.

    Empty axis or all ``-inf`` gives ``-inf``; any ``+inf`` (and no ``nan``) gives
    ``+inf``; any ``nan`` gives ``nan``.

    References
    ----------
    .. [1] P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing the
       log-sum-exp and softmax functions", IMA J. Numer. Anal. 41 (2021).

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import logsumexp
    >>> x = np.array([1000.0, 1000.0])
    >>> with np.errstate(over="ignore"):
    ...     float(np.log(np.exp(x).sum()))  # the naive formula overflows
    inf
    >>> float(logsumexp(x))
    1000.6931471805599
    >>> float(logsumexp([0.0, -40.0]))  # log1p keeps the tiny e**-40 contribution
    4.248354255291589e-18
    >>> float(logsumexp(np.log([0.5, 0.5])))  # exactly log(2 exp(fl(log 0.5))), not 0
    2.3190468138462996e-17
    >>> logsumexp([[0.0, 0.0], [0.0, -np.inf]], axis=0)
    array([0.69314718, 0.        ])
    """
    if is_dask_collection(x):
        return _on_dask().logsumexp(x, axis, keepdims=keepdims)  # type: ignore[no-any-return]
    a = as_float_array(x, "x")
    if a.ndim == 0:
        raise ValueError("`x` must have at least one dimension to reduce over")
    ax = check_axis(axis, a.ndim)
    K = a.shape[ax]
    if a.size == K and 0 < K <= _BLOCK:  # a single short row: lean path
        row = a if a.ndim == 1 else a.reshape(K)
        im = _lean_max(row)
        if im is not None:
            with quiet():
                res = np.array(_lse_vector(row, *im), dtype=a.dtype)
            if a.ndim == 1 and not keepdims:
                return res
            return res.reshape(a.shape[:ax] + (1,) * keepdims + a.shape[ax + 1 :])
    am = _axis_last(a, ax)
    out = np.empty(am.shape[:-1], dtype=a.dtype)
    if K == 0:
        out.fill(-np.inf)
    elif out.size:
        work = np.empty(min(_BLOCK, am.size))
        buf = work if _contiguous_rows(am) else np.empty_like(work)
        with np.errstate(all="ignore"):
            for (X,), (o,) in _slabs([am], [out]):
                _lse_rows(X, o, buf, work)
    return np.expand_dims(out, ax) if keepdims else out


# ---------------------------------------------------------------------------------------
# softmax and log-softmax
# ---------------------------------------------------------------------------------------


def _softmax_shifted(X: NDArray[Any]) -> F64:
    """Softmax of the rows of a block, shifted by the max; undefined rows are nan."""
    rows = np.arange(X.shape[0])
    idx = X.argmax(axis=1)
    m = X[rows, idx].astype(np.float64, copy=False)
    e: F64 = np.subtract(X, m[:, None], dtype=np.float64)
    np.exp(e, out=e)
    e[rows, idx] = 0.0
    s = np.add.reduce(e, axis=1)
    e[rows, idx] = 1.0
    np.divide(e, (1.0 + s)[:, None], out=e)  # e_j / (1 + s)
    if not _finite(m):
        e[~np.isfinite(m)] = np.nan
    return e


def _long_exp_pass(
    row: NDArray[Any], orow: NDArray[Any] | None, work: F64
) -> tuple[int, float, float]:
    """Exponentiate a long row chunk by chunk, unshifted: ``exp(x_j)``.

    Returns the index ``i`` of the largest term, that term and the sum of all the
    others (each chunk's largest term summed apart, as in ``1 + s``). The terms are
    written to `orow` when given (in its dtype). A row holding nan gives a nan term;
    overflow gives inf: callers check and fall back to the shifted computation.
    """
    idx, tops, parts = [], [], []
    for c0 in range(0, row.shape[0], _BLOCK):
        xc = row[c0 : c0 + _BLOCK]
        oc = None if orow is None else orow[c0 : c0 + _BLOCK]
        e = work[: xc.shape[0]] if oc is None else _target(oc, work)
        np.exp(xc, out=e, dtype=np.float64)
        j = int(e.argmax())  # e is in cache, xc perhaps not; the first nan if any
        top = float(e[j])
        e[j] = 0.0
        parts.append(np.add.reduce(e))
        e[j] = top
        idx.append(c0 + j)
        tops.append(top)
        if oc is not None and e is not oc:
            oc[...] = e
    k = int(np.argmax(tops))
    top = tops[k]
    tops[k] = 0.0
    return idx[k], top, float(np.add.reduce(np.array(parts + tops)))


def _softmax_long(row: NDArray[Any], orow: NDArray[Any], work: F64) -> None:
    """Softmax of one long row, in chunks: unshifted if the sum allows, else shifted.

    The exponentials are kept in the output between the passes only when it is float64:
    a float32 output can neither hold ``exp(x_j)`` of a logit above 88.7 (it overflows)
    nor ``exp(x_j - m)`` below 2**-126 with its digits, so for it the last pass
    recomputes them in float64 and rounds each result once.
    """
    keep = orow.dtype == np.float64
    _, top, rest = _long_exp_pass(row, orow if keep else None, work)  # exp(x)
    t, m = top + rest, 0.0
    if not _DIRECT_MIN_SOFTMAX <= t < math.inf:
        j, m = _long_argmax(row)
        if not math.isfinite(m):
            orow[...] = np.nan
            return
        t = 1.0 + _long_sum_exp(row, j, m, work, orow if keep else None)  # exp(x - m)
    for c0 in range(0, row.shape[0], _BLOCK):
        oc = orow[c0 : c0 + _BLOCK]
        if keep:
            np.divide(oc, t, out=oc)
            continue
        e = work[: oc.shape[0]]
        np.subtract(row[c0 : c0 + _BLOCK], m, out=e, dtype=np.float64)
        np.exp(e, out=e)
        np.divide(e, t, out=e)
        oc[...] = e


def _softmax_rows(X: NDArray[Any], out: NDArray[Any], buf: F64, work: F64) -> None:
    n_rows, K = X.shape
    if K > _BLOCK:
        for i in range(n_rows):
            _softmax_long(X[i], out[i], work)
        return
    for r0, r1 in _row_blocks(n_rows, K):
        Xb = _block_in(X[r0:r1], buf)
        Ob = out[r0:r1]
        T = _target(Ob, work)
        # unshifted: exp(x_j) / sum exp(x) where the sum allows (see _DIRECT_MIN_SOFTMAX);
        # the largest term is added last, as in 1 + s: summed with the others, it would
        # make every one of them round relative to it
        np.exp(Xb, out=T, dtype=np.float64)
        tf, fi = _flat_at(T, T.argmax(axis=1))  # T is in cache, Xb perhaps not
        top = tf[fi]
        tf[fi] = 0.0
        t = np.add.reduce(T, axis=1) + top
        tf[fi] = top
        if not (np.minimum.reduce(t) >= _DIRECT_MIN_SOFTMAX and np.maximum.reduce(t) < np.inf):
            (bad,) = np.nonzero(~((t >= _DIRECT_MIN_SOFTMAX) & (t < np.inf)))
            T[bad] = _softmax_shifted(Xb[bad])
            t[bad] = 1.0
        np.divide(T, t[:, None], out=T)
        if T is not Ob:
            np.copyto(Ob, T, casting="same_kind")


def _softmax_vector(row: FloatArray, i: int, m: float) -> F64:
    """Softmax of a short row with max `m` at `i` (lean path), in float64."""
    e, t = None, 0.0
    if m <= _LEAN_DIRECT:  # unshifted first, as in _softmax_rows
        e = np.exp(row, dtype=np.float64)
        top = float(e[i])
        e[i] = 0.0
        t = float(np.add.reduce(e)) + top
        e[i] = top
    if e is None or not t >= _DIRECT_MIN_SOFTMAX:
        e = np.subtract(row, m, dtype=np.float64)
        np.exp(e, out=e)
        e[i] = 0.0
        t = 1.0 + float(np.add.reduce(e))
        e[i] = 1.0
    np.divide(e, t, out=e)  # e_j / (1 + s)
    return e


def softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Softmax :math:`S(x)_j = e^{x_j} / \sum_k e^{x_k}`, the gradient of log-sum-exp.

    The mean map of the categorical family: logits to probabilities.

    Parameters
    ----------
    x : array_like or dask.array.Array
        Real input (logits); ``-inf`` marks a masked category (probability 0). A Dask
        array gives a Dask array, lazily, with the same accuracy for any chunking.
    axis : int, optional
        Axis along which the probabilities sum to one. Default ``-1``.

    Returns
    -------
    ndarray
        Same shape as `x`. A row whose maximum is ``+inf``, that is all ``-inf`` or
        that holds a ``nan`` is ``nan`` throughout (undefined); other rows are unaffected.
        An empty axis gives an empty result.

    See Also
    --------
    log_softmax, logsumexp

    Notes
    -----
    Computed as :math:`e^{x_j - m} / (1 + s)` with :math:`m = \max_k x_k` and
    :math:`s = \sum_{k \ne k^*} e^{x_k - m}`, or without the shift,
    :math:`e^{x_j} / (e^{x_{k^*}} + \sum_{k \ne k^*} e^{x_k})`, when that sum is finite
    and at least 1/2: each entry has a relative error of at most
    :math:`4\epsilon + \epsilon\,|x_j - m|` (the second term is the conditioning of
    :math:`e^{x_j - m}` when :math:`x_j - m` is rounded); entries in the subnormal range
    are within one unit of the subnormal spacing. float32 input is computed in float64
    and rounded once.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import softmax
    >>> softmax([0.0, 0.0, -np.inf])
    array([0.5, 0.5, 0. ])
    >>> softmax([[1000.0, 1000.0], [0.0, np.nan]])  # the second row is undefined
    array([[0.5, 0.5],
           [nan, nan]])
    """
    if is_dask_collection(x):
        return _on_dask().softmax(x, axis)  # type: ignore[no-any-return]
    a, ax = _moved(x, "x", axis)
    K = a.shape[-1]
    if a.size == K and 0 < K <= _BLOCK:  # a single short row: lean path
        row = a if a.ndim == 1 else a.reshape(K)
        im = _lean_max(row)
        if im is not None:
            with quiet():
                e = _softmax_vector(row, *im)
                return e.astype(a.dtype, copy=False).reshape(_full_out_shape(a, ax))
    res, out = _full_out(a, ax, a.dtype)
    if K == 0 or res.size == 0:
        return res
    work = np.empty(min(_BLOCK, a.size))
    buf = work if _contiguous_rows(a) else np.empty_like(work)
    with np.errstate(all="ignore"):
        for (X, Ov), _ in _slabs([a, out], []):
            _softmax_rows(X, Ov, buf, work)
    return res


def _keep(out: FloatArray, ax: int, keepdims: bool) -> FloatArray:
    """Reinsert the reduced axis `ax` (of the caller's input) with length one if asked."""
    return np.expand_dims(out, ax) if keepdims else out


def _full_out_shape(moved: NDArray[Any], ax: int) -> tuple[int, ...]:
    return moved.shape[:ax] + moved.shape[-1:] + moved.shape[ax:-1]


def _log_softmax_long(row: NDArray[Any], orow: NDArray[Any], work: F64) -> None:
    """Log-softmax of one long row, in chunks: ``s``, then the output.

    ``s`` comes from the unshifted exponentials, ``sum_{j != i} exp(x_j) / exp(x_i)``,
    when they neither overflow nor lose digits to underflow (the max is at least 0, so
    ``exp(x_j)`` underflows no sooner than ``exp(x_j - m)``, or the sum is far above the
    underflow threshold); they are written to the output when it is float64, so that
    its first writes overlap with the exp. Other rows are shifted by their max first.
    """
    direct = orow.dtype == np.float64 and _contiguous_rows(orow)
    i, top, rest = _long_exp_pass(row, orow if direct else None, work)
    m = float(row[i])
    if math.isfinite(top + rest) and top > 0 and (m >= 0 or rest >= _DIRECT_MIN_REST):
        L = math.log1p(rest / top)
    else:
        j, m = _long_argmax(row)
        if not math.isfinite(m):
            orow[...] = np.nan
            return
        L = math.log1p(_long_sum_exp(row, j, m, work, None))
    for c0 in range(0, row.shape[0], _BLOCK):
        xc, oc = row[c0 : c0 + _BLOCK], orow[c0 : c0 + _BLOCK]
        d = oc if direct else work[: xc.shape[0]]
        np.subtract(xc, m, out=d, dtype=np.float64)
        np.subtract(d, L, out=d)  # (x_j - m) - log1p(s): two terms <= 0
        if d is not oc:
            oc[...] = d


def _log_softmax_rows(X: NDArray[Any], out: NDArray[Any], buf: F64, work: F64, e_buf: F64) -> None:
    n_rows, K = X.shape
    if K > _BLOCK:
        for i in range(n_rows):
            _log_softmax_long(X[i], out[i], work)
        return
    comp = _COMP[X.dtype]
    for r0, r1 in _row_blocks(n_rows, K):
        Xb = _block_in(X[r0:r1], buf)
        Ob = out[r0:r1]
        # the exponentials go to the output block, the shifted logits to a buffer in
        # cache: the first writes to a freshly allocated output then overlap with the
        # slow exp instead of stalling a cheap subtraction
        E = _target(Ob, work)
        D = e_buf[: Xb.size].reshape(Xb.shape)
        _, m, _, L = _scan(Xb, D, E, comp)
        np.subtract(D, L[:, None], out=E)  # (x_j - m) - log1p(s): two terms <= 0
        if not _finite(m):
            E[~np.isfinite(m)] = np.nan
        if E is not Ob:
            np.copyto(Ob, E, casting="same_kind")


def log_softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Log of the softmax, :math:`x_j - \operatorname{LSE}(x)`, accurate for every entry.

    Parameters
    ----------
    x : array_like or dask.array.Array
        Real input (logits); ``-inf`` entries stay ``-inf``. A Dask array gives a
        Dask array, lazily, with the same accuracy for any chunking.
    axis : int, optional
        Axis of the categories. Default ``-1``.

    Returns
    -------
    ndarray
        Same shape as `x`; undefined rows (see :func:`softmax`) are ``nan``.

    See Also
    --------
    softmax, logsumexp

    Notes
    -----
    Computed as :math:`(x_j - m) - \mathrm{log1p}(s)`, the sum of two non-positive
    numbers, so that every entry has a relative error of at most :math:`4\epsilon` and
    the dominant entry keeps its digits: for ``x = [0, -40]`` the first entry is
    ``-4.25e-18``, not ``0`` as with ``x - logsumexp(x)``. float32 input is computed in
    float64 and rounded once.

    Examples
    --------
    >>> from expfam import log_softmax
    >>> log_softmax([0.0, -40.0])
    array([-4.24835426e-18, -4.00000000e+01])
    """
    if is_dask_collection(x):
        return _on_dask().log_softmax(x, axis)  # type: ignore[no-any-return]
    a, ax = _moved(x, "x", axis)
    K = a.shape[-1]
    if a.size == K and 0 < K <= _BLOCK:  # a single short row: lean path
        row = a if a.ndim == 1 else a.reshape(K)
        im = _lean_max(row)
        if im is not None:
            with quiet():  # exp may underflow; a float32 result overflow
                d, _, s = _lean_scan(row, *im)
                np.subtract(d, math.log1p(s), out=d)
                return d.astype(a.dtype, copy=False).reshape(_full_out_shape(a, ax))
    res, out = _full_out(a, ax, a.dtype)
    if K == 0 or res.size == 0:
        return res
    work = np.empty(min(_BLOCK, a.size))
    e_buf = np.empty_like(work)
    buf = work if _contiguous_rows(a) else np.empty_like(work)
    with np.errstate(all="ignore"):
        for (X, Ov), _ in _slabs([a, out], []):
            _log_softmax_rows(X, Ov, buf, work, e_buf)
    return res


# ---------------------------------------------------------------------------------------
# Entropy, KL divergence and cross-entropy of probability vectors
# ---------------------------------------------------------------------------------------


def _prob_pair(
    p: ArrayLike, q: ArrayLike, axis: Any, qname: str = "q"
) -> tuple[FloatArray, FloatArray, int, np.dtype[Any]]:
    """Validate, broadcast and move the axis of `p` and `q` last.

    Returns the two axis-last views, the axis and the result dtype.
    """
    pa = as_float_array(p, "p")
    qa = as_float_array(q, qname)
    check_nonnegative(pa, "p")
    ndim = max(pa.ndim, qa.ndim)
    if ndim == 0:
        raise ValueError(f"`p` and `{qname}` must have at least one dimension to reduce over")
    if pa.shape != qa.shape:
        try:
            pa, qa = np.broadcast_arrays(pa, qa)
        except ValueError:
            raise ValueError(
                f"`p` with shape {pa.shape} and `{qname}` with shape {qa.shape} do not broadcast"
            ) from None
    ax = check_axis(axis, ndim)
    return _axis_last(pa, ax), _axis_last(qa, ax), ax, result_float_dtype(pa, qa)


def _reduce_terms(
    arrays: list[FloatArray], dtype: Any, terms: Callable[..., F64], n_work: int = 1
) -> FloatArray:
    """Sum over the last axis of ``terms(*blocks, *work)``, computed in float64 by blocks.

    `terms` receives 2-D blocks of `arrays` and `n_work` float64 work arrays of the
    block's shape, and returns the float64 terms (possibly one of the work arrays).
    """
    lead, K = arrays[0].shape[:-1], arrays[0].shape[-1]
    out = np.empty(lead, dtype=dtype)
    if K == 0 or out.size == 0:
        out.fill(0)
        return out
    size = min(_BLOCK, arrays[0].size)
    work = [np.empty(size) for _ in range(n_work)]
    with np.errstate(all="ignore"):
        for views, (o,) in _slabs(arrays, [out]):
            n_rows = views[0].shape[0]
            blocks = _row_blocks(n_rows, K) if K <= _BLOCK else ((i, i + 1) for i in range(n_rows))
            for r0, r1 in blocks:
                parts = []
                for c0 in range(0, K, _BLOCK):
                    bl = [v[r0:r1, c0 : c0 + _BLOCK] for v in views]
                    ws = [w[: bl[0].size].reshape(bl[0].shape) for w in work]
                    parts.append(np.add.reduce(terms(*bl, *ws), axis=1))
                o[r0:r1] = parts[0] if len(parts) == 1 else np.add.reduce(np.array(parts), axis=0)
    return out


def _entropy_terms(P: NDArray[Any], W: F64) -> F64:
    return special.entr(P, out=W, dtype=np.float64)  # type: ignore[no-any-return]


def entropy(p: ArrayLike, axis: int = -1, *, keepdims: bool = False) -> FloatArray:
    r"""Shannon entropy :math:`H(p) = -\sum_j p_j \log p_j` in nats, with :math:`0 \log 0 = 0`.

    Parameters
    ----------
    p : array_like or dask.array.Array
        Non-negative weights (a probability vector, or any non-negative vector: no
        renormalisation is done). A Dask array gives a Dask array, lazily, with the
        same accuracy for any chunking; the weights are checked when it is computed.
    axis : int, optional
        Axis to reduce over. Default ``-1``.
    keepdims : bool, optional
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray
        The entropy; an empty axis gives ``0``.

    Raises
    ------
    ValueError
        If `p` has a negative entry.

    See Also
    --------
    cross_entropy, kl_divergence

    Notes
    -----
    The error is at most :math:`4\epsilon \sum_j |p_j \log p_j|`. float32 input is
    computed in float64 and rounded once.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import entropy
    >>> bool(entropy([0.5, 0.5, 0.0]) == np.log(2))
    True
    """
    if is_dask_collection(p):
        return _on_dask().entropy(p, axis, keepdims=keepdims)  # type: ignore[no-any-return]
    a, ax = _moved(p, "p", axis)
    check_nonnegative(a, "p")
    return _keep(_reduce_terms([a], a.dtype, _entropy_terms), ax, keepdims)


def _kl_terms(p: NDArray[Any], q: NDArray[Any], ratio: F64, terms: F64) -> F64:
    """Return ``p_j log(p_j / q_j)`` with ``0 log(0/q) = 0`` and ``p log(p/0) = inf``."""
    np.divide(p, q, out=ratio, dtype=np.float64)
    np.abs(ratio, out=ratio)  # a -0.0 weight is a zero: p / -0.0 is +inf, not -inf
    np.log(ratio, out=terms)
    # near p == q, log(p/q) = log1p((p - q)/q) with p - q exact (Sterbenz)
    near = (ratio >= 0.5) & (ratio <= 2.0)
    if near.any():
        d = np.subtract(p, q, dtype=np.float64)
        np.divide(d, q, out=d)
        np.log1p(d, out=d)
        np.copyto(terms, d, where=near)
    # p/q overflowed, underflowed or went subnormal although p, q > 0: log p - log q
    far = ((ratio < _TINY) | np.isposinf(ratio)) & (p > 0) & (q > 0)
    if far.any():
        np.copyto(terms, np.log(p, dtype=np.float64) - np.log(q, dtype=np.float64), where=far)
    np.multiply(p, terms, out=terms)
    # a zero weight contributes exactly 0, unless q is nan
    np.copyto(terms, 0.0, where=(p == 0) & ~np.isnan(q))
    return terms


def kl_divergence(
    p: ArrayLike, q: ArrayLike, axis: int = -1, *, keepdims: bool = False
) -> FloatArray:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p\|q) = \sum_j p_j \log(p_j/q_j)`.

    Parameters
    ----------
    p, q : array_like or dask.array.Array
        Non-negative weights, broadcast against each other. No renormalisation.
        Dask arrays give a Dask array, lazily, with the same accuracy for any
        chunking; the weights are checked when it is computed.
    axis : int, optional
        Axis to reduce over. Default ``-1``.
    keepdims : bool, optional
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray
        ``+inf`` where some ``q_j = 0 < p_j``; terms with ``p_j = 0`` are ``0``.

    Raises
    ------
    ValueError
        If `p` or `q` has a negative entry, or the shapes do not broadcast.

    See Also
    --------
    entropy, cross_entropy

    Notes
    -----
    Each term uses :math:`\log(p_j/q_j) = \mathrm{log1p}((p_j - q_j)/q_j)` when
    :math:`q_j/2 \le p_j \le 2 q_j` (where :math:`p_j - q_j` is exact), so that the
    divergence of nearby distributions keeps its digits; the error is at most
    :math:`4\epsilon \sum_j |p_j \log(p_j/q_j)|`.

    Examples
    --------
    >>> from expfam import kl_divergence
    >>> float(kl_divergence([0.5, 0.5], [0.5, 0.5]))
    0.0
    >>> float(kl_divergence([0.5, 0.5], [1.0, 0.0]))
    inf
    """
    if is_dask_collection(p, q):
        return _on_dask().kl_divergence(p, q, axis, keepdims=keepdims)  # type: ignore[no-any-return]
    pa, qa, ax, dt = _prob_pair(p, q, axis)
    check_nonnegative(qa, "q")
    return _keep(_reduce_terms([pa, qa], dt, _kl_terms, n_work=2), ax, keepdims)


def _ce_terms(P: NDArray[Any], Q: NDArray[Any], W: F64) -> F64:
    special.xlogy(P, Q, out=W, dtype=np.float64)
    return np.negative(W, out=W)


def cross_entropy(
    p: ArrayLike, q: ArrayLike, axis: int = -1, *, keepdims: bool = False
) -> FloatArray:
    r"""Cross-entropy :math:`\ell(p, q) = -\sum_j p_j \log q_j`, with :math:`0 \log 0 = 0`.

    Parameters
    ----------
    p, q : array_like or dask.array.Array
        Non-negative weights, broadcast against each other. No renormalisation.
        Dask arrays give a Dask array, lazily, with the same accuracy for any
        chunking; the weights are checked when it is computed.
    axis : int, optional
        Axis to reduce over. Default ``-1``.
    keepdims : bool, optional
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray
        ``+inf`` where some ``q_j = 0 < p_j``.

    Raises
    ------
    ValueError
        If `p` or `q` has a negative entry, or the shapes do not broadcast.

    See Also
    --------
    cross_entropy_with_logits, entropy, kl_divergence

    Notes
    -----
    The error is at most :math:`4\epsilon \sum_j |p_j \log q_j|`.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import cross_entropy, entropy, kl_divergence
    >>> p, q = np.array([0.25, 0.75]), np.array([0.5, 0.5])
    >>> bool(np.isclose(cross_entropy(p, q), entropy(p) + kl_divergence(p, q)))
    True
    """
    if is_dask_collection(p, q):
        return _on_dask().cross_entropy(p, q, axis, keepdims=keepdims)  # type: ignore[no-any-return]
    pa, qa, ax, dt = _prob_pair(p, q, axis)
    check_nonnegative(qa, "q")
    return _keep(_reduce_terms([pa, qa], dt, _ce_terms), ax, keepdims)


# ---------------------------------------------------------------------------------------
# Cross-entropy with logits
# ---------------------------------------------------------------------------------------


def _ce_value(P: NDArray[Any], T: F64) -> F64:
    """Return ``sum_j p_j T_j`` per row of ``T = log1p(s) - (u_j - m) >= 0`` (overwritten).

    A term with ``p_j = 0`` is 0 even where ``T_j = inf`` (a masked logit); a nan in `P`
    still makes a nan.
    """
    np.multiply(P, T, out=T)
    v: F64 = np.add.reduce(T, axis=1)
    if np.isnan(np.add.reduce(v)):  # rare: redo the rows with 0 * inf
        (bad,) = np.nonzero(np.isnan(v))
        Tb = T[bad]
        np.copyto(Tb, 0.0, where=(P[bad] == 0))
        v[bad] = np.add.reduce(Tb, axis=1)
    return v


def _ce_logits_rows(
    P: NDArray[Any],
    U: NDArray[Any],
    val: NDArray[Any],
    G: NDArray[Any] | None,
    bufs: list[F64],
) -> None:
    """Value (and gradient into `G`) of the cross-entropy with logits, row block by block."""
    n_rows, K = U.shape
    pbuf, ubuf, dbuf, ebuf = bufs
    if K > _BLOCK:
        for i in range(n_rows):
            g = None if G is None else G[i]
            val[i] = _ce_logits_long(P[i], U[i], g, dbuf, ebuf)
        return
    comp = _COMP[U.dtype]
    for r0, r1 in _row_blocks(n_rows, K):
        Pb = _block_in(P[r0:r1], pbuf)
        Ub = _block_in(U[r0:r1], ubuf)
        D = dbuf[: Ub.size].reshape(Ub.shape)
        Gb = None if G is None else G[r0:r1]
        E = ebuf[: Ub.size].reshape(Ub.shape) if Gb is None else _target(Gb, ebuf)
        idx, m, s, L = _scan(Ub, D, E, comp)
        # value: sum_j p_j * (log1p(s) - (u_j - m)), a sum of non-negative terms
        np.subtract(L[:, None], D, out=D)
        v = _ce_value(Pb, D)
        if np.add.reduce(v) == np.inf:  # rare: u_j - m may have overflowed
            (big,) = np.nonzero((v == np.inf) & np.isfinite(m))
            if big.size:
                v[big] = _ce_value_halved(Pb[big], Ub[big], m[big], L[big])
        ok = _finite(m)
        if not ok:
            v[~np.isfinite(m)] = np.nan
        val[r0:r1] = v
        if Gb is not None:
            ef, fi = _flat_at(E, idx)
            ef[fi] = 1.0
            total = np.add.reduce(Pb, axis=1, dtype=np.float64)
            np.multiply(E, (total / (1.0 + s))[:, None], out=E)
            np.subtract(E, Pb, out=E)
            if not ok:
                E[~np.isfinite(m)] = np.nan
            if E is not Gb:
                np.copyto(Gb, E, casting="same_kind")


def _ce_logits_long(
    p: NDArray[Any], u: NDArray[Any], g: NDArray[Any] | None, d: F64, e: F64
) -> float:
    """Return the value of one long row and write its gradient into `g`, in chunks.

    Passes: arg-max; ``exp(u - m)`` (into `g` when it is float64), ``s`` and ``sum p``;
    value and gradient (recomputing ``exp(u - m)`` for a float32 `g`, which would lose
    the digits of a term below 2**-126 that the scale by ``sum p`` can bring back).
    """
    K = u.shape[0]
    j, m = _long_argmax(u)
    if not math.isfinite(m):
        if g is not None:
            g[...] = np.nan
        return math.nan
    keep = g is not None and g.dtype == np.float64
    s = _long_sum_exp(u, j, m, e, g if keep else None)
    L = math.log1p(s)
    total = sum(
        float(np.add.reduce(p[c0 : c0 + _BLOCK], dtype=np.float64)) for c0 in range(0, K, _BLOCK)
    )
    scale = total / (1.0 + s)
    parts = []
    for c0 in range(0, K, _BLOCK):
        uc, pc = u[c0 : c0 + _BLOCK], p[c0 : c0 + _BLOCK]
        dc = d[: uc.shape[0]]
        np.subtract(uc, m, out=dc, dtype=np.float64)
        np.subtract(L, dc, out=dc)
        parts.append(_ce_value(pc[None], dc[None])[0])
        if g is not None:
            gc = g[c0 : c0 + _BLOCK]
            if keep:
                np.multiply(gc, scale, out=gc)
                np.subtract(gc, pc, out=gc)
            else:  # recompute exp(u - m) in float64 (dc is free again), round once
                np.subtract(uc, m, out=dc, dtype=np.float64)
                np.exp(dc, out=dc)
                np.multiply(dc, scale, out=dc)
                np.subtract(dc, pc, out=dc)
                gc[...] = dc
    value = float(np.add.reduce(np.array(parts)))
    if value == math.inf:  # rare: u_j - m may have overflowed
        value = float(_ce_value_halved(p[None], u[None], np.array([m]), np.array([L]))[0])
    return value


def _ce_value_halved(P: NDArray[Any], U: NDArray[Any], m: F64, L: F64) -> F64:
    """Return ``sum_j p_j (log1p(s) + (m - u_j))`` per row as twice a sum of halves.

    For rows whose ``m - u_j`` overflows although the value may not (logits spanning
    more than the float range, ``u = [1e308, -1e308]``): halving is exact there, as
    every logit that matters is far above the subnormal range. ``+inf`` remains where
    the value overflows or a masked category has weight.
    """
    out = np.zeros(U.shape[0])
    for c0 in range(0, U.shape[1], _BLOCK):
        T = np.subtract(0.5 * m[:, None], 0.5 * U[:, c0 : c0 + _BLOCK], dtype=np.float64)
        T += 0.5 * L[:, None]
        out += np.add.reduce(mul0(P[:, c0 : c0 + _BLOCK].astype(np.float64), T), axis=1)
    return 2.0 * out


@overload
def cross_entropy_with_logits(
    p: ArrayLike,
    logits: ArrayLike,
    axis: int = -1,
    *,
    keepdims: bool = False,
    return_grad: Literal[False] = False,
) -> FloatArray: ...
@overload
def cross_entropy_with_logits(
    p: ArrayLike,
    logits: ArrayLike,
    axis: int = -1,
    *,
    keepdims: bool = False,
    return_grad: Literal[True],
) -> tuple[FloatArray, FloatArray]: ...
def cross_entropy_with_logits(
    p: ArrayLike,
    logits: ArrayLike,
    axis: int = -1,
    *,
    keepdims: bool = False,
    return_grad: bool = False,
) -> FloatArray | tuple[FloatArray, FloatArray]:
    r"""Cross-entropy of `p` against ``softmax(logits)``, and optionally its gradient.

    .. math::

        h(u) = -\sum_j p_j \log S(u)_j = (\textstyle\sum_j p_j)\,\operatorname{LSE}(u)
               - \langle p, u\rangle,
        \qquad \nabla_u h = (\textstyle\sum_j p_j)\, S(u) - p .

    For a probability vector `p` this is :math:`-\langle p,u\rangle + \operatorname{LSE}(u)
    = \mathrm{KL}(p\|S(u)) + H(p)` with gradient :math:`S(u) - p`; for counts it is the
    negative log-likelihood.

    Parameters
    ----------
    p : array_like or dask.array.Array
        Non-negative target weights (probabilities or counts).
    logits : array_like or dask.array.Array
        Real logits `u`, broadcast against `p`; ``-inf`` marks a masked category.
        Dask arrays give a Dask array, lazily, with the same accuracy for any
        chunking; the weights are checked when it is computed.
    axis : int, optional
        Axis of the categories. Default ``-1``.
    keepdims : bool, optional
        Keep the reduced axis of the value with length one.
    return_grad : bool, optional
        Also return the gradient with respect to `logits`, computed in the same pass.

    Returns
    -------
    value : ndarray
        The cross-entropy; ``+inf`` where a masked category has ``p_j > 0``; ``nan``
        for a row of `logits` whose softmax is undefined (see :func:`softmax`).
    grad : ndarray
        Only with ``return_grad=True``: the gradient, shaped like the broadcast input.

    Raises
    ------
    ValueError
        If `p` has a negative entry, or the shapes do not broadcast.

    See Also
    --------
    cross_entropy, softmax, logsumexp

    Notes
    -----
    Evaluated as :math:`\sum_j p_j\,(\mathrm{log1p}(s) + (m - u_j))` with
    :math:`m = \max_j u_j`, a sum of non-negative terms, so the relative error is at
    most :math:`4\epsilon`, however close `p` is to ``softmax(logits)``. float32 input is
    computed in float64 and rounded once.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import cross_entropy_with_logits, entropy, kl_divergence, softmax
    >>> p, u = np.array([0.7, 0.3, 0.0]), np.array([2.0, 0.5, -np.inf])
    >>> h, g = cross_entropy_with_logits(p, u, return_grad=True)
    >>> bool(np.isclose(h, kl_divergence(p, softmax(u)) + entropy(p)))
    True
    >>> bool(np.allclose(g, softmax(u) - p))
    True
    """
    if is_dask_collection(p, logits):
        return _on_dask().cross_entropy_with_logits(  # type: ignore[no-any-return]
            p, logits, axis, keepdims=keepdims, return_grad=return_grad
        )
    pm, um, ax, dt = _prob_pair(p, logits, axis, qname="logits")
    lead, K = um.shape[:-1], um.shape[-1]
    value = np.empty(lead, dtype=dt)
    grad, gm = _full_out(um, ax, dt) if return_grad else (None, None)
    if K == 0:
        value.fill(0)
    elif value.size:
        size = min(_BLOCK, um.size)
        bufs = [np.empty(size) for _ in range(4)]
        full = [pm, um] if gm is None else [pm, um, gm]
        with np.errstate(all="ignore"):
            for views, (v,) in _slabs(full, [value]):
                _ce_logits_rows(views[0], views[1], v, views[2] if gm is not None else None, bufs)
    if grad is None:
        return _keep(value, ax, keepdims)
    return _keep(value, ax, keepdims), grad
