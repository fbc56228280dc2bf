"""The one check of ``sample(size)`` that every family shares."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["GEOMETRIC_PROBS_MIN", "POISSON_RATE_MAX", "check_sampleable", "sample_shape"]


def sample_shape(size: Any) -> tuple[int, ...]:
    """Normalise a numpy-style `size` (an int or a sequence of ints) to a tuple.

    Raises
    ------
    TypeError
        If `size` is not an integer or a sequence of integers (``1.5``, ``"a"``).
    ValueError
        If an entry is negative.

    Examples
    --------
    >>> from expfam._sampling import sample_shape
    >>> sample_shape(3), sample_shape((2, 0)), sample_shape(())
    ((3,), (2, 0), ())
    """
    try:
        if isinstance(size, Sequence) and not isinstance(size, str):
            shape = tuple(operator.index(n) for n in size)
        else:
            shape = (operator.index(size),)
    except TypeError:
        raise TypeError(f"`size` must be an int or a sequence of ints; got {size!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"`size` must not have negative entries; got {size!r}")
    return shape


#: The largest Poisson rate numpy's generator takes (its counts are int64).
POISSON_RATE_MAX = 9.223372006484771e18
#: The smallest geometric success probability whose draws fit int64 but for a
#: probability below ``exp(-40)``: ``(1 - p)**(2**63) < exp(-40)``.
GEOMETRIC_PROBS_MIN = 40.0 / 2.0**63


def check_sampleable(ok: Any, values: Any, name: str, family: str, limit: str) -> None:
    """Raise ``ValueError`` naming `name` where `ok` fails: draws would not fit int64.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam._sampling import check_sampleable
    >>> rate = np.array([1.0, 1e20])
    >>> check_sampleable(rate <= 1e19, rate, "rate", "Poisson", "at most 1e19")
    Traceback (most recent call last):
    ...
    ValueError: `rate` must be at most 1e19 to sample a Poisson (int64 draws); found 1e+20
    """
    ok = np.asarray(ok)
    if not np.all(ok):
        bad = float(np.broadcast_to(np.asarray(values), ok.shape)[~ok].flat[0])
        raise ValueError(
            f"`{name}` must be {limit} to sample a {family} (int64 draws); found {bad!r}"
        )
