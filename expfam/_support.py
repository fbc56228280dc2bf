"""Supports declared as data, and the one wrapper that handles outcomes outside them.

A scalar family declares its support as a :class:`Support` (bounds, integer or real);
the base class's ``log_prob`` converts the outcomes, checks them against the batch,
replaces those outside the support by a point inside (so that the family's formula
runs quietly), and sets the result to ``-inf`` there (probability 0, as in
:mod:`scipy.stats`) and to ``nan`` at ``nan`` outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._validation import FloatArray, as_float_array

__all__ = ["Support", "finish_log_prob", "log_prob_outcomes", "out_dtype"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Support:
    """The support of a scalar family.

    Attributes
    ----------
    lower, upper : float
        Closed bounds (``-inf``/``inf`` for none). `upper_attr`, when given, names an
        attribute of the distribution holding a per-member upper bound (a binomial's
        ``n``).
    integer : bool
        Whether the support holds only integers.
    safe : float
        A point of the support where every member's formula is finite.
    """

    lower: float = -np.inf
    upper: float = np.inf
    integer: bool = False
    safe: float = 0.0
    upper_attr: str | None = None

    def contains(self, dist: Any, a: FloatArray) -> NDArray[np.bool_]:
        """Mask of the outcomes `a` inside the support of `dist` (finite ones only)."""
        upper = self.upper if self.upper_attr is None else getattr(dist, self.upper_attr)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(a) & (a >= self.lower) & (a <= upper)
            if self.integer:
                ok = ok & (a == np.round(a))
        return np.asarray(ok)


def out_dtype(dist: Any, x: ArrayLike, a: FloatArray) -> np.dtype[Any]:
    """Return the result dtype for outcomes `x` (converted: `a`).

    A float numpy `x` joins the parameters' dtype. Python scalars, lists and integer
    arrays take the distribution's dtype. The probe built by ``_fit_probe`` has no
    dtype of its own: its results take the dtype of `x` (float32 data fit to a
    float32 distribution).
    """
    if dist.__dict__.get("_probe", False):
        return a.dtype
    if isinstance(x, (np.ndarray, np.generic)) and np.asarray(x).dtype.kind == "f":
        return np.result_type(a.dtype, dist.dtype)
    out: np.dtype[Any] = dist.dtype
    return out


def log_prob_outcomes(
    dist: Any, x: ArrayLike, support: Support
) -> tuple[FloatArray, F64, NDArray[np.bool_], NDArray[np.bool_]]:
    """Outcomes for ``log_prob``, checked against the batch and split by the support.

    Returns the outcomes as given (converted), as float64 broadcast to the batch with
    those outside replaced by ``support.safe``, and the masks of the entries outside
    the support and of the nan entries, for :func:`finish_log_prob`.
    """
    a = as_float_array(x, "x")
    dist._check_x_batch(np.shape(a))
    ok = support.contains(dist, a)
    a64 = a.astype(np.float64)
    nan = np.broadcast_to(np.isnan(a64), ok.shape)
    return a, np.where(ok, a64, support.safe), ~ok & ~nan, nan


def finish_log_prob(out: Any, outside: NDArray[np.bool_], nan: NDArray[np.bool_]) -> F64:
    """``log_prob`` is -inf outside the support (probability 0) and nan at nan outcomes."""
    return np.where(nan, np.nan, np.where(outside, -np.inf, out + 0.0))
