r"""Error-free transformations and accurate sums, shared by the kernels and the solvers.

Double-double arithmetic (Dekker's splitting and Knuth's two-sum; numpy has no fused
multiply-add), exact summation by vectorised extraction (Rump, Ogita & Oishi), dot
products in cache-sized blocks, and the exactly summed residual ``sum_j q_j x_j - t``.
The module is private; its names carry no underscore because sharing them is its job.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from expfam._validation import FloatArray

__all__ = [
    "BLOCK",
    "EPS",
    "SPLIT",
    "ExactDot",
    "GridDot",
    "accurate_sum",
    "dd_add",
    "dd_mul",
    "dot",
    "dot_abs",
    "dot_minus",
    "fast_two_sum",
    "row_dot_minus",
    "split",
    "sum_parts",
    "two_sum",
]

F64 = NDArray[np.float64]
EPS = float(np.finfo(np.float64).eps)
SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitter for float64
BLOCK = 1 << 15  # elements per cache-sized block of the streaming passes


# --------------------------------------------------------------------------- double-double
# A double-double (h, lo) represents h + lo with |lo| <= ulp(h)/2: about 106 bits.


def two_sum(a: F64, b: F64) -> tuple[F64, F64]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def fast_two_sum(a: F64, b: F64) -> tuple[F64, F64]:
    s = a + b
    return s, b - (s - a)


def split(a: F64) -> tuple[F64, F64]:
    c = SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def dd_mul(a: tuple[F64, F64], b: tuple[F64, F64], a_split: tuple[F64, F64]) -> tuple[F64, F64]:
    """Multiply double-doubles `a` and `b`; `a_split` is ``split(a[0])``."""
    (ah, al), (bh, bl) = a, b
    p = ah * bh
    a1, a2 = a_split
    b1, b2 = split(bh)
    e = ((a1 * b1 - p) + a1 * b2 + a2 * b1) + a2 * b2
    return fast_two_sum(p, e + (ah * bl + al * bh))


def dd_add(a: tuple[F64, F64], b: tuple[F64, F64]) -> tuple[F64, F64]:
    """Add double-doubles, accurately also when the sum cancels."""
    s, e = two_sum(a[0], b[0])
    t, f = two_sum(a[1], b[1])
    s, e = fast_two_sum(s, e + t)
    return fast_two_sum(s, e + f)


# --------------------------------------------------------------------------- accurate sums
def sum_parts(
    x: FloatArray, bound: float | None = None, scratch: FloatArray | None = None
) -> list[float]:
    """Floats whose exact sum equals ``sum(x)`` to far below one ulp of it.

    Vectorised extraction (Rump, Ogita & Oishi, *Accurate floating-point summation*,
    2008): adding and subtracting a power of two ``sigma >= 2 n max|x|`` rounds every
    entry to a common grid; those high parts sum exactly in any order and leave exact
    remainders below ``ulp(sigma)``. Two rounds, then a plain (pairwise) sum of the
    remainders, whose error is below ``1e-25 * n**3 * max|x|``. `bound` (``>= max|x|``)
    saves a pass; `scratch` (shaped like `x`) saves an allocation; `x` itself is
    overwritten when `scratch` is given. Combine the parts (with other terms) by
    :func:`math.fsum`.
    """
    n = x.size
    if n <= 4096:
        return x.tolist()  # type: ignore[no-any-return]
    big = float(np.max(np.abs(x))) if bound is None else bound
    if big == 0.0:
        return [0.0]
    parts: list[float] = []
    r = x if scratch is not None else x.copy()
    hi = np.empty_like(x) if scratch is None else scratch
    expo = math.frexp(big)[1] + (n + 1).bit_length() + 1  # sigma = 2**expo >= 2 n max|r|
    for _ in range(2):
        sigma = math.ldexp(1.0, expo)
        np.add(r, sigma, out=hi)
        hi -= sigma
        parts.append(float(hi.sum()))
        r -= hi  # exact, |r| <= ulp(sigma) / 2 = 2**(expo - 53)
        expo += (n + 1).bit_length() + 1 - 53
    parts.append(float(r.sum()))
    return parts


def dot(a: FloatArray, b: FloatArray) -> float:
    """``sum(a*b)`` by pairwise sums over cache-sized blocks.

    Deliberately not BLAS: more accurate (pairwise), and free of the threading
    overhead that multi-threaded BLAS dot products show on busy machines.
    """
    n = a.size
    buf = np.empty(min(n, BLOCK), dtype=np.result_type(a, b))
    total = 0.0
    for i in range(0, n, BLOCK):
        d = buf[: min(BLOCK, n - i)]
        np.multiply(a[i : i + BLOCK], b[i : i + BLOCK], out=d)
        total += float(d.sum())
    return total


def dot_abs(a: FloatArray, b: FloatArray) -> float:
    """``sum(a*|b|)`` by pairwise sums over cache-sized blocks."""
    n = a.size
    buf = np.empty(min(n, BLOCK))
    total = 0.0
    for i in range(0, n, BLOCK):
        d = buf[: min(BLOCK, n - i)]
        np.abs(b[i : i + BLOCK], out=d)
        d *= a[i : i + BLOCK]
        total += float(d.sum())
    return total


def accurate_sum(x: FloatArray) -> float:
    """``sum(x)`` correctly rounded (or within far less than an ulp for huge ``x``)."""
    return math.fsum(sum_parts(x))


def dot_minus(q: FloatArray, x: FloatArray, target: float) -> float:
    """``sum(q*x) - target`` for the exact values of the float inputs (see `ExactDot`)."""
    return ExactDot(x, target)(q)


class ExactDot:
    """``sum_j q_j x_j - target`` for the exact real values of the float inputs.

    Dekker's error-free products ``q_j x_j = p_j + err_j``. Correctly rounded for
    ``K <= 4096`` (:func:`math.fsum` of all terms); for larger ``K``, in cache-sized
    blocks, the ``p_j`` are summed by :func:`sum_parts` and the tiny ``err_j`` by a
    plain sum, which leaves an error far below one ulp of the result.
    """

    def __init__(self, x: FloatArray, target: float, xmax: float | None = None) -> None:
        self.x = x
        self.target = target
        self.xmax = float(np.max(np.abs(x))) if xmax is None else xmax
        # Dekker's split overflows above 2**996: scale by a power of two (exact)
        self.scale = 2.0**-64 if self.xmax > 2.0**995 else 1.0
        self.bufs: tuple[F64, ...] | None = None
        if self.scale != 1.0:
            x = x * self.scale
            self.x = x
            self.target = target * self.scale
            self.xmax *= self.scale

    def __call__(self, q: FloatArray) -> float:
        parts: list[float] = [-self.target]
        bound = self.xmax * float(np.max(q))
        for i in range(0, q.size, BLOCK):
            self.add_block(q[i : i + BLOCK], i, parts, bound, small=q.size <= 4096)
        return self.finish(parts)

    def add_block(
        self, qb: FloatArray, start: int, parts: list[float], bound: float, *, small: bool
    ) -> None:
        """Append to `parts` the exact terms of ``sum_j q_j x_j`` over one block.

        `qb` holds ``q[start : start + len(qb)]`` (at most ``BLOCK`` entries); `bound`
        is at least ``max_j |q_j x_j|`` (in the scaled units of ``self.x``); `small` keeps
        every term (for ``K <= 4096``, summed correctly rounded by :meth:`finish`).
        The first element of `parts` should be ``-self.target``.
        """
        if self.bufs is None:
            self.bufs = tuple(np.empty(BLOCK) for _ in range(6))
        m = qb.size
        pb, cb, hb, eb, xhb, xlb = (b[:m] for b in self.bufs)
        xb = self.x[start : start + m]
        np.multiply(xb, SPLIT, out=cb)  # split x: xh + xl == x, 26 bits each
        np.subtract(cb, xb, out=xhb)
        np.subtract(cb, xhb, out=xhb)
        np.subtract(xb, xhb, out=xlb)
        np.multiply(qb, xb, out=pb)
        np.multiply(qb, SPLIT, out=cb)
        np.subtract(cb, qb, out=hb)
        np.subtract(cb, hb, out=hb)  # high half of q
        np.subtract(qb, hb, out=cb)  # low half of q
        np.multiply(hb, xhb, out=eb)
        eb -= pb
        np.multiply(hb, xlb, out=hb)
        eb += hb
        np.multiply(cb, xhb, out=hb)
        eb += hb
        np.multiply(cb, xlb, out=cb)
        eb += cb  # p + eb == q * x exactly
        if small:
            parts += pb.tolist()
            parts += eb.tolist()
        else:
            parts += sum_parts(pb, bound, hb)
            parts.append(float(eb.sum()))

    def finish(self, parts: list[float]) -> float:
        """Return the correctly rounded sum of `parts`, in the units of the inputs."""
        return math.fsum(parts) / self.scale


def row_dot_minus(Q: FloatArray, x: FloatArray | None, targets: FloatArray | float = 0.0) -> F64:
    """``Q @ x - targets`` row by row, for the exact values of the floats.

    The batched form of :class:`ExactDot` (``x`` None: the row sums of `Q`). Dekker's
    error-free products ``Q_ij x_j = p_ij + err_ij``; the ``p`` of each row are summed
    by two rounds of extraction against a per-row power of two (exact however the
    columns are blocked), the remainders and the ``err`` by plain sums, and the parts
    combined in double-double arithmetic: an error far below one ulp of the result.
    Works in tiles of about ``BLOCK`` elements.
    """
    n, k = Q.shape
    scale = 1.0
    xh = xl = xs = None
    if x is not None:
        xmax = float(np.max(np.abs(x)))
        if xmax > 2.0**995:  # Dekker's split overflows above 2**996: scale exactly
            scale = 2.0**-64
        xs = x * scale if scale != 1.0 else x
        xh, xl = split(np.asarray(xs, dtype=np.float64))
        bound = np.max(np.abs(Q), axis=1) * (xmax * scale)
    else:
        bound = np.max(np.abs(Q), axis=1)
    grow = (k + 1).bit_length() + 1
    expo = np.frexp(bound)[1] + grow  # sigma = 2**expo >= 2 k max_j |p_ij|
    sigma1 = np.ldexp(1.0, expo)[:, None]
    sigma2 = np.ldexp(1.0, expo + grow - 53)[:, None]
    s1, s2, s3, se = (np.zeros(n) for _ in range(4))
    kb = min(k, BLOCK)
    nb = max(1, BLOCK // kb)
    for r in range(0, n, nb):
        rows = slice(r, r + nb)
        for c in range(0, k, kb):
            cols = slice(c, c + kb)
            qb = Q[rows, cols]
            if xs is None or xh is None or xl is None:
                p = qb.copy()
            else:
                p = qb * xs[cols]
                qh, ql = split(np.asarray(qb, dtype=np.float64))
                err = ((qh * xh[cols] - p) + qh * xl[cols] + ql * xh[cols]) + ql * xl[cols]
                se[rows] += err.sum(axis=1)
            for sig, acc in ((sigma1[rows], s1), (sigma2[rows], s2)):
                hi = (p + sig) - sig
                acc[rows] += hi.sum(axis=1)  # exact: multiples of ulp(sigma), below sigma
                p -= hi
            s3[rows] += p.sum(axis=1)
    h, lo = two_sum(s1, s2)
    for v in (s3, se, -np.asarray(targets, dtype=np.float64) * scale):
        h, e = two_sum(h, np.broadcast_to(v, h.shape))
        lo = lo + e
    out: F64 = (h + lo) / scale
    return out


class GridDot:
    """``sum_j q_j x_j`` for ``0 <= q_j <= qmax``, in blocks, cheaper than :class:`ExactDot`.

    Both factors are split on fixed grids (Rump-style extraction against a power of
    two): ``q = qh + ql`` with ``qh`` a multiple of ``qmax * 2**-19`` (at most 20
    bits) and ``x = xh + xl`` likewise against ``max|x|``. The products ``qh xh`` are
    exact and lie on one common grid, so their sum over a block of at most ``BLOCK``
    entries is exact in any order; the small rest ``qh xl + ql x`` (below ``2**-18``
    of ``max|x| sum_j q_j``) is summed in plain float64. The error is about
    ``eps * 2**-18 * max|x|`` in the worst case: far below an ulp of the result
    unless it cancels to below ``1e-5 max|x|``. Twelve operations per element.
    Usable for ``2**-900 < max|x| < 2**900`` and ``qmax`` in the normal range.
    """

    def __init__(self, xmax: float, qmax: float, *, block: int = BLOCK) -> None:
        # bits per factor: 2 * bits + log2(block) <= 53 keeps the block sums exact
        bits = (53 - (block - 1).bit_length()) // 2
        kx, kq = math.frexp(xmax)[1], math.frexp(qmax)[1]  # |x| < 2**kx, q < 2**kq
        self.sx = 1.5 * math.ldexp(1.0, kx - bits + 52)
        self.sq = 1.5 * math.ldexp(1.0, kq - bits + 52)
        self.bufs = tuple(np.empty(block) for _ in range(4))
        self.block = block
        self.parts: list[float] = []

    def add(self, qb: FloatArray, xb: FloatArray) -> None:
        """Add ``sum_j q_j x_j`` over one block (at most `block` entries)."""
        m = qb.size
        xh, xl, qh, t = (b[:m] for b in self.bufs)
        np.add(xb, self.sx, out=xh)
        xh -= self.sx  # x rounded to the grid of x: exact
        np.subtract(xb, xh, out=xl)  # exact
        np.add(qb, self.sq, out=qh)
        qh -= self.sq
        np.multiply(qh, xh, out=t)  # exact, on the common grid
        self.parts.append(float(np.add.reduce(t)))  # exact
        np.multiply(qh, xl, out=xl)
        np.subtract(qb, qh, out=qh)  # ql, exact
        np.multiply(qh, xb, out=qh)
        xl += qh
        self.parts.append(float(np.add.reduce(xl)))

    def total(self, minus: float = 0.0) -> float:
        """Return the accumulated sum minus `minus`, rounded once."""
        return math.fsum([*self.parts, -minus])
