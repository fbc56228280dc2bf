"""The kernels on Dask arrays: lazy, along any axis, with the in-memory accuracy and edges.

Imported only when a kernel receives a Dask array (this module imports Dask).

*log-sum-exp as a tree reduction.* Each chunk of a row is summarised by a record
``(m, s, h, l)``: its max ``m``, ``s = sum_{j != j*} exp(x_j - m)`` (the in-memory
core, :func:`expfam._kernels._scan`, compensated for the rounding of ``x_j - m``), and,
for a chunk that may take part in a cancelling row (below), ``h + l = sum_j exp(x_j)``
in double-double. Records merge associatively, in any order and tree shape
(``dask.array.reduction``): the larger max wins, and the other record's ``1 + s`` is
rescaled by ``exp(m' - m)``, with the rounding error of ``m' - m`` added back; the
double-doubles add exactly. The result is ``m + log1p(s)``, as in memory; a row with
``m < 0`` whose result nearly cancels (the in-memory criterion) takes
``log(h + l)`` instead, which is what the in-memory double-double path computes.

A chunk computes its double-double sum only when its row can cancel and its own
contribution can matter: its max is negative, ``m + log1p(s)`` is above ``-50``
(smaller contributions are below ``2**-72`` of a result near 0) and below
``-m / (cancel - 1)`` (a larger result cannot cancel).

*softmax, log-softmax and cross-entropy with logits* take the merged ``(m, s)`` of each
row, broadcast along the axis, and finish blockwise with the in-memory formulas:
``exp(x_j - m) / (1 + s)``, ``(x_j - m) - log1p(s)`` and
``sum_j p_j (log1p(s) + (m - u_j))``.

*entropy, KL and cross-entropy* are sums of terms: each block's float64 partial sum is
computed by the in-memory kernel, and the partial sums are summed by Dask's tree sum.

Every block function sets its own ``np.errstate``: results do not depend on the error
state of the threads or processes that run them. Input checks that need the values
(non-negative weights) run when the result is computed, and raise then.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import dask.array
import numpy as np

from expfam import _kernels as kern
from expfam._dask import (
    KNOWN_CHUNKS_HINT,
    as_dask_array,
    has_unknown_shape,
    reduced_chunks,
    result_float_dtype,
)
from expfam._validation import check_axis, check_nonnegative

da: Any = dask.array  # Dask is only partly annotated

__all__ = [
    "cross_entropy",
    "cross_entropy_with_logits",
    "entropy",
    "kl_divergence",
    "log_softmax",
    "logsumexp",
    "softmax",
]

# one record per row and chunk: max, scaled sum, and the double-double sum of exp(x)
_REC = np.dtype([("m", "f8"), ("s", "f8"), ("h", "f8"), ("l", "f8")])
# a chunk whose log-sum-exp is below this contributes less than 2**-72 to a row whose
# log-sum-exp is near 0: its float64 summary is enough there
_NEGLIGIBLE = -50.0


def _rows_of(b: np.ndarray[Any, Any], ax: int) -> tuple[np.ndarray[Any, Any], tuple[int, ...]]:
    moved = np.moveaxis(b, ax, -1)
    lead = moved.shape[:-1]
    return moved.reshape(math.prod(lead), moved.shape[-1]), lead


def _as_keepdims(flat: np.ndarray[Any, Any], lead: tuple[int, ...], ax: int) -> Any:
    return np.expand_dims(flat.reshape(lead), ax)


def _chunk_records(X: np.ndarray[Any, Any], cancel: float, comp: float) -> Any:
    """Return the records of the rows of the 2-D `X` (one chunk of each row)."""
    n, width = X.shape
    rec = np.zeros(n, _REC)
    if width == 0 or n == 0:
        rec["m"] = -np.inf
        return rec
    m, s = _max_and_s(X, comp)
    fin = np.isfinite(m)
    rec["m"] = m
    rec["s"] = np.where(fin, s, 0.0)
    lse = m + np.log1p(s)
    rec["h"] = np.where(fin, np.exp(np.minimum(lse, 709.0)), 0.0)
    limit = -m / (cancel - 1.0) if cancel > 1 else np.inf
    (dd,) = np.nonzero(fin & (m < 0) & (lse > _NEGLIGIBLE) & (lse < limit))
    if dd.size:
        rec["h"][dd], rec["l"][dd] = kern._sum_exp_dd(X[dd])
    return rec


def _max_and_s(X: np.ndarray[Any, Any], comp: float) -> tuple[Any, Any]:
    """Return the max and ``s`` of each row of `X`, a block of about ``_BLOCK`` at a time.

    One work buffer of a block is reused (as in memory), rather than a float64 copy of
    the chunk; a row longer than a block is processed in pieces along it. ``s`` of a
    row with a non-finite max is garbage.
    """
    n, width = X.shape
    m, s = np.empty(n), np.empty(n)
    w = np.empty(min(kern._BLOCK, n * width))
    if width > kern._BLOCK:
        for i in range(n):
            j, mi = kern._long_argmax(X[i])
            m[i] = mi
            s[i] = kern._long_sum_exp(X[i], j, mi, w, None) if math.isfinite(mi) else 0.0
        return m, s
    step = max(1, kern._BLOCK // width)
    for r0 in range(0, n, step):
        Xb = X[r0 : r0 + step]
        D = w[: Xb.size].reshape(Xb.shape)
        _, m[r0 : r0 + step], s[r0 : r0 + step], _ = kern._scan(Xb, D, D, comp)
    return m, s


def _merge(R: Any) -> Any:
    """Merge records along the last axis into one record per row (a 1-D record array)."""
    M, S = R["m"], R["s"]
    n, k = M.shape
    out = np.zeros(n, _REC)
    if k == 0:
        out["m"] = -np.inf
        return out
    top = M.argmax(axis=1)  # the first nan, else the first max
    rows = np.arange(n)
    m = M[rows, top]
    d = M - m[:, None]
    bb = d - M
    delta = (M - (d - bb)) + (-m[:, None] - bb)  # the rounding error of M - m
    delta[~np.isfinite(delta)] = 0.0
    w = (1.0 + S) * np.exp(d) * (1.0 + delta)
    w[rows, top] = S[rows, top]
    w[~np.isfinite(d)] = 0.0  # -inf records, and rows with a non-finite max
    w[rows, top] = np.where(np.isfinite(m), S[rows, top], 0.0)
    out["m"] = m
    out["s"] = np.add.reduce(w, axis=1)
    out["h"], out["l"] = kern._dd_sum(R["h"], R["l"])
    return out


def _rec_chunk(
    b: Any,
    *,
    axis: tuple[int, ...],
    keepdims: bool,
    cancel: float,
    comp: float,
    computing_meta: bool = False,
) -> Any:
    """``dask.array.reduction`` chunk: the records of a block, keepdims."""
    del keepdims
    (ax,) = axis
    if computing_meta:
        return np.empty((0,) * b.ndim, _REC)
    X, lead = _rows_of(b, ax)
    with np.errstate(all="ignore"):
        return _as_keepdims(_chunk_records(X, cancel, comp), lead, ax)


def _rec_combine(
    R: Any, *, axis: tuple[int, ...], keepdims: bool, computing_meta: bool = False
) -> Any:
    """``dask.array.reduction`` combine and aggregate: merge records, keepdims."""
    del keepdims
    (ax,) = axis
    if computing_meta:
        return np.empty((0,) * R.ndim, _REC)
    rows, lead = _rows_of(R, ax)
    with np.errstate(all="ignore"):
        return _as_keepdims(_merge(rows), lead, ax)


def _records(x: Any, ax: int) -> Any:
    """Return the merged record of every row along `ax` (a Dask record array, keepdims)."""
    dt = np.dtype(x.dtype)
    chunk = partial(_rec_chunk, cancel=kern._CANCEL[dt], comp=kern._COMP[dt])
    return da.reduction(
        x,
        chunk,
        _rec_combine,
        combine=_rec_combine,
        axis=ax,
        keepdims=True,
        dtype=_REC,
        concatenate=True,
        meta=np.empty((0,) * x.ndim, _REC),
    )


def _lse_of_records(R: Any, cancel: float, dtype_: Any) -> Any:
    """Return the log-sum-exp of each row from its record (numpy, elementwise)."""
    with np.errstate(all="ignore"):
        m, s, h, lo = R["m"], R["s"], R["h"], R["l"]
        L = np.log1p(s)
        r = m + L
        fin = np.isfinite(m)
        r = np.where(fin, r, m)
        need = fin & (m < 0) & (cancel * np.abs(r) < L)
        if need.any():
            hn, ln = h[need], lo[need]
            near = (hn >= 0.5) & (hn <= 2.0)
            r[need] = np.where(near, np.log1p((hn - 1.0) + ln), np.log(hn) + ln / hn)
        return r.astype(dtype_)


def _moved_axis(x: Any, name: str, axis: Any) -> tuple[Any, int]:
    a = as_dask_array(x, name)
    if a.ndim == 0:
        raise ValueError(f"`{name}` must have at least one dimension to reduce over")
    return a, check_axis(axis, a.ndim)


def logsumexp(x: Any, axis: Any = -1, *, keepdims: bool = False) -> Any:
    """Dask version of :func:`expfam.logsumexp` (lazy)."""
    a, ax = _moved_axis(x, "x", axis)
    dt = np.dtype(a.dtype)
    R = _records(a, ax)
    r = R.map_blocks(
        _lse_of_records,
        cancel=kern._CANCEL[dt],
        dtype=dt,
        dtype_=dt,
        meta=np.empty((0,) * a.ndim, dt),
    )
    return r if keepdims else r.squeeze(axis=ax)


def _parts(a: Any, ax: int) -> tuple[Any, Any]:
    """Return the max ``m`` and ``s`` of each row, keepdims, as float64 Dask arrays."""
    R = _records(a, ax)
    meta = np.empty((0,) * a.ndim)
    m = R.map_blocks(lambda r: r["m"].copy(), dtype=np.float64, meta=meta)
    s = R.map_blocks(lambda r: r["s"].copy(), dtype=np.float64, meta=meta)
    return m, s


def _undefined_rows_nan(out: Any, m: Any) -> None:
    """Set to nan the rows of `out` whose max `m` (broadcast along the axis) is not finite."""
    bad = ~np.isfinite(m)
    if bad.any():
        out[np.broadcast_to(bad, out.shape)] = np.nan


def _softmax_block(x: Any, m: Any, s: Any, dtype: Any) -> Any:
    with np.errstate(all="ignore"):
        e = np.exp(np.subtract(x, m, dtype=np.float64))
        e /= 1.0 + s
        _undefined_rows_nan(e, m)
        return e.astype(dtype, copy=False)


def _log_softmax_block(x: Any, m: Any, s: Any, dtype: Any) -> Any:
    with np.errstate(all="ignore"):
        d = np.subtract(x, m, dtype=np.float64)
        d -= np.log1p(s)
        _undefined_rows_nan(d, m)
        return d.astype(dtype, copy=False)


def _full(block_fn: Any, x: Any, axis: Any) -> Any:
    a, ax = _moved_axis(x, "x", axis)
    dt = np.dtype(a.dtype)
    if a.shape[ax] == 0:
        return a
    m, s = _parts(a, ax)
    return da.map_blocks(block_fn, a, m, s, dtype=dt, dtype_=dt, meta=np.empty((0,) * a.ndim, dt))


def softmax(x: Any, axis: Any = -1) -> Any:
    """Dask version of :func:`expfam.softmax` (lazy)."""
    return _full(_dtype_kw(_softmax_block), x, axis)


def log_softmax(x: Any, axis: Any = -1) -> Any:
    """Dask version of :func:`expfam.log_softmax` (lazy)."""
    return _full(_dtype_kw(_log_softmax_block), x, axis)


def _dtype_kw(fn: Any) -> Any:
    """Adapt ``fn(..., dtype)`` to map_blocks, which keeps ``dtype=`` for itself."""

    def wrapped(*args: Any, dtype_: Any) -> Any:
        return fn(*args, dtype=dtype_)

    return wrapped


# ---------------------------------------------------------------------------------------
# Sums of terms: entropy, KL divergence, cross-entropy
# ---------------------------------------------------------------------------------------


def _broadcast(p: Any, q: Any, qname: str) -> tuple[Any, Any]:
    try:
        return tuple(da.broadcast_arrays(p, q))
    except ValueError:
        unknown = [n for n, a in (("p", p), (qname, q)) if has_unknown_shape(a)]
        if unknown:  # not an error in itself, but Dask cannot match the lengths
            names = " and ".join(f"`{n}`" for n in unknown)
            raise ValueError(
                f"{names} with shapes {p.shape} and {q.shape}: unknown chunk sizes (as after "
                f"boolean indexing) cannot be matched against each other; {KNOWN_CHUNKS_HINT}"
            ) from None
        raise ValueError(
            f"`p` with shape {p.shape} and `{qname}` with shape {q.shape} do not broadcast"
        ) from None


def _partial_sums(kernel: Any, ax: int, *blocks: Any) -> Any:
    """Return a block's float64 partial sums along `ax` (keepdims), by the in-memory kernel."""
    return kernel(*[np.asarray(b, dtype=np.float64) for b in blocks], axis=ax, keepdims=True)


def _sum_of_terms(kernel: Any, arrays: list[Any], ax: int, keepdims: bool) -> Any:
    dt = result_float_dtype(*arrays)
    arrays = _unified(arrays)
    parts = da.map_blocks(
        partial(_partial_sums, kernel, ax),
        *arrays,
        chunks=reduced_chunks(arrays[0].chunks, ax),
        dtype=np.float64,
        meta=np.empty((0,) * arrays[0].ndim),
    )
    return parts.sum(axis=ax, keepdims=keepdims).astype(dt)


def _unified(arrays: list[Any]) -> list[Any]:
    """Rechunk arrays of one shape to common chunks (where their chunk boundaries differ)."""
    idx = tuple(range(arrays[0].ndim))
    args: list[Any] = []
    for a in arrays:
        args += [a, idx]
    return list(da.core.unify_chunks(*args)[1])


def entropy(p: Any, axis: Any = -1, *, keepdims: bool = False) -> Any:
    """Dask version of :func:`expfam.entropy` (lazy; checks `p` when computed)."""
    a, ax = _moved_axis(p, "p", axis)
    return _sum_of_terms(kern.entropy, [a], ax, keepdims)


def _pair(p: Any, q: Any, axis: Any, qname: str) -> tuple[Any, Any, int]:
    pa = as_dask_array(p, "p")
    qa = as_dask_array(q, qname)
    if max(pa.ndim, qa.ndim) == 0:
        raise ValueError(f"`p` and `{qname}` must have at least one dimension to reduce over")
    pa, qa = _broadcast(pa, qa, qname)
    return pa, qa, check_axis(axis, pa.ndim)


def kl_divergence(p: Any, q: Any, axis: Any = -1, *, keepdims: bool = False) -> Any:
    """Dask version of :func:`expfam.kl_divergence` (lazy; checks when computed)."""
    pa, qa, ax = _pair(p, q, axis, "q")
    return _sum_of_terms(kern.kl_divergence, [pa, qa], ax, keepdims)


def cross_entropy(p: Any, q: Any, axis: Any = -1, *, keepdims: bool = False) -> Any:
    """Dask version of :func:`expfam.cross_entropy` (lazy; checks when computed)."""
    pa, qa, ax = _pair(p, q, axis, "q")
    return _sum_of_terms(kern.cross_entropy, [pa, qa], ax, keepdims)


# ---------------------------------------------------------------------------------------
# Cross-entropy with logits
# ---------------------------------------------------------------------------------------


def _ce_block(P: Any, U: Any, m: Any, s: Any, ax: int) -> Any:
    """Partial sums ``sum_j p_j (log1p(s) + (m - u_j))`` of a block, keepdims, float64."""
    check_nonnegative(np.asarray(P), "p")
    with np.errstate(all="ignore"):
        Pm = _rows_of(np.asarray(P, dtype=np.float64), ax)[0]
        Um, lead = _rows_of(np.asarray(U, dtype=np.float64), ax)
        mm = np.broadcast_to(m, np.broadcast_shapes(np.shape(m), np.shape(U)))
        sm = np.broadcast_to(s, mm.shape)
        mr = _rows_of(mm, ax)[0][:, 0]
        L = np.log1p(_rows_of(sm, ax)[0][:, 0])
        T = np.subtract(L[:, None], np.subtract(Um, mr[:, None]))
        v = np.add.reduce(kern.mul0(Pm, T), axis=1)
        big = (v == np.inf) & np.isfinite(mr)
        if big.any():
            v[big] = kern._ce_value_halved(Pm[big], Um[big], mr[big], L[big])
        v[~np.isfinite(mr)] = np.nan
        return _as_keepdims(v, lead, ax)


def _ce_grad_block(P: Any, U: Any, m: Any, s: Any, total: Any, *, dtype_: Any) -> Any:
    check_nonnegative(np.asarray(P), "p")
    with np.errstate(all="ignore"):
        e = np.exp(np.subtract(U, m, dtype=np.float64))
        e *= total / (1.0 + s)
        e -= P
        _undefined_rows_nan(e, m)
        return e.astype(dtype_, copy=False)


def cross_entropy_with_logits(
    p: Any,
    logits: Any,
    axis: Any = -1,
    *,
    keepdims: bool = False,
    return_grad: bool = False,
) -> Any:
    """Dask version of :func:`expfam.cross_entropy_with_logits` (lazy)."""
    pa, ua, ax = _pair(p, logits, axis, "logits")
    dt = result_float_dtype(pa, ua)
    nd = ua.ndim
    if ua.shape[ax] == 0:
        value = da.zeros(ua.shape[:ax] + ua.shape[ax + 1 :], dtype=dt)
        if keepdims:
            value = da.expand_dims(value, ax)
        return (value, ua.astype(dt)) if return_grad else value
    pa, ua = _unified([pa, ua])
    m, s = _parts(ua, ax)
    parts = da.map_blocks(
        partial(_ce_block, ax=ax),
        pa,
        ua,
        m,
        s,
        chunks=reduced_chunks(ua.chunks, ax),
        dtype=np.float64,
        meta=np.empty((0,) * nd),
    )
    value = parts.sum(axis=ax, keepdims=keepdims).astype(dt)
    if not return_grad:
        return value
    total = pa.sum(axis=ax, keepdims=True, dtype=np.float64)
    grad = da.map_blocks(
        _ce_grad_block, pa, ua, m, s, total, dtype=dt, dtype_=dt, meta=np.empty((0,) * nd, dt)
    )
    return value, grad
