"""Input conversion and checks shared by every public function.

Every public entry point turns its array arguments into floating arrays here, so the
dtype policy (float32 and float64 kept, integers and booleans become float64, float16
becomes float32, complex is a ``TypeError``) and the wording of errors are the same
everywhere.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_float_array",
    "check_axis",
    "check_finite",
    "check_nonnegative",
    "check_weights",
    "reject_bool_labels",
    "rescaled_weights",
    "result_float_dtype",
]

FloatArray = NDArray[np.floating[Any]]

_KEPT = frozenset([np.dtype(np.float32), np.dtype(np.float64)])


def as_float_array(x: ArrayLike, name: str) -> FloatArray:
    """Return `x` as a float32 or float64 array, or raise naming the argument `name`.

    float32 and float64 are kept; bool and integer input becomes float64; float16
    becomes float32. Complex, object and string input raise :class:`TypeError`.
    """
    if type(x) is np.ndarray and x.dtype in _KEPT:  # fast path for the common case
        return x
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"`{name}` is a masked array; expfam would ignore its mask. Fill it first: "
            "masked logits with -inf (`x.filled(-np.inf)`), masked weights with 0"
        )
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise ValueError(f"`{name}` could not be converted to an array: {exc}") from None
    kind = a.dtype.kind
    if kind == "c":
        raise TypeError(f"`{name}` must be real; got complex dtype {a.dtype}")
    if kind in "biu":
        return a.astype(np.float64)
    if kind == "f":
        if a.dtype == np.float16:
            return a.astype(np.float32)
        if a.dtype in (np.float32, np.float64):
            return a
        raise TypeError(f"`{name}` has dtype {a.dtype}; expfam supports float32 and float64")
    raise TypeError(f"`{name}` must be a real numeric array; got dtype {a.dtype}")


def result_float_dtype(*arrays: FloatArray) -> np.dtype[Any]:
    """Return the common floating dtype of already-converted arrays (float32 only if all are)."""
    return np.result_type(*arrays)


def check_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """Normalise an integer axis for an array of `ndim` dimensions (not a bool)."""
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be an integer; got {bool(axis)}")
    try:
        ax = operator.index(axis)
    except TypeError:
        raise TypeError(f"`{name}` must be an integer; got {axis!r}") from None
    if not -ndim <= ax < ndim:
        raise ValueError(f"`{name}`={ax} is out of range for an array of dimension {ndim}")
    return ax % ndim


def check_nonnegative(a: FloatArray, name: str) -> None:
    """Raise ``ValueError`` if `a` has a negative or an infinite entry.

    These are weights (probabilities or counts): ``+inf`` is no more a weight than a
    negative number, and would otherwise turn a divergence into ``-inf``. ``nan``
    entries are allowed and propagate to the result.
    """
    if not a.size:
        return
    if np.fmin.reduce(a, axis=None, initial=np.inf) < 0:
        bad = float(a[a < 0].flat[0])
        raise ValueError(f"`{name}` must be non-negative (probabilities or counts); found {bad!r}")
    if np.fmax.reduce(a, axis=None, initial=-np.inf) == np.inf:
        raise ValueError(f"`{name}` must be finite (probabilities or counts); found inf")


def check_finite(a: FloatArray, name: str) -> None:
    """Raise ``ValueError`` if `a` holds a nan or an infinity."""
    if not np.all(np.isfinite(a)):
        bad = a[~np.isfinite(a)].flat[0]
        raise ValueError(f"`{name}` must be finite; found {float(bad)!r}")


def check_weights(weights: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    """Check observation weights (the one check): shape ``(n,)``, finite and non-negative.

    Returns them as float64 (None stays None). Raises ``ValueError`` naming `weights`
    for a wrong shape or a negative, nan or infinite weight, and ``TypeError`` for
    non-numeric weights. All-zero weights are allowed here: empty statistics are
    valid; a fit of them raises.
    """
    if weights is None:
        return None
    w = as_float_array(weights, "weights")
    if w.shape != (n,):
        raise ValueError(f"`weights` must have shape {(n,)} (one per observation); got {w.shape}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(w) | (w < 0)
    if np.any(bad):
        raise ValueError(
            f"`weights` must be finite and non-negative; found {float(w[bad].flat[0])!r}"
        )
    return w.astype(np.float64)


def rescaled_weights(weights: ArrayLike | None) -> ArrayLike | None:
    """Weights scaled by a power of two when their total could overflow (a fit ignores scale).

    Exact (a power of two), and only when the largest weight times their number
    exceeds 1e300; anything else is returned as given, for :func:`check_weights`.
    """
    if weights is None:
        return None
    w: NDArray[Any] = np.asarray(weights)
    if w.dtype.kind != "f" or w.size == 0:
        return weights
    with np.errstate(invalid="ignore"):
        top = np.max(w)
    if not (np.isfinite(top) and top > 1e300 / max(w.size, 1)):
        return weights
    shift = 1000 - math.frexp(float(top))[1] - math.ceil(math.log2(w.size))  # total < 2**1000
    out: NDArray[Any] = w * np.asarray(2.0**shift, w.dtype)
    return out


def reject_bool_labels(x: object, name: str, *, counts: bool = False) -> None:
    """Raise ``TypeError`` naming `name` if labels `x` hold a bool.

    A label is a category index: numpy reads a bool array as a mask and silently turns
    ``[0, True]`` into integers, so bools are refused (``Categorical.fit``, ``glm``).
    Arrays (numpy, pandas, Dask) are judged by their dtype; other input element by
    element (nested lists too). With `counts`, 2-d input (rows of counts, as ``glm``
    takes) may be bool: a bool count is 0 or 1, as everywhere else.
    """
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        if getattr(dtype, "kind", None) == "b" and not (
            counts and len(getattr(x, "shape", ())) != 1
        ):
            raise TypeError(
                f"`{name}` must hold integer labels; got dtype {dtype} (a bool array is a "
                "mask, not labels: convert it with `.astype(int)` if 0/1 are meant)"
            )
        return
    if isinstance(x, (str, bytes)):
        return  # not labels either: the conversion raises its own error
    items: Any = x if isinstance(x, (list, tuple)) else [x]
    kinds = set(map(type, items))  # a flat list: its elements' types (one fast scan)
    if any(issubclass(k, (list, tuple, np.ndarray)) for k in kinds):  # nested
        if counts and any(issubclass(k, (list, tuple)) for k in kinds):
            return  # rows of counts
        try:
            items = np.asarray(x, dtype=object).ravel()
        except (ValueError, TypeError):
            return  # ragged input: the conversion raises its own error
        kinds = set(map(type, items))
    if any(issubclass(k, (bool, np.bool_, np.ndarray)) for k in kinds):
        bad = next((e for e in items if _is_bool(e)), None)
        if bad is not None:
            raise TypeError(
                f"`{name}` must hold integer labels; found the bool {bool(bad)} (a label is "
                "a category index: write 0/1 labels as integers)"
            )


def _is_bool(e: object) -> bool:
    """Whether `e` is a bool scalar (Python, numpy or a 0-d bool array)."""
    if isinstance(e, (bool, np.bool_)):
        return True
    return isinstance(e, np.ndarray) and e.dtype.kind == "b" and e.ndim == 0
