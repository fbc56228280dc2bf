r"""Generalized linear models on Dask arrays: each Newton step one pass over chunks of rows.

:func:`expfam.glm` sends row-chunked Dask data here. The rows are cut into the chunks
of the first Dask argument (all of a row's columns in one chunk); each chunk becomes
an in-memory problem of :mod:`expfam._glm` on the worker that holds it, and every sum
the solver needs is the in-memory code's sum over that chunk, merged with the other
chunks' by addition in a balanced tree. The client sees only ``q x q`` matrices:

1. **Setup pass**: the input checks, the moments of the start's intercept (or, with
   no intercept, the normal equations of R's start), counts and totals for the
   inference, a random sample of about ``2 max(1000, 20 q)`` rows (seeded, so the
   same on every run) for the rank check and the existence program, and for large
   Bernoulli, Binomial and Poisson data every k-th row (by global index, the rows
   the in-memory start is refined on, :func:`expfam._glm.substart_stride`).
2. **Newton**: the in-memory start, refined on the client on those rows; then
   :func:`expfam._glm.newton` unchanged; each call of
   :func:`expfam._glm.solver_pass` (the objective, :math:`X^\top r` and :math:`X^\top W X`
   at one point) is one :func:`dask.compute` over the chunks. A step that the line
   search must shorten costs one more value-only pass per halving, as in memory.
3. **Inference**: one pass for the deviance, the Pearson statistic, the
   log-likelihood, the null deviance and, where needed, the Fisher information and
   the sandwich; a second for the log-likelihood of Normal and Gamma (it needs the
   deviance first).

**Existence.** The existence program is a linear program over every row; out of
core it is run on the sample. Existence is monotone in the rows: if the MLE exists
on the sample (full rank, nothing separated) it exists on all rows, which is the
common case. Otherwise, if the sample holds every row or the design has at most
``2**24`` entries, the data are computed into memory and the in-memory
:func:`expfam.glm` decides (and returns the limit model); a larger design raises
``ValueError``: the existence of its MLE cannot be decided out of core, and Newton's
method is not run on data that may be separated.

**Categorical** (softmax regression) takes the same road: ``y`` as integer labels
``(n,)`` or rows of counts or probabilities ``(n, K)``, an offset ``(n, K)``, all
chunked by rows like `X`. The setup pass also finds the number of categories (the
largest label) and the weighted class totals of the null deviance; the solver is
:func:`expfam._glm.lbfgs` (with at least ``LBFGS_MIN`` unknowns) and
:func:`expfam._glm.newton` from zero, each evaluation of the sums one pass; one
inference pass gives the deviance, log-likelihood, null deviance and, for
``cov_type="robust"``, the Fisher information and the sandwich. The sample holds
about ``2 max(1000, 20 q, 10 q (K - 1))`` rows (labels without ``num_categories``:
the setup pass draws it for ``K = 2``, and one more pass draws a larger one if the
labels show that ``K`` needs it), and existence on it is proved by the
interior certificate of the in-memory fit (a few Newton steps on the sample), else
by the existence program on the sample; what the sample cannot prove is decided as
above.

This module imports Dask; it is loaded only when a Dask array is passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import linalg

from expfam._dask import as_dask_array, dask_module, is_dask_collection
from expfam._errors import ConvergenceError
from expfam._families.binomial import Binomial
from expfam._families.categorical import Categorical
from expfam._families.normal import Normal
from expfam._glm import (
    LBFGS_MIN,
    SUBSET_MIN,
    Problem,
    StartMoments,
    column_centres,
    constraint_rows,
    design_null_space,
    design_rows,
    fisher,
    glm,
    has_ones,
    interior_certificate,
    inv_sym,
    lbfgs,
    names_of,
    newton,
    raise_rank,
    solve,
    solver_pass,
    start_intercept,
    start_moments,
    start_sums,
    subsample_fit,
    substart_stride,
    sums,
    tidy_null,
    uncentre_map,
)
from expfam._glm_families import CategoricalModel, ScalarModel, make_model
from expfam._glm_result import GLMResult
from expfam._separation import find_face
from expfam._validation import reject_bool_labels

__all__ = ["glm_dask"]

F64 = NDArray[np.float64]

da = dask_module("dask.array")
_dask = dask_module("dask")

#: entries of the design up to which an existence question the sample cannot settle is
#: decided in memory (the data are computed, 128 MB of float64)
IN_MEMORY = 1 << 24


# ---------------------------------------------------------------------------------- chunks
@dataclass(frozen=True)
class _Spec:
    """What every chunk needs besides its blocks (sent to the workers; picklable)."""

    model_cls: type[ScalarModel]
    intercept: bool
    fixed: dict[str, Any]  # known parameters, with per-row trials taken out
    #: centres of the columns of `X` (the fit's design ``[1, X - shift]``), None: none
    shift: F64 | None = None


@dataclass(frozen=True)
class _CatSpec:
    """What every chunk of a softmax regression needs besides its blocks (picklable)."""

    intercept: bool
    labels: bool  # `y` holds integer labels (else rows of counts or probabilities)
    K: int  # categories (in the setup pass: `num_categories`, or 0 if not given)
    Q: F64  # (K, K - 1) orthonormal basis of the vectors summing to zero
    #: centres of the columns of `X` (the design ``[1, X - shift]``), None: none
    shift: F64 | None = None


def _design_block(intercept: bool, xb: Any, m: int) -> F64:
    if xb is None:
        return np.ones((m, 1))
    X = np.asarray(xb, dtype=np.float64)
    return np.hstack([np.ones((m, 1)), X]) if intercept else X


def _counts(spec: _CatSpec, yb: Any) -> F64:
    """Return the rows of counts of a chunk: one-hot rows of its labels, or `y` itself."""
    y = np.asarray(yb, dtype=np.float64)
    if not spec.labels:
        return y
    counts = np.zeros((y.shape[0], spec.K))
    counts[np.arange(y.shape[0]), y.astype(np.int64)] = 1.0
    return counts


def _chunk_problem(  # noqa: PLR0917 - the blocks of one chunk
    spec: _Spec | _CatSpec, xb: Any, yb: Any, wb: Any, ob: Any, nb: Any
) -> Problem:
    """Return the in-memory problem of one chunk of rows (no penalty: it is added once)."""
    m = int(np.shape(yb)[0])
    w = np.ones(m) if wb is None else np.asarray(wb, dtype=np.float64)
    if isinstance(spec, _CatSpec):  # the softmax passes take the column of ones in X
        X = _design_block(spec.intercept, xb, m)
        if spec.shift is not None:
            X[:, 1:] -= spec.shift
        off_c = np.zeros((m, spec.K)) if ob is None else np.asarray(ob, dtype=np.float64)
        p = X.shape[1] * (spec.K - 1)
        return Problem(X, CategoricalModel(_counts(spec, yb)), w, off_c, spec.Q, np.zeros(p))
    y = np.asarray(yb, dtype=np.float64)
    # as in memory: the sums add the intercept of a given `X` without copying it
    X = np.ones((m, 1)) if xb is None else np.asarray(xb, dtype=np.float64)
    off = np.zeros(m) if ob is None else np.asarray(ob, dtype=np.float64)
    fixed = dict(spec.fixed)
    if nb is not None:
        fixed["n"] = np.asarray(nb)
    model = spec.model_cls(y, fixed, m)
    ones = xb is not None and spec.intercept
    prob = Problem(X, model, w, off, None, np.zeros(X.shape[1] + ones), ones=ones)
    prob.shift = spec.shift if ones else None
    return prob


def _nrow(model: ScalarModel, m: int) -> F64:
    return model.n if model.n.size > 1 else np.broadcast_to(model.n, (m,))


def _add(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


@dataclass
class _Setup:
    """The setup pass of one chunk (or of merged chunks, in row order)."""

    errors: dict[int, str] = field(default_factory=dict)  # priority -> message
    nobs: int = 0
    wsum: float = 0.0
    wy: float = 0.0  # sum of w y and of w n over the rows of positive weight
    wn: float = 0.0
    ones: bool = True  # the first design column is all ones
    off_any: bool = False  # some offset is not 0
    off_max: float = -math.inf  # over the rows of positive weight
    off_domain: bool = True  # the offset alone is in the natural domain on every row
    moments: StartMoments = field(default_factory=StartMoments)  # the start's intercept
    G: F64 = field(default_factory=lambda: np.zeros((0, 0)))  # R's start (no intercept)
    b: F64 = field(default_factory=lambda: np.zeros(0))
    any_ok: bool = False
    sample: tuple[F64, ...] = ()  # X, y, w, offset, trials of the sampled rows
    sub: tuple[F64, ...] = ()  # the same of every stride-th row (the start's subsample)

    def __add__(self, other: _Setup) -> _Setup:
        errors = dict(other.errors)
        errors.update(self.errors)  # the earlier rows' messages win
        return _Setup(
            errors,
            self.nobs + other.nobs,
            self.wsum + other.wsum,
            self.wy + other.wy,
            self.wn + other.wn,
            self.ones and other.ones,
            self.off_any or other.off_any,
            max(self.off_max, other.off_max),
            self.off_domain and other.off_domain,
            self.moments + other.moments,
            self.G + other.G,
            self.b + other.b,
            self.any_ok or other.any_ok,
            tuple(np.concatenate([a, c]) for a, c in zip(self.sample, other.sample, strict=True)),
            tuple(np.concatenate([a, c]) for a, c in zip(self.sub, other.sub, strict=True)),
        )


def _first_bad(a: F64) -> float:
    return float(a[~np.isfinite(a)][0])


def _chunk_setup(  # noqa: PLR0917 - the blocks of one chunk, then its place
    spec: _Spec,
    frac: float,
    stride: int,
    index: int,
    start: int,
    xb: Any,
    yb: Any,
    wb: Any,
    ob: Any,
    nb: Any,
) -> _Setup:
    """Return the checks, totals, start equations and a sample of one chunk of rows."""
    prob = _chunk_problem(spec, xb, yb, wb, ob, nb)
    X, w, off, model = prob.X, prob.w, prob.off, prob.model
    assert isinstance(model, ScalarModel)  # noqa: S101 - built above
    y = model.y
    out = _Setup()
    if not np.all(np.isfinite(X)):
        i, j = np.argwhere(~np.isfinite(X))[0]
        out.errors[0] = f"`X` must be finite; found {X[i, j]} at row {start + i}, column {j}"
    if not np.all(np.isfinite(w)):
        out.errors[1] = f"`weights` must be finite; found {_first_bad(w)}"
    elif np.any(w < 0):
        out.errors[2] = f"`weights` must be non-negative; found {w[w < 0][0]}"
    if not np.all(np.isfinite(y)):
        out.errors[3] = f"`y` must be finite; found {_first_bad(y)}"
    elif (bad := model.check_y(y[w > 0])) is not None:
        out.errors[4] = f"`y` must hold {bad} for a {spec.model_cls.family.__name__} GLM"
    if not np.all(np.isfinite(off)):
        out.errors[5] = f"`offset` must be finite; found {_first_bad(off)}"
    q = prob.q
    out.G, out.b = np.zeros((q, q)), np.zeros(q)
    out.sample = (np.zeros((0, q)), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    out.sub = (np.zeros((0, X.shape[1])), *out.sample[1:])
    if out.errors:
        return out
    pos = w > 0
    nrow = _nrow(model, w.shape[0])
    out.nobs = int(np.count_nonzero(pos))
    out.wsum = float(np.sum(w[pos]))
    out.wy = float(np.sum(w[pos] * y[pos]))
    out.wn = float(np.sum(w[pos] * nrow[pos]))
    out.ones = has_ones(prob)
    out.off_any = bool(np.any(off))
    out.off_max = float(np.max(off[pos], initial=-math.inf))
    out.off_domain = bool(np.all(model.in_domain(off)))
    out.moments = start_moments(model, w, off)
    if not spec.intercept:  # R's start: without an intercept, the in-memory start
        out.G, out.b, out.any_ok = start_sums(prob)
    sel = pos & (np.random.default_rng([17, index]).random(w.shape[0]) < frac)
    Xs = design_rows(prob, sel)
    out.sample = (Xs, y[sel], w[sel], off[sel], np.asarray(nrow[sel], dtype=np.float64))
    if stride:  # the rows of global index 0 mod stride, as expfam._glm._start takes them
        every = slice((-start) % stride, None, stride)
        out.sub = (X[every], y[every], w[every], off[every], np.asarray(nrow[every], np.float64))
    return out


def _chunk_sums(  # noqa: PLR0917
    spec: _Spec | _CatSpec, theta: F64, order: int, xb: Any, yb: Any, wb: Any, ob: Any, nb: Any
) -> tuple[float, F64, F64]:
    """Return the in-memory sums (:func:`expfam._glm.sums`) of one chunk."""
    return sums(_chunk_problem(spec, xb, yb, wb, ob, nb), theta, order)


def _chunk_r(spec: _Spec | _CatSpec, xb: Any, yb: Any, wb: Any, ob: Any, nb: Any) -> tuple[F64]:  # noqa: PLR0917
    """Return the triangular factor of the rows of positive weight (a tall-skinny QR)."""
    prob = _chunk_problem(spec, xb, yb, wb, ob, nb)
    X = design_rows(prob, prob.w > 0)
    return (linalg.qr(X, mode="r")[0][: min(X.shape)],)


def _merge_r(a: tuple[F64], b: tuple[F64]) -> tuple[F64]:
    S = np.vstack([a[0], b[0]])
    return (linalg.qr(S, mode="r")[0][: min(S.shape)] if S.shape[0] else S,)


@dataclass(frozen=True)
class _InferSpec:
    theta: F64
    fisher: bool
    robust: bool
    null: str  # "rate", "intercept" or "offset" are computed in the pass; others elsewhere
    rate: float
    intercept: float  # of the intercept-only model with the offset ("intercept")


def _chunk_infer(  # noqa: PLR0917
    spec: _Spec, inf: _InferSpec, xb: Any, yb: Any, wb: Any, ob: Any, nb: Any
) -> tuple[float, ...] | tuple[Any, ...]:
    """Deviance, Pearson statistic, log-likelihood, null deviance, Fisher and sandwich."""
    prob = _chunk_problem(spec, xb, yb, wb, ob, nb)
    model, w = prob.model, prob.w
    assert isinstance(model, ScalarModel)  # noqa: S101 - built above
    q = prob.q
    eta = prob.eta(inf.theta)
    pos = w > 0
    nrow = _nrow(model, w.shape[0])
    mu = model.mean_n(eta, nrow)
    with np.errstate(divide="ignore", invalid="ignore"):
        ud = model.unit_deviance_eta(model.y, eta, nrow)
    dev = float(np.sum(np.where(pos, w * ud, 0.0)))
    chi2 = 0.0
    if model.has_dispersion:
        with np.errstate(divide="ignore", invalid="ignore"):
            pear = model.pearson(model.y, mu, eta, nrow)
            chi2 = float(np.sum(np.where(pos, w * pear, 0.0)))
    loglik = 0.0
    if not model.has_dispersion and np.any(pos):
        loglik = model.loglik(model.y[pos], eta[pos], w[pos], nrow[pos], dev)
    null = 0.0
    with np.errstate(all="ignore"):
        if inf.null == "rate":
            null = float(
                np.sum(np.where(pos, w * model.unit_deviance(model.y, nrow * inf.rate, nrow), 0.0))
            )
        elif inf.null in {"intercept", "offset"}:
            mu0 = model.mean_n(
                prob.off + (inf.intercept if inf.null == "intercept" else 0.0), nrow
            )
            null = float(np.sum(np.where(pos, w * model.unit_deviance(model.y, mu0, nrow), 0.0)))
    H = np.zeros((q, q))
    S = np.zeros((q, q))
    if inf.fisher:
        H, S_ = fisher(prob, inf.theta, inf.robust)
        S = S_ if S_ is not None else S
    return dev, chi2, loglik, null, H, S


def _chunk_loglik(  # noqa: PLR0917
    spec: _Spec, theta: F64, dev: float, share: float, xb: Any, yb: Any, wb: Any, ob: Any, nb: Any
) -> tuple[float]:
    """Return the log-likelihood of Normal and Gamma on one chunk, with the global dispersion.

    Their ``loglik`` divides the deviance it is given by the chunk's count of rows
    (Normal: R's ``sigma^2 = deviance / nobs``) or total weight (Gamma: R's shape); the
    chunk gets the deviance times its share, so the division gives the global value.
    """
    prob = _chunk_problem(spec, xb, yb, wb, ob, nb)
    model, w = prob.model, prob.w
    assert isinstance(model, ScalarModel)  # noqa: S101 - built above
    pos = w > 0
    if not np.any(pos):
        return (0.0,)
    part = float(np.count_nonzero(pos)) if model.family is Normal else float(np.sum(w[pos]))
    eta = prob.eta(theta)
    nrow = _nrow(model, w.shape[0])
    return (model.loglik(model.y[pos], eta[pos], w[pos], nrow[pos], dev * (part / share)),)


def _chunk_eta(  # noqa: PLR0917
    spec: _Spec | _CatSpec, theta: F64, xb: Any, yb: Any, wb: Any, ob: Any, nb: Any
) -> F64:
    return _chunk_problem(spec, xb, yb, wb, ob, nb).eta(theta)


# ---------------------------------------------------------------------------------- data
class _Data:
    """The row-chunked arrays as lists of delayed blocks; :meth:`reduce` is one pass."""

    def __init__(
        self, spec: _Spec | _CatSpec, arrays: dict[str, Any], chunks: tuple[int, ...]
    ) -> None:
        self.spec = spec
        self.arrays = arrays
        self.chunks = chunks
        self.starts = [0, *np.cumsum(chunks)[:-1].tolist()]
        nb = len(chunks)
        self.blocks = [
            [None] * nb if arrays.get(k) is None else list(arrays[k].to_delayed().reshape(-1))
            for k in ("X", "y", "weights", "offset", "n")
        ]
        self.passes = 0

    def reduce(self, fn: Any, merge: Any, *args: Any, index: bool = False) -> Any:
        """Apply ``fn(spec, *args, [index, start,] *blocks)`` per chunk, merge in a tree."""
        delayed = _dask.delayed
        parts = []
        for i, blk in enumerate(zip(*self.blocks, strict=True)):
            extra = (i, self.starts[i]) if index else ()
            parts.append(delayed(fn)(self.spec, *args, *extra, *blk))
        while len(parts) > 1:
            merged = [delayed(merge)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
            if len(parts) % 2:
                merged.append(parts[-1])
            parts = merged
        self.passes += 1
        (out,) = _dask.compute(parts[0])
        return out

    def eta(self, theta: F64) -> Any:
        """Return the fitted linear predictor, lazily (a Dask array chunked like the rows)."""
        delayed = _dask.delayed
        cols = (self.spec.K,) if isinstance(self.spec, _CatSpec) else ()
        parts = [
            da.from_delayed(
                delayed(_chunk_eta)(self.spec, theta, *blk), shape=(size, *cols), dtype=np.float64
            )
            for size, blk in zip(self.chunks, zip(*self.blocks, strict=True), strict=True)
        ]
        return da.concatenate(parts) if parts else da.zeros((0, *cols))


def _row_chunks(*xs: Any) -> tuple[int, ...] | None:
    for x in xs:
        if is_dask_collection(x) and getattr(x, "ndim", 0) >= 1:
            a = _as_array(x, "x")
            chunks = tuple(a.chunks[0])
            if any(math.isnan(c) for c in chunks):
                raise ValueError(
                    "the Dask arrays' row chunk sizes are unknown; compute them first "
                    "(`x.compute_chunk_sizes()`, or `to_dask_array(lengths=True)`)"
                )
            return chunks
    return None


def _as_array(x: Any, name: str) -> Any:
    if hasattr(x, "to_dask_array"):  # a Dask DataFrame or Series
        x = x.to_dask_array(lengths=True)
    elif not isinstance(x, da.Array) and hasattr(x, "columns"):
        x = np.asarray(x)
    return as_dask_array(x, name)


def _rows(x: Any, name: str, n: int, chunks: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    a = _as_array(x, name)
    if a.shape != shape:
        what = "one per row" if len(shape) == 1 else "rows = observations"
        raise ValueError(f"`{name}` must have shape {shape} ({what}); got {a.shape}")
    del n
    return a.astype(np.float64).rechunk((chunks, *([-1] * (a.ndim - 1))))


def _undecided(reason: str, n: int, q: int) -> str:
    return (
        f"glm on Dask arrays: {reason}; on a design of {n} x {q} > 2**24 entries "
        "this cannot be decided out of core (the existence program is a linear "
        "program over every row). Fit in memory (`.compute()` the arrays), or "
        "remove the rows or columns that separate"
    )


# ---------------------------------------------------------------------------------- glm
def _fit_in_memory(  # noqa: PLR0917 - the data of the fallback
    reason: str,
    frac: float,
    n: int,
    q: int,
    arrays: dict[str, Any],
    family: Any,
    fixed: dict[str, Any],
    **options: Any,
) -> GLMResult:
    """Compute the arrays and fit them in memory, where the sample cannot decide.

    Only a design of at most ``IN_MEMORY`` entries (or one the sample already holds
    whole) is computed; a larger one raises the ``ValueError`` of :func:`_undecided`.
    """
    if frac < 1 and n * q > IN_MEMORY:
        raise ValueError(_undecided(reason, n, q))
    keys = ("X", "y", "weights", "offset", "n")
    Xc, yc, wc, oc, nc = _dask.compute(*[arrays.get(k) for k in keys])
    per_row = {} if nc is None else {"n": nc}  # Binomial trials given per row
    return glm(family, Xc, yc, weights=wc, offset=oc, **options, **fixed, **per_row)


def _check_rank(Xs: F64, frac: float, data: Any, nobs: int, names: list[str]) -> None:
    """Raise naming the dependent columns if the design is rank deficient.

    A full-rank sample `Xs` settles it (adding rows never lowers the rank;
    :func:`expfam._glm.design_null_space`, as in memory); else the sample is all the
    rows (``frac >= 1``), or one more pass reduces the rows of the design (centred by
    ``data.spec.shift``) to a triangular factor (a tall-skinny QR) whose singular
    values decide.
    """
    q = Xs.shape[1]
    if not design_null_space(Xs, q).shape[1]:
        return
    if frac >= 1:
        raise_rank(design_null_space(Xs, q), names)
    (R,) = data.reduce(_chunk_r, _merge_r)
    _, sv, vt = linalg.svd(R, full_matrices=True)
    tol = max(nobs, q) * np.finfo(np.float64).eps * (sv[0] if sv.size else 0.0)
    null = np.ascontiguousarray(vt[int(np.count_nonzero(sv > tol)) :].T)
    shift = data.spec.shift
    if shift is not None and null.shape[1]:  # back to the columns of [1, X]
        B = uncentre_map(shift, 1)  # [1, X - shift] = [1, X] B^{-1}: Gram B^{-T} R^T R B^{-1}
        Binv = uncentre_map(-shift, 1)
        norms = np.sqrt(np.abs(np.diag(Binv.T @ (R.T @ R) @ Binv)))
        null = tidy_null(B @ null, norms)
    raise_rank(null, names)


def _centred_sample(Xs: F64, shift: F64 | None) -> F64:
    """Return the sample's design rows ``[1, X]`` as ``[1, X - shift]``.

    The existence program is well posed there, as in memory; whether the MLE exists
    does not depend on the basis.
    """
    if shift is None:
        return Xs
    Xc = np.array(Xs, dtype=np.float64)
    Xc[:, 1:] -= shift
    return Xc


def glm_dask(  # noqa: C901, PLR0912, PLR0915, PLR0917 - the pipeline, read top-down
    family: Any,
    X: Any,
    y: Any,
    weights: Any,
    offset: Any,
    l2: float,
    intercept: bool,
    link: str,
    cov_type: str,
    fixed: dict[str, Any],
) -> GLMResult:
    """:func:`expfam.glm` on row-chunked Dask data (the arguments already checked there)."""
    model_cls = make_model(family, link)
    if model_cls is None:  # Categorical: softmax regression
        return _glm_dask_categorical(X, y, weights, offset, l2, intercept, cov_type, fixed)
    if not isinstance(intercept, (bool, np.bool_)):
        raise TypeError(f"`intercept` must be a bool; got {intercept!r}")
    if X is None and not intercept:
        raise ValueError("`X` is None (intercept-only model), so `intercept` must be True")
    trials = fixed.get("n")
    per_row_n = trials is not None and np.ndim(trials) >= 1
    chunks = _row_chunks(X, y, weights, offset, trials)
    assert chunks is not None  # noqa: S101 - called only with a Dask argument
    n = sum(chunks)
    arrays: dict[str, Any] = {}
    names = _design(X, n, chunks, intercept, arrays)
    arrays["y"] = _rows(y, "y", n, chunks, (n,))
    if n == 0:
        raise ValueError("`y` must hold at least one observation")
    for key, val in (("weights", weights), ("offset", offset)):
        if val is not None:
            arrays[key] = _rows(val, key, n, chunks, (n,))
    spec_fixed = dict(fixed)
    if per_row_n:
        arrays["n"] = _rows(trials, "n", n, chunks, (n,))
        spec_fixed.pop("n")
    # the fixed parameters are checked by the model, as in memory (on no rows here)
    probe = dict(spec_fixed)
    if per_row_n:
        probe["n"] = np.ones(0)
    result_model = model_cls(np.zeros(0), probe, 0)
    spec = _Spec(model_cls, bool(intercept), spec_fixed)
    data = _Data(spec, arrays, chunks)
    q = len(names)
    unknowns_pen = np.full(q, l2)
    if intercept:
        unknowns_pen[0] = 0.0
    m = max(SUBSET_MIN, 20 * q)
    frac = min(1.0, 2 * m / n)

    # ---- the setup pass: checks, totals, start, sample
    stride = substart_stride(result_model, n, q)
    setup: _Setup = data.reduce(_chunk_setup, _Setup.__add__, frac, stride, index=True)
    if setup.errors:
        raise ValueError(setup.errors[min(setup.errors)])
    if setup.nobs == 0:
        raise ValueError("`weights` must not all be zero")
    Xs, ys, ws, offs, ns = setup.sample
    # the fit on centred columns, as in memory (expfam._glm.centred): the chunks
    # subtract the sample's column centres in their passes
    shift = column_centres(Xs[:, 1:]) if X is not None and intercept else None
    if shift is not None:
        data.spec = replace(spec, shift=shift)
    uncentre = None if shift is None else uncentre_map(shift, 1)

    def in_memory(reason: str) -> GLMResult:
        return _fit_in_memory(
            reason, frac, n, q, arrays, family, spec_fixed,
            l2=l2, intercept=intercept, link=link, cov_type=cov_type,
        )  # fmt: skip

    # ---- rank (adding rows never lowers it: a full-rank sample settles it)
    if l2 == 0:
        _check_rank(Xs, frac, data, setup.nobs, names)

    # ---- existence, on the sample
    if model_cls.discrete:
        unpen = unknowns_pen == 0
        sub_model = model_cls(ys, dict(spec_fixed) | ({"n": ns} if per_row_n else {}), ys.size)
        sub = Problem(_centred_sample(Xs, shift), sub_model, ws, offs, None, np.zeros(q))
        certified = False
        if design_null_space(Xs[:, unpen], int(np.count_nonzero(unpen))).shape[1] == 0:
            Z, side, _ = constraint_rows(sub, unpen, np.arange(ys.size))
            certified = side.size == 0 or find_face(Z, side).null.shape[1] == 0
        if not certified:
            return in_memory(
                f"the MLE may not exist (a sample of {ys.size} of the {n} rows is "
                "separated, or leaves a direction free)"
            )

    # ---- Newton, one pass per step
    def chunked_sums(theta: F64, order: int) -> tuple[float, F64, F64]:
        return data.reduce(_chunk_sums, _add, theta, order)  # type: ignore[no-any-return]

    placeholder = np.zeros((0, q))  # the rows live in the chunks: only `q` is read
    prob = Problem(placeholder, result_model, np.zeros(0), np.zeros(0), None, unknowns_pen)
    prob.sums = chunked_sums
    # the in-memory start (expfam._glm._start): with a column of ones, an intercept
    # from the setup's moments and slopes 0; else R's start, checked by a value pass
    b0 = start_intercept(result_model, setup.moments) if setup.ones else None
    if b0 is not None:
        gamma0 = np.zeros(q)
        gamma0[0] = b0
    else:
        gamma0 = -solve(setup.G, -setup.b) if setup.any_ok else np.zeros(q)
        if uncentre is not None:  # R's start on [1, X], to the centred columns
            gamma0 = np.asarray(linalg.solve(uncentre, gamma0), dtype=np.float64)
        if not math.isfinite(solver_pass(prob, gamma0, 0)[0]):
            if not intercept:
                return in_memory("no starting point found in the natural domain")
            gamma0 = np.zeros(q)
            gamma0[0] = -1.0 - setup.off_max  # every eta <= -1
    if stride:  # refined on the subsample, on the client (as in memory)
        Xr, yr, wr, offr, nr = setup.sub
        sub_model = model_cls(yr, dict(spec_fixed) | ({"n": nr} if per_row_n else {}), yr.size)
        pen = unknowns_pen * (float(np.sum(wr)) / setup.wsum)
        sub = Problem(Xr, sub_model, wr, offr, None, pen, ones=X is not None and bool(intercept))
        sub.shift = shift
        gamma0 = subsample_fit(sub, gamma0)
    if gamma0.size >= LBFGS_MIN:
        gamma0 = lbfgs(prob, gamma0)
    gamma, iterations, converged = newton(prob, gamma0)
    if not converged:
        raise ConvergenceError(
            "Newton's method did not converge", iterations=iterations, coef=gamma
        )

    # ---- inference, from passes of sums
    theta = gamma
    reuse = model_cls.canonical and cov_type == "model" and prob.last is not None
    reuse = reuse and prob.last is not None and prob.last[0] is gamma
    has_intercept = setup.ones
    # the null deviance as in memory: the deviance itself, a closed form (no offset, or
    # a log link with one), a refit of the intercept with the offset (a few more
    # passes), or the offset alone
    null_mode = "offset" if setup.off_domain else "nan"
    b_null = math.nan
    if has_intercept:
        same = q == 1 and bool(np.all(unknowns_pen == 0))
        null_mode = "same" if same else ("refit" if setup.off_any else "rate")
        if null_mode == "refit" and math.isfinite(setup.moments.a):
            # a log link: the intercept-only MLE with the offset in closed form
            b_fit = start_intercept(result_model, setup.moments)
            if b_fit is not None:
                null_mode, b_null = "intercept", b_fit
    inf = _InferSpec(
        theta, not reuse, cov_type == "robust", null_mode, setup.wy / setup.wn, b_null
    )
    dev, chi2, loglik, null_dev, H, S = data.reduce(_chunk_infer, _add, inf)
    if reuse:
        assert prob.last is not None  # noqa: S101 - checked above
        Hr = prob.last[1]
    else:
        Hr = H + np.diag(unknowns_pen)
    Hinv = inv_sym(Hr)
    cov = Hinv @ S @ Hinv if cov_type == "robust" else Hinv
    if uncentre is not None:  # the centred fit's covariance, exactly to [1, X]
        cov = uncentre @ cov @ uncentre.T
    nobs = setup.nobs
    dispersion = 1.0
    if result_model.has_dispersion:
        df = nobs - q
        dispersion = chi2 / df if df > 0 else math.nan
        share = float(nobs) if result_model.family is Normal else setup.wsum
        (loglik,) = data.reduce(_chunk_loglik, _add, theta, dev, share)
    if cov_type == "model":
        cov = cov * dispersion
    if null_mode == "same":
        null_dev = dev
    elif null_mode == "refit":
        # the intercept with the offset, on the same chunks (the arrays as converted)
        null_dev = glm_dask(
            family,
            None,
            arrays["y"],
            arrays.get("weights"),
            arrays["offset"],
            0.0,
            True,  # noqa: FBT003 - the private signature of glm_dask
            link,
            "model",
            spec_fixed | ({"n": arrays["n"]} if per_row_n else {}),
        ).deviance
    elif null_mode == "nan":
        null_dev = math.nan
    k_params = q + (1 if result_model.has_dispersion else 0)
    result_model.y = arrays["y"]
    if per_row_n:
        result_model.n = arrays["n"]
    elif model_cls.family is Binomial:
        result_model.n = np.broadcast_to(np.float64(spec_fixed["n"]), (n,))
    return GLMResult(
        family=family,
        link=link,
        coef=theta if uncentre is None else uncentre @ theta,
        cov=cov,
        names=names,
        loglik=float(loglik),
        deviance=float(dev),
        null_deviance=float(null_dev),
        aic=-2 * loglik + 2 * k_params,
        bic=-2 * loglik + math.log(nobs) * k_params,
        dispersion=dispersion,
        df_resid=nobs - q,
        nobs=nobs,
        iterations=iterations,
        converged=True,
        mle_exists=True,
        recession=np.zeros((0, q)),
        cov_type=cov_type,
        t_dist=result_model.has_dispersion,
        limit=None,
        model=result_model,
        intercept=bool(intercept),
        fitted_eta=data.eta(theta),
        fitted_offset=arrays.get("offset"),
        fitted_X=arrays.get("X"),
    )


# ---------------------------------------------------------------------------------- softmax
@dataclass
class _CatSetup:
    """The setup pass of a softmax regression on one chunk (or merged chunks, in row order)."""

    errors: dict[int, str] = field(default_factory=dict)  # priority -> message
    nobs: int = 0
    top: float = -1.0  # the largest label (labels only)
    wy: F64 = field(default_factory=lambda: np.zeros(0))  # sum of w c, per category
    wt: float = 0.0  # sum of w s (s the row totals)
    ones: bool = True  # the first design column is all ones
    off_any: bool = False  # some offset is not 0
    sample: tuple[F64, ...] = ()  # X, y, w, offset of the sampled rows

    def __add__(self, other: _CatSetup) -> _CatSetup:
        errors = dict(other.errors)
        errors.update(self.errors)  # the earlier rows' messages win
        a, b = self.wy, other.wy
        k = max(a.size, b.size)
        return _CatSetup(
            errors,
            self.nobs + other.nobs,
            max(self.top, other.top),
            np.pad(a, (0, k - a.size)) + np.pad(b, (0, k - b.size)),
            self.wt + other.wt,
            self.ones and other.ones,
            self.off_any or other.off_any,
            tuple(np.concatenate([u, v]) for u, v in zip(self.sample, other.sample, strict=True)),
        )


def _cat_y_errors(spec: _CatSpec, y: F64, start: int) -> dict[int, str]:  # noqa: PLR0911
    """Return the in-memory checks of `y` (labels or rows of counts) failed by one chunk."""
    if spec.labels:
        if not np.all(np.isfinite(y)):
            return {3: "`y` must hold integer labels 0, ..., K - 1"}
        if not np.all((y >= 0) & (y == np.round(y))):
            return {3: "`y` must hold integer labels 0, ..., K - 1 (non-negative integers)"}
        if spec.K and np.any(y >= spec.K):  # `num_categories` given
            return {3: f"`y` holds a label >= `num_categories` = {spec.K}"}
        return {}
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        return {3: "`y` rows must be finite non-negative counts or probabilities"}
    if np.any(y.sum(axis=1) <= 0):
        i = int(np.flatnonzero(y.sum(axis=1) <= 0)[0])
        return {4: f"`y` row {start + i} sums to 0: every row needs a positive total"}
    return {}


def _cat_chunk_setup(  # noqa: PLR0917 - the blocks of one chunk, then its place
    spec: _CatSpec,
    frac: float,
    index: int,
    start: int,
    xb: Any,
    yb: Any,
    wb: Any,
    ob: Any,
    nb: Any,
) -> _CatSetup:
    """Return the checks, totals and a sample of one chunk of rows of a softmax regression."""
    del nb
    y = np.asarray(yb, dtype=np.float64)
    m = y.shape[0]
    X = _design_block(spec.intercept, xb, m)
    w = np.ones(m) if wb is None else np.asarray(wb, dtype=np.float64)
    off = np.zeros((m, 0)) if ob is None else np.asarray(ob, dtype=np.float64)
    out = _CatSetup()
    if not np.all(np.isfinite(X)):
        i, j = np.argwhere(~np.isfinite(X))[0]
        col = j - (1 if spec.intercept else 0)
        out.errors[0] = f"`X` must be finite; found {X[i, j]} at row {start + i}, column {col}"
    if not np.all(np.isfinite(w)):
        out.errors[1] = f"`weights` must be finite; found {_first_bad(w)}"
    elif np.any(w < 0):
        out.errors[2] = f"`weights` must be non-negative; found {w[w < 0][0]}"
    out.errors.update(_cat_y_errors(spec, y, start))
    if not np.all(np.isfinite(off)):
        out.errors[5] = "`offset` must be finite"
    out.sample = (X[:0], y[:0], w[:0], off[:0])
    if out.errors:
        return out
    pos = w > 0
    out.nobs = int(np.count_nonzero(pos))
    if spec.labels:
        out.top = float(np.max(y, initial=-1.0))
        out.wy = np.bincount(y.astype(np.int64), weights=w).astype(np.float64)
        out.wt = float(np.sum(w))
    else:
        out.wy = w @ y
        out.wt = float(w @ y.sum(axis=1))
    out.ones = bool(np.all(X[:, 0] == 1))
    out.off_any = bool(np.any(off))
    sel = pos & (np.random.default_rng([17, index]).random(m) < frac)
    out.sample = (X[sel], y[sel], w[sel], off[sel])
    return out


@dataclass(frozen=True)
class _CatInferSpec:
    theta: F64
    fisher: bool
    robust: bool
    null: str  # "rate" (the weighted mean of the counts) or "offset" are computed in the pass
    pbar: F64


def _cat_chunk_infer(  # noqa: PLR0917
    spec: _CatSpec, inf: _CatInferSpec, xb: Any, yb: Any, wb: Any, ob: Any, nb: Any
) -> tuple[Any, ...]:
    """Deviance, log-likelihood, null deviance, Fisher and sandwich of one chunk (as in memory)."""
    prob = _chunk_problem(spec, xb, yb, wb, ob, nb)
    model, w = prob.model, prob.w
    assert isinstance(model, CategoricalModel)  # noqa: S101 - built above
    # the chunk's terms of the in-memory sums (expfam._glm._result, _null_deviance)
    saturated = model.saturated(w)
    loglik = model.loglik(prob.eta(inf.theta), w)
    dev = 2 * (saturated - loglik)
    null = 0.0
    if inf.null == "rate":  # the intercept-only fit: the global class shares pbar
        totals = w @ model.y
        with np.errstate(divide="ignore", invalid="ignore"):
            ll0 = np.where(totals > 0, totals * np.log(inf.pbar), 0.0)
        null = 2 * (saturated - float(ll0.sum()))
    elif inf.null == "offset":
        null = 2 * (saturated - model.loglik(prob.off, w))
    H = np.zeros((prob.p, prob.p))
    S = np.zeros((prob.p, prob.p))
    if inf.fisher:
        H, S_ = fisher(prob, inf.theta, inf.robust)
        S = S_ if S_ is not None else S
    return dev, loglik, null, H, S


def _design(
    X: Any, n: int, chunks: tuple[int, ...], intercept: bool, arrays: dict[str, Any]
) -> list[str]:
    """Check `X`, put its row-chunked array in `arrays` and return the coefficient names."""
    if X is None:
        return ["intercept"]
    Xa = _as_array(X, "X")
    if Xa.ndim != 2:
        raise ValueError(f"`X` must be 2-d (rows = observations); got shape {Xa.shape}")
    arrays["X"] = _rows(Xa, "X", n, chunks, (n, Xa.shape[1]))
    cols = names_of(X, Xa.shape[1])
    return ["intercept", *cols] if intercept else cols


def _cat_arrays(  # noqa: PLR0917 - one check per way an argument can be wrong
    X: Any, y: Any, weights: Any, offset: Any, intercept: bool, fixed: dict[str, Any]
) -> tuple[dict[str, Any], tuple[int, ...], list[str], int | None]:
    """Return the row-chunked arrays, the row chunks, the names and ``num_categories``."""
    rest = dict(fixed)
    K = rest.pop("num_categories", None)
    if rest:
        raise TypeError(f"glm with Categorical takes only `num_categories`; got {sorted(rest)}")
    chunks = _row_chunks(X, y, weights, offset)
    assert chunks is not None  # noqa: S101 - called only with a Dask argument
    n = sum(chunks)
    arrays: dict[str, Any] = {}
    names = _design(X, n, chunks, intercept, arrays)
    reject_bool_labels(y, "y", counts=True)  # before the conversion to float64 hides the dtype
    ya = _as_array(y, "y")
    if ya.ndim not in {1, 2} or ya.shape[0] != n:
        raise ValueError(f"`y` must have shape ({n},) (labels) or ({n}, K); got {ya.shape}")
    if ya.ndim == 2:
        if K is not None and ya.shape[1] != K:
            raise ValueError(f"`y` has {ya.shape[1]} columns but `num_categories` = {K}")
        if ya.shape[1] < 2:
            raise ValueError("`y` needs at least 2 categories")
    arrays["y"] = _rows(ya, "y", n, chunks, ya.shape)
    if n == 0:
        raise ValueError("`y` must hold at least one observation")
    if weights is not None:
        arrays["weights"] = _rows(weights, "weights", n, chunks, (n,))
    if offset is not None:
        oa = _as_array(offset, "offset")
        if oa.ndim != 2 or oa.shape[0] != n:
            raise ValueError(f"`offset` must have shape ({n}, K); got {oa.shape}")
        arrays["offset"] = _rows(oa, "offset", n, chunks, oa.shape)
    return arrays, chunks, names, None if K is None else int(K)


def _sample_exists(sub: Problem, unpen: NDArray[np.bool_]) -> bool:
    """Return True if the softmax MLE of the sampled rows `sub` (so of all rows) exists.

    Without a penalty the interior certificate (a few Newton steps on the sample),
    else (or if it cannot tell) the existence program on the sample's unpenalised
    columns.
    """
    if np.all(unpen) and interior_certificate(sub):
        return True
    nu = int(np.count_nonzero(unpen))
    if design_null_space(sub.X[:, unpen], nu).shape[1]:
        return False  # a direction free on the sample may recede on the other rows
    Z, side, _ = constraint_rows(sub, unpen, np.arange(sub.X.shape[0]))
    return side.size == 0 or find_face(Z, side).null.shape[1] == 0


def _glm_dask_categorical(  # noqa: C901, PLR0912, PLR0915, PLR0917 - the pipeline
    X: Any,
    y: Any,
    weights: Any,
    offset: Any,
    l2: float,
    intercept: bool,
    cov_type: str,
    fixed: dict[str, Any],
) -> GLMResult:
    """Softmax regression on row-chunked Dask data: the pipeline of :func:`glm_dask`."""
    if not isinstance(intercept, (bool, np.bool_)):
        raise TypeError(f"`intercept` must be a bool; got {intercept!r}")
    if X is None and not intercept:
        raise ValueError("`X` is None (intercept-only model), so `intercept` must be True")
    arrays, chunks, names, K_given = _cat_arrays(X, y, weights, offset, intercept, fixed)
    n = sum(chunks)
    labels = arrays["y"].ndim == 1
    q = len(names)
    pen_coef = np.full(q, l2)
    if intercept:
        pen_coef[0] = 0.0
    # the setup pass knows K only if it is given (else it finds the largest label)
    K0 = K_given if K_given is not None and K_given >= 1 else 0
    data = _Data(_CatSpec(bool(intercept), labels, K0, np.zeros((0, 0))), arrays, chunks)

    # ---- the setup pass: checks, totals, the number of categories, a sample
    K_est = K_given if K_given is not None else int(arrays["y"].shape[1]) if not labels else 2
    m = max(SUBSET_MIN, 20 * q, 10 * q * max(K_est - 1, 1))
    frac = min(1.0, 2 * m / n)
    setup: _CatSetup = data.reduce(_cat_chunk_setup, _CatSetup.__add__, frac, index=True)
    if setup.errors:
        raise ValueError(setup.errors[min(setup.errors)])
    if setup.nobs == 0:
        raise ValueError("`weights` must not all be zero")
    if labels:
        K = int(setup.top) + 1 if K_given is None else K_given
        if K_given is not None and (K < 1 or setup.top >= K):
            raise ValueError(f"`y` holds a label >= `num_categories` = {K}")
        K = max(K, 2)
    else:
        K = int(arrays["y"].shape[1])
    if "offset" in arrays and arrays["offset"].shape[1] != K:
        raise ValueError(f"`offset` must have shape ({n}, {K}); got {arrays['offset'].shape}")
    wy = np.pad(setup.wy, (0, K - setup.wy.size))
    Q = linalg.null_space(np.ones((1, K)))
    spec = _CatSpec(bool(intercept), labels, K, Q)
    data.spec = spec
    if frac < 1 and max(SUBSET_MIN, 20 * q, 10 * q * (K - 1)) > m:
        # more categories than the sample was drawn for: a larger sample, one more pass
        # (the same random numbers with a larger threshold: a superset of the first)
        m = max(SUBSET_MIN, 20 * q, 10 * q * (K - 1))
        frac = min(1.0, 2 * m / n)
        setup.sample = data.reduce(_cat_chunk_setup, _CatSetup.__add__, frac, index=True).sample
    p = q * (K - 1)
    pen = np.repeat(pen_coef, K - 1)
    Xs, ys, ws, offs = setup.sample
    if offs.shape[1] == 0:
        offs = np.zeros((ys.shape[0], K))
    # the fit on centred columns, as in memory (expfam._glm.centred)
    shift = column_centres(Xs[:, 1:]) if X is not None and intercept else None
    if shift is not None:
        data.spec = replace(spec, shift=shift)
    uncentre = None if shift is None else uncentre_map(shift, K - 1)

    def in_memory(reason: str) -> GLMResult:
        return _fit_in_memory(
            reason, frac, n, q, arrays, Categorical, {"num_categories": K},
            l2=l2, intercept=intercept, cov_type=cov_type,
        )  # fmt: skip

    # ---- rank (adding rows never lowers it: a full-rank sample settles it)
    if l2 == 0:
        _check_rank(Xs, frac, data, setup.nobs, names)

    # ---- existence, on the sample (monotone in the rows)
    sub = Problem(
        _centred_sample(Xs, shift), CategoricalModel(_counts(spec, ys)), ws, offs, Q, np.zeros(p)
    )
    if not _sample_exists(sub, pen_coef == 0):
        return in_memory(
            f"the MLE may not exist (a sample of {ys.shape[0]} of the {n} rows is "
            "separated, or leaves a direction free)"
        )

    # ---- the solver, one pass per evaluation of the sums
    def chunked_sums(theta: F64, order: int) -> tuple[float, F64, F64]:
        return data.reduce(_chunk_sums, _add, theta, order)  # type: ignore[no-any-return]

    result_model = CategoricalModel(np.zeros((0, K)))
    placeholder = np.zeros((0, q))  # the rows live in the chunks: only `q` is read
    prob = Problem(placeholder, result_model, np.zeros(0), np.zeros((0, K)), Q, pen)
    prob.sums = chunked_sums
    gamma0 = np.zeros(p)
    if gamma0.size >= LBFGS_MIN:
        gamma0 = lbfgs(prob, gamma0)
    gamma, iterations, converged = newton(prob, gamma0)
    if not converged:
        raise ConvergenceError(
            "Newton's method did not converge", iterations=iterations, coef=gamma
        )

    # ---- inference, in one pass
    theta = gamma
    reuse = cov_type == "model" and prob.last is not None and prob.last[0] is gamma
    null_mode = "offset"
    if setup.ones:
        same = q == 1 and bool(np.all(pen == 0))
        null_mode = "same" if same else ("refit" if setup.off_any else "rate")
    with np.errstate(divide="ignore", invalid="ignore"):
        pbar = wy / setup.wt
    inf = _CatInferSpec(theta, not reuse, cov_type == "robust", null_mode, pbar)
    dev, loglik, null_dev, H, S = data.reduce(_cat_chunk_infer, _add, inf)
    if reuse:
        assert prob.last is not None  # noqa: S101 - checked above
        Hr = prob.last[1]
    else:
        Hr = H + np.diag(pen)
    Hinv = inv_sym(Hr)
    cov_theta = Hinv @ S @ Hinv if cov_type == "robust" else Hinv
    theta_x = theta  # on the columns of [1, X]
    if uncentre is not None:  # the centred fit, exactly to [1, X]
        cov_theta = uncentre @ cov_theta @ uncentre.T
        theta_x = uncentre @ theta
    M = np.kron(np.eye(q), Q)
    nobs = setup.nobs
    if null_mode == "same":
        null_dev = dev
    elif null_mode == "refit":
        # the intercept with the offset, on the same chunks (the arrays as converted)
        null_dev = _glm_dask_categorical(
            None,
            arrays["y"],
            arrays.get("weights"),
            arrays["offset"],
            0.0,
            True,  # noqa: FBT003 - the private signature
            "model",
            {"num_categories": K},
        ).deviance
    return GLMResult(
        family=Categorical,
        link="canonical",
        coef=theta_x.reshape(q, -1) @ Q.T,
        cov=M @ cov_theta @ M.T,
        names=names,
        loglik=float(loglik),
        deviance=float(dev),
        null_deviance=float(null_dev),
        aic=-2 * loglik + 2 * p,
        bic=-2 * loglik + math.log(nobs) * p,
        dispersion=1.0,
        df_resid=nobs - p,
        nobs=nobs,
        iterations=iterations,
        converged=True,
        mle_exists=True,
        recession=np.zeros((0, q, K)),
        cov_type=cov_type,
        t_dist=False,
        limit=None,
        model=result_model,
        intercept=bool(intercept),
        fitted_eta=data.eta(theta),
        fitted_offset=arrays.get("offset"),
        fitted_X=arrays.get("X"),
    )
