r"""Softmax regression with many unknowns: truncated Newton on exact Hessian-vector products.

A full Hessian pass of softmax regression costs :math:`n (q(K-1))^2 / 2` multiply-adds
(about 15 gradient passes at ``q = 51``, ``K = 10``), a gradient pass or a
Hessian-vector product :math:`2 n q K`. So the solver here never forms the Hessian of
all rows while it iterates: each Newton step :math:`H d = -g` is solved by conjugate
gradients (:math:`H v` one pass over the rows, from the probabilities cached by the
gradient pass), preconditioned by the exact Hessian of a fixed random subsample of
rows (a Cholesky factor, refreshed twice early on). The steps are Newton steps to the
precision the forcing terms ask for, so the iterates converge superlinearly; the
objective's line search (Armijo) keeps them descending from afar.

Convergence is certified the same way as in :func:`expfam._glm.newton`: the Newton
decrement (here from conjugate gradients on the exact Hessian) at the rounding level of
the objective. The full Hessian, the Fisher information of the inference, is formed
once, only when the covariance is asked for.

Coordinates are those of :mod:`expfam._glm`: :math:`\theta` is the ``q x (K-1)`` matrix
:math:`C` flattened row-major, with logits :math:`U = X C Q^\top + O`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import linalg
from scipy.linalg import blas

__all__ = ["SoftmaxPasses", "truncated_newton"]

F64 = NDArray[np.float64]

_BLOCK = 1024  # rows per block: a block of X and its logits stay in the L2 cache
_HESS_BLOCK = 512  # rows per block of the Hessian's rank-b updates (measured best)
SUBSAMPLE_PER_UNKNOWN = 20  # rows of the preconditioner's subsample per unknown
_REFRESH = (1, 3)  # iterations after which the preconditioner is recomputed
_MAXITER = 50
_CG_MAXITER = 100
# after a step whose decrement is below this (relative to the objective) the next
# one is expected at the rounding level: it is checked with a loose solve
_STOP = 1e-14
_CONVERGED = 1e-20  # a decrement at the rounding level of the objective


class SoftmaxPasses:
    r"""Passes over the rows of one softmax regression, in :math:`\theta` coordinates.

    Parameters are the arrays of the problem: design `X` ``(n, q)``, `counts` ``(n, K)``
    (one-hot labels or soft targets), their row `total`, `weights` ``(n,)``, a finite
    `offset` ``(n, K)``, the basis `Q` ``(K, K-1)`` and the ridge `pen` per entry of
    :math:`\theta`. :meth:`value_grad` caches the probabilities of its point; the
    Hessian methods use the cache of the last *accepted* point (:meth:`accept`).
    """

    def __init__(  # noqa: PLR0917 - the arrays of one problem
        self,
        X: F64,
        counts: F64,
        total: F64,
        weights: F64,
        offset: F64,
        Q: F64,
        pen: F64,
    ) -> None:
        self.X, self.Y, self.Q, self.pen = X, counts, Q, pen
        self.n, self.q = X.shape
        self.K = Q.shape[0]
        self.m = Q.shape[1]
        self.wt = weights * total  # the weight of a row's log-partition
        self.w = weights
        # the common case (unit weights, one label per row) skips the weighting
        self.unit = bool(np.all(weights == 1) and np.all(total == 1))
        # ... and one-hot rows as labels: no pass over the counts
        self.labels: NDArray[np.intp] | None = None
        if self.unit:
            labels = np.argmax(counts, axis=1)
            if np.all(counts[np.arange(self.n), labels] == 1):
                self.labels = labels
        self.off = offset if np.any(offset) else None
        self.P = np.empty((self.n, self.K))  # probabilities of the accepted point
        self._trial = np.empty((self.n, self.K))  # those of the last evaluated point

    def _logits(self, B: F64, rows: slice) -> F64:
        U = self.X[rows] @ B
        if self.off is not None:
            U += self.off[rows]
        return np.asarray(U)

    def value_grad(self, theta: F64) -> tuple[float, F64]:
        """Return the objective and its gradient at `theta` (one pass over the rows)."""
        B = theta.reshape(self.q, self.m) @ self.Q.T
        f = 0.0
        G = np.zeros((self.q, self.K))
        for start in range(0, self.n, _BLOCK):
            rows = slice(start, start + _BLOCK)
            Xb = self.X[rows]
            P = self._trial[rows]  # the logits, then the probabilities, in place
            np.matmul(Xb, B, out=P)
            if self.off is not None:
                P += self.off[rows]
            top = P.max(axis=1)
            if self.labels is not None:
                lab = self.labels[rows]
                at = (np.arange(lab.size), lab)
                lin = P[at]
            else:
                lin = np.einsum("ij,ij->i", self.Y[rows], P)
            P -= top[:, None]
            np.exp(P, out=P)
            tot = P.sum(axis=1)
            P /= tot[:, None]
            lse = top + np.log(tot)
            if self.labels is not None:
                f += float(np.sum(lse - lin))
                R = P.copy()
                R[at] -= 1.0
            else:
                wb = self.w[rows]
                f += float(self.wt[rows] @ lse - wb @ lin)
                R = P * self.wt[rows, None]
                R -= wb[:, None] * self.Y[rows]
            G += Xb.T @ R
        g = (G @ self.Q).ravel()
        f += 0.5 * float(np.sum(self.pen * theta * theta))
        return f, g + self.pen * theta

    def accept(self) -> None:
        """Make the point of the last :meth:`value_grad` the one the Hessian is taken at."""
        self.P, self._trial = self._trial, self.P

    def hessvec(self, d: F64) -> F64:
        """Return the Hessian at the accepted point times `d` (one pass over the rows)."""
        D = d.reshape(self.q, self.m) @ self.Q.T
        G = np.zeros((self.q, self.K))
        for start in range(0, self.n, _BLOCK):
            rows = slice(start, start + _BLOCK)
            W = self.X[rows] @ D
            Pb = self.P[rows]
            W -= np.einsum("ij,ij->i", Pb, W)[:, None]
            W *= Pb
            if not self.unit:
                W *= self.wt[rows, None]
            G += self.X[rows].T @ W
        return (G @ self.Q).ravel() + self.pen * d

    def hessian(self, rows: NDArray[np.intp] | None = None) -> F64:
        r"""Return the Hessian at the accepted point over `rows` (all rows if None).

        :math:`\sum_i w_i s_i\,(Q^\top(\mathrm{diag}(p_i) - p_i p_i^\top)Q) \otimes x_i x_i^\top`
        as the ``K`` weighted Gram matrices of the diagonal part (one product per
        block) minus a rank-``b`` update (BLAS ``syrk``) by the rows
        :math:`\sqrt{w_i s_i}\,(x_i \otimes Q^\top p_i)`; without the ridge.
        """
        q, m, K = self.q, self.m, self.K
        idx: NDArray[np.intp] | slice
        count = self.n if rows is None else rows.size
        grams = np.zeros((q, q * K))
        upper = np.zeros((q * m, q * m))
        for start in range(0, count, _HESS_BLOCK):
            stop = start + _HESS_BLOCK
            idx = slice(start, stop) if rows is None else rows[start:stop]
            Xb, Pb = self.X[idx], self.P[idx]
            WP = Pb if self.unit else Pb * self.wt[idx, None]
            grams += Xb.T @ (Xb[:, :, None] * WP[:, None, :]).reshape(-1, q * K)
            V = Pb @ self.Q
            if not self.unit:
                V *= np.sqrt(self.wt[idx])[:, None]
            Z = (Xb[:, :, None] * V[:, None, :]).reshape(-1, q * m)
            upper = blas.dsyrk(-1.0, Z.T, beta=1.0, c=upper, trans=0, lower=0, overwrite_c=True)
        H = np.triu(upper) + np.triu(upper, 1).T
        QQ = self.Q[:, :, None] * self.Q[:, None, :]  # (K, m, m)
        diag = np.einsum("jlk,kab->jalb", grams.reshape(q, q, K), QQ)
        return np.asarray(H + diag.reshape(q * m, q * m))

    def gradient_and_hessian(self, theta: F64) -> tuple[F64, F64]:
        """Return the gradient and the full Hessian (with the ridge) at `theta` (two passes)."""
        _, g = self.value_grad(theta)
        self.accept()
        return g, self.hessian() + np.diag(self.pen)


def _cholesky(H: F64) -> F64 | None:
    try:
        return np.asarray(linalg.cholesky(H, check_finite=False))
    except linalg.LinAlgError:
        return None


def _preconditioner(passes: SoftmaxPasses, rows: NDArray[np.intp] | None, scale: float) -> F64:
    """Cholesky factor (upper) of the subsample's Hessian scaled to all rows, plus the ridge.

    A sample that leaves a direction without curvature (a rare level of a factor)
    gets a small multiple of the identity added; only a step's speed depends on it.
    """
    H = passes.hessian(rows) * scale + np.diag(passes.pen)
    top = float(np.max(np.diag(H), initial=0.0))
    for ridge in (1e-10, 1e-6, 1e-2):
        R = _cholesky(H + ridge * max(top, 1.0) * np.eye(H.shape[0]))
        if R is not None:
            return R
    return np.eye(H.shape[0]) * math.sqrt(max(top, 1.0))


def _pcg(passes: SoftmaxPasses, b: F64, R: F64, tol: float) -> tuple[F64, int]:
    """Solve ``H x = b`` by conjugate gradients preconditioned with ``R^T R``."""

    def prec(r: F64) -> F64:
        return np.asarray(linalg.cho_solve((R, False), r, check_finite=False))

    x = np.zeros_like(b)
    r = b.copy()
    z = prec(r)
    d = z.copy()
    rz = float(r @ z)
    stop = tol * math.sqrt(max(rz, 0.0))
    for it in range(1, _CG_MAXITER + 1):
        Hd = passes.hessvec(d)
        curv = float(d @ Hd)
        if not curv > 0:  # rounding at the solution: what was found is the step
            return x, it
        alpha = rz / curv
        x += alpha * d
        r -= alpha * Hd
        z = prec(r)
        rz_new = float(r @ z)
        if math.sqrt(max(rz_new, 0.0)) <= stop:
            return x, it
        d = z + (rz_new / rz) * d
        rz = rz_new
    return x, _CG_MAXITER


def truncated_newton(passes: SoftmaxPasses, theta: F64, seed: int = 0) -> tuple[F64, int, bool]:
    """Minimise from `theta`; return the point, the Newton iterations and convergence.

    Converged means: the Newton decrement at the returned point (conjugate gradients
    to 1% on the exact Hessian) is at most ``1e-20`` of the objective, the rounding
    level. That check follows a step whose decrement was below ``1e-14`` of the
    objective (quadratic convergence puts the next one near ``1e-28``), so it costs
    one gradient pass and two or three products. Not converged (a step that does not
    decrease the objective, or the iteration limit) leaves it to Newton's method.
    """
    pos = np.flatnonzero(passes.wt > 0)
    size = SUBSAMPLE_PER_UNKNOWN * theta.size
    if 2 * size < pos.size:
        rows: NDArray[np.intp] | None = np.sort(
            np.random.default_rng(seed).choice(pos, size=size, replace=False)
        )
        scale = float(passes.wt[pos].sum() / passes.wt[rows].sum())
    else:
        rows, scale = None, 1.0
    f, g = passes.value_grad(theta)
    passes.accept()
    R = _preconditioner(passes, rows, scale)
    checking = False
    for it in range(1, _MAXITER + 1):
        small = max(1.0, abs(f))
        if checking:
            tol = 1e-2
        else:
            tol = max(1e-12, min(0.5, math.sqrt(float(np.max(np.abs(g))) / small)))
        step, _ = _pcg(passes, -g, R, tol)
        dec = float(-g @ step)
        if not dec > _CONVERGED * small:
            return (theta + step if dec > 0 else theta), it, True
        t = 1.0
        while True:
            f_new, g_new = passes.value_grad(theta + t * step)
            # near the optimum the objective's change is below its rounding: a full
            # Newton step with a tiny decrement is taken as it is
            if f_new <= f - 1e-4 * t * dec or (t == 1.0 and dec <= 1e-10 * small):
                break
            t *= 0.5
            if t < 1e-10:
                return theta, it, False
        theta = theta + t * step
        f, g = f_new, g_new
        passes.accept()
        checking = dec <= _STOP * small and t == 1.0
        if it in _REFRESH:
            R = _preconditioner(passes, rows, scale)
    return theta, _MAXITER, False
