"""Shared hypothesis strategies for expfam's tests.

Names here are stable: other test modules import them. Every strategy draws exact
floating-point values of the requested dtype, so a reference computed from the drawn
array (e.g. with mpmath) refers to exactly the numbers the kernel sees.

* :func:`dtypes` -- float32 or float64.
* :func:`batch_shapes` -- small batch shapes, including ``()``.
* :func:`bounded_logits` -- finite logits in ``[-bound, bound]``, shape ``batch + (k,)``.
* :func:`masked_logits` -- bounded logits with some entries ``-inf`` (never a whole row).
* :func:`simplex_points` -- probability vectors (rows sum to 1 up to rounding) with
  exact zeros.
* :func:`simplex_pairs` -- two probability arrays of the same dtype and shape (the second
  optionally without zeros).
* :func:`nonnegative_weights` -- non-negative vectors (counts or unnormalised weights),
  exact zeros included.
* :func:`grid_logits` -- logits on a grid of ``2**-10`` so that adding an integer shift is
  exact.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "batch_shapes",
    "bounded_logits",
    "dtypes",
    "grid_logits",
    "masked_logits",
    "nonnegative_weights",
    "simplex_pairs",
    "simplex_points",
]

FloatArr = NDArray[np.floating[Any]]


def dtypes() -> st.SearchStrategy[np.dtype[Any]]:
    """float32 or float64."""
    return st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)])


def batch_shapes(max_dims: int = 2, max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Batch shapes with up to `max_dims` axes of length 1..`max_side` (``()`` included)."""
    return hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side)


def _width(dtype: np.dtype[Any]) -> Literal[32, 64]:
    return 32 if dtype == np.float32 else 64


def _elements(dtype: np.dtype[Any], bound: float) -> st.SearchStrategy[float]:
    width = _width(dtype)
    b = float(np.asarray(bound, dtype=dtype))  # representable in the dtype, as hypothesis requires
    return st.floats(-b, b, allow_nan=False, allow_infinity=False, width=width)


@st.composite
def bounded_logits(
    draw: st.DrawFn,
    dtype: DTypeLike | None = None,
    batch: tuple[int, ...] | None = None,
    k: int | None = None,
    *,
    bound: float = 50.0,
    max_k: int = 8,
) -> FloatArr:
    """Finite logits in ``[-bound, bound]`` with shape ``batch + (k,)``, ``k >= 1``."""
    dt = draw(dtypes()) if dtype is None else np.dtype(dtype)
    shape_b = draw(batch_shapes()) if batch is None else batch
    kk = draw(st.integers(1, max_k)) if k is None else k
    x: FloatArr = draw(hnp.arrays(dt, (*shape_b, kk), elements=_elements(dt, bound)))
    return x


@st.composite
def masked_logits(
    draw: st.DrawFn,
    dtype: DTypeLike | None = None,
    batch: tuple[int, ...] | None = None,
    k: int | None = None,
    *,
    bound: float = 50.0,
    max_k: int = 8,
) -> FloatArr:
    """Bounded logits where some entries are ``-inf`` (masked); each row keeps a finite one."""
    x = draw(bounded_logits(dtype, batch, k, bound=bound, max_k=max_k))
    mask = draw(hnp.arrays(np.bool_, x.shape))
    keep = draw(st.integers(0, x.shape[-1] - 1))
    mask[..., keep] = False
    x[mask] = -np.inf
    return x


@st.composite
def nonnegative_weights(
    draw: st.DrawFn,
    dtype: DTypeLike | None = None,
    batch: tuple[int, ...] | None = None,
    k: int | None = None,
    *,
    max_k: int = 8,
    max_value: float = 1e3,
    zeros: bool = True,
) -> FloatArr:
    """Non-negative weights with shape ``batch + (k,)``; exact zeros when `zeros`."""
    dt = draw(dtypes()) if dtype is None else np.dtype(dtype)
    shape_b = draw(batch_shapes()) if batch is None else batch
    kk = draw(st.integers(1, max_k)) if k is None else k
    width = _width(dt)
    top = float(
        np.asarray(max_value, dtype=dt)
    )  # representable in the dtype, as hypothesis requires
    positive = st.floats(2.0**-20, top, width=width)
    elements = st.one_of(st.just(0.0), positive) if zeros else positive
    w: FloatArr = draw(hnp.arrays(dt, (*shape_b, kk), elements=elements))
    return w


@st.composite
def simplex_points(
    draw: st.DrawFn,
    dtype: DTypeLike | None = None,
    batch: tuple[int, ...] | None = None,
    k: int | None = None,
    *,
    max_k: int = 8,
    zeros: bool = True,
) -> FloatArr:
    """Probability vectors (rows sum to 1 up to rounding) with exact zeros when `zeros`.

    Each row has at least one positive entry; the zeros stay exactly zero after the
    normalisation.
    """
    w = draw(nonnegative_weights(dtype, batch, k, max_k=max_k, zeros=zeros))
    keep = draw(st.integers(0, w.shape[-1] - 1))
    w[..., keep] = np.maximum(w[..., keep], w.dtype.type(1.0))
    p: FloatArr = w / w.sum(axis=-1, keepdims=True)
    return p


@st.composite
def grid_logits(
    draw: st.DrawFn,
    dtype: DTypeLike | None = None,
    batch: tuple[int, ...] | None = None,
    k: int | None = None,
    *,
    bound: int = 60,
    max_k: int = 8,
) -> FloatArr:
    """Logits that are multiples of ``2**-10`` in ``[-bound, bound]``: exactly shiftable.

    Adding an integer ``c`` with ``|c| <= 2**12`` to them is exact in float32 and float64.
    """
    dt = draw(dtypes()) if dtype is None else np.dtype(dtype)
    shape_b = draw(batch_shapes()) if batch is None else batch
    kk = draw(st.integers(1, max_k)) if k is None else k
    n = draw(
        hnp.arrays(np.int64, (*shape_b, kk), elements=st.integers(-bound * 1024, bound * 1024))
    )
    return (n / 1024).astype(dt)


@st.composite
def simplex_pairs(
    draw: st.DrawFn,
    dtype: DTypeLike | None = None,
    *,
    max_k: int = 8,
    zeros_q: bool = True,
) -> tuple[FloatArr, FloatArr]:
    """Two probability arrays ``(p, q)`` of one dtype and shape; `q` without zeros unless
    `zeros_q`."""
    p = draw(simplex_points(dtype, max_k=max_k))
    q = draw(simplex_points(p.dtype, p.shape[:-1], p.shape[-1], zeros=zeros_q))
    return p, q
