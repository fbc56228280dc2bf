"""Count full passes over an array and the arrays derived from it: a counting ndarray.

``counting(x, log)`` is a view of `x` whose ufunc calls and reductions are recorded.
Results of ufuncs on it, views of it and arrays made with ``empty_like`` from it are
counting arrays too, so the solver's derived full-size arrays (scaled energies,
probabilities, log-probabilities) are seen as well. A *pass* is a sweep over the
``K`` states: ``K`` elements touched in arrays with an axis of at least ``K/2`` (the
full-size arrays, indexed by state). One call counts once, whatever it reads and
writes; successive calls on the same cache-sized block of states (of any of those
arrays) count once: a blocked loop doing several operations per block is one pass.
A whole-array operation is one pass each. Cache-sized scratch buffers do not count.
Not a timer: the count is the same on every host.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Counting", "PassLog", "counting"]

_CACHED = 1 << 18  # a range of at most this many elements (2 MB), touched again, is in cache


class PassLog:
    """Sweeps over the data: elements of full-size arrays touched, divided by ``K``."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.elements = 0
        self.last: tuple[int, int] | None = None

    @property
    def passes(self) -> float:
        return self.elements / self.k

    def reset(self) -> None:
        self.elements = 0
        self.last = None

    def touch(self, arrays: list[NDArray[Any]]) -> None:
        """Record one ufunc call on `arrays` (inputs and outputs)."""
        for a in arrays:
            base = a
            while isinstance(base.base, np.ndarray):
                base = base.base
            if max(base.shape, default=0) < self.k // 2 or a.size == 0:
                continue  # scratch buffers and small arrays: no axis over the states
            offset = a.__array_interface__["data"][0] - base.__array_interface__["data"][0]
            rng = (offset // a.itemsize, offset // a.itemsize + a.size)
            if a.size <= _CACHED and rng == self.last:
                continue  # the same block of the states again: in cache, same sweep
            self.last = rng
            self.elements += a.size
            return  # a call counts once, whatever it reads and writes


class Counting(np.ndarray):
    """An ndarray whose ufunc calls (and those of arrays derived from it) are counted."""

    log: PassLog

    def __array_finalize__(self, obj: Any) -> None:
        log = getattr(obj, "log", None)
        if log is not None:
            self.log = log

    def astype(self, *args: Any, **kwargs: Any) -> Any:
        """A copy is a pass (none when nothing is copied)."""
        out = np.asarray(self).astype(*args, **kwargs)
        if out is not np.asarray(self) and not np.shares_memory(out, self):
            self.log.touch([np.asarray(self)])
            return counting(out, self.log)
        return self

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        self.log.touch([np.asarray(self)])
        return counting(np.asarray(self).copy(*args, **kwargs), self.log)

    def tolist(self) -> Any:
        self.log.touch([np.asarray(self)])
        return np.asarray(self).tolist()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (np.ndarray, list)):
            self.log.touch([np.asarray(self)])  # fancy indexing: a gathering pass
        return super().__getitem__(key)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        plain_in = [np.asarray(v) if isinstance(v, Counting) else v for v in inputs]
        outs = kwargs.get("out")
        if outs is not None:
            kwargs["out"] = tuple(np.asarray(v) if isinstance(v, Counting) else v for v in outs)
        for key, v in kwargs.items():
            if isinstance(v, Counting):
                kwargs[key] = np.asarray(v)
        seen = [np.asarray(v) for v in (*inputs, *(outs or ())) if isinstance(v, np.ndarray)]
        self.log.touch(seen)
        result = getattr(ufunc, method)(*plain_in, **kwargs)
        if outs is not None:
            return outs[0] if len(outs) == 1 else outs
        if isinstance(result, np.ndarray) and result.ndim > 0:
            return counting(result, self.log)
        return result


def counting(x: NDArray[Any], log: PassLog) -> Counting:
    """A counting view of `x` that records its passes in `log`."""
    obj = np.asarray(x).view(Counting)
    obj.log = log
    return obj
