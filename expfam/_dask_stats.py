"""Sufficient statistics of Dask arrays: statistics per chunk, merged in a tree.

:meth:`ExponentialFamily.suffstats` sends a Dask array here. Each chunk of rows
(observations along the first axis) is reduced in memory, on whatever worker holds
it, to a :class:`~expfam.SufficientStatistics`, exactly as an in-memory call would
reduce it; the chunk statistics are then combined in a tree of fan-in
:data:`FAN_IN`, each node by the family's vectorised combine of the blocks of one
pass (the merge identity applied to many chunks at once; it is exact, so the result
does not depend on the chunking or the order). Nothing but the
statistics, a few numbers per chunk, ever leaves a worker, and only one pass is made
over the data. Dask's progress bars (``dask.diagnostics.ProgressBar``) and the
distributed dashboard show the computation like any other.

This module imports Dask; it is loaded only when a Dask array is passed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from expfam._dask import KNOWN_CHUNKS_HINT, dask_module, has_unknown_shape
from expfam._suffstats import SufficientStatistics

if TYPE_CHECKING:
    from expfam._family import ExponentialFamily

__all__ = ["FAN_IN", "dask_suffstats"]

#: Chunk statistics combined per node of the reduction tree (one vectorised combine
#: of up to this many; pairwise merges cost a full merge, ~0.15 ms, per chunk).
FAN_IN = 32

da = dask_module("dask.array")
_dask = dask_module("dask")


def _chunk(
    family: type[ExponentialFamily], x: Any, w: Any, fixed: dict[str, Any]
) -> SufficientStatistics:
    return family.suffstats(np.asarray(x), weights=None if w is None else np.asarray(w), **fixed)


def _combine(
    family: type[ExponentialFamily], *stats: SufficientStatistics
) -> SufficientStatistics:
    """Merge the statistics of several chunks at once (the family's combine of a pass)."""
    if len(stats) == 1:
        return stats[0]
    weight, parts = family._stats_combine([(s._weight, s._parts) for s in stats])
    return SufficientStatistics(
        family,
        count=sum(s.count for s in stats),
        weight=weight,
        parts=parts,
        fixed=stats[0].fixed,
        batch_shape=stats[0].batch_shape,
        dtype=np.result_type(*(s.dtype for s in stats)),
    )


def dask_suffstats(
    family: type[ExponentialFamily], x: Any, weights: Any, fixed: dict[str, Any]
) -> SufficientStatistics:
    """Statistics of a Dask array `x` (observations along axis 0), computed now.

    `weights` may be a Dask array, a numpy array or None; it is chunked like the
    rows of `x`. The event and batch axes are brought into one chunk (a chunk is a
    block of whole observations).
    """
    a = x if isinstance(x, da.Array) else da.asarray(x)
    if a.ndim == 0:
        raise ValueError("`x` must hold observations along its first axis; got a scalar")
    if np.dtype(a.dtype).kind == "c":
        raise TypeError(f"`x` must be real; got complex dtype {a.dtype}")
    if a.ndim > 1:
        a = a.rechunk(dict.fromkeys(range(1, a.ndim), -1))
    row_chunks = a.chunks[0]
    w = None
    if weights is not None:
        w = weights if isinstance(weights, da.Array) else da.asarray(np.asarray(weights))
        unknown = [n for n, v in (("x", a), ("weights", w)) if has_unknown_shape(v)]
        if unknown:
            names = " and ".join(f"`{n}`" for n in unknown)
            raise ValueError(
                f"{names} with shapes {a.shape} and {w.shape}: unknown chunk sizes (as after "
                "boolean indexing) cannot be matched row by row between `x` and "
                f"`weights`; {KNOWN_CHUNKS_HINT}"
            )
        if w.shape != (a.shape[0],):
            raise ValueError(
                f"`weights` must have shape {(a.shape[0],)} (one per observation); got {w.shape}"
            )
        w = w.rechunk((row_chunks,))
    xs = a.to_delayed().reshape(-1)
    ws = [None] * len(xs) if w is None else list(w.to_delayed().reshape(-1))
    parts = [_dask.delayed(_chunk)(family, xb, wb, fixed) for xb, wb in zip(xs, ws, strict=True)]
    if not parts:  # a zero-length first axis has one empty chunk; be safe anyway
        return family.suffstats(np.zeros((0, *a.shape[1:]), dtype=a.dtype), **fixed)
    while len(parts) > 1:  # a balanced tree of exact combines
        groups = math.ceil(len(parts) / FAN_IN)
        size = math.ceil(len(parts) / groups)
        parts = [
            _dask.delayed(_combine)(family, *parts[i : i + size])
            for i in range(0, len(parts), size)
        ]
    (out,) = _dask.compute(parts[0])
    if not np.isfinite(out.total_weight):
        raise ValueError(
            "the total of `weights` overflows float64; rescale them (a maximum-"
            "likelihood fit does not depend on their scale)"
        )
    return out  # type: ignore[no-any-return]
