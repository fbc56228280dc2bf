"""Dask arrays: detection, the optional import, and chunk utilities.

Dask is an optional dependency (``pip install "expfam[dask]"``). This module does not
import it at import time: a public function first asks :func:`is_dask_collection`
(cheap: a type check) whether an argument is a Dask collection, and only then loads
the Dask implementation, through :func:`dask_module`, which imports Dask or raises an
``ImportError`` that says how to install it.

The helpers here know nothing of any kernel or family; the Dask implementations
(:mod:`expfam._dask_kernels`, ...) use them.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "as_dask_array",
    "dask_module",
    "has_unknown_shape",
    "is_dask_collection",
    "reduced_chunks",
    "require_known_shape",
    "result_float_dtype",
]

_INSTALL = 'install the optional dependency: pip install "expfam[dask]"'


def is_dask_collection(*xs: Any) -> bool:
    """Whether any of `xs` is a lazy Dask collection (a Dask array, or one wrapped).

    A type whose module is part of Dask counts, and so does an object whose
    ``__dask_graph__()`` is not None (an xarray DataArray backed by a Dask array).
    ``np.ndarray``, Python scalars and sequences are answered by a type check.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam._dask import is_dask_collection
    >>> is_dask_collection(np.zeros(3), [1.0, 2.0])
    False
    """
    for x in xs:
        t = type(x)
        if t is np.ndarray or t in (list, tuple, float, int):
            continue
        if t.__module__.partition(".")[0] == "dask":
            return True
        graph = getattr(x, "__dask_graph__", None)
        if callable(graph) and graph() is not None:
            return True
    return False


def dask_module(name: str = "dask.array") -> ModuleType:
    """Import and return the Dask (or expfam-on-Dask) module `name`.

    Raises
    ------
    ImportError
        If Dask is not installed, with the command that installs it.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if exc.name is not None and exc.name.partition(".")[0] in ("dask", "toolz", "numpy"):
            raise ImportError(
                f"a Dask array was passed to expfam, which needs Dask for it; {_INSTALL} "
                f"(importing {name!r} failed: {exc})"
            ) from exc
        raise


#: How to get rid of unknown chunk sizes (said by every error about them).
KNOWN_CHUNKS_HINT = (
    "compute them first (`x = x.compute_chunk_sizes()`, or `to_dask_array(lengths=True)` "
    "for a Dask DataFrame)"
)


def has_unknown_shape(x: Any) -> bool:
    """Whether the Dask array `x` has a dimension of unknown length (``nan``).

    Boolean indexing (``x[x > 0]``) and ``DataFrame.to_dask_array()`` give such arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam._dask import has_unknown_shape
    >>> has_unknown_shape(np.zeros(3))
    False
    """
    return any(isinstance(n, float) and math.isnan(n) for n in getattr(x, "shape", ()))


def require_known_shape(x: Any, name: str) -> None:
    """Raise a ``ValueError`` naming `name` if the Dask array `x` has unknown chunk sizes."""
    if has_unknown_shape(x):
        raise ValueError(
            f"`{name}` has unknown chunk sizes (shape {x.shape}, as after boolean indexing "
            f"of a Dask array) and the solve needs the number of states; {KNOWN_CHUNKS_HINT}"
        )


def as_dask_array(x: Any, name: str) -> Any:
    """Return `x` as a Dask array of float32 or float64, lazily (no computation).

    The dtype policy of :func:`expfam._validation.as_float_array`: float32 and float64
    are kept, bool and integer become float64, float16 becomes float32, anything else
    is a ``TypeError`` naming the argument. A numpy array (or anything ``np.asarray``
    takes) becomes a single-chunk Dask array.
    """
    da = dask_module()
    if not isinstance(x, da.Array):
        dtype = getattr(x, "dtype", None)
        if isinstance(dtype, np.dtype) and dtype.kind == "O":  # (dask cannot chunk it)
            raise TypeError(f"`{name}` must be a real numeric array; got dtype object")
        try:
            x = da.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"`{name}` could not be turned into a Dask array ({type(x).__name__}): {exc}"
            ) from None
    dt = np.dtype(x.dtype)
    if dt.kind == "c":
        raise TypeError(f"`{name}` must be real; got complex dtype {dt}")
    if dt.kind in "biu":
        return x.astype(np.float64)
    if dt.kind == "f":
        if dt == np.float16:
            return x.astype(np.float32)
        if dt in (np.float32, np.float64):
            return x
        raise TypeError(f"`{name}` has dtype {dt}; expfam supports float32 and float64")
    raise TypeError(f"`{name}` must be a real numeric array; got dtype {dt}")


def result_float_dtype(*xs: Any) -> np.dtype[Any]:
    """Return the common floating dtype of converted arrays (float32 only if all are)."""
    return np.result_type(*[np.dtype(x.dtype) for x in xs])


def reduced_chunks(
    chunks: Sequence[tuple[int, ...]], axis: int, size: int = 1
) -> tuple[tuple[int, ...], ...]:
    """Return the chunks of an array whose blocks are each reduced to `size` along `axis`.

    Examples
    --------
    >>> from expfam._dask import reduced_chunks
    >>> reduced_chunks(((2, 2), (3, 3, 1)), axis=1)
    ((2, 2), (1, 1, 1))
    """
    return tuple((size,) * len(c) if i == axis else tuple(c) for i, c in enumerate(chunks))
