r"""Generalized linear models: input checks, the existence program and the Newton solver.

The solver works on the parameter vector :math:`\theta`: the coefficients of a
one-parameter family, or for Categorical the ``q x (K-1)`` matrix :math:`C` with
:math:`B = C Q^\top` (:math:`Q` an orthonormal basis of the vectors summing to zero), so
the columns of the reported ``q x K`` coefficients sum to zero across classes (the
gauge). Each Newton step is **one pass of sums over row blocks**: the objective,
:math:`X^\top r` and :math:`X^\top W X` (:func:`solver_pass`), then a Cholesky solve
(:func:`scipy.linalg.cho_factor`, an eigenvalue solve as fallback) and a backtracking
(Armijo) line search that also keeps the iterates in the natural domain.

One-parameter families start from the intercept-only fit (no pass over `X`), refined
on large Bernoulli, Binomial and Poisson data by a fit on every k-th row; their sums
add the intercept column themselves, so `X` is read in place, never copied.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg
from scipy.linalg import blas

from expfam._dask import dask_module, is_dask_collection
from expfam._errors import ConvergenceError
from expfam._glm_families import CategoricalModel, ScalarModel, make_model
from expfam._glm_result import GLMResult, LimitInfo
from expfam._glm_softmax import SoftmaxPasses, truncated_newton
from expfam._separation import find_face, null_space_rows
from expfam._validation import as_float_array, reject_bool_labels

__all__ = [
    "LBFGS_MIN",
    "SUBSET_MIN",
    "Problem",
    "constraint_rows",
    "fisher",
    "glm",
    "interior_certificate",
    "inv_sym",
    "lbfgs",
    "names_of",
    "newton",
    "raise_rank",
    "solve",
    "solver_pass",
    "start_sums",
    "sums",
    "tidy_null",
]

F64 = NDArray[np.float64]

_BLOCK = 32768
_CACHE_DOUBLES = 1 << 15  # entries of X per block of a scalar pass (at least 1024 rows)
_SUB_STRIDE = 8  # one in this many rows in the subsample of the start (at least)
_SUB_SPREAD = 1024  # the stride times the columns (a decrement of about this on all rows)
_SUB_ENTRIES = 1 << 22  # entries of X in that subsample (at most)
_SYRK_MIN = 32  # columns from which BLAS syrk (half the products) beats a full gemm
_MAXITER = 100
SUBSET_MIN = 1000  # rows of the first existence and rank checks on large data
LBFGS_MIN = 200  # unknowns from which softmax runs truncated Newton (else L-BFGS) first
_CENTRE_ROWS = 1024  # rows of the sample whose column means centre the design
_CENTRE_RATIO = 8.0  # a column is centred where |mean| > this many standard deviations


# ---------------------------------------------------------------------------------- inputs
def names_of(X: Any, q: int) -> list[str]:
    cols = getattr(X, "columns", None)
    if cols is not None and len(cols) == q:
        return [str(c) for c in cols]
    return [f"x{j}" for j in range(q)]


def _design(X: Any, intercept: bool) -> tuple[F64 | None, list[str]]:
    if X is None:
        if not intercept:
            raise ValueError("`X` is None (intercept-only model), so `intercept` must be True")
        return None, ["intercept"]
    if isinstance(intercept, (np.bool_, bool)) is False:
        raise TypeError(f"`intercept` must be a bool; got {intercept!r}")
    Xa = as_float_array(np.asarray(X) if hasattr(X, "columns") else X, "X")
    if Xa.ndim != 2:
        raise ValueError(f"`X` must be 2-d (rows = observations); got shape {Xa.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.sum(Xa))  # finite only if every entry is (one read, no mask)
    if not math.isfinite(total) and not np.all(np.isfinite(Xa)):
        i, j = np.argwhere(~np.isfinite(Xa))[0]
        raise ValueError(f"`X` must be finite; found {Xa[i, j]} at row {i}, column {j}")
    names = names_of(X, Xa.shape[1])
    if intercept:  # the design is a new array with the column of ones: no copy here
        return Xa.astype(np.float64, copy=False), ["intercept", *names]
    return Xa.astype(np.float64), names


def _vector(a: ArrayLike, name: str, n: int) -> F64:
    v = as_float_array(a, name).astype(np.float64)
    if v.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},) (one per row); got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"`{name}` must be finite; found {v[~np.isfinite(v)][0]}")
    return v


def _categorical_counts(y: Any, n: int, fixed: dict[str, Any]) -> F64:
    K = fixed.pop("num_categories", None)
    if fixed:
        raise TypeError(f"glm with Categorical takes only `num_categories`; got {sorted(fixed)}")
    reject_bool_labels(y, "y", counts=True)
    ya = np.asarray(y)
    if ya.dtype.kind == "c":
        raise TypeError("`y` must be real")
    if ya.ndim == 1:
        return _label_counts(ya, n, K)
    if ya.ndim != 2 or ya.shape[0] != n:
        raise ValueError(f"`y` must have shape ({n},) (labels) or ({n}, K); got {ya.shape}")
    c = as_float_array(ya, "y").astype(np.float64)
    if K is not None and c.shape[1] != K:
        raise ValueError(f"`y` has {c.shape[1]} columns but `num_categories` = {K}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("`y` rows must be finite non-negative counts or probabilities")
    if np.any(c.sum(axis=1) <= 0):
        i = int(np.flatnonzero(c.sum(axis=1) <= 0)[0])
        raise ValueError(f"`y` row {i} sums to 0: every row needs a positive total")
    if c.shape[1] < 2:
        raise ValueError("`y` needs at least 2 categories")
    return c


def _label_counts(ya: NDArray[Any], n: int, K: int | None) -> F64:
    """Return the one-hot rows of the labels `ya` (checked: integers in ``[0, K)``)."""
    if ya.shape != (n,):
        raise ValueError(f"`y` must have shape ({n},) (labels) or ({n}, K); got {ya.shape}")
    if ya.dtype.kind not in "iuf":
        raise TypeError(f"`y` must hold integer labels 0, ..., K - 1; got dtype {ya.dtype}")
    if not np.all(np.isfinite(ya)):
        raise ValueError("`y` must hold integer labels 0, ..., K - 1")
    if not np.all((ya >= 0) & (ya == np.round(ya))):
        raise ValueError("`y` must hold integer labels 0, ..., K - 1 (non-negative integers)")
    labels = ya.astype(np.int64)
    kk = int(labels.max()) + 1 if K is None else int(K)
    if K is not None and (kk < 1 or labels.max() >= kk):
        raise ValueError(f"`y` holds a label >= `num_categories` = {kk}")
    kk = max(kk, 2)
    counts = np.zeros((n, kk))
    counts[np.arange(n), labels] = 1.0
    return counts


def _scalar_y(y: Any, n: int) -> F64:
    ya = as_float_array(y, "y").astype(np.float64)
    if ya.shape != (n,):
        raise ValueError(f"`y` must have shape ({n},) (one response per row); got {ya.shape}")
    if not np.all(np.isfinite(ya)):
        raise ValueError(f"`y` must be finite; found {ya[~np.isfinite(ya)][0]}")
    return ya


# ---------------------------------------------------------------------------------- problem
@dataclass
class Problem:
    """The data of one fit: design, response, weights, offset, penalty, parametrisation."""

    X: F64
    model: ScalarModel | CategoricalModel
    w: F64
    off: F64
    Q: F64 | None  # (K, K-1) for Categorical
    pen: F64  # per entry of theta: l2 where penalised
    V: F64 | None = None  # theta = V gamma (the limit model), None: identity
    #: the Hessian in gamma of the last Newton pass, with its gamma (reused as Fisher)
    last: tuple[F64, F64] | None = None
    #: the raw sums of :func:`sums` computed elsewhere: a Dask problem's are sums of
    #: the same function over chunks of rows, merged in a tree (one pass per call)
    sums: Callable[[F64, int], tuple[float, F64, F64]] | None = None
    #: the design is ``[1, X]``: `X` (a scalar family's, not copied) omits the intercept
    ones: bool = False
    #: with `ones`, the design is ``[1, X - shift]`` (the columns centred in the pass;
    #: :func:`centred`), None: ``[1, X]``
    shift: F64 | None = None

    @property
    def q(self) -> int:
        return int(self.X.shape[1]) + self.ones

    @property
    def p(self) -> int:
        return self.q * (1 if self.Q is None else self.Q.shape[1])

    def coef(self, theta: F64) -> F64:
        """Return the reported coefficients (q,) or (q, K) of `theta`."""
        if self.Q is None:
            return theta
        return np.asarray(theta.reshape(self.q, -1) @ self.Q.T)

    def theta(self, gamma: F64) -> F64:
        return gamma if self.V is None else self.V @ gamma

    def eta(self, theta: F64, rows: slice = slice(None)) -> F64:
        with np.errstate(invalid="ignore"):
            if self.ones and self.shift is not None:
                # the centred columns, a block at a time (not a copy of all of `X`)
                Xr, off = self.X[rows], self.off[rows]
                eta = np.empty(Xr.shape[0])
                for start in range(0, Xr.shape[0], _BLOCK):
                    b = slice(start, start + _BLOCK)
                    eta[b] = (Xr[b] - self.shift) @ theta[1:] + (theta[0] + off[b])
                return eta
            if self.ones:
                return np.asarray(self.X[rows] @ theta[1:] + (theta[0] + self.off[rows]))
            return np.asarray(self.X[rows] @ self.coef(theta) + self.off[rows])


def design_rows(prob: Problem, rows: Any = slice(None)) -> F64:
    """Return the rows `rows` of the design, with the column of ones if `X` omits it."""
    Xr = prob.X[rows]
    if not prob.ones:
        return np.asarray(Xr)
    if prob.shift is not None:
        Xr = Xr - prob.shift
    return np.hstack([np.ones((Xr.shape[0], 1)), Xr])


def has_ones(prob: Problem) -> bool:
    """Return True if the first column of the design is all ones (an intercept)."""
    if prob.ones:
        return True
    return prob.X.shape[1] > 0 and bool(np.all(prob.X[:, 0] == 1))


def _rows_n(model: ScalarModel, rows: slice) -> F64:
    return model.n[rows] if model.n.size > 1 else model.n


def solver_pass(prob: Problem, theta: F64, order: int) -> tuple[float, F64, F64]:
    """One pass over row blocks: objective, and (order >= 1) gradient, (2) Hessian in theta.

    The sums are ``sum_i w_i f(eta_i)``, ``X^T r`` and ``X^T W X`` (for Categorical the
    ``qK x qK`` block matrix with blocks ``X^T diag(w s (p_k d_kl - p_k p_l)) X``), by
    :func:`sums` (or ``prob.sums``); the projection onto theta and the penalty are
    added after the pass.
    """
    f, G, H = sums(prob, theta, order) if prob.sums is None else prob.sums(theta, order)
    if order == 0 and not math.isfinite(f):
        return f, G, H
    g, Hp = _project(prob, G, H)
    f += 0.5 * float(np.sum(prob.pen * theta * theta))
    g = g + prob.pen * theta
    if order >= 2:
        Hp = Hp + np.diag(prob.pen)
    return f, g, Hp


def sums(prob: Problem, theta: F64, order: int) -> tuple[float, F64, F64]:
    """Return the sums of :func:`solver_pass` over the rows of `prob`, in coefficient (B) space."""
    if isinstance(prob.model, ScalarModel):
        return _scalar_sums(prob, theta, order)
    X, model, w = prob.X, prob.model, prob.w
    n, q = X.shape
    K = 1 if prob.Q is None else prob.Q.shape[0]
    f = 0.0
    G = np.zeros((q, K))
    H = np.zeros((q * K, q * K)) if order >= 2 else np.zeros((0, 0))
    U = np.zeros_like(H)  # upper triangle of the symmetric rank-k updates (syrk)
    for start in range(0, n, _BLOCK):
        rows = slice(start, start + _BLOCK)
        wb = w[rows]
        Xb = X[rows]
        eta = prob.eta(theta, rows)
        pr = np.zeros(0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            model.set_block(rows)
            vals, pr = model.value_and_probs(eta)
            f += float(np.sum(np.where(wb > 0, wb * vals, 0.0)))
        if order == 0:
            if not math.isfinite(f):
                return f, G, H
            continue
        ws = wb * model.t_block
        r = wb[:, None] * (model.t_block[:, None] * pr - model.y_block)
        G += Xb.T @ r
        if order >= 2:
            for k in range(K):
                Xk = Xb * (ws * pr[:, k])[:, None]
                H[k::K, k::K] += Xb.T @ Xk
            Z = (Xb[:, :, None] * (np.sqrt(ws)[:, None] * pr)[:, None, :]).reshape(-1, q * K)
            U = _syrk(Z, U, -1.0)
    if order >= 2:
        H += U + np.triu(U, 1).T
    return f, G, H


def _block_rows(q: int) -> int:
    """Rows per block of a scalar pass: a block of `X` and its scaled copy stay in cache."""
    return max(1024, min(8192, _CACHE_DOUBLES // q))


def _weight_kind(w: F64) -> int:
    """Return 2 if every weight is 1, 1 if every weight is positive, else 0."""
    if w.size == 0:  # a chunk without rows
        return 2
    lo = float(w.min())
    if lo == 1 and float(w.max()) == 1:
        return 2
    return 1 if lo > 0 else 0


def _weigh(kind: int, wb: F64, terms: F64) -> F64:
    """Return ``wb * terms`` by the weight kind, 0 on rows of weight 0 (whatever the term)."""
    if kind == 2:
        return terms
    if kind == 1:
        return wb * terms
    return np.where(wb > 0, wb * terms, 0.0)


def _add_hessian(Xb: F64, hess: F64, H: F64, Zb: F64) -> F64:
    """Return ``H + Xb^T diag(hess) Xb`` on the upper triangle (at least)."""
    if Xb.shape[1] >= _SYRK_MIN:  # syrk: half the products of a gemm, faster from here
        np.multiply(Xb, np.sqrt(hess)[:, None], out=Zb)
        return _syrk(Zb, H, 1.0)
    np.multiply(Xb, hess[:, None], out=Zb)
    H += Xb.T @ Zb
    return H


def _scalar_sums(prob: Problem, theta: F64, order: int) -> tuple[float, F64, F64]:
    """Return the sums of a one-parameter family, reading each block of `X` once per pass.

    Per block of rows (sized to stay in cache from the linear predictor to the
    Hessian): ``eta = X_b theta + o_b``, the family's value, gradient and Hessian
    weights from one set of transcendental functions, then ``X_b^T r`` and
    ``X_b^T diag(h) X_b`` (its upper triangle). Weights enter only where they are not
    all 1; rows of weight 0 are masked only where there are some. An intercept that
    `X` omits (``prob.ones``) adds ``sum r``, ``sum h`` and ``X_b^T h``.
    """
    X, w, off = prob.X, prob.w, prob.off
    model = prob.model
    assert isinstance(model, ScalarModel)  # noqa: S101 - the scalar branch
    n, p = X.shape
    k = int(prob.ones)
    kind = _weight_kind(w)
    shifted = bool(np.any(off))
    slopes = theta[k:]
    f, r0, h0 = 0.0, 0.0, 0.0
    g = np.zeros(p)
    hx = np.zeros(p)
    Hx = np.zeros((p, p))
    step = _block_rows(max(p, 1))
    eta_buf = np.empty(min(step, n))
    Z_buf = np.empty((min(step, n), p) if order >= 2 else (0, p))
    shift = prob.shift if k else None
    C_buf = np.empty((min(step, n), p) if shift is not None else (0, p))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, n, step):
            stop = min(start + step, n)
            Xb, wb = X[start:stop], w[start:stop]
            if shift is not None:  # the centred block, in cache for the products below
                Xb = np.subtract(Xb, shift, out=C_buf[: stop - start])
            eta = eta_buf[: stop - start]
            np.dot(Xb, slopes, out=eta)
            if shifted:
                eta += off[start:stop]
            if k:
                eta += theta[0]
            nb = model.n[start:stop] if model.n.size > 1 else model.n
            vals, grad, hess = model.terms(eta, model.y[start:stop], nb, order)
            f += float(_weigh(kind, wb, vals).sum())
            if order == 0:
                if not math.isfinite(f):
                    return f, np.zeros((p + k, 1)), np.zeros((0, 0))
                continue
            r = _weigh(kind, wb, grad)
            g += Xb.T @ r
            if order >= 2:
                h = _weigh(kind, wb, hess)
                Hx = _add_hessian(Xb, h, Hx, Z_buf[: stop - start])
                if k:
                    hx += Xb.T @ h
                    h0 += float(h.sum())
            if k:
                r0 += float(r.sum())
    G = np.concatenate([[r0], g] if k else [g])[:, None]
    return f, G, (_assemble(Hx, hx, h0, k) if order >= 2 else np.zeros((0, 0)))


def _assemble(Hx: F64, hx: F64, h0: float, k: int) -> F64:
    """Return the symmetric Hessian from the upper triangle of `X`'s block and the intercept's."""
    p = Hx.shape[0]
    H = np.empty((p + k, p + k))
    H[k:, k:] = np.triu(Hx) + np.triu(Hx, 1).T
    if k:
        H[0, 0] = h0
        H[0, 1:] = H[1:, 0] = hx
    return H


def _syrk(A: F64, C: F64, alpha: float) -> F64:
    """Return ``C + alpha A^T A`` on the upper triangle (BLAS syrk: half a matrix product)."""
    if A.shape[0] == 0:
        return C
    # A.T of a C-ordered block is Fortran-ordered: syrk reads it without a copy
    out = blas.dsyrk(alpha, A.T, beta=1.0, c=C, trans=0, lower=0, overwrite_c=True)
    return np.asarray(out)


def _project(prob: Problem, G: F64, H: F64) -> tuple[F64, F64]:
    """Map B-space sums (q x K) to theta (q x (K-1) for Categorical)."""
    if prob.Q is None:
        return G[:, 0], H
    M = np.kron(np.eye(prob.q), prob.Q)
    g = (G @ prob.Q).ravel()
    Hp = M.T @ H @ M if H.size else H
    return g, Hp


def fisher(prob: Problem, theta: F64, robust: bool) -> tuple[F64, F64 | None]:
    """Return the expected information (penalised) and, if `robust`, the score outer product."""
    X, model, w = prob.X, prob.model, prob.w
    n, q = X.shape
    S: F64 | None
    if isinstance(model, CategoricalModel):
        if prob.V is None and np.all(np.isfinite(prob.off)):
            # the Hessian in theta space: fewer products than through B space
            _, H = _softmax_passes(prob).gradient_and_hessian(theta)
        else:
            _, _, H = solver_pass(prob, theta, 2)
        if not robust:
            return H, None
        assert prob.Q is not None  # noqa: S101 - Categorical always has Q
        S = np.zeros((prob.p, prob.p))
        for start in range(0, n, _BLOCK):
            rows = slice(start, start + _BLOCK)
            model.set_block(rows)
            eta = prob.eta(theta, rows)
            pr = model.probs(eta)
            r = w[rows, None] * (model.t_block[:, None] * pr - model.y_block)
            U = (X[rows][:, :, None] * (r @ prob.Q)[:, None, :]).reshape(-1, prob.p)
            S += U.T @ U
        return H, S
    q = prob.q
    H = np.zeros((q, q))
    S = np.zeros((q, q)) if robust else None
    for start in range(0, n, _BLOCK):
        rows = slice(start, start + _BLOCK)
        Xb, wb = design_rows(prob, rows), w[rows]
        eta = prob.eta(theta, rows)
        nb = _rows_n(model, rows)
        with np.errstate(over="ignore", invalid="ignore"):
            h = np.where(wb > 0, wb * model.fisher(eta, nb), 0.0)
        H += Xb.T @ (Xb * h[:, None])
        if S is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                s = np.where(wb > 0, wb * model.grad(eta, model.y[rows], nb), 0.0)
            Xs = Xb * s[:, None]
            S += Xs.T @ Xs
    return H + np.diag(prob.pen), S


# ---------------------------------------------------------------------------------- Newton
def _equilibrate(H: F64) -> F64:
    """Scales ``d`` with ``d_i = 1 / sqrt(H_ii)`` (1 where the diagonal is not positive)."""
    diag = np.diag(H)
    with np.errstate(divide="ignore"):
        return np.where(diag > 0, 1 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)


def solve(H: F64, g: F64) -> F64:
    """Newton step ``-H^{-1} g``: Cholesky of the equilibrated H, else an eigenvalue solve."""
    d = _equilibrate(H)
    Hs = H * d[:, None] * d[None, :]
    try:
        c = linalg.cho_factor(Hs, check_finite=False)
        step = -d * linalg.cho_solve(c, d * g, check_finite=False)
        if np.all(np.isfinite(step)):
            return np.asarray(step)
    except linalg.LinAlgError:
        pass
    return np.asarray(-d * (_pinv_sym(Hs) @ (d * g)))


def _pinv_sym(Hs: F64) -> F64:
    lam, vec = linalg.eigh(Hs)
    keep = lam > max(lam.max(initial=0.0), 0.0) * Hs.shape[0] * np.finfo(np.float64).eps
    inv = np.zeros_like(lam)
    inv[keep] = 1 / lam[keep]
    return np.asarray((vec * inv) @ vec.T)


def inv_sym(H: F64) -> F64:
    """Inverse of a symmetric positive (semi)definite matrix, equilibrated first."""
    if H.size == 0:
        return H
    d = _equilibrate(H)
    Hs = H * d[:, None] * d[None, :]
    try:
        c = linalg.cho_factor(Hs, check_finite=False)
        inv = linalg.cho_solve(c, np.eye(H.shape[0]), check_finite=False)
    except linalg.LinAlgError:
        inv = _pinv_sym(Hs)
    return np.asarray(inv * d[:, None] * d[None, :])


def newton(  # noqa: C901 - one Newton loop, read top-down
    prob: Problem, gamma: F64, maxiter: int = _MAXITER
) -> tuple[F64, int, bool]:
    """Minimise the objective over gamma; return (gamma, Hessian passes, converged).

    Stopping: once the Newton decrement ``dec = g^T H^{-1} g`` (twice the predicted
    decrease) is below ``1e-12 |f|``, full steps are taken while it shrinks, until it
    is below ``1e-30 |f|`` (the error squared below rounding). The last step needs
    no pass of its own when the decrements already prove it: after a full step from
    a decrement ``d0`` to ``d``, quadratic convergence predicts ``d (d / d0)^2`` for
    the next one; if that is below ``1e-30 |f|`` and ``d <= 1e-20 |f|`` (the step
    moves the linear predictor by about ``1e-10``, so the Hessian at its start is
    the Hessian at its end to that precision), the step is taken and the loop ends.
    """

    def full(gm: F64) -> tuple[float, F64, F64]:
        f, g, H = solver_pass(prob, prob.theta(gm), 2)
        if prob.V is not None:
            g, H = prob.V.T @ g, prob.V.T @ H @ prob.V
        prob.last = (gm, H)
        return f, g, H

    if gamma.size == 0:  # the limit model has no free parameter
        return gamma, 0, True
    f, g, H = full(gamma)
    if not math.isfinite(f):
        raise ConvergenceError("the starting point is outside the natural domain", f=f)
    polish = 0
    last = math.inf
    before = math.inf  # the decrement before the full Newton step that led here
    for it in range(1, maxiter + 1):
        step = solve(H, g)
        dec = float(-g @ step)
        if not dec > 0:  # zero gradient (or rounding noise): at the optimum
            return gamma, it, True
        scale = max(1.0, abs(f))
        if dec <= 1e-12 * scale:  # quadratic convergence: full steps while they shrink
            # done when the error is squared below rounding, or rounding stops it
            if dec <= 1e-30 * scale or dec >= last or polish >= 2:
                return gamma, it, True
            if dec <= 1e-20 * scale and dec * (dec / before) ** 2 <= 1e-30 * scale:
                gamma = gamma + step  # proven by the decrements: no pass to confirm it
                prob.last = (gamma, H)
                return gamma, it, True
            polish += 1
            last = before = dec
            gamma = gamma + step
            f, g, H = full(gamma)
            continue
        # the full step is evaluated with its gradient and Hessian in one pass (it is
        # almost always accepted); only a rejected step costs value-only passes
        trial = gamma + step
        f_new, g_new, H_new = full(trial)
        last = math.inf
        if f_new <= f - 1e-4 * dec:
            gamma, f, g, H = trial, f_new, g_new, H_new
            before = dec
            continue
        before = math.inf
        t = 0.5
        while True:
            f_new = solver_pass(prob, prob.theta(gamma + t * step), 0)[0]
            if f_new <= f - 1e-4 * t * dec:
                break
            t *= 0.5
            if t < 1e-12:
                if dec <= 1e-8 * max(1.0, abs(f)):  # rounding stall next to the optimum
                    return gamma, it, True
                raise ConvergenceError(
                    "the line search found no decrease", iterations=it, decrement=dec, f=f
                )
        gamma = gamma + t * step
        f, g, H = full(gamma)
    return gamma, maxiter, False


def lbfgs(prob: Problem, gamma: F64) -> F64:
    """Approach the optimum with L-BFGS (gradient passes only) before Newton polishes it.

    A Hessian pass costs ``n (qK)^2``, a gradient pass ``n q K``: with many unknowns
    (softmax regression) the first part of the way is cheaper by 25 L-BFGS steps
    (:func:`scipy.optimize.minimize`, ``L-BFGS-B``), measured faster than more of them;
    the Newton iterations that follow converge quadratically from there.
    """

    def fun(gm: F64) -> tuple[float, F64]:
        f, g, _ = solver_pass(prob, prob.theta(gm), 1)
        return f, (g if prob.V is None else prob.V.T @ g)

    f0, g0 = fun(gamma)
    if not math.isfinite(f0):
        return gamma
    from scipy import optimize  # noqa: PLC0415 - ~0.1 s to import; only this solver needs it

    res = optimize.minimize(
        fun,
        gamma,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 25, "gtol": 1e-7 * max(1.0, float(np.max(np.abs(g0)))), "ftol": 0},
    )
    x = np.asarray(res.x, dtype=np.float64)
    return x if math.isfinite(float(res.fun)) and res.fun <= f0 else gamma


def start_sums(prob: Problem) -> tuple[F64, F64, bool]:
    """Return the normal equations ``(G, b)`` of the start, and whether any row counts.

    R's first IRLS step: from ``eta0`` near the data, the working response
    ``z = eta0 - f'(eta0) / I(eta0)`` by least squares with weights ``w I(eta0)``.
    """
    model = prob.model
    assert isinstance(model, ScalarModel)  # noqa: S101 - Categorical starts at 0
    pos = prob.w > 0
    nrow = model.n if model.n.size > 1 else np.broadcast_to(model.n, prob.w.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        eta0 = model.start(model.y)
        h = model.fisher(eta0, nrow)
        z = eta0 - model.grad(eta0, model.y, nrow) / h - prob.off
    ok = pos & np.isfinite(z) & np.isfinite(h) & (h > 0)
    # weighted least squares by the normal equations, one pass over the rows
    G = np.zeros((prob.q, prob.q))
    b = np.zeros(prob.q)
    for start in range(0, prob.X.shape[0], _BLOCK):
        rows = slice(start, start + _BLOCK)
        wb = np.where(ok[rows], prob.w[rows] * h[rows], 0.0)
        Xb = design_rows(prob, rows)
        G += Xb.T @ (Xb * wb[:, None])
        b += Xb.T @ np.where(ok[rows], wb * z[rows], 0.0)
    return G, b, bool(ok.any())


@dataclass(frozen=True)
class StartMoments:
    """Weighted sums over the rows of positive weight that fix the start's intercept.

    Sums over disjoint rows add (``+``), so chunks of rows give the same start.
    """

    wsum: float = 0.0  # sum w
    wy: float = 0.0  # sum w y
    wn: float = 0.0  # sum w n (n the trials; 1 but for Binomial)
    wo: float = 0.0  # sum w o (o the offset)
    a: float = 0.0  # the family's offset moments (log links, else nan)
    b: float = 0.0
    off_max: float = -math.inf
    shifted: bool = False  # some offset is not 0

    def __add__(self, other: StartMoments) -> StartMoments:
        return StartMoments(
            self.wsum + other.wsum,
            self.wy + other.wy,
            self.wn + other.wn,
            self.wo + other.wo,
            self.a + other.a,
            self.b + other.b,
            max(self.off_max, other.off_max),
            self.shifted or other.shifted,
        )


def start_moments(model: ScalarModel, w: F64, off: F64) -> StartMoments:
    """Return the :class:`StartMoments` of the rows (one pass over the vectors, not `X`)."""
    nrow = model.n if model.n.size > 1 else np.broadcast_to(model.n, w.shape)
    wp, yp, op, nrow = _positive(w, w, model.y, off, nrow)
    # every row's share, offset or not: chunks of rows add up to all of them
    a, b = model.offset_moments(yp, wp, nrow, op)
    return StartMoments(
        float(np.sum(wp)),
        float(wp @ yp),
        float(wp @ nrow),
        float(wp @ op),
        a,
        b,
        float(np.max(op, initial=-math.inf)),
        bool(np.any(off)),
    )


def _positive(w: F64, *arrays: F64) -> tuple[F64, ...]:
    """Return `arrays` on the rows of positive weight (not copied if that is every row)."""
    pos = w > 0
    if bool(pos.all()):
        return arrays
    return tuple(a[pos] for a in arrays)


def start_intercept(model: ScalarModel, m: StartMoments) -> float | None:
    """Return the intercept of the start (all slopes 0), or None if there is none.

    Without an offset it is the intercept-only MLE, the link of the weighted mean
    response; with an offset, for a log link, the intercept-only MLE in closed form
    (:meth:`~expfam._glm_families.ScalarModel.offset_moments`), else the link of the
    mean minus the mean offset, moved below ``-max(offset)`` where the domain is
    ``eta < 0``. The first Newton step from there is a weighted least-squares fit
    with constant weights, as R's first IRLS step.
    """
    if not m.wn > 0:
        return None
    with np.errstate(all="ignore"):
        mean = m.wy / m.wn
        if not m.shifted:
            b0 = model.link(mean)
        elif math.isfinite(m.a) and math.isfinite(m.b):
            b0 = math.log(m.a / m.b) if m.a > 0 and m.b > 0 else -math.inf
        else:
            b0 = model.link(mean) - m.wo / m.wsum
            if model.negative_domain and b0 + m.off_max >= 0:
                b0 = model.link(mean) - m.off_max
    if not math.isfinite(b0):
        return None
    return float(b0)


def _start(prob: Problem) -> F64:
    """Return a starting gamma: :func:`_start_point`, refined on a subsample of rows."""
    gamma = _start_point(prob)
    model = prob.model
    n = prob.X.shape[0]
    stride = substart_stride(model, n, prob.q) if prob.V is None else 0
    if stride == 0:
        return gamma
    assert isinstance(model, ScalarModel)  # noqa: S101 - substart_stride says so
    rows = slice(0, n, stride)
    sub_model = copy.copy(model)
    sub_model.y = model.y[rows]
    sub_model.n = model.n[rows] if model.n.size > 1 else model.n
    w = prob.w[rows]
    pen = prob.pen * (float(np.sum(w)) / float(np.sum(prob.w)))
    sub = Problem(np.ascontiguousarray(prob.X[rows]), sub_model, w, prob.off[rows], None, pen)
    sub.ones = prob.ones
    sub.shift = prob.shift
    return subsample_fit(sub, gamma)


def substart_stride(model: ScalarModel | CategoricalModel, n: int, q: int) -> int:
    """Return the stride of the rows of the start's subsample (every k-th row), 0: none.

    Only for Bernoulli, Binomial and Poisson (whose natural domain is all of R: every
    coefficient vector is a start). One in ``k = 1024 / q`` rows: the decrement on all
    rows at the subsample's fit is then about ``q k = 1024``, from which Newton needs
    about four passes. ``k`` is at least 8 (else the subsample costs more than it
    saves), at least what keeps the subsample below ``2**22`` entries of `X` (a Dask
    sample is gathered on the client), and at most what leaves it
    ``max(10 000, 100 q)`` rows; 0 if these conflict.
    """
    if not (isinstance(model, ScalarModel) and model.discrete and not model.negative_domain):
        return 0
    most = n // max(10 * SUBSET_MIN, 100 * q)
    stride = min(max(_SUB_SPREAD // q, -(-n * q // _SUB_ENTRIES)), most)
    return stride if stride >= _SUB_STRIDE and -(-n * q // stride) <= _SUB_ENTRIES else 0


def subsample_fit(sub: Problem, gamma: F64) -> F64:
    """Return the MLE on the subsample `sub` from `gamma`, or `gamma` where it is no help.

    On a subsample of ``m`` of the ``n`` rows the MLE is within sampling error of the
    full one, a Newton decrement of about ``q n / m`` on all rows instead of one of
    order ``n``: two fewer passes over all rows, for a few over ``m / n`` of them. A
    subsample may be separated where all rows are not; its fit then runs off along
    the separating direction, where the curvature vanishes. Such a fit (some diagonal
    entry of the Hessian below 1/100 of its value at `gamma`), or one that does not
    converge in 30 steps, is not used.
    """
    try:
        H0 = solver_pass(sub, gamma, 2)[2]
        fit, _, converged = newton(sub, gamma, maxiter=30)
    except ConvergenceError:
        return gamma
    if not converged or sub.last is None or not np.all(np.isfinite(fit)):
        return gamma
    if np.any(np.diag(sub.last[1]) < 1e-2 * np.diag(H0)):
        return gamma
    return fit


def _start_point(prob: Problem) -> F64:
    """Return a starting gamma in the natural domain.

    With an intercept column (and no limit model): the intercept of
    :func:`start_intercept` and slopes 0, no pass over `X`. Otherwise R's start, a
    least-squares fit of the linked response (:func:`start_sums`, one pass), and if
    that is outside the natural domain a linear program for every ``eta <= -1``.
    """
    model = prob.model
    p = prob.p if prob.V is None else prob.V.shape[1]
    if isinstance(model, CategoricalModel):
        return np.zeros(p)
    if prob.V is None and has_ones(prob):
        b0 = start_intercept(model, start_moments(model, prob.w, prob.off))
        if b0 is not None:
            gamma = np.zeros(p)
            gamma[0] = b0
            return gamma
    pos = prob.w > 0
    G, b, any_ok = start_sums(prob)
    theta = -solve(G, -b) if any_ok else np.zeros(prob.p)
    theta = np.asarray(theta, dtype=np.float64)
    gamma = theta if prob.V is None else prob.V.T @ theta
    if math.isfinite(solver_pass(prob, prob.theta(gamma), 0)[0]):
        return gamma
    # the domain is eta < 0: find coefficients with every eta <= -1 by a linear program
    from scipy import optimize  # noqa: PLC0415 - ~0.1 s to import; only this start needs it

    Xp = design_rows(prob, pos) if prob.V is None else design_rows(prob, pos) @ prob.V
    res = optimize.linprog(
        c=np.zeros(Xp.shape[1]),
        A_ub=Xp,
        b_ub=-1.0 - prob.off[pos],
        bounds=[(None, None)] * Xp.shape[1],
        method="highs",
    )
    if res.status != 0:
        raise ValueError(
            f"no coefficients put every row's linear predictor in the natural domain "
            f"(eta < 0) of {model.family.__name__}: check `X` and `offset`"
        )
    gamma = np.asarray(res.x, dtype=np.float64)
    return gamma


# ---------------------------------------------------------------------------------- existence
def constraint_rows(
    prob: Problem, unpen: NDArray[np.bool_], pos: NDArray[np.intp]
) -> tuple[Any, NDArray[np.int8], NDArray[np.intp]]:
    """Return the signed constraint rows of the existence program, sides and source rows/cells.

    Scalar families: the rows `pos` of X on the unpenalised columns. Categorical: one
    row per (row, non-reference category) in B = (q, K) space.
    """
    from scipy import sparse  # noqa: PLC0415 - only the existence program needs it

    model = prob.model
    Xu = design_rows(prob, pos)[:, unpen]
    if isinstance(model, ScalarModel):
        side = model.boundary(
            model.y[pos], _rows_n(model, slice(None))[pos] if model.n.size > 1 else model.n
        )
        return Xu, side, pos
    K = model.K
    qu = Xu.shape[1]
    rows_z, cols_z, vals_z, sides, src = [], [], [], [], []
    c = model.y[pos]
    ref = np.argmax(c > 0, axis=1)
    m = 0
    for k in range(K):
        sel = np.flatnonzero(k != ref)
        if sel.size == 0:
            continue
        cnt = sel.size
        ids = m + np.arange(cnt)
        xi = Xu[sel]
        # z = x (e_ref - e_k) in B-space, index j * K + class
        rr = np.repeat(ids, 2 * qu)
        cj = np.arange(qu)
        cc = np.concatenate(
            [
                (cj[None, :] * K + ref[sel][:, None]),
                np.broadcast_to(cj[None, :] * K + k, (cnt, qu)),
            ],
            axis=1,
        ).ravel()
        vv = np.concatenate([xi, -xi], axis=1).ravel()
        rows_z.append(rr)
        cols_z.append(cc)
        vals_z.append(vv)
        sides.append(np.where(c[sel, k] > 0, 0, 1).astype(np.int8))
        src.append(pos[sel] * K + k)
        m += cnt
    if m == 0:
        return np.zeros((0, qu * K)), np.zeros(0, np.int8), np.zeros(0, np.intp)
    Z = sparse.csr_matrix(
        (np.concatenate(vals_z), (np.concatenate(rows_z), np.concatenate(cols_z))),
        shape=(m, qu * K),
    )
    return Z, np.concatenate(sides), np.concatenate(src)


def _certified(prob: Problem, rows: NDArray[np.intp], unpen: NDArray[np.bool_]) -> bool:
    """Return True if the softmax MLE on `rows` provably exists (:func:`interior_certificate`)."""
    model = prob.model
    assert isinstance(model, CategoricalModel)  # noqa: S101 - called for Categorical
    if not np.all(unpen):
        return False  # a penalised direction is left to the program
    sub = Problem(
        prob.X[rows],
        CategoricalModel(model.y[rows]),
        prob.w[rows],
        prob.off[rows],
        prob.Q,
        np.zeros(prob.p),
    )
    return interior_certificate(sub)


def interior_certificate(sub: Problem) -> bool:
    r"""Return True if the softmax MLE of the rows of `sub` provably exists.

    By Stiemke's alternative the MLE exists if some probabilities :math:`P > 0`
    (rows summing to 1) match the moments, :math:`X^\top W(sP - C) = 0`. A few Newton
    steps on the rows give :math:`\hat P > 0` with a small gradient; one more Newton
    step gives the exact correction :math:`\Delta P_i = F_i \Delta u_i` (rows summing
    to 0, moments matched exactly by construction); if :math:`\hat P + \Delta P > 0`
    everywhere, that is the certificate. False means undecided (the program decides).
    `sub` has no penalty; the in-memory fit and the Dask path pose it on row samples.
    """
    model = sub.model
    assert isinstance(model, CategoricalModel)  # noqa: S101 - a softmax problem
    if null_space_rows(sub.X, sub.q).shape[1]:
        return False  # a direction free on these rows may recede on the others
    if sub.p >= LBFGS_MIN:  # many unknowns: truncated Newton, one Hessian at the end
        passes = _softmax_passes(sub)
        gamma, _, _ = truncated_newton(passes, np.zeros(sub.p))
        g, H = passes.gradient_and_hessian(gamma)  # (`sub` has no ridge)
    else:
        try:
            gamma, _, _ = newton(sub, np.zeros(sub.p), maxiter=30)
        except ConvergenceError:
            return False
        _, g, H = solver_pass(sub, gamma, 2)
    step = solve(H, g)
    P = model.probs(sub.eta(gamma))
    dU = sub.X @ sub.coef(step)
    dP = P * (dU - np.sum(P * dU, axis=1, keepdims=True))
    return bool(np.all(np.isfinite(P)) and np.all(P > 0) and np.all(np.abs(dP) <= 0.5 * P))


def _existence(prob: Problem, unpen: NDArray[np.bool_]) -> LimitInfo | None:  # noqa: C901, PLR0911
    """Run the existence program; None if the MLE exists, else the limit model's data.

    Existence is monotone in the rows: every recession direction of all the rows is
    one of any subset of them. So a subset whose MLE exists proves that the MLE of
    all rows exists; the program is posed on a random subset first (about
    ``10 x`` the number of unknowns) and on all rows only if that subset is separated.
    :func:`glm` poses it on centred columns (:func:`centred`; uncentred, separation
    by a timestamp went unseen or the solver failed): the directions are theirs.
    """
    pos = np.flatnonzero(prob.w > 0)
    rng = np.random.default_rng(0)
    if isinstance(prob.model, CategoricalModel):
        # the cell program is large (a column per cell): certify existence first
        m = max(SUBSET_MIN, 5 * prob.p)
        while m < pos.size:
            sub = np.sort(rng.choice(pos, size=m, replace=False))
            if _certified(prob, sub, unpen):
                return None
            m *= 4
        if _certified(prob, pos, unpen):
            return None
    else:
        unknowns = int(np.count_nonzero(unpen))
        m = max(SUBSET_MIN, 10 * unknowns)
        if pos.size > 2 * m:
            sub = np.sort(rng.choice(pos, size=m, replace=False))
            # a subset proves existence only if its design has full column rank (a
            # direction it leaves free may recede on the other rows)
            if design_null_space(design_rows(prob, sub)[:, unpen], unknowns).shape[1] == 0:
                Z, side, _ = constraint_rows(prob, unpen, sub)
                if side.size == 0 or find_face(Z, side).null.shape[1] == 0:
                    return None
    Z, side, src = constraint_rows(prob, unpen, pos)
    if side.size == 0:
        return None
    face = find_face(Z, side)
    if face.null.shape[1] == 0:
        return None
    q = prob.q
    model = prob.model
    K = 1 if prob.Q is None else prob.Q.shape[0]
    # embed the unpenalised coordinates back into (q, K) coefficient space
    idx = np.flatnonzero(unpen)
    full_null = np.zeros((q, K, face.null.shape[1]))
    full_null[idx] = face.null.reshape(idx.size, K, -1)
    direction = np.zeros((q, K))
    direction[idx] = face.direction.reshape(idx.size, K)
    sep_src = src[face.separated]
    if prob.Q is not None:  # remove the gauge: theta-space basis C = B Q
        nb = np.einsum("jkr,km->jmr", full_null, prob.Q).reshape(q * (K - 1), -1)
        u, s, _ = linalg.svd(nb, full_matrices=False)
        null_theta = u[:, s > 1e-8 * (s[0] if s.size else 1.0)]
        direction = direction - direction.mean(axis=1, keepdims=True)
        cells = np.zeros(prob.off.shape, dtype=bool)
        cells.reshape(-1)[sep_src] = True
        rows_sep = np.zeros(prob.X.shape[0], dtype=bool)
        rows_sep[np.unique(sep_src // K)] = True
        return LimitInfo(null_theta, direction, rows_sep, cells, None)
    null_theta = full_null[:, 0, :]
    rows_sep = np.zeros(prob.X.shape[0], dtype=bool)
    rows_sep[sep_src] = True
    assert isinstance(model, ScalarModel)  # noqa: S101 - not Categorical here
    sides = np.zeros(prob.X.shape[0], dtype=np.int8)
    sides[sep_src] = side[face.separated]
    return LimitInfo(null_theta, direction[:, 0], rows_sep, None, sides)


def uncentred_limit(limit: LimitInfo, M: F64, m: int) -> LimitInfo:
    """Return the limit data of a centred fit on the columns of ``[1, X]`` (``theta = M theta_c``).

    The recession basis spans ``M`` times the centred one (re-orthonormalised); the
    direction's rows (coefficients B, ``q x K``) map by ``M``'s ``q x q`` block.
    """
    null = limit.null
    if null.shape[1]:
        null = np.asarray(linalg.qr(M @ null, mode="economic")[0])
    direction = M[::m, ::m] @ limit.direction
    big = float(np.max(np.abs(direction), initial=0.0))
    return limit._replace(null=null, direction=direction / big if big > 0 else direction)


# ---------------------------------------------------------------------------------- conditioning
def column_centres(Xs: F64) -> F64 | None:
    """Return centres for the columns of the sample rows `Xs` (an intercept besides), or None.

    A column whose sample mean exceeds ``_CENTRE_RATIO = 8`` sample standard
    deviations is centred at that mean, the others at 0; None if no column needs it.
    With an intercept the centred design ``[1, X - c]`` spans the same models, and its
    Gram matrix ``X^T W X`` has the condition number of the spread of the columns, not
    of their offsets: uncentred, the covariance loses about ``eps (mean / sd)^2``
    (``1e-14`` at the ratio 8, ``2e-4`` at ``1e6``). Below the ratio the subtraction
    in every pass (measured 10-15% of a pass) buys nothing.
    """
    if Xs.shape[0] == 0 or Xs.shape[1] == 0:
        return None
    with np.errstate(all="ignore"):
        mean = np.mean(Xs, axis=0)
        sd = np.std(Xs, axis=0)
    c = np.where(np.isfinite(mean) & (np.abs(mean) > _CENTRE_RATIO * sd), mean, 0.0)
    return np.asarray(c, dtype=np.float64) if np.any(c) else None


def uncentre_map(c: F64, m: int) -> F64:
    """Return ``M`` with ``theta = M theta_c`` for the design ``[1, X - c]`` (theta_c's).

    The coefficients on ``[1, X]`` are the same slopes and the intercept
    ``b0 = b0_c - c^T b`` (per class for Categorical, ``m`` columns of theta per
    column of the design); a covariance maps as ``M Cov M^T``, exactly.
    """
    A = np.eye(c.size + 1)
    A[0, 1:] = -c
    return A if m == 1 else np.asarray(np.kron(A, np.eye(m)), dtype=np.float64)


def centred(prob: Problem) -> tuple[Problem, F64 | None]:
    """Return the problem on the centred design ``[1, X - c]`` and its :func:`uncentre_map`.

    Only a design with an intercept (unpenalised) is centred, at the
    :func:`column_centres` of about ``_CENTRE_ROWS`` rows of positive weight; `prob`
    and None where none is needed (the existence program and the limit model are
    then posed on the centred problem). A scalar family's `X` is centred block by block in
    its passes (``shift``), Categorical's in a copy.
    """
    m = 1 if prob.Q is None else prob.Q.shape[1]
    if prob.V is not None or prob.sums is not None:
        return prob, None
    if prob.ones:
        lead = 0
    elif has_ones(prob) and not np.any(prob.pen[:m]):
        lead = 1
    else:
        return prob, None
    pos = np.flatnonzero(prob.w > 0)
    c = column_centres(prob.X[pos[:: max(1, pos.size // _CENTRE_ROWS)], lead:])
    if c is None:
        return prob, None
    new = copy.copy(prob)
    new.last = None
    if prob.ones:
        new.shift = c
    else:
        new.X = prob.X.copy()
        new.X[:, 1:] -= c
    return new, uncentre_map(c, m)


def design_null_space(D: F64, q: int) -> F64:
    """Return an orthonormal basis of the null space of the design rows `D` (q columns).

    Each column is scaled by its norm (its entries' rounding is then ``eps``-relative
    for all of them, whatever their units), and with a first column of ones centred
    exactly, ``[1, X] -> [1, X - mean]``: :func:`null_space_rows` then finds the
    directions that vanish to the rounding of the data. A full-rank design with
    columns far from 0 (timestamps, a covariate ``1e7 + x``) is not called deficient;
    columns equal up to their rounding still are. The basis is mapped back to the
    columns of `D`: the null directions ``w`` of the centred columns alone (each
    scaled to unit norm: no ``off^2`` condition number in their singular vectors)
    have intercept 0 (they are orthogonal to the ones) and ``-c^T w`` in `D`'s; a
    column whose share ``|v_j| ||D_j||`` of a direction is below ``1e-8`` of the
    largest (about the rounding of the data, ``eps``, times the conditioning of
    uncentred columns) is 0 in it.
    """
    if D.shape[0] == 0:
        return null_space_rows(D, q)
    Dc = np.array(D, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->j", Dc, Dc))
    scale = np.where(norms > 0, 1 / np.where(norms > 0, norms, 1.0), 1.0)
    c = None
    if q > 1 and bool(np.all(Dc[:, 0] == 1)):
        c = np.mean(Dc[:, 1:], axis=0)
        Dc[:, 1:] -= c
    null = null_space_rows(Dc * scale, q)
    if null.shape[1] == 0:
        return null
    v = null * scale[:, None]
    if c is not None:
        Xc = Dc[:, 1:]
        cn = np.sqrt(np.einsum("ij,ij->j", Xc, Xc))
        cs = np.where(cn > 0, 1 / np.where(cn > 0, cn, 1.0), 1.0)
        R = linalg.qr(Xc * cs, mode="r")[0]
        vt = linalg.svd(R, full_matrices=True)[2]
        w = vt[vt.shape[0] - null.shape[1] :].T * cs[:, None]
        v = np.vstack([-(c @ w)[None, :], w])
    return tidy_null(v, norms)


def tidy_null(v: F64, norms: F64) -> F64:
    """Return an orthonormal basis of the null directions `v` of a design, rounding cleared.

    A column whose share ``|v_j| ||D_j||`` (`norms` the columns' norms) of a direction
    is below ``1e-8`` of the direction's largest share is 0 in it: what the rounding
    of uncentred columns leaves (the intercept of ``x1 = 2 x0`` at ``x0 ~ 1e7``).
    """
    share = np.abs(v) * np.where(norms > 0, norms, 1.0)[:, None]
    v = np.where(share <= 1e-8 * share.max(axis=0), 0.0, v)
    return np.asarray(linalg.qr(v, mode="economic")[0])


# ---------------------------------------------------------------------------------- glm
def _check_rank(prob: Problem, names: list[str]) -> None:
    """Raise naming the dependent columns if the design (rows of weight > 0) is rank deficient.

    Adding rows never lowers the rank: a random subset of rows of full numerical rank
    settles it; only a deficient subset sends the check to all rows.
    """
    pos = np.flatnonzero(prob.w > 0)
    q = prob.q
    m = max(SUBSET_MIN, 20 * q)
    if pos.size > 2 * m:
        sub = np.sort(np.random.default_rng(1).choice(pos, size=m, replace=False))
        if design_null_space(design_rows(prob, sub), q).shape[1] == 0:
            return
    raise_rank(design_null_space(design_rows(prob, pos), q), names)


def raise_rank(null: F64, names: list[str]) -> None:
    """Raise naming the columns moved by the null space `null` (if it is not empty)."""
    if null.shape[1]:
        cols = [names[j] for j in np.flatnonzero(np.any(np.abs(null) > 1e-8, axis=1))]
        raise ValueError(
            f"`X` is rank deficient ({null.shape[1]} dependent direction(s)): the columns "
            f"{cols} are linearly dependent on the rows with positive weight; drop one of "
            "them or pass `l2` > 0"
        )


def glm(  # noqa: C901, PLR0912, PLR0915 - input checks, then the pipeline, read top-down
    family: Any,
    X: ArrayLike | None,
    y: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    offset: ArrayLike | None = None,
    l2: float = 0.0,
    intercept: bool = True,
    link: str = "canonical",
    cov_type: str = "model",
    **fixed: Any,
) -> GLMResult:
    r"""Fit a generalized linear model of an exponential family by maximum likelihood.

    The natural parameter of row :math:`i` is :math:`\eta_i = x_i^\top\beta + o_i`
    (canonical link); the fit minimises
    :math:`\sum_i w_i\,[A(\eta_i) - \langle T(y_i), \eta_i\rangle] + \tfrac{l_2}{2}\|\beta\|^2`
    by Newton's method, whose Hessian is the Fisher information (IRLS).

    Parameters
    ----------
    family : type
        One of :class:`Bernoulli` (``y`` in {0, 1}), :class:`Binomial` (successes, with
        ``n=`` trials per row or a scalar), :class:`Poisson` (counts; ``offset`` is the
        log exposure), :class:`Geometric` (``y >= 1``), :class:`Exponential` and
        :class:`Gamma` (``y > 0``; canonical :math:`\eta = -1/\mu`, or
        ``link="log"``), :class:`Normal` (identity link) or :class:`Categorical`
        (``y`` integer labels of shape ``(n,)``, or rows of counts or probabilities
        of shape ``(n, K)``; ``num_categories=`` optional).
    X : array_like, dask.array.Array or None
        Design, shape ``(n, p)`` (a pandas DataFrame's column names label the
        result). ``None``: the intercept-only model. Row-chunked Dask arrays (for
        `X`, `y`, `weights`, `offset` and Binomial ``n``) are fitted out of core; see
        the Notes.
    y : array_like
        Responses.
    weights : array_like, optional
        Prior (frequency) weights, shape ``(n,)``, finite and non-negative, as in R's
        ``glm``. Rows of weight 0 do not count.
    offset : array_like, optional
        Known part of the linear predictor, shape ``(n,)`` (``(n, K)`` for
        Categorical).
    l2 : float, optional
        Ridge penalty :math:`\tfrac{l_2}{2}\|\beta\|^2` on every coefficient but the
        intercept. Default 0 (none).
    intercept : bool, optional
        Prepend a column of ones (``coef[0]``). Default True.
    link : str, optional
        ``"canonical"`` (default), or ``"log"`` for Gamma and Exponential (``"log"`` is
        also Poisson's canonical link, ``"identity"`` Normal's).
    cov_type : {"model", "robust"}, optional
        Model-based covariance (inverse Fisher information times the dispersion) or
        the sandwich (HC0) estimate; it drives ``stderr``, ``conf_int``, ``z`` and
        ``p_values``.
    **fixed
        Known parameters of the family: ``n`` for Binomial, ``num_categories`` for
        Categorical.

    Returns
    -------
    GLMResult

    Raises
    ------
    TypeError
        If `family` is not a supported family class, or an argument has the wrong
        kind (complex data; Categorical labels that are bools or not numbers, as in
        :meth:`Categorical.fit`: a label is a category index).
    ValueError
        If a shape is wrong, `X`, `y`, `weights` or `offset` hold nan or inf, `y` is
        outside the support, the design is rank deficient (with ``l2 = 0``; the
        message names the columns), or no coefficients put the linear predictor in
        a bounded natural domain.

    Notes
    -----
    **Existence first.** For Bernoulli, Binomial, Poisson, Geometric and Categorical,
    a linear program decides before any iteration whether the MLE exists (see the
    GLM page of the docs). If it does not (complete or quasi-complete separation,
    Poisson zeros that force :math:`\eta \to -\infty`), the result is the MLE in the
    closure of the family: ``mle_exists`` is False, ``recession`` spans the directions
    of recession, ``coef`` is the MLE of the limit model (orthogonal to
    ``recession``), the fitted means of the separated rows are exactly on the
    boundary, and confidence intervals are one-sided along the recession direction.

    **Categorical gauge.** All ``K`` logit columns are kept (no pivot class):
    ``coef`` has shape ``(q, K)`` with every row summing to 0; adding a common vector
    to all classes leaves the likelihood unchanged.

    **Inference** follows R: ``dispersion`` is the Pearson estimate for Normal and
    Gamma (1 otherwise), with Student-t reference distributions on ``df_resid``
    degrees of freedom; ``loglik`` and ``aic`` are R's ``logLik`` and ``AIC``. With
    ``l2 > 0`` the covariance is the inverse penalised Hessian. The fit is computed in
    float64 whatever the input dtype (a GLM's sums over many rows need it). With an
    intercept, columns far from 0 (mean above 8 standard deviations on a sample:
    timestamps, years) are centred in the fit and the coefficients and covariance
    mapped back exactly, so their standard errors keep full accuracy.

    **Dask arrays** (every family, Categorical included: its ``y`` and ``offset``
    chunked by rows like `X`): each Newton step is one pass over the chunks of
    rows, whose sums (objective, :math:`X^\top r`, :math:`X^\top W X`) are computed
    where the chunks live and added in a tree; the result equals the in-memory one
    to rounding. Existence is decided on a random sample of the rows (a sample whose
    MLE exists proves it for all rows; for Categorical by the interior certificate,
    else the existence program, on the sample); if the sample cannot settle it, the
    data are computed and fitted in memory when the design has at most ``2**24``
    entries, else a ``ValueError`` says that existence cannot be decided out of
    core. ``predict`` computes Dask rows and returns an in-memory distribution. See
    the "Data larger than memory" page.

    Examples
    --------
    Poisson regression with a log-exposure offset:

    >>> import numpy as np
    >>> import expfam
    >>> x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    >>> counts = np.array([2, 3, 6, 7, 12])
    >>> exposure = np.array([1.0, 1.0, 2.0, 2.0, 3.0])
    >>> res = expfam.glm(expfam.Poisson, x[:, None], counts, offset=np.log(exposure))
    >>> res.coef.round(4)
    array([0.819 , 0.1436])
    >>> res.converged, res.mle_exists
    (True, True)

    Completely separated logistic data give the limit model, not a diverging fit:

    >>> res = expfam.glm(expfam.Bernoulli, x[:, None], [0, 0, 1, 1, 1])
    >>> res.mle_exists, res.predict().mean()
    (False, array([0., 0., 1., 1., 1.]))
    """
    model_cls = make_model(family, link)
    if cov_type not in ("model", "robust"):
        raise ValueError(f"`cov_type` must be 'model' or 'robust'; got {cov_type!r}")
    try:
        l2f = float(l2)
    except (TypeError, ValueError):
        raise TypeError(f"`l2` must be a real number; got {l2!r}") from None
    if not (math.isfinite(l2f) and l2f >= 0):
        raise ValueError(f"`l2` must be finite and >= 0; got {l2!r}")
    if is_dask_collection(X, y, weights, offset, fixed.get("n")):
        # row-chunked data: each Newton step one pass over the chunks (expfam._dask_glm)
        return dask_module("expfam._dask_glm").glm_dask(  # type: ignore[no-any-return]
            family, X, y, weights, offset, l2f, intercept, link, cov_type, fixed
        )
    Xd, names = _design(X, intercept)
    n = int(np.shape(y)[0]) if Xd is None else Xd.shape[0]
    if Xd is not None and np.shape(y)[:1] != (n,):
        raise ValueError(f"`y` must have {n} rows, like `X`; got shape {np.shape(y)}")
    if n == 0:
        raise ValueError("`y` must hold at least one observation")
    # a scalar family's sums add the intercept themselves: its X is not copied
    fold = Xd is not None and intercept and model_cls is not None
    Xd = (
        np.ones((n, 1))
        if Xd is None
        else (np.hstack([np.ones((n, 1)), Xd]) if intercept and not fold else Xd)
    )
    w = np.ones(n) if weights is None else _vector(weights, "weights", n)
    if np.any(w < 0):
        raise ValueError(f"`weights` must be non-negative; found {w[w < 0][0]}")
    if not np.any(w > 0):
        raise ValueError("`weights` must not all be zero")
    model: ScalarModel | CategoricalModel
    if model_cls is None:
        counts = _categorical_counts(y, n, dict(fixed))
        model = CategoricalModel(counts)
        K = model.K
        Q = linalg.null_space(np.ones((1, K)))
        off = np.zeros((n, K))
        if offset is not None:
            off = as_float_array(offset, "offset").astype(np.float64)
            if off.shape != (n, K):
                raise ValueError(f"`offset` must have shape ({n}, {K}); got {off.shape}")
            if not np.all(np.isfinite(off)):
                raise ValueError("`offset` must be finite")
    else:
        ys = _scalar_y(y, n)
        model = model_cls(ys, dict(fixed), n)
        bad = model.check_y(ys[w > 0])
        if bad is not None:
            raise ValueError(f"`y` must hold {bad} for a {model_cls.family.__name__} GLM")
        Q = None
        off = np.zeros(n) if offset is None else _vector(offset, "offset", n)
    m = 1 if Q is None else Q.shape[1]
    q = Xd.shape[1] + fold
    pen_coef = np.full(q, l2f)
    if intercept:
        pen_coef[0] = 0.0
    prob = Problem(Xd, model, w, off, Q, np.repeat(pen_coef, m), ones=fold)
    if l2f == 0:
        _check_rank(prob, names)
    full_prob = prob
    # existence, the solve and the covariance on centred columns (well conditioned)
    prob, uncentre = centred(prob)
    limit = None
    if model.discrete:
        limit = _existence(prob, pen_coef == 0)
    if limit is not None:
        prob = _limit_problem(prob, limit)
        if uncentre is not None:
            limit = uncentred_limit(limit, uncentre, m)
    gamma0 = _start(prob)
    if gamma0.size >= LBFGS_MIN and prob.V is None and isinstance(model, CategoricalModel):
        gamma, iterations, converged = _solve_softmax(prob, gamma0)
    else:
        if gamma0.size >= LBFGS_MIN:
            gamma0 = lbfgs(prob, gamma0)
        gamma, iterations, converged = newton(prob, gamma0)
    if not converged:
        raise ConvergenceError(
            "Newton's method did not converge", iterations=iterations, coef=prob.theta(gamma)
        )
    return _result(
        full_prob, prob, gamma, limit, names, iterations, cov_type, family, link, fixed, uncentre
    )


def _solve_softmax(prob: Problem, theta: F64) -> tuple[F64, int, bool]:
    """Softmax regression with many unknowns: truncated Newton (:mod:`expfam._glm_softmax`).

    Newton's method with full Hessian passes continues if it did not converge.
    """
    passes = _softmax_passes(prob)
    theta, iterations, converged = truncated_newton(passes, theta)
    if converged:
        return theta, iterations, True
    gamma, more, converged = newton(prob, theta)
    return gamma, iterations + more, converged


def _softmax_passes(prob: Problem) -> SoftmaxPasses:
    model = prob.model
    assert isinstance(model, CategoricalModel)  # noqa: S101 - the caller checks
    assert prob.Q is not None  # noqa: S101 - Categorical always has Q
    return SoftmaxPasses(prob.X, model.y, model.total, prob.w, prob.off, prob.Q, prob.pen)


def _limit_problem(prob: Problem, limit: LimitInfo) -> Problem:
    """Return the limit model: separated rows fixed at the boundary, theta off the null space."""
    V = linalg.null_space(limit.null.T) if limit.null.shape[1] < prob.p else np.zeros((prob.p, 0))
    if limit.cells is not None:
        off = np.where(limit.cells, -np.inf, prob.off)
        return Problem(prob.X, prob.model, prob.w, off, prob.Q, prob.pen, V)
    w = np.where(limit.rows, 0.0, prob.w)
    return Problem(
        prob.X, prob.model, w, prob.off, prob.Q, prob.pen, V, ones=prob.ones, shift=prob.shift
    )


def _result(  # noqa: PLR0915, PLR0917 - private, called once, read top-down
    full: Problem,
    prob: Problem,
    gamma: F64,
    limit: LimitInfo | None,
    names: list[str],
    iterations: int,
    cov_type: str,
    family: Any,
    link: str,
    fixed: dict[str, Any],
    uncentre: F64 | None = None,
) -> GLMResult:
    """Return the result; `prob` may be centred (:func:`centred`), `uncentre` maps it back."""
    theta_c = prob.theta(gamma)
    theta = theta_c if uncentre is None else uncentre @ theta_c
    model = prob.model
    V = prob.V if prob.V is not None else np.eye(prob.p)
    canonical = isinstance(model, CategoricalModel) or model.canonical
    last = prob.last if prob.last is not None and prob.last[0] is gamma else None

    def cov_theta() -> F64:
        # computed when first asked for: a softmax regression's Hessian costs more
        # than its fit, and the Newton Hessian at the answer is reused when there is one
        if canonical and cov_type == "model" and last is not None:
            S = None  # the Newton Hessian at the answer is the Fisher information
            Hr = last[1]
        else:
            H, S = fisher(prob, theta_c, cov_type == "robust")
            Hr = V.T @ H @ V
        Hinv = V @ inv_sym(Hr) @ V.T if Hr.size else np.zeros((prob.p, prob.p))
        C = Hinv @ S @ Hinv if S is not None else Hinv
        # the covariance of the centred fit, mapped exactly to the columns of `X`
        return C if uncentre is None else np.asarray(uncentre @ C @ uncentre.T)

    centred_eta = uncentre is not None and limit is None
    eta_fit = prob.eta(theta_c) if centred_eta else _fitted_eta(full, theta, limit)
    w = full.w
    pos = w > 0
    nobs = int(np.count_nonzero(pos))
    rank = V.shape[1]
    if isinstance(model, CategoricalModel):
        loglik = model.loglik(eta_fit, w)
        saturated = model.saturated(w)
        dev = 2 * (saturated - loglik)
        dispersion = 1.0
        k_params = rank
    else:
        nrow = model.n if model.n.size > 1 else np.broadcast_to(model.n, w.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            ud = model.unit_deviance_eta(model.y, eta_fit, nrow)
        dev = float(np.sum(np.where(pos, w * ud, 0.0)))
        dispersion = 1.0
        df_resid_ = nobs - rank
        if model.has_dispersion:
            with np.errstate(divide="ignore", invalid="ignore"):
                mu = model.mean_n(eta_fit, nrow)
                pear = model.pearson(model.y, mu, eta_fit, nrow)
                chi2 = float(np.sum(np.where(pos, w * pear, 0.0)))
                dispersion = chi2 / df_resid_ if df_resid_ > 0 else math.nan
        yp, ep, wp, np_ = _positive(w, model.y, eta_fit, w, nrow)
        loglik = model.loglik(yp, ep, wp, np_, dev)
        k_params = rank + (1 if model.has_dispersion else 0)
    coef = full.coef(theta)
    factor = dispersion if cov_type == "model" else 1.0

    def cov() -> F64:
        c = cov_theta() * factor
        if full.Q is None:
            return c
        M = np.kron(np.eye(full.q), full.Q)
        return np.asarray(M @ c @ M.T)

    if full.Q is not None:
        recession = (
            np.einsum("jmr,km->rjk", limit.null.reshape(full.q, -1, limit.null.shape[1]), full.Q)
            if limit is not None
            else np.zeros((0, *coef.shape))
        )
    else:
        recession = limit.null.T.copy() if limit is not None else np.zeros((0, *coef.shape))
    ones = has_ones(full)
    null_dev = _null_deviance(full, model, fixed, family, link, dev, ones)
    return GLMResult(
        family=family,
        link=link,
        coef=coef,
        cov=cov,
        names=names,
        loglik=loglik,
        deviance=dev,
        null_deviance=null_dev,
        aic=-2 * loglik + 2 * k_params,
        bic=-2 * loglik + math.log(nobs) * k_params,
        dispersion=dispersion,
        df_resid=nobs - rank,
        nobs=nobs,
        iterations=iterations,
        converged=True,
        mle_exists=limit is None,
        recession=recession,
        cov_type=cov_type,
        t_dist=not isinstance(model, CategoricalModel) and model.has_dispersion,
        limit=limit,
        model=model,
        intercept=names[0] == "intercept" and ones,
        fitted_eta=eta_fit,
        fitted_offset=full.off,
        fitted_X=full.X,
    )


def _fitted_eta(full: Problem, theta: F64, limit: LimitInfo | None) -> F64:
    eta = full.eta(theta)
    if limit is None:
        return eta
    if limit.cells is not None:
        return np.where(limit.cells, -np.inf, eta)
    assert limit.sides is not None  # noqa: S101 - scalar limit has sides
    model = full.model
    assert isinstance(model, ScalarModel)  # noqa: S101 - not Categorical here
    return np.where(limit.rows, model.limit_eta(limit.sides), eta)


def _null_deviance(  # noqa: PLR0911, PLR0917 - private, called once
    full: Problem,
    model: ScalarModel | CategoricalModel,
    fixed: dict[str, Any],
    family: Any,
    link: str,
    dev: float,
    has_intercept: bool,
) -> float:
    """Deviance of the intercept-only model (with the offset), as R's null.deviance."""
    if has_intercept and full.q == 1 and np.all(full.pen == 0):
        return dev
    y = model.y
    w = full.w
    if has_intercept and not np.any(full.off):
        # no offset: the intercept-only MLE matches the weighted mean of the response
        with np.errstate(all="ignore"):
            if isinstance(model, CategoricalModel):
                # 2 (saturated - sum_k N_k log(N_k / N)), N_k the weighted class totals
                totals = w @ y
                ll0 = np.where(totals > 0, totals * np.log(totals / totals.sum()), 0.0)
                return float(2 * (model.saturated(w) - ll0.sum()))
            nrow = model.n if model.n.size > 1 else np.broadcast_to(model.n, w.shape)
            yp, wp, np_ = _positive(w, y, w, nrow)
            return model.constant_deviance(yp, wp, np_, float((wp @ yp) / (wp @ np_)))
    if has_intercept and isinstance(model, ScalarModel):
        # a log link solves the intercept's score equation with the offset in closed form
        moments = start_moments(model, full.w, full.off)
        b0 = start_intercept(model, moments)
        if b0 is not None and math.isfinite(moments.a):
            pos = w > 0
            nrow = model.n if model.n.size > 1 else np.broadcast_to(model.n, w.shape)
            with np.errstate(all="ignore"):
                mu = model.mean_n(b0 + full.off, nrow)
                return float(np.sum(np.where(pos, w * model.unit_deviance(y, mu, nrow), 0.0)))
    if has_intercept:
        res0 = glm(
            family,
            None,
            y,
            weights=full.w,
            offset=full.off,
            link=link,
            **fixed,
        )
        return res0.deviance
    # no intercept: the null model is eta = offset
    with np.errstate(all="ignore"):
        if isinstance(model, CategoricalModel):
            return 2 * (model.saturated(full.w) - model.loglik(full.off, full.w))
        nrow = model.n if model.n.size > 1 else np.broadcast_to(model.n, full.w.shape)
        if not np.all(model.in_domain(full.off)):
            return math.nan
        mu = model.mean_n(full.off, nrow)
        return float(np.sum(np.where(full.w > 0, full.w * model.unit_deviance(y, mu, nrow), 0.0)))
