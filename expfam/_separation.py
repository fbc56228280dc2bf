r"""Existence of a GLM's maximum-likelihood estimate, decided by a linear program.

For a canonical GLM of a discrete family the negative log-likelihood has a direction
of recession :math:`\delta \ne 0` (it does not increase along :math:`\delta`, so the MLE
does not exist) exactly when :math:`z_j^\top\delta \ge 0` for every *boundary* row
:math:`j` and :math:`z_j^\top\delta = 0` for every *interior* row. The rows
:math:`z_j` are the design rows, signed so that a boundary response pushes the
linear predictor the right way: ``+x_i`` when :math:`y_i` is the upper end of the
support (a Bernoulli 1, a binomial ``n``), ``-x_i`` at the lower end (0 successes, a
Poisson 0, a geometric 1); a Categorical contributes one row per cell, in logit space.

By Stiemke's alternative, a boundary row either is strictly positive for some
recession direction (it is *separated*: its mean goes to the end of the support) or
carries positive weight :math:`a_j > 0` in some combination
:math:`\sum_B a_j z_j + \sum_I a_j z_j = 0` (interior weights free), never both. The
linear program

.. math:: \max \sum_{j \in B} t_j \quad\text{s.t.}\quad
          \sum_{j\in B} (t_j + s_j) z_j + \sum_{j \in I} a_j z_j = 0,\quad
          0 \le t_j \le 1,\ s_j \ge 0,

returns :math:`t_j = 1` exactly on the rows that some combination can weight
(homogeneity lets any such row reach 1) and :math:`t_j = 0` on the separated rows. The
rows that stay (interior rows and weighted boundary rows) span the *face* of the
convex support holding the observed statistic; the null space of their design is the
span of the recession cone (the directions along which the limit model is not
identified), and one direction strictly positive on every separated row gives the
limit of the predictions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import linalg

__all__ = ["Face", "find_face", "null_space_rows"]

F64 = NDArray[np.float64]


class Face(NamedTuple):
    """The outcome of the existence program.

    Attributes
    ----------
    separated : ndarray of bool
        Per constraint row: True where the row is separated (its mean goes to the
        boundary of the support).
    null : ndarray
        Orthonormal basis (columns) of the null space of the rows that stay: the span
        of the recession directions; shape ``(p, r)`` with ``r = 0`` when the MLE
        exists.
    direction : ndarray
        One recession direction (largest entry 1 in absolute value), strictly
        positive on every separated row and 0 on the rows that stay; zeros when the
        MLE exists.
    """

    separated: NDArray[np.bool_]
    null: F64
    direction: F64


def null_space_rows(Z: Any, p: int, *, block: int = 65536) -> F64:
    """Orthonormal basis of the null space of the rows of `Z` (dense or sparse, p columns).

    The rows are reduced to a ``p x p`` triangular factor block by block (a tall-skinny
    QR), whose singular values below ``max(m, p) * eps * s_max`` count as zero.
    """
    m = Z.shape[0]
    R = np.zeros((0, p))
    for start in range(0, m, block):
        chunk = Z[start : start + block]
        # a sparse chunk (duck-typed: scipy.sparse is imported only by the program)
        dense = (
            chunk.toarray() if hasattr(chunk, "toarray") else np.asarray(chunk, dtype=np.float64)
        )
        R = linalg.qr(np.vstack([R, dense]), mode="r")[0][: min(p, R.shape[0] + dense.shape[0])]
    if R.shape[0] == 0:
        return np.eye(p)
    _, sv, vt = linalg.svd(R, full_matrices=True)
    tol = max(m, p) * np.finfo(np.float64).eps * (sv[0] if sv.size else 0.0)
    rank = int(np.count_nonzero(sv > tol))
    return np.ascontiguousarray(vt[rank:].T)


def find_face(Z: Any, side: NDArray[np.int8]) -> Face:
    """Decide existence for constraint rows `Z` (dense or CSR) with `side` in {-1, 0, +1}.

    `side` = +1: the row must satisfy ``z @ delta >= 0`` for a recession direction; -1:
    ``<= 0``; 0: ``== 0``. Rows of all zeros are ignored.
    """
    # on first use: scipy.optimize and scipy.sparse add ~0.1 s to `import expfam`
    from scipy import optimize, sparse  # noqa: PLC0415 - only the existence program needs them

    m, p = Z.shape
    Zs = sparse.csr_matrix(Z)
    sgn = np.where(side == 0, 1.0, side.astype(np.float64))
    Zs = sparse.diags(sgn) @ Zs
    bnd = np.flatnonzero(side != 0)
    inner = np.flatnonzero(side == 0)
    separated = np.zeros(m, dtype=bool)
    if bnd.size == 0:
        return Face(separated, np.zeros((p, 0)), np.zeros(p))
    ZB = Zs[bnd].T.tocsc()
    ZI = Zs[inner].T.tocsc()
    nb, ni = bnd.size, inner.size
    # scale each constraint (a coordinate of the parameter) to unit size
    rowscale = np.sqrt(np.asarray(ZB.multiply(ZB).sum(axis=1)).ravel())
    if ni:
        rowscale = np.hypot(rowscale, np.sqrt(np.asarray(ZI.multiply(ZI).sum(axis=1)).ravel()))
    rowscale[rowscale == 0] = 1.0
    D = sparse.diags(1 / rowscale)
    A_eq = sparse.hstack([D @ ZB, D @ ZB, D @ ZI]).tocsc()
    c = np.concatenate([-np.ones(nb), np.zeros(nb + ni)])
    bounds = np.column_stack(
        [
            np.concatenate([np.zeros(2 * nb), np.full(ni, -np.inf)]),
            np.concatenate([np.ones(nb), np.full(nb + ni, np.inf)]),
        ]
    )
    tight = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
    problem: dict[str, Any] = {
        "c": c,
        "A_eq": A_eq,
        "b_eq": np.zeros(p),
        "bounds": bounds,
        "method": "highs",
    }
    res = optimize.linprog(**problem, options=tight)
    if res.status != 0:  # rare numerical trouble at tight tolerances: HiGHS defaults
        res = optimize.linprog(**problem)
    if res.status != 0:  # pragma: no cover - HiGHS failing on a feasible program
        msg = f"the existence linear program failed: {res.message}"
        raise RuntimeError(msg)
    t = res.x[:nb]
    sep_b = t < 0.5
    if not np.any(sep_b):
        return Face(separated, np.zeros((p, 0)), np.zeros(p))
    separated[bnd[sep_b]] = True
    keep = ~separated
    null = null_space_rows(Zs[np.flatnonzero(keep)], p)
    if null.shape[1] == 0:  # LP noise: the rows that stay pin every direction
        return Face(np.zeros(m, dtype=bool), np.zeros((p, 0)), np.zeros(p))
    direction = _direction(Zs[np.flatnonzero(separated)], null)
    if direction is None:  # pragma: no cover - LP noise: nothing is strictly separated
        return Face(np.zeros(m, dtype=bool), np.zeros((p, 0)), np.zeros(p))
    return Face(separated, null, direction)


def _direction(ZJ: Any, null: F64) -> F64 | None:
    """Return a direction ``null @ g`` strictly positive on the rows `ZJ` (None: none)."""
    from scipy import optimize  # noqa: PLC0415 - ~0.1 s to import; only the program needs it

    A = np.asarray(ZJ @ null)
    r = null.shape[1]
    scale = float(np.max(np.abs(A))) or 1.0
    res = optimize.linprog(
        c=np.zeros(r),
        A_ub=-A / scale,
        b_ub=-np.ones(A.shape[0]) / scale,
        bounds=[(None, None)] * r,
        method="highs",
    )
    if res.status != 0:
        return None
    d = null @ res.x
    return np.asarray(d / np.max(np.abs(d)))
