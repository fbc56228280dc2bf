r"""Maximum entropy under moment constraints, relative to a prior.

Among the distributions :math:`q` on ``K`` states with :math:`\sum_j q_j f_j = \mu`
(feature vectors :math:`f_j \in \mathbb{R}^m`), the one closest to a prior :math:`\pi`
in KL divergence (of largest entropy when :math:`\pi` is uniform) is the exponential
tilt :math:`q_j \propto \pi_j e^{\langle \lambda, f_j\rangle}`. The multipliers
:math:`\lambda` minimise the convex dual :math:`\log\sum_j \pi_j e^{\langle\lambda,
f_j - \mu\rangle}`, whose gradient is the residual :math:`E_q[f] - \mu` and whose
Hessian is the covariance of the features under :math:`q`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._dask import is_dask_collection
from expfam._errors import ConvergenceError, InfeasibleError
from expfam._families.categorical import Categorical
from expfam._maxent_dask import max_entropy_dask
from expfam._onedim import solve_scalar, validate_1d
from expfam._summation import EPS, accurate_sum, dot
from expfam._validation import FloatArray, as_float_array

__all__ = ["MaxEntResult", "max_entropy"]

# Run the face-finding linear program before iterating up to this many states; above
# it, only when the dual solve suggests the moments are on the boundary of the hull.
_LP_ALWAYS = 5000
# A state whose tilt q_j / prior_j falls below this (relative to 1) after an interior
# solve is a sign that the moments may lie on a face of the hull: check with the LP.
_SUSPECT = 1e-8
# Relative residual required of a solution (per feature, against max |f_i|).
_RTOL = 1e-12
# Above this many states the dual solve starts with fused Newton passes (its fallback
# with a float32 copy of the features).
_LARGE = 1 << 14
_BLOCK = 1 << 13  # rows per block when transposing the features
_HBLOCK = 1 << 13  # states per block of the dual's passes (rows of the block in L1/L2)
# States per BLAS product of a block's Hessian: OpenBLAS runs a (5 x k) @ (k x 5)
# product on several threads above k ~ 10000, which on a busy machine costs far more
# than it saves (the passes here are memory-bound)
_GEMM = 1 << 13


@dataclass(frozen=True)
class MaxEntResult:
    r"""Result of :func:`max_entropy`.

    Attributes
    ----------
    distribution : Categorical
        The solution :math:`q`, with logits :math:`\log q` (``-inf`` where ``q = 0``);
        built from `logits` when first used (for Dask features this computes them).
    logits : ndarray
        :math:`\log q`, shape ``(K,)``; a Dask array when the features are one.
    probs : ndarray
        The probabilities :math:`q`, shape ``(K,)`` (``distribution.probs`` recomputes
        a softmax of the logits and agrees to about ``eps * max|logit|`` relative).
    multipliers : ndarray
        :math:`\lambda`, shape ``(m,)``: :math:`q_j \propto \pi_j
        e^{\langle\lambda, f_j\rangle}` (for energies, :math:`\lambda = -\beta`). When
        the moments lie on the boundary of the convex hull of the features, ``q`` is 0
        off `support` and :math:`\lambda` describes ``q`` on it; a component is
        ``-inf`` (``+inf``) when that feature is pinned at its minimum (maximum), and
        components along directions in which the features are constant on the
        support are 0. On a face that is not axis-aligned, :math:`\lambda` is not
        unique (adding a multiple of the face's normal changes nothing on the
        support); the one returned is the dual solver's, not a canonical choice.
    entropy : float
        :math:`H(q) = -\sum_j q_j\log q_j`, in nats.
    kl_to_prior : float or None
        :math:`\mathrm{KL}(q\|\pi)` when a prior is given, else ``None``.
    residual : float
        :math:`\max_i |E_q[f_i] - \mu_i|`.
    converged : bool
        Always ``True`` for a returned result (failures raise
        :class:`ConvergenceError`).
    iterations : int
        Dual iterations (optimiser plus polishing steps); ``0`` for exact edge cases.
    support : ndarray of bool
        The states allowed positive probability: positive prior and on the minimal face
        of the convex hull that contains the moments.

    Examples
    --------
    Jaynes' dice with a uniform prior: the KL to the prior is the entropy gap.

    >>> import numpy as np
    >>> import expfam
    >>> r = expfam.max_entropy(np.arange(1.0, 7.0), 4.5, prior=np.full(6, 1 / 6))
    >>> r.converged, r.multipliers
    (True, array([0.37104894]))
    >>> bool(np.isclose(r.kl_to_prior, np.log(6) - r.entropy))
    True
    """

    logits: Any
    probs: Any
    multipliers: FloatArray
    entropy: float
    kl_to_prior: float | None
    residual: float
    converged: bool
    iterations: int
    support: Any

    @cached_property
    def distribution(self) -> Categorical:
        """The categorical distribution with these logits (built on first use)."""
        return Categorical(logits=np.asarray(self.logits))


def max_entropy(
    features: ArrayLike, moments: ArrayLike, *, prior: ArrayLike | None = None
) -> MaxEntResult:
    r"""Find the distribution of maximum entropy (minimum KL to a prior) with given moments.

    Solves

    .. math:: \min_q \mathrm{KL}(q\,\|\,\pi) \quad\text{subject to}\quad
              \sum_j q_j f_j = \mu,\ \sum_j q_j = 1,\ q \ge 0,

    which for a uniform prior :math:`\pi` maximises the entropy :math:`H(q)`.

    Parameters
    ----------
    features : array_like or dask.array.Array
        Finite feature values, shape ``(K,)`` (one feature) or ``(K, m)``. A Dask
        array (a state space larger than memory) is solved with Dask passes (see
        Notes; no `prior` then).
    moments : array_like
        Target expectations :math:`\mu`, shape ``()`` (or ``(1,)``) for ``(K,)``
        features, ``(m,)`` for ``(K, m)``.
    prior : array_like, optional
        Non-negative weights :math:`\pi` of shape ``(K,)`` with a positive, finite
        total (counts, or a probability vector); they are normalised to sum to 1, as
        the CLI's ``--prior`` does. States with zero prior get zero probability.
        Default: uniform.

    Returns
    -------
    MaxEntResult
        ``distribution``, ``probs``, ``multipliers``, ``entropy``, ``kl_to_prior``,
        ``residual``, ``converged``, ``iterations`` and ``support``.

    Raises
    ------
    InfeasibleError
        If the moments are outside the convex hull of the feature vectors (of the
        states with positive prior); the message gives the attainable range or a
        separating direction. A :class:`ValueError`.
    ConvergenceError
        If the solve does not reach its tolerance, with diagnostics.
    ValueError
        For wrong shapes, ``nan``/``±inf`` in `features` or `moments`, or a `prior`
        with a negative or non-finite entry or a zero total; the message names the
        argument.

    See Also
    --------
    boltzmann : one energy constraint, with thermodynamic quantities.

    Notes
    -----
    **Boundary cases are resolved exactly first.** A moment outside
    ``[min f_i, max f_i]`` is infeasible; a moment equal to ``min f_i`` (``max f_i``)
    confines ``q`` to the states where feature ``i`` attains it (multiplier ``-inf``
    (``+inf``)), repeatedly until no feature is pinned. For ``m >= 2`` the minimal face
    of the hull that contains :math:`\mu` is found with :func:`scipy.optimize.linprog`:
    with :math:`g_j = f_j - \mu`,

    .. math:: \max \sum_j z_j \quad\text{s.t.}\quad \sum_j (z_j + s_j) g_j = 0,\
              0 \le z_j \le 1,\ s_j \ge 0,

    whose optimal ``z`` is the indicator of the states that some solution can weight
    (homogeneity lets any such state reach ``z_j = 1``); the others get exactly 0 and
    ``z = 0`` everywhere means infeasible (HiGHS, feasibility tolerance ``1e-10`` of the
    feature scale: states closer than that to the face count as on it; when the face
    then cannot meet the moments to the tolerance below, the interior solve on all
    states decides). The linear program runs before iterating for up to 5000 states,
    and for larger problems (where it is costly: seconds at ``K = 10**5``, against
    tens of milliseconds for an interior solve) when the interior solve ends with some
    :math:`q_j/\pi_j < 10^{-8}`, the sign of a face. Moments within ~1e-9 of a face
    whose states are few (e.g. a feature's minimum attained by two states of 10**5)
    are the hard case: the multipliers are of the order of the inverse distance, and
    the program is degenerate; at ``K = 2 * 10**5`` such a solve has taken minutes and
    then raised :class:`ConvergenceError`.

    **Dask arrays.** With Dask `features` the whitened dual is minimised by damped
    Newton steps, each one Dask pass that returns every row-chunk's shifted sums of
    the weights, the weighted features and their products (value, gradient and
    Hessian at once); before them, one pass for the column ranges, one per feature
    pinned at an extreme, one for the whitening covariance. The scalars are
    computed; `probs`, `logits` and `support` are lazy Dask arrays. The sums are
    Dask's (not exactly summed: the residual is within a few ulp of ``max |f_i|``
    rather than one), there is no linear program for faces that are not
    axis-aligned (moments on such a face are returned with large finite
    multipliers, `support` all True and off-face mass of the order of the ``1e-12``
    tolerance; see :doc:`/large_data`), and a `prior` is not supported yet.

    **Interior solve.** Features are centred at :math:`\mu`, scaled per column and
    whitened with the prior covariance (directions in which the features are constant
    are dropped after checking that :math:`\mu` lies in their affine hull), so the dual
    Hessian starts at the identity. :func:`scipy.optimize.minimize` (``trust-exact``,
    analytic gradient and Hessian = covariance of the features, log-domain weights)
    minimises the dual; float64 Newton steps then polish the multipliers until the
    residual stops decreasing, typically at a few ulp of ``max |f_i|``. A residual
    above ``1e-12 max |f_i|`` for some feature raises :class:`ConvergenceError`.
    Above 16384 states a damped Newton method comes first (trust-region Newton in
    float32, then float64, only if it fails), and the solve takes about five passes
    over the features: one centres them (transposed; their power-of-two scales are
    applied by the passes that read them), summing the Gram matrix of a float32 copy
    of each cached block (without a prior, the Hessian of the dual at zero
    multipliers: the first Newton step needs no pass); each further Newton step
    takes one fused pass (value, gradient and Hessian; typically two, the last
    handing its float64 gradient and Hessian to the polish); the polish's gradient
    pass also writes ``q`` and ``log q`` (normalised by the
    log-partition predicted to second order in its rounding-level step, checked
    against the sum).
    A single free feature (``m = 1``, or one left after pinning) uses the solver of
    :func:`boltzmann`, accurate to a few ulp of the moment.

    Examples
    --------
    Jaynes' Brandeis dice, with the multiplier of the face value:

    >>> import numpy as np
    >>> import expfam
    >>> r = expfam.max_entropy(np.arange(1.0, 7.0), 4.5)
    >>> np.round(r.multipliers, 6)
    array([0.371049])
    >>> np.round(r.probs, 4)
    array([0.0544, 0.0788, 0.1142, 0.1654, 0.2398, 0.3475])

    Two constraints, the mean and the second moment, and a prior:

    >>> x = np.arange(1.0, 7.0)
    >>> r = expfam.max_entropy(np.column_stack([x, x**2]), [3.5, 14.0],
    ...                        prior=np.full(6, 1 / 6))
    >>> bool(r.residual < 1e-12 and r.kl_to_prior > 0)
    True

    Moments on an edge of the hull: the states off the edge get exactly zero.

    >>> f = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> expfam.max_entropy(f, [0.5, 1.0]).probs
    array([0. , 0. , 0.5, 0.5])
    """
    # numpy's default error state, whatever the caller's (see boltzmann)
    with np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"):
        if is_dask_collection(features):
            if prior is not None:
                raise ValueError("`prior` is not supported with Dask `features` (yet)")
            f = max_entropy_dask(features, moments)
            return MaxEntResult(
                logits=f["logits"],
                probs=f["probs"],
                multipliers=f["multipliers"],
                entropy=f["entropy"],
                kl_to_prior=None,
                residual=f["residual"],
                converged=True,
                iterations=f["iterations"],
                support=f["support"],
            )
        return _max_entropy(features, moments, prior)


def _max_entropy(features: ArrayLike, moments: ArrayLike, prior: ArrayLike | None) -> MaxEntResult:
    # without a prior, several features are checked for finiteness in the first pass
    # of the solve (its row minima and maxima), not in a pass of their own
    F, mu, one = _check_features(features, moments, check=prior is not None)
    K = F.shape[0]
    pi = None if prior is None else _check_prior(prior, K)
    if one:
        sol = solve_scalar(F[:, 0], float(mu[0]), pi, xname="features", tname="moments")
        support = (pi > 0) if pi is not None else np.ones(K, dtype=bool)
        support = support & (sol.probs > 0) if math.isinf(sol.lam) else support
        return MaxEntResult(
            logits=sol.logits,
            probs=sol.probs,
            multipliers=np.array([sol.lam]),
            entropy=sol.entropy + 0.0,
            kl_to_prior=None if pi is None else sol.kl + 0.0,
            residual=sol.residual,
            converged=sol.converged,
            iterations=sol.iterations,
            support=support,
        )
    return _solve_general(F, mu, pi)


# --------------------------------------------------------------------------- validation
def _check_features(
    features: ArrayLike, moments: ArrayLike, *, check: bool = True
) -> tuple[FloatArray, FloatArray, bool]:
    """Features as float64 ``(K, m)``, moments ``(m,)``, and whether ``m == 1``.

    Without `check`, ``(K, m)`` features with ``m >= 2`` are not checked for
    finiteness here: :func:`_pin_axes` does it in its pass over all of them.
    """
    f = as_float_array(features, "features")
    mu = as_float_array(moments, "moments")
    if f.ndim == 1:
        f = validate_1d(f, "features")[:, None]
        if mu.shape not in ((), (1,)):
            raise ValueError(
                f"`moments` must have shape () (or (1,)) for 1-D `features`; got {mu.shape}"
            )
        mu = mu.reshape(1)
    elif f.ndim == 2:
        if f.shape[0] == 0:
            raise ValueError(f"`features` must have at least one state (row); got shape {f.shape}")
        if mu.shape != (f.shape[1],):
            raise ValueError(
                f"`moments` must have shape ({f.shape[1]},) for `features` of shape "
                f"{f.shape}; got {mu.shape}"
            )
        if check or f.shape[1] == 1:
            _check_finite(f)
    else:
        raise ValueError(f"`features` must have shape (K,) or (K, m); got {f.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError(f"`moments` must be finite; found {float(mu[~np.isfinite(mu)][0])!r}")
    f64 = f.astype(np.float64, order="C", copy=False)  # (keeps an ndarray subclass)
    return f64, mu.astype(np.float64), f64.shape[1] == 1


def _check_finite(f: FloatArray) -> None:
    """Raise the ValueError for non-finite `features` (one pass when they are finite)."""
    # a finite sum proves every entry finite; else the full check
    with np.errstate(over="ignore", invalid="ignore"):
        finite_sum = bool(np.isfinite(np.add.reduce(f, axis=None, dtype=np.float64)))
    if not finite_sum and not np.all(np.isfinite(f)):
        raise ValueError(f"`features` must be finite; found {float(f[~np.isfinite(f)][0])!r}")


def _check_prior(prior: ArrayLike, K: int) -> FloatArray:
    """Return the prior as float64 weights summing to 1 (non-negative, finite total > 0)."""
    p = as_float_array(prior, "prior")
    if p.shape != (K,):
        raise ValueError(f"`prior` must have shape ({K},), one entry per state; got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"`prior` must be finite; found {float(p[~np.isfinite(p)][0])!r}")
    if np.any(p < 0):
        raise ValueError(f"`prior` must be non-negative; found {float(p[p < 0][0])!r}")
    p = p.astype(np.float64)
    big = float(np.max(p))
    if big == 0.0:
        raise ValueError("`prior` must have a positive total; all its entries are 0")
    if big > 2.0**1000:  # scale by a power of two (exact) so that the total is finite
        p = p * 2.0**-64
    total = accurate_sum(p)
    if not math.isfinite(total):
        raise ValueError(f"`prior` must have a finite total; it sums to {total!r}")
    return p if total == 1.0 else p / total


# --------------------------------------------------------------------------- general case
def _solve_general(  # noqa: C901, PLR0912, PLR0915 - the reduction loop: pin, face, solve
    F: FloatArray, mu: FloatArray, pi: FloatArray | None
) -> MaxEntResult:
    K, m = F.shape
    support = np.ones(K, dtype=bool) if pi is None else pi > 0
    lam: FloatArray = np.zeros(m)
    lp_done = loose_done = False
    iterations = 0
    # the state before the first face restriction: if the face cannot meet the moments
    # to our tolerance (the program's 1e-10 called a point near a face "on" it), the
    # interior solve gets its chance
    before_face: tuple[NDArray[np.bool_], FloatArray] | None = None
    while True:
        fused = bool(np.sum(support) > _LARGE)
        active, rows = _pin_axes(F, mu, support, lam, fused=fused, unscaled_ok=pi is None)
        GT = rows.D
        if not active:
            q, logq = _restricted_prior(pi, support)
            return _finish(
                F, mu, pi, support, q=q, logq=logq, lam=lam, iterations=iterations, known=None
            )
        if len(active) == 1:  # one free feature left: the (ulp-accurate) scalar solver
            i = active[0]
            w = support.astype(np.float64) if pi is None else np.where(support, pi, 0.0)
            one = solve_scalar(F[:, i], float(mu[i]), w, xname="features", tname="moments")
            lam[i] = one.lam
            if math.isinf(one.lam):
                support = support & (one.probs > 0)
            return _finish(
                F,
                mu,
                pi,
                support,
                q=one.probs,
                logq=one.logits,
                lam=lam,
                iterations=one.iterations,
                known=None,
            )
        dmin, dmax = rows.dmin, rows.dmax
        fmax = np.maximum(np.abs(mu[active] + dmin), np.abs(mu[active] + dmax))  # max |f_i|
        if rows.scale is not None:  # scaled in the pinning pass
            s = rows.scale
        else:  # centred at the moments, scaled to [-1, 1], in one blocked pass
            s = np.maximum(dmax, -dmin)
            GT /= s[:, None]
        gbar = None if pi is not None or rows.dsum is None else rows.dsum / s / GT.shape[1]
        start = cov0 = None
        if pi is None and rows.sums is not None:  # the Newton phase's start, uniform q
            n = GT.shape[1]
            g0 = rows.sums[0] / n
            cov0 = rows.sums[1] / n - np.outer(g0, g0)
            start = (math.log(n), g0, cov0)
        wh = _whitening(
            GT, pi, support, gbar=gbar, cov=cov0, inv=1.0 / s if rows.unscaled else None
        )
        if not lp_done and GT.shape[1] <= _LP_ALWAYS:
            lp_done = True
            face = _minimal_face(rows.scaled(), s, support, active, wh.B)
            if face is not None:  # a proper face: restrict and reduce again
                before_face = before_face or (support.copy(), lam.copy())
                support = face
                continue
        sol = _dual_solve(
            GT, s, support, wh, tol=_RTOL * fmax / s, start=start, unscaled=rows.unscaled
        )
        iterations += sol.iterations
        if sol.suspicious and not lp_done:
            lp_done = True
            face = _minimal_face(rows.scaled(), s, support, active, wh.B)
            if face is not None:
                before_face = before_face or (support.copy(), lam.copy())
                support = face
                continue
        if not sol.converged and not loose_done:
            # a near-face problem (weights below ~1e-30) that the tight program called
            # interior: at HiGHS's default tolerance the face is a solution within ours
            loose_done = lp_done = True
            face = _minimal_face(rows.scaled(), s, support, active, wh.B, loose=True)
            if face is not None:
                before_face = before_face or (support.copy(), lam.copy())
                support = face
                continue
        if not sol.converged and before_face is not None:
            # the face (found at the program's tolerance) cannot meet the moments: they
            # are off its affine hull by more than our tolerance. If every state lies on
            # the face's side of them, they are outside the hull (infeasible)
            _raise_if_beyond_face(
                F, mu, support=before_face[0], GT=rows.scaled(), s=s, active=active
            )
            support, lam = before_face  # no more faces: the interior solve decides
            before_face = None
            continue
        if not sol.converged:
            raise ConvergenceError(
                "maximum-entropy dual solve did not reach the residual tolerance: "
                f"max |E_q[f] - moments| = {float(sol.residual)!r}",
                iterations=iterations,
                residual=sol.residual,
                multipliers=sol.lam_active,
                active=active,
                solver_message=sol.message,
            )
        lam[active] = sol.lam_active
        return _finish(
            F,
            mu,
            pi,
            support,
            q=sol.q,
            logq=sol.logq,
            lam=lam,
            iterations=iterations,
            known=(active, sol.resid),
            entropy=sol.entropy,
            positive=sol.positive,
        )


@dataclass
class _Rows:
    """The differences ``f_i - mu_i`` on the support (a row per feature), row statistics.

    With `scale`, the rows of `D` are divided by it (powers of two: exactly) and
    `sums` are the float32-accurate sums of ``d`` and of
    ``d d^T`` over the states of the scaled rows (the dual's gradient and Hessian at
    zero multipliers without a prior, so the Newton phase needs no pass there); then
    `dsum` is not computed and `dmin`, `dmax` are those of the float32 copy when that
    decides every sign (rounding is monotone), else exact. The statistics are in the
    units of the features.
    """

    D: FloatArray
    dmin: FloatArray
    dmax: FloatArray
    dsum: FloatArray | None
    scale: FloatArray | None = None
    sums: tuple[FloatArray, FloatArray] | None = None
    unscaled: bool = False  # D not yet divided by scale

    def scaled(self) -> FloatArray:
        """`D` divided by `scale` (in place, once)."""
        if self.unscaled and self.scale is not None:
            self.D *= (1.0 / self.scale)[:, None]
            self.unscaled = False
        return self.D

    def subset(self, keep: list[int]) -> _Rows:
        """Return the rows `keep`."""
        return _Rows(
            self.D[keep],
            self.dmin[keep],
            self.dmax[keep],
            None if self.dsum is None else self.dsum[keep],
            None if self.scale is None else self.scale[keep],
            None if self.sums is None else (self.sums[0][keep], self.sums[1][np.ix_(keep, keep)]),
            unscaled=self.unscaled,
        )


def _pow2_scales(F: FloatArray, mu: FloatArray, idx: Any) -> FloatArray:
    """Powers of two at or above ``max |f_i - mu_i|`` (at most 2**1023), over ~8192 states."""
    n = F.shape[0] if idx is None else idx.size
    rows = slice(None, None, -(-n // _GEMM)) if idx is None else idx[:: -(-n // _GEMM)]
    with np.errstate(over="ignore"):  # |f - mu| beyond the float range: 2**1023 below
        top = np.max(np.abs(F[rows] - mu), axis=0)
    top[~(top > 0)] = 1.0  # (constant on the subsample: the first pass decides)
    # the largest power of two is 2**1023: differences near the float range get it
    exponent = np.where(np.isfinite(top), np.frexp(np.where(np.isfinite(top), top, 1.0))[1], 1023)
    out: FloatArray = np.ldexp(1.0, np.minimum(exponent, 1023))
    return out


def _pin_axes(  # noqa: C901, PLR0912, PLR0915 - the pinning loop with its one fused pass
    F: FloatArray,
    mu: FloatArray,
    support: NDArray[np.bool_],
    lam: FloatArray,
    *,
    fused: bool = False,
    unscaled_ok: bool = False,
) -> tuple[list[int], _Rows]:
    """Exact axis-aligned reductions; return the features that still need a multiplier.

    Raises :class:`InfeasibleError` for a moment outside its feature's range; restricts
    `support` (in place) to the states where a feature attains its moment at its min or
    max, setting that multiplier to ``-inf`` or ``+inf``. Also returns the differences
    ``f_i - mu_i`` of the remaining features on the support, one row each (their signs
    are exact, so the comparisons are). With `fused` (many states), the same pass
    finds powers of two near their largest magnitude on a strided subsample and
    divides the rows by them (exactly), unless `unscaled_ok` and the powers are
    within 2**+-100 (then the dual's evaluator applies them), and sums the Gram
    matrix of a float32 copy of each block: no pass of its own for that.
    """
    m = F.shape[1]
    where = "" if np.all(support) else " over the states with positive prior"
    done = [bool(math.isinf(lam[i])) for i in range(m)]
    while True:
        full = bool(np.all(support))
        idx = None if full else np.flatnonzero(support)
        cols = [i for i in range(m) if not done[i]]
        n = F.shape[0] if idx is None else idx.size
        D = np.empty_like(F, shape=(len(cols), n))
        mc = mu[cols]
        every = len(cols) == m
        dmin, dmax = np.full(len(cols), np.inf), np.full(len(cols), -np.inf)
        dsum = np.zeros(len(cols))
        scale = _pow2_scales(F[:, cols] if not every else F, mc, idx) if fused else None
        nc = len(cols)
        gram = np.zeros((nc + 1, nc))  # sums of d d^T, then (last row) of d
        buf32 = np.empty((nc + 1, _BLOCK), dtype=np.float32) if fused else None
        if buf32 is not None:
            buf32[nc] = 1.0
        inv = None if scale is None else (1.0 / scale)[:, None]
        # scales within 2**+-100: the rows stay unscaled (the dual's evaluator scales
        # its multipliers and sums instead, by the same powers of two: the same numbers
        # exactly, and one operation per element fewer here)
        moderate = (
            unscaled_ok
            and scale is not None
            and bool(np.all((scale >= 2.0**-100) & (scale <= 2.0**100)))
        )
        mcol = mc[:, None]
        # extremes of each block of the float32 copy, reduced after the loop
        ext32 = np.empty((2, -(-n // _BLOCK), nc), dtype=np.float32) if fused else None
        # (an overflow to inf, in f - mu or in float32, is decided after the loop)
        with np.errstate(over="ignore"):
            for a in range(0, n, _BLOCK):  # rows of F in cache-sized blocks, transposed
                blk = F[a : a + _BLOCK] if idx is None else F[idx[a : a + _BLOCK]]
                if not every:
                    blk = blk[:, cols]
                db = D[:, a : a + _BLOCK]
                np.subtract(blk.T, mcol, out=db)
                if inv is not None and buf32 is not None and ext32 is not None:
                    c32 = buf32[:nc, : db.shape[1]]
                    if moderate:  # D stays unscaled; its float32 copy is scaled
                        np.multiply(db, inv, out=c32, casting="same_kind")
                    else:
                        db *= inv  # powers of two: exact
                        np.copyto(c32, db, casting="same_kind")  # (beyond float32: see below)
                    # a general product of different shapes (numpy would call the much
                    # slower syrk for c32 @ c32.T); single-threaded BLAS size (_GEMM); the
                    # row of ones gives the sums of d
                    gram += buf32[:, : db.shape[1]] @ c32.T
                    # extremes of the float32 block (in cache: the same pass; half the bytes)
                    np.minimum.reduce(c32, axis=1, out=ext32[0, a // _BLOCK])
                    np.maximum.reduce(c32, axis=1, out=ext32[1, a // _BLOCK])
                    continue
                np.minimum(dmin, db.min(axis=1), out=dmin)  # in cache: the same pass
                np.maximum(dmax, db.max(axis=1), out=dmax)
                dsum += db.sum(axis=1)
        if ext32 is not None:
            dmin = np.minimum.reduce(ext32[0], axis=0).astype(np.float64)
            dmax = np.maximum.reduce(ext32[1], axis=0).astype(np.float64)
        if scale is not None:
            # float32 rounding is monotone, so fl(min d) = min fl(d) has the sign of
            # min d unless it is 0 (or d underflows), and fl(min) < fl(max) implies
            # min < max: when every float32 minimum is < 0 < maximum (finite), the
            # decisions below are exact; otherwise take the exact extremes (a pass)
            ends = np.concatenate([-dmin, dmax])
            dmin, dmax = dmin * scale, dmax * scale  # (units of the features: exact)
            if not (np.all(ends > 0) and np.all(np.isfinite(ends))):
                dmin, dmax = D.min(axis=1), D.max(axis=1)
                if not moderate:
                    dmin, dmax = dmin * scale, dmax * scale
        if every and not (np.all(np.isfinite(dmin)) and np.all(np.isfinite(dmax))):
            _check_finite(F)  # (nan and inf show in the extremes of f - mu)
        pinned = -1
        for k, i in enumerate(cols):
            if dmin[k] > 0 or dmax[k] < 0:
                col = F[:, i] if idx is None else F[idx, i]
                raise InfeasibleError(
                    f"`moments`[{i}]={float(mu[i])!r} is outside the attainable range "
                    f"[{float(col.min())!r}, {float(col.max())!r}] of `features`[:, {i}]{where}"
                )
            if (dmin[k] == 0 or dmax[k] == 0) and dmin[k] < dmax[k]:
                pinned = k
                break
        if pinned < 0:
            keep = [k for k in range(len(cols)) if dmin[k] < dmax[k]]
            for k in range(len(cols)):
                if dmin[k] == dmax[k]:  # constant and equal to the moment: satisfied
                    done[cols[k]] = True
            sums = (gram[nc], gram[:nc])
            rows = (
                _Rows(D, dmin, dmax, None, scale, sums, unscaled=moderate)
                if fused
                else _Rows(D, dmin, dmax, dsum)
            )
            spread = (np.maximum(dmax, -dmin) / scale)[keep] if scale is not None else None
            if spread is not None and not (
                float(np.max(spread, initial=1.0)) < 2.0**60
                and float(np.min(spread, initial=1.0)) > 2.0**-60
            ):
                # far beyond the subsample's range (float32 could overflow), or far
                # below it (a feature constant on the subsample: its float32 copy and
                # Gram matrix underflow): unscaled (exactly), the general scaling decides
                if not moderate and scale is not None:
                    D *= scale[:, None]
                rows = _Rows(D, dmin, dmax, None)
            if len(keep) < len(cols):
                return [cols[k] for k in keep], rows.subset(keep)
            return [cols[k] for k in keep], rows
        i = cols[pinned]
        at_min = dmin[pinned] == 0
        support &= F[:, i] == mu[i]
        lam[i] = -math.inf if at_min else math.inf
        done[i] = True
        where = " over the states left by the pinned features"


def _raise_if_beyond_face(
    F: FloatArray,
    mu: FloatArray,
    *,
    support: NDArray[np.bool_],
    GT: FloatArray,
    s: FloatArray,
    active: list[int],
) -> None:
    """Raise :class:`InfeasibleError` if the moments lie beyond a face of the hull.

    `GT` holds the centred, scaled (by `s`) features of the face's states. A direction
    ``v`` along which the face is flat (a null direction of its centred features)
    gives each state of `support` the value ``h_j = v . (f_j - mu) / s``; on the face
    they are all (nearly) equal. When every ``h_j`` has the same strict sign, all the
    feature vectors lie on one side of the moments: no distribution can meet them.
    """
    Gc = GT - GT.mean(axis=1, keepdims=True)
    # all of U (a x a) is needed; V is small when the full matrices are (fewer states)
    u, sv, _ = np.linalg.svd(Gc, full_matrices=Gc.shape[1] < Gc.shape[0])
    sv = np.concatenate([sv, np.zeros(u.shape[1] - sv.size)])
    null = u[:, sv <= 1e-9 * max(float(sv[0]) if sv.size else 0.0, 1e-300)]
    if not null.shape[1]:
        return
    idx = np.flatnonzero(support)
    G_all = (F[np.ix_(idx, np.asarray(active, dtype=np.intp))] - mu[active]) / s
    noise = 64 * EPS * float(np.max(np.abs(G_all), initial=0.0))
    for k in range(null.shape[1]):
        v = null[:, k]
        h = G_all @ v
        if float(np.min(h)) > noise or float(np.max(h)) < -noise:
            d = v / s
            d /= float(np.max(np.abs(d))) * (1.0 if float(np.min(h)) > 0 else -1.0)
            gap = float(np.min(np.abs(h)))
            cols = ", ".join(str(i) for i in active)
            raise InfeasibleError(
                "`moments` lie outside the convex hull of the feature vectors (rows of "
                f"`features`), just beyond one of its faces: along the direction a = "
                f"{np.array2string(d, precision=4)} (features [{cols}]), every feature "
                f"vector has a·(f - moments) > 0 (by at least {gap:.3g} relative to the "
                "feature scale)"
            )


def _restricted_prior(
    pi: FloatArray | None, support: NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    w = support.astype(np.float64) if pi is None else np.where(support, pi, 0.0)
    total = accurate_sum(w)
    q = w / total
    with np.errstate(divide="ignore"):
        logq = np.log(w) - math.log(total)
    return q, logq


def _minimal_face(
    GT: FloatArray,
    s: FloatArray,
    support: NDArray[np.bool_],
    active: list[int],
    B: FloatArray,
    *,
    loose: bool = False,
) -> NDArray[np.bool_] | None:
    """States of the minimal face of the hull containing the moments (None: all).

    `GT` holds the centred, scaled features of the states of `support`; the program is
    posed on the whitened features ``B^T g`` (no dependent rows), at feasibility
    tolerance ``1e-10`` (HiGHS's default ``1e-7`` if `loose`). Raises
    :class:`InfeasibleError` when the moments are outside the hull.
    """
    idx = np.flatnonzero(support)
    HT = B.T @ GT
    a, n = HT.shape
    problem: dict[str, Any] = {
        "c": np.concatenate([-np.ones(n), np.zeros(n)]),
        "A_eq": np.hstack([HT, HT]),
        "b_eq": np.zeros(a),
        "bounds": np.column_stack(
            [np.zeros(2 * n), np.concatenate([np.ones(n), np.full(n, np.inf)])]
        ),
        "method": "highs",
    }
    tight = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
    from scipy import optimize  # noqa: PLC0415 - ~0.6 s to import; only solves need it

    res = optimize.linprog(**problem, options={} if loose else tight)
    if res.status != 0:  # rare numerical trouble at tight tolerances: HiGHS defaults
        res = optimize.linprog(**problem)
    if res.status != 0:
        return None  # undecided: the interior solve and its residual check decide
    on = res.x[:n] > 0.5
    if not np.any(on):
        raise InfeasibleError(_outside_hull_message(HT, B, s, res, active))
    if np.all(on):
        return None
    face = np.zeros_like(support)
    face[idx[on]] = True
    return face


def _outside_hull_message(
    HT: FloatArray, B: FloatArray, s: FloatArray, res: Any, active: list[int]
) -> str:
    msg = "`moments` lie outside the convex hull of the feature vectors (rows of `features`)"
    y = getattr(getattr(res, "eqlin", None), "marginals", None)
    if y is None:  # pragma: no cover
        return msg
    y = np.asarray(y, dtype=np.float64)
    v = y @ HT  # = a . (f_j - mu) for the direction a = (B y) / s
    if np.all(v > 0) or np.all(v < 0):
        d = (B @ y) / s
        norm = float(np.max(np.abs(d))) * (1.0 if np.all(v > 0) else -1.0)
        d /= norm
        cols = ", ".join(str(i) for i in active)
        msg += (
            f": along the direction a = {np.array2string(d, precision=4)} (features "
            f"[{cols}]), every feature vector has a·(f - moments) >= "
            f"{float(np.min(v / norm)):.6g} > 0"
        )
    return msg


@dataclass
class _DualSolution:
    q: FloatArray
    logq: FloatArray
    lam_active: FloatArray
    resid: FloatArray
    residual: float
    converged: bool
    suspicious: bool
    iterations: int
    message: str
    entropy: float  # -sum q log q
    positive: bool  # known: every q > 0


@dataclass
class _Whitening:
    B: FloatArray  # (a, r): h = B^T g has identity covariance under the prior
    lp: FloatArray | None  # log of the normalised prior on the support (None: uniform)


def _whitening(
    GT: FloatArray,
    pi: FloatArray | None,
    support: NDArray[np.bool_],
    *,
    gbar: FloatArray | None = None,
    cov: FloatArray | None = None,
    inv: FloatArray | None = None,
) -> _Whitening:
    """Whitening of the centred, scaled features `GT`, dropping constant directions.

    `cov`, the covariance of `GT` under uniform weights when known (and no prior),
    replaces the estimate from a subsample. With `inv` (and `cov`: no prior), `GT`
    holds the rows unscaled: they are multiplied by `inv` where used.

    Raises :class:`InfeasibleError` when the moments leave the affine hull of the
    feature vectors (a combination of features constant on the support but not at
    the moments).
    """
    full = bool(np.all(support))
    n = GT.shape[1]
    w0 = None
    if pi is None:
        lp = None  # (the mean of GT, when not given, is computed only if needed)
    else:
        ps = pi if full else pi[support]
        w0 = ps / accurate_sum(ps)
        lp = np.log(w0)
        gbar = GT @ w0
    # Covariance for whitening, from at most ~8192 strided states: whitening only
    # conditions the problem; near-dependence is re-checked on all states below.
    if cov is None or w0 is not None:
        step = -(-n // _GEMM)  # ceil: at most 8192 states (a single-threaded BLAS product)
        Gs = GT[:, ::step]
        ws = np.full(Gs.shape[1], 1 / Gs.shape[1]) if w0 is None else w0[::step] / w0[::step].sum()
        Gs = Gs - (Gs @ ws)[:, None]
        cov = (Gs * ws) @ Gs.T
        del Gs
    nu, V = np.linalg.eigh(cov)
    if nu[0] < 1e-8 * nu[-1]:
        # nearly dependent features: eigenvalues of C are only accurate to eps*|C|, so
        # take singular values of the centred, weighted data instead, where exactly
        # dependent combinations show at rounding level (sigma ~ eps * sigma_max)
        if inv is not None:
            GT = GT * inv[:, None]  # (a scaled copy: nearly dependent features only)
            inv = None
        gbar = GT.mean(axis=1) if gbar is None else gbar
        Gc = GT - gbar[:, None]
        Gc *= np.sqrt(np.full(n, 1.0 / n) if w0 is None else w0)
        _, sv, vt = np.linalg.svd(Gc.T, full_matrices=False)
        del Gc
        nu, V = (sv**2)[::-1], vt[::-1].T
    keep = nu > 1e-26 * nu[-1]
    flat = V[:, ~keep]
    if flat.shape[1]:
        if gbar is None:
            gbar = GT.mean(axis=1) if inv is None else GT.mean(axis=1) * inv
        off = gbar @ flat
        if np.any(np.abs(off) > 1e-10):
            raise InfeasibleError(
                "`moments` are not in the affine hull of the feature vectors of the states "
                "that can carry probability: a combination of the features is constant on "
                f"them but the moments give it an offset of {float(np.max(np.abs(off))):.3g} "
                "(relative to the feature scale)"
            )
    return _Whitening(B=V[:, keep] / np.sqrt(nu[keep]), lp=lp)


def _polish(
    ev: _DualEval,
    ev64: _DualEval,
    B: FloatArray,
    eta: FloatArray,
    hm: FloatArray | None = None,
    *,
    g: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, int]:
    """Newton steps with float64 gradients from `eta`; return eta, the gradient, steps.

    The Hessian is `hm`, else the last one of `ev` (float32 for large problems after
    the trust-region phase): near the solution it changes little, and the steps still
    converge in 2-3 iterations. `g`, the float64 ``E_q[g]`` at `eta` if known, saves
    a pass.
    """
    if g is None:
        g = ev64.grad_accurate(eta)
    if hm is None:
        hm = ev.hess_value if ev.hess_value.size else ev.hess(eta)
    steps = 0
    for _ in range(6):
        gn = float(np.max(np.abs(B.T @ g)))
        if float(np.max(np.abs(g))) <= 8 * EPS:  # rounding level of the scaled residual
            break
        try:
            step = np.linalg.solve(hm, -(B.T @ g))
        except np.linalg.LinAlgError:  # pragma: no cover
            break
        eta2 = eta + step
        norm = ev64.norms.get(eta.tobytes())
        gw = B.T @ g
        with np.errstate(over="ignore", invalid="ignore"):  # (huge steps: not predicted)
            grow = float(gw @ step + 0.5 * (step @ hm @ step))
        if norm is not None and ev64.dtype == np.float64 and abs(grow) < 1.0:
            # log Z at eta2 to second order in the (rounding-level) step: this pass
            # also writes q and log q, the final ones if the polish stops here
            g2 = ev64.grad_writing(eta2, norm[0], norm[1] * math.exp(grow))
        else:
            g2 = ev64.grad_accurate(eta2)
        steps += 1
        if not float(np.max(np.abs(B.T @ g2))) < gn:
            break
        eta, g = eta2, g2
        if gn > 1e-3:  # far from the solution: refresh the Hessian
            cov = ev.moments(eta, hess=True)[2]
            hm = B.T @ cov @ B
    return eta, g, steps


def _dual_solve(
    GT: FloatArray,
    s: FloatArray,
    support: NDArray[np.bool_],
    wh: _Whitening,
    *,
    tol: FloatArray,
    start: tuple[float, FloatArray, FloatArray] | None = None,
    unscaled: bool = False,
) -> _DualSolution:
    """Minimise the whitened dual for centred, scaled features `GT` on `support`.

    Converged when every scaled residual ``|E_q[g_i]|`` is at most ``tol[i]``. With
    `unscaled`, `GT` holds the rows before their division by `s`.
    """
    K = support.size
    full = bool(np.all(support))
    n = GT.shape[1]
    B, lp = wh.B, wh.lp
    r = B.shape[1]
    # Large problems: damped Newton, one fused pass (value, gradient, Hessian) per
    # step, then Newton steps that also write q polish the multipliers to rounding
    # level. Else, or if that fails: trust-region Newton on the dual in whitened
    # coordinates (float32 first for large problems, whose exp is several times
    # faster; float64 from where it stopped), then the same polish.
    large = n > _LARGE
    ev64 = _DualEval(GT, lp, B, scale=s if unscaled else None)
    eta: FloatArray = np.zeros(r)
    iterations = 0
    message = "fused Newton"
    done = False
    if large:
        eta, hm, passes, ok, g = _newton(ev64, B, eta, gtol=1e-5, start=start)
        iterations += passes
        if ok:
            eta, g, steps = _polish(ev64, ev64, B, eta, hm, g=g)
            iterations += steps
            done = bool(np.all(np.abs(g) <= tol))
        if not done:
            eta = np.zeros(r)
    ev = ev64
    if large and not done:  # (a float32 copy of the features, for the fallback only)
        g32 = (GT * (1.0 / s)[:, None] if unscaled else GT).astype(np.float32)
        ev = _DualEval(g32, None if lp is None else lp.astype(np.float32), B)
    # At eta = 0 the whitened Hessian is the identity, so the first Newton step is -g0:
    # start with a trust radius that admits it
    radius = 1.0 if done else max(1.0, 2.0 * float(np.linalg.norm(ev.jac(np.zeros(r)))))
    for evk in [] if done else [ev, ev64] if large else [ev64]:
        with np.errstate(over="ignore", under="ignore"):
            from scipy import optimize  # noqa: PLC0415 - ~0.6 s to import; only solves need it

            res = optimize.minimize(
                evk.fun,
                eta,
                jac=evk.jac,
                hess=evk.hess,
                method="trust-exact",
                options={
                    "gtol": 1e-13 if evk is ev64 else 1e-5,
                    "maxiter": 200,
                    "initial_trust_radius": radius,
                },
            )
        eta = np.asarray(res.x, dtype=np.float64)
        iterations += int(res.nit)
        message = str(res.message)
        eta, g, steps = _polish(evk, ev64, B, eta)
        iterations += steps
        if bool(np.all(np.abs(g) <= tol)):
            break
        radius = 1.0
    qs, logq_s, entropy, logq_min = ev64.final(eta)
    lam_active = (B @ eta) / s
    resid = np.abs(g) * s  # |E_q[f_i] - mu_i| from the float64 E_q[g]
    converged = bool(np.all(np.abs(g) <= tol))
    # (min log(q / prior) + log n: the smallest weight relative to the uniform one)
    ratio_min = logq_min + math.log(n) if lp is None else float(np.min(logq_s - lp))
    suspicious = (not converged) or ratio_min < math.log(_SUSPECT)
    if full:
        q_full, logq_full = qs, logq_s
    else:
        q_full = np.zeros(K)
        q_full[support] = qs
        logq_full = np.full(K, -np.inf)
        logq_full[support] = logq_s
    return _DualSolution(
        q=q_full,
        logq=logq_full,
        lam_active=lam_active,
        resid=resid,
        residual=float(np.max(resid)),
        converged=converged,
        suspicious=suspicious,
        iterations=iterations,
        message=message,
        entropy=entropy + 0.0,
        # (q >= exp(-700) > 0 wherever log q >= -700)
        positive=full and logq_min >= -700.0,
    )


class _DualEval:
    r"""The whitened dual :math:`D(\eta) = \log\sum_j \pi_j e^{\langle B\eta, g_j\rangle}`.

    Value, gradient :math:`B^\top E_q[g]` and Hessian :math:`B^\top\operatorname{Cov}_q(g)B`
    for centred, scaled features ``GT`` (rows are features); the weights of the last
    few points are cached, as optimisers ask for value, gradient and Hessian separately.
    """

    def __init__(
        self,
        GT: FloatArray,
        lp: FloatArray | None,
        B: FloatArray,
        scale: FloatArray | None = None,
    ) -> None:
        self.GT = GT
        self.dtype = GT.dtype
        self.lp = lp
        self.B = B
        # With `scale`, GT holds the rows unscaled (f_i - mu_i): the multipliers on
        # them are B eta / scale, and E_q[g], Cov_q(g) are those of the rows divided
        # by scale, by outer(scale, scale) (powers of two: the same numbers exactly)
        self.inv = None if scale is None else 1.0 / scale
        self.Bc = B if self.inv is None else B * self.inv[:, None]
        self.buf = np.empty((GT.shape[0], min(GT.shape[1], _HBLOCK)), GT.dtype)
        self.zbuf = np.empty(self.buf.shape[1], GT.dtype)  # a block's log-weights
        self.cache: dict[bytes, tuple[float, FloatArray]] = {}
        self.slots = (np.empty_like(GT[0]), np.empty_like(GT[0]))
        self.hess_key = b""
        self.hess_value: FloatArray = np.zeros((0, 0))
        # (shift, sum of shifted weights) of the last two moments passes, by eta
        self.norms: dict[bytes, tuple[float, float]] = {}
        # q, log q, the entropy and min log q written by grad_writing, with its eta
        self.written: tuple[bytes, FloatArray, FloatArray, float, float] | None = None

    def evaluate(self, eta: FloatArray) -> tuple[float, FloatArray]:
        """Dual value and ``q`` at `eta` (in one of two reused buffers)."""
        key = eta.tobytes()
        hit = self.cache.get(key)
        if hit is not None:
            return hit[0], hit[1]
        if len(self.cache) >= len(self.slots):
            self.cache.pop(next(iter(self.cache)))  # evict the oldest, free its buffer
        used = {id(v[1]) for v in self.cache.values()}
        w = next(b for b in self.slots if id(b) not in used)
        np.matmul((self.Bc @ eta).astype(self.dtype), self.GT, out=w)
        if self.lp is not None:
            w += self.lp
        zmax = float(np.max(w))
        w -= w.dtype.type(zmax)
        with np.errstate(under="ignore"):
            np.exp(w, out=w)
        s0 = float(w.sum(dtype=np.float64))
        w /= w.dtype.type(s0)
        self.cache[key] = (zmax + math.log(s0), w)
        return self.cache[key]

    def log_probs(self, eta: FloatArray) -> FloatArray:
        """``log q`` at `eta` (a new array)."""
        value = self.evaluate(eta)[0]
        z = (self.Bc @ eta).astype(self.dtype) @ self.GT
        if self.lp is not None:
            z += self.lp
        z -= value
        return z

    def fun(self, eta: FloatArray) -> float:
        """Dual value."""
        return self.evaluate(eta)[0]

    def jac(self, eta: FloatArray) -> FloatArray:
        """Gradient in whitened coordinates."""
        g = np.asarray(self.GT @ self.evaluate(eta)[1], dtype=np.float64)
        if self.inv is not None:
            g *= self.inv
        return np.asarray(self.B.T @ g)

    def hess(self, eta: FloatArray) -> FloatArray:
        """Hessian in whitened coordinates."""
        key = eta.tobytes()
        if self.hess_key == key:
            return self.hess_value
        self.hess_key = key
        self.hess_value = self._hess(eta)
        return self.hess_value

    def _hess(self, eta: FloatArray) -> FloatArray:
        q = self.evaluate(eta)[1]
        g = np.asarray(self.GT @ q, dtype=np.float64)
        second = np.zeros((self.GT.shape[0],) * 2)
        if self.inv is not None:
            g *= self.inv
        for a in range(0, q.size, _HBLOCK):  # cache-sized blocks of states
            gb = self.GT[:, a : a + _HBLOCK]
            hb = np.multiply(gb, q[a : a + _HBLOCK], out=self.buf[:, : gb.shape[1]])
            second += hb @ gb.T
        if self.inv is not None:
            second *= np.outer(self.inv, self.inv)
        return np.asarray(self.B.T @ (second - np.outer(g, g)) @ self.B)

    def grad_accurate(self, eta: FloatArray) -> FloatArray:
        """``E_q[g]`` (unwhitened), the residual in units of the feature scales.

        Float64 sums of cache-sized blocks (one pass): the rounding error is a few ulp
        of ``sum_j q_j |g_j| <= 1``, far below the tolerance of ``1e-12``.
        """
        return self.moments(eta, hess=False)[1]

    def moments(
        self, eta: FloatArray, *, hess: bool
    ) -> tuple[float, FloatArray, FloatArray | None]:
        """Dual value, ``E_q[g]`` and (if `hess`) ``Cov_q(g)``, in one pass over ``GT``.

        The weights of each cache-sized block are shifted by the running maximum of
        the log-weights (accumulators rescaled when it grows), so nothing overflows
        and ``q`` is never stored.
        """
        c = (self.Bc @ eta).astype(self.dtype)
        a, n = self.GT.shape
        top = -math.inf
        parts: list[float] = []  # block sums of the weights, added exactly at the end
        s1 = np.zeros(a)
        s2 = np.zeros((a, a))
        shift = self.dtype.type(top)
        with np.errstate(under="ignore"):
            for i in range(0, n, _HBLOCK):
                gb = self.GT[:, i : i + _HBLOCK]
                zb = np.matmul(c, gb, out=self.zbuf[: gb.shape[1]])
                if self.lp is not None:
                    zb += self.lp[i : i + _HBLOCK]
                # (ufunc methods: the same reductions without numpy's Python wrappers,
                # whose microseconds add up over the blocks of a pass)
                mb = float(np.maximum.reduce(zb))
                if mb > top:
                    shrink = math.exp(top - mb) if math.isfinite(top) else 0.0
                    parts = [math.fsum(parts) * shrink]
                    s1 *= shrink
                    s2 *= shrink
                    top = mb
                    shift = self.dtype.type(top)
                np.subtract(zb, shift, out=zb)
                np.exp(zb, out=zb)
                parts.append(float(np.add.reduce(zb, dtype=np.float64)))
                s1 += gb @ zb
                if hess:  # (blocks of _HBLOCK <= _GEMM states: single-threaded BLAS)
                    s2 += np.multiply(gb, zb, out=self.buf[:, : gb.shape[1]]) @ gb.T
        s0 = math.fsum(parts)
        g = s1 / s0
        if self.inv is not None:
            g *= self.inv
            s2 *= np.outer(self.inv, self.inv)
        cov = s2 / s0 - np.outer(g, g) if hess else None
        if len(self.norms) >= 2:
            self.norms.pop(next(iter(self.norms)))
        self.norms[eta.tobytes()] = (top, s0)
        return top + math.log(s0), g, cov

    def grad_writing(self, eta: FloatArray, top: float, s_pred: float) -> FloatArray:
        """:meth:`grad_accurate`, also writing ``q`` and ``log q`` for :meth:`final`.

        `top` and `s_pred` are a shift (at least about ``max_j z_j``) and the predicted
        sum of the shifted weights: ``q = exp(z - top) / s_pred`` (correctly rounded
        quotients). Kept only if the sum found in the pass is within 2 eps of
        `s_pred` (the prediction is second order in a rounding-level step); then the
        ulp or two between them is divided out (``q``, ``log q`` and the entropy), so
        that the total is that of a softmax, not the prediction's.
        """
        c = (self.Bc @ eta).astype(self.dtype)
        a, n = self.GT.shape
        q, logq = np.empty(n), np.empty(n)
        log_s = math.log(s_pred)
        zmax, zmin = -math.inf, math.inf
        parts: list[float] = []  # block sums of the weights and of q log q: added
        hparts: list[float] = []  # exactly at the end
        s1 = np.zeros(a)
        buf = self.buf[0]
        with np.errstate(under="ignore"):
            for i in range(0, n, _HBLOCK):
                sl = slice(i, i + _HBLOCK)
                gb, zb, qb = self.GT[:, sl], logq[sl], q[sl]
                np.matmul(c, gb, out=zb)
                if self.lp is not None:
                    zb += self.lp[sl]
                zmax = max(zmax, float(np.maximum.reduce(zb)))
                zmin = min(zmin, float(np.minimum.reduce(zb)))
                zb -= top
                np.exp(zb, out=qb)
                parts.append(float(np.add.reduce(qb)))
                s1 += gb @ qb
                qb /= s_pred
                zb -= log_s
                w = buf[: qb.size]
                np.multiply(qb, zb, out=w)
                hparts.append(float(np.add.reduce(w)))
        s0, h = math.fsum(parts), -math.fsum(hparts)
        if len(self.norms) >= 2:
            self.norms.pop(next(iter(self.norms)))
        self.norms[eta.tobytes()] = (top, s0)
        ok = zmax <= top + 1.0 and abs(s0 / s_pred - 1.0) <= 2 * EPS
        self.written = None
        if ok:
            lmin = (zmin - top) - log_s  # min log q (rounding is monotone)
            if s0 != s_pred:
                r = s_pred / s0  # q <- r q: log q <- log q + log r, sum q log q likewise
                q *= r
                logq += math.log(r)
                lmin += math.log(r)
                h = h * r - math.log(r)
            self.written = (eta.tobytes(), q, logq, h, lmin)
        return s1 / s0 if self.inv is None else s1 / s0 * self.inv

    def final(self, eta: FloatArray) -> tuple[FloatArray, FloatArray, float, float]:
        """``q``, ``log q`` (new arrays), ``-sum q log q`` and ``min log q`` at `eta`.

        One pass over ``GT``: after a :meth:`moments` pass at `eta` its shift and sum
        normalise the weights as they are computed (the same blocks, so the same
        values), block by block; after :meth:`grad_writing` at `eta`, nothing is left
        to compute.
        """
        if self.written is not None and self.written[0] == eta.tobytes():
            return self.written[1:]
        norm = self.norms.get(eta.tobytes())
        if norm is not None and self.dtype == np.float64:
            return self._final_blocked(eta, *norm)
        z = (self.Bc @ eta).astype(self.dtype) @ self.GT
        if self.lp is not None:
            z += self.lp
        zmax = float(np.max(z))
        z -= z.dtype.type(zmax)
        with np.errstate(under="ignore"):
            q = np.exp(z)
        s0 = float(q.sum(dtype=np.float64))
        q /= q.dtype.type(s0)
        z -= z.dtype.type(math.log(s0))
        return q, z, -dot(q, z), float(np.min(z))

    def _final_blocked(
        self, eta: FloatArray, top: float, s0: float
    ) -> tuple[FloatArray, FloatArray, float, float]:
        c = (self.Bc @ eta).astype(self.dtype)
        n = self.GT.shape[1]
        q, logq = np.empty(n), np.empty(n)
        buf = self.buf[0]
        hparts: list[float] = []  # block sums of q log q, added exactly at the end
        zmin = math.inf
        with np.errstate(under="ignore"):
            for i in range(0, n, _HBLOCK):
                sl = slice(i, i + _HBLOCK)
                zb, qb = logq[sl], q[sl]
                np.matmul(c, self.GT[:, sl], out=zb)
                if self.lp is not None:
                    zb += self.lp[sl]
                zmin = min(zmin, float(np.minimum.reduce(zb)))
                zb -= top
                np.exp(zb, out=qb)
                qb /= s0  # correctly rounded quotients, as in a softmax
                zb -= math.log(s0)
                w = buf[: qb.size]
                np.multiply(qb, zb, out=w)
                hparts.append(float(np.add.reduce(w)))
        return q, logq, -math.fsum(hparts), (zmin - top) - math.log(s0)


def _newton(
    ev: _DualEval,
    B: FloatArray,
    eta: FloatArray,
    *,
    gtol: float,
    maxiter: int = 60,
    start: tuple[float, FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray, int, bool, FloatArray]:
    """Damped Newton on the whitened dual, one fused pass (value, gradient, Hessian) each.

    Backtracking (Armijo) from the full step; stops when every scaled residual
    ``|E_q[g_i]|`` is at most `gtol` or no step makes progress (rounding level of
    `ev`'s precision). `start` (value, ``E_q[g]`` and ``Cov_q(g)`` at `eta`, known
    without a pass) saves the first pass.

    Returns eta, the last whitened Hessian, passes, whether `gtol` was met and
    ``E_q[g]`` at eta: for a float64 `ev`, the gradient and Hessian the polish
    starts from, with no pass of its own.
    """
    f, g, cov = ev.moments(eta, hess=True) if start is None else start
    passes = 1 if start is None else 0
    noise = 64 * float(np.finfo(ev.dtype).eps)
    for _ in range(maxiter):
        hm = B.T @ cov @ B
        gmax = float(np.max(np.abs(g)))
        if gmax <= gtol:
            return eta, hm, passes, True, g
        gw = B.T @ g
        try:
            step = np.linalg.solve(hm, -gw)
        except np.linalg.LinAlgError:
            return eta, hm, passes, False, g
        slope = float(gw @ step)  # < 0
        alpha = 1.0
        while True:
            trial = eta + alpha * step
            ft, gt, ct = ev.moments(trial, hess=True)
            passes += 1
            if ft <= f + 1e-4 * alpha * slope + noise * max(1.0, abs(f)):
                break
            alpha *= 0.25
            if alpha < 1e-8:
                return eta, hm, passes, False, g
        eta, f, g, cov = trial, ft, gt, ct
    return eta, B.T @ cov @ B, passes, False, g


def _finish(
    F: FloatArray,
    mu: FloatArray,
    pi: FloatArray | None,
    support: NDArray[np.bool_],
    *,
    q: FloatArray,
    logq: FloatArray,
    lam: FloatArray,
    iterations: int,
    known: tuple[list[int], FloatArray] | None,
    entropy: float | None = None,
    positive: bool = False,
) -> MaxEntResult:
    """Assemble the result; `known` carries residuals already computed by the solver.

    `entropy`, when the solver summed it, saves a pass, as does `positive` (every
    ``q > 0``, known to the solver). The sums are blocked and
    pairwise (:func:`expfam._summation.dot`), not BLAS dot products, whose threads
    cost more than they save on a busy machine.
    """
    kl = None
    if positive or bool(np.all(q > 0)):
        if entropy is None:
            entropy = -dot(q, logq)
        if pi is not None:
            kl = max(dot(q, logq - np.log(pi)), 0.0)
    else:
        pos = q > 0
        if entropy is None:
            entropy = -dot(q[pos], logq[pos])
        if pi is not None:
            kl = max(dot(q[pos], logq[pos] - np.log(pi[pos])), 0.0)
    m = F.shape[1]
    resid = np.zeros(m)
    done = np.zeros(m, dtype=bool)
    if known is not None:
        resid[known[0]] = known[1]
        done[known[0]] = True
    if not np.all(done):
        # features pinned or constant on the support: sum them (they are exact up to
        # the normalisation of q)
        idx = np.flatnonzero(support)
        qs = q[idx]
        for i in np.flatnonzero(~done):
            resid[i] = abs(float(np.sum(F[idx, i] * qs)) - mu[i])
    return MaxEntResult(
        logits=logq,
        probs=q,
        multipliers=lam.copy(),
        entropy=entropy + 0.0,  # no -0.0
        kl_to_prior=None if kl is None else kl + 0.0,
        residual=float(np.max(resid, initial=0.0)),
        converged=True,
        iterations=iterations,
        support=support.copy(),
    )
