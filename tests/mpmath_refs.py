"""mpmath references for the kernels, computed at test time from the exact float inputs.

Every reference evaluates the defining formula at ``DPS = 50`` significant digits from
the float values the kernel received (each float is an exact binary rational, so the
reference is the true value rounded to 50 digits). Masked categories (``-inf``) and the
``0 log 0 = 0`` convention are applied explicitly. Rows are 1-D sequences of floats;
the helpers return mpmath numbers (``mpf``), or a list of them for vector results.

The "scale" helpers return the sum of the magnitudes of the terms of a sum, the
quantity relative to which the error of a sum of mixed-sign terms is measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mpmath
import numpy as np
from numpy.typing import NDArray

DPS = 50

__all__ = [
    "DPS",
    "ce_logits_ref",
    "cross_entropy_ref",
    "entropy_ref",
    "error_in_eps",
    "kl_ref",
    "log_softmax_ref",
    "logsumexp_ref",
    "softmax_ref",
]

Mpf = Any  # mpmath.mpf; mpmath has no type stubs
Row = Sequence[float] | NDArray[Any]


def _mp(v: float) -> Mpf:
    return mpmath.mpf(float(v))


def _lse_parts(row: Row) -> tuple[Mpf, Mpf]:
    """``m = max x`` and ``log1p(sum_{j != j*} exp(x_j - m))`` of a row with a finite max.

    Kept apart: ``m + log1p(s)`` at 50 digits would lose ``log1p(s)`` next to a huge
    ``m``, and ``log(sum exp)`` would lose a tiny ``s`` next to 1.
    """
    fin = [float(v) for v in row if v != -np.inf]
    j = int(np.argmax(fin))
    m = _mp(fin[j])
    s = mpmath.fsum(mpmath.exp(_mp(v) - m) for i, v in enumerate(fin) if i != j)
    return m, mpmath.log1p(s)


def logsumexp_ref(row: Row) -> Mpf:
    """``log(sum(exp(x)))`` with the edge policy: nan wins, then +inf, then empty -> -inf."""
    xs = [float(v) for v in row]
    if any(np.isnan(xs)):
        return mpmath.mpf("nan")
    if any(v == np.inf for v in xs):
        return mpmath.inf
    if all(v == -np.inf for v in xs):
        return -mpmath.inf
    with mpmath.workdps(DPS):
        m, l1p = _lse_parts(xs)
        return m + l1p


def log_softmax_ref(row: Row) -> list[Mpf]:
    """``(x_j - m) - log1p(s)`` (``-inf`` stays ``-inf``); only for rows with a finite max."""
    with mpmath.workdps(DPS):
        m, l1p = _lse_parts(row)
        return [-mpmath.inf if v == -np.inf else (_mp(v) - m) - l1p for v in row]


def softmax_ref(row: Row) -> list[Mpf]:
    """``exp(x_j - LSE(x))``; only for rows with a finite max."""
    with mpmath.workdps(DPS):
        return [mpmath.mpf(0) if v == -mpmath.inf else mpmath.exp(v) for v in log_softmax_ref(row)]


def entropy_ref(p: Row) -> tuple[Mpf, Mpf]:
    """``-sum p log p`` (``0 log 0 = 0``) and the sum of the magnitudes of its terms."""
    with mpmath.workdps(DPS):
        terms = [_mp(v) * mpmath.log(_mp(v)) for v in p if v > 0]
        return -mpmath.fsum(terms), mpmath.fsum(abs(t) for t in terms)


def kl_ref(p: Row, q: Row) -> tuple[Mpf, Mpf]:
    """``sum p log(p/q)`` (0 where p = 0, inf where q = 0 < p) and the magnitude scale."""
    with mpmath.workdps(DPS):
        terms = []
        for a, b in zip(p, q, strict=True):
            if a == 0:
                continue
            if b == 0:
                return mpmath.inf, mpmath.inf
            terms.append(_mp(a) * mpmath.log(_mp(a) / _mp(b)))
        return mpmath.fsum(terms), mpmath.fsum(abs(t) for t in terms)


def cross_entropy_ref(p: Row, q: Row) -> tuple[Mpf, Mpf]:
    """``-sum p log q`` (0 where p = 0, inf where q = 0 < p) and the magnitude scale."""
    with mpmath.workdps(DPS):
        terms = []
        for a, b in zip(p, q, strict=True):
            if a == 0:
                continue
            if b == 0:
                return mpmath.inf, mpmath.inf
            terms.append(_mp(a) * mpmath.log(_mp(b)))
        return -mpmath.fsum(terms), mpmath.fsum(abs(t) for t in terms)


def ce_logits_ref(p: Row, u: Row) -> Mpf:
    """``-sum p_j log softmax(u)_j`` with ``0 * log 0 = 0``; only for rows of `u` with a
    finite max."""
    with mpmath.workdps(DPS):
        lsm = log_softmax_ref(u)
        terms = []
        for a, ls in zip(p, lsm, strict=True):
            if a == 0:
                continue
            if ls == -mpmath.inf:
                return mpmath.inf
            terms.append(-_mp(a) * ls)
        return mpmath.fsum(terms)


def error_in_eps(
    actual: Any, ref: Mpf, dtype: Any, scale: Mpf | None = None, atol: float = 0.0
) -> float:
    """``|actual - ref|`` in units of ``eps * max(|scale|, smallest normal)``.

    `scale` defaults to ``|ref|`` (relative error). The floor at the smallest normal
    number makes a correctly rounded subnormal result count as at most 0.5. An `atol`
    is subtracted from the error first (for documented absolute error terms).
    Infinities and nans must match exactly (else ``inf`` is returned).
    """
    fi = np.finfo(dtype)
    a = float(actual)
    if mpmath.isnan(ref) or np.isnan(a):
        return 0.0 if (mpmath.isnan(ref) and np.isnan(a)) else float("inf")
    if mpmath.isinf(ref) or np.isinf(a):
        return 0.0 if (mpmath.isinf(ref) and np.isinf(a) and (ref > 0) == (a > 0)) else np.inf
    mag = abs(ref) if scale is None else abs(scale)
    with mpmath.workdps(DPS):
        err = max(abs(mpmath.mpf(a) - ref) - atol, 0)
        return float(err / (float(fi.eps) * max(mag, mpmath.mpf(float(fi.smallest_normal)))))
