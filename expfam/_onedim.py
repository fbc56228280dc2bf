r"""The one-constraint maximum-entropy engine.

Maximum entropy relative to a prior on ``K`` states subject to one moment constraint
``E_q[x] = target``: exact edge cases first, then the scalar dual in shifted, scaled, log
form, bracketed and solved with Halley's method (TOMS 748 as the fallback), and a polish
against an exactly summed residual. Shared by :func:`expfam.boltzmann` and
:func:`expfam.max_entropy` (one free feature); its names carry no underscore because
sharing them is its job (the module itself is private).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._errors import ConvergenceError, InfeasibleError
from expfam._summation import (
    BLOCK,
    EPS,
    ExactDot,
    GridDot,
    accurate_sum,
    dot,
    dot_minus,
)
from expfam._validation import FloatArray, as_float_array

__all__ = [
    "EPS",
    "Scalar",
    "Stats",
    "degenerate",
    "entropy_terms",
    "scaled_sd_rows",
    "scaled_square",
    "solve_scalar",
    "validate_1d",
    "validate_1d_stats",
    "weighted_variance",
]

# Above this many states the bracketing phase runs in float32 (its exp is SIMD-fast)
# and exact sums use vectorised error-free transformations instead of math.fsum.
LARGE = 1 << 14


@dataclass(frozen=True)
class Scalar:
    """Solution of ``max H(q) - KL-to-prior`` subject to ``E_q[x] = target``."""

    probs: FloatArray  # (K,), zeros off the support
    logits: FloatArray  # (K,), log q (finite where q > 0 for finite lam; -inf off support)
    lam: float  # q ∝ prior * exp(lam * x)
    log_norm: float  # log sum_j prior_j exp(lam x_j)   (prior un-normalised as given)
    entropy: float
    kl: float  # KL(q || normalised prior)
    mean: float  # achieved E_q[x] (exact sum over the returned probabilities)
    variance: float
    lam_variance: float  # Var_q(lam x) = lam^2 Var_q x, from scaled quantities (unit-free)
    residual: float  # |E_q[x] - target|, exact
    converged: bool
    iterations: int


@dataclass
class _Sums:
    """Sums over the final probabilities, taken in the normalisation pass."""

    resid: float = 0.0  # sum q x - target, exact
    mean: float = 0.0  # <e>
    var: float = 0.0  # Var e
    abs_terms: float = 0.0  # sum q |x|


class _Dual:
    r"""The dual equation in shifted, scaled, log form.

    With dimensionless energies ``e_j in [0, 1]`` (``e = 0`` at the reference states,
    of prior mass ``g0``; ``e = 1`` at the far end; ``e1`` the smallest positive
    ``e``), log prior ``lp_j`` (``None``: uniform) and target ``u in (0, mean e)``
    given as ``log u``, solve for ``t`` (``>= 0`` at the root)

    .. math:: F(t) = \log\langle e\rangle_t - \log u = 0, \qquad
              \langle e^k\rangle_t = \frac{\sum_j \pi_j e_j^k e^{-t e_j}}
                                          {\sum_j \pi_j e^{-t e_j}} .

    ``F`` is nearly linear for large ``t`` (the tail above the reference is
    exponential), so Halley steps converge in a few iterations at any ``t``. The
    weights are ``exp(b_j - max b) <= 1`` with ``b = lp - t e``, so nothing overflows.
    Far in the tail (``t e1`` beyond a few hundred, where the excited weights would
    underflow next to the reference states) the excited states are summed on their
    own scale and combined with ``g0`` in the log domain.
    """

    def __init__(
        self,
        e: FloatArray,
        lp: FloatArray | None,
        g0: float,
        e1: float,
        log_u: float,
        *,
        dtype: Any,
    ) -> None:
        self.e = e.astype(dtype, copy=False)
        self.lp = None if lp is None else lp.astype(dtype, copy=False)
        self.buf = np.empty(min(e.size, BLOCK), dtype=dtype)
        self.buf2 = np.empty_like(self.buf)
        self.log_g0 = math.log(g0)
        self.e1 = e1
        self.log_u = log_u
        self.tiny = float(np.finfo(dtype).tiny)
        self.tail_at = 600.0 if dtype == np.float64 else 60.0
        self.split: tuple[FloatArray, FloatArray | None] | None = None
        self.calls = 0
        self.last_mean = math.nan  # <e> at the last evaluation

    def tail(self, t: float) -> bool:
        """Whether ``t`` is far enough in the tail to need the split evaluation."""
        return t * self.e1 > self.tail_at

    def weights(self, t: float) -> tuple[float, FloatArray]:
        """Shift ``M = max_j b_j`` and weights ``a_j = exp(b_j - M)`` at ``t`` (new array)."""
        tt = self.e.dtype.type(-t)
        b = self.e * tt
        if self.lp is None:
            m = 0.0 if t >= 0 else -t  # e = 0 and e = 1 are attained
        else:
            b += self.lp
            m = float(np.max(b))
        b -= self.e.dtype.type(m)
        with np.errstate(under="ignore"):
            a = np.exp(b, out=b)
        return m, a

    def _moments(
        self, e: FloatArray, lp: FloatArray | None, t: float, m: float
    ) -> tuple[float, float, float, float]:
        """``sum a e^k`` for ``k = 0..3``, ``a = exp(lp - t e - m)``, in cache-sized blocks."""
        n = e.size
        buf, buf2 = self.buf[: min(n, BLOCK)], self.buf2[: min(n, BLOCK)]
        tt, mm = e.dtype.type(-t), e.dtype.type(m)
        s0 = s1 = s2 = s3 = 0.0
        with np.errstate(under="ignore"):
            for i in range(0, n, BLOCK):
                eb = e[i : i + BLOCK]
                k = eb.size
                a, ae = buf[:k], buf2[:k]
                np.multiply(eb, tt, out=a)
                if lp is not None:
                    a += lp[i : i + BLOCK]
                a -= mm
                np.exp(a, out=a)
                s0 += float(a.sum())
                np.multiply(a, eb, out=ae)
                s1 += float(ae.sum())  # pairwise: a BLAS dot is less accurate
                np.multiply(ae, eb, out=ae)
                s2 += float(ae.sum())
                np.multiply(ae, eb, out=ae)
                s3 += float(ae.sum())
        return s0, max(s1, self.tiny), s2, s3

    def __call__(self, t: float) -> tuple[float, float, float]:
        """``F(t)``, ``F'(t)`` and ``F''(t)``."""
        self.calls += 1
        if t > 0 and self.tail(t):
            if self.split is None:
                exc = self.e > 0
                self.split = (self.e[exc], None if self.lp is None else self.lp[exc])
            ex, lpx = self.split
            m = -t * self.e1 if lpx is None else float(np.max(lpx - ex * ex.dtype.type(t)))
            s0, s1, s2, s3 = self._moments(ex, lpx, t, m)
            log_z = float(np.logaddexp(self.log_g0, m + math.log(s0)))
            log_m1 = m + math.log(s1) - log_z
        else:
            if self.lp is None:
                m = 0.0 if t >= 0 else -t  # e = 0 and e = 1 are attained
            else:
                m = float(np.max(self.lp - self.e * self.e.dtype.type(t)))
            s0, s1, s2, s3 = self._moments(self.e, self.lp, t, m)
            log_m1 = math.log(s1) - math.log(s0)
        with np.errstate(under="ignore"):
            m1 = math.exp(log_m1)
        self.last_mean = m1
        r2, r3 = s2 / s1, s3 / s1
        f = log_m1 - self.log_u
        f1 = m1 - r2  # -Var/mean
        f2 = r3 - r2 * r2 - r2 * m1 + m1 * m1
        return f, f1, f2


def validate_1d(x: ArrayLike, name: str) -> FloatArray:
    """Return `x` as a finite, non-empty 1-D float64 array, or raise naming it."""
    return validate_1d_stats(x, name)[0]


def validate_1d_stats(x: ArrayLike, name: str) -> tuple[FloatArray, Stats]:
    """:func:`validate_1d` and the minimum, maximum and mean, from one blocked pass."""
    a = as_float_array(x, name)
    if a.ndim != 1 or a.shape[0] == 0:
        raise ValueError(
            f"`{name}` must be a 1-D array with at least one entry; got shape {a.shape}"
        )
    a = a.astype(np.float64, copy=False)
    lo, hi, total = math.inf, -math.inf, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(0, a.size, BLOCK):
            b = a[i : i + BLOCK]
            lo = min(lo, float(np.min(b)))  # nan propagates into min and max
            hi = max(hi, float(np.max(b)))
            total += float(np.add.reduce(b))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = a[~np.isfinite(a)][0]
        raise ValueError(f"`{name}` must be finite; found {float(bad)!r}")
    mean = total / a.size
    if not math.isfinite(mean):  # the sum of finite entries overflowed
        mean = float(np.mean(a * 0.5)) * 2.0
    return a, Stats(lo=lo, hi=hi, mean=mean)


@dataclass(frozen=True)
class Stats:
    """Minimum, maximum and (rounded) mean of a 1-D array."""

    lo: float
    hi: float
    mean: float


def weighted_variance(q: FloatArray, x: FloatArray, mean: float) -> float:
    """``sum q (x - mean)**2`` (two-pass; ``inf`` if it overflows, as it then does)."""
    pos = q > 0  # a state without mass adds 0, also where (x - mean)**2 overflows
    with np.errstate(over="ignore", invalid="ignore"):
        d = x[pos] - mean
        return dot(q[pos], d * d)


def scaled_sd_rows(q: FloatArray, x: FloatArray) -> tuple[FloatArray, NDArray[np.int64]]:
    """Row-wise ``sd_i`` and ``k_i`` with ``sd_i * 2**k_i`` the std of `x` under ``q[i]``.

    `q` has shape ``(n, K)`` and `x` shape ``(K,)``. The energies are scaled by the power
    of two ``2**-k_i`` of the largest ``|x_j|`` with ``q_ij > 0`` (exactly, but for
    subnormal results), so nothing over- or underflows that the true value does not:
    ``Var x`` and ``lam**2 Var x`` follow with :func:`scaled_square`. Two-pass
    (centred at the weighted mean of the scaled values).
    """
    pos = q > 0
    big = np.max(np.where(pos, np.abs(x), 0.0), axis=-1)
    k = np.frexp(big)[1].astype(np.int64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        xs = np.where(pos, np.ldexp(x, -k[:, None]), 0.0)
        mean = np.einsum("ij,ij->i", q, xs)
        d = np.where(pos, xs - mean[:, None], 0.0)
        var = np.einsum("ij,ij->i", q, d * d)
    return np.sqrt(np.maximum(var, 0.0)), k


def scaled_square(sd: Any, k: Any, factor: Any = 1.0) -> Any:
    """``(factor * sd * 2**k)**2`` without an over- or underflow of the partial products.

    Exponents are combined exactly (:func:`numpy.frexp`); the result is ``inf`` only
    where the true value overflows and 0 where it underflows. Elementwise; ``0`` where
    `sd` or `factor` is 0.
    """
    mf, ef = np.frexp(np.abs(np.asarray(factor, dtype=np.float64)))
    ms, es = np.frexp(np.asarray(sd, dtype=np.float64))
    m = mf * ms
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(m * m, 2 * (ef.astype(np.int64) + es + np.asarray(k, dtype=np.int64)))
    return out + 0.0


def entropy_terms(q: FloatArray, logq: FloatArray) -> float:
    """``-sum q log q`` from accurate logs (``0 log 0 = 0``)."""
    pos = q > 0
    return 0.0 - dot(q[pos], logq[pos])  # 0.0, not -0.0, for a single state


def degenerate(
    x: FloatArray, prior: FloatArray | None, mask: NDArray[np.bool_] | None, lam: float
) -> Scalar:
    """``q ∝ prior`` on the states selected by `mask` (all if None); ``lam`` is 0 or ±inf."""
    K = x.size
    w = np.ones(K) if prior is None else prior.copy()
    if mask is not None:
        w[~mask] = 0.0
    total = accurate_sum(w)
    q = w / total
    with np.errstate(divide="ignore"):
        logq = np.log(w) - math.log(total)
    ent = entropy_terms(q, logq)
    mean = dot_minus(q, x, 0.0)
    var = weighted_variance(q, x, mean) if lam == 0.0 else 0.0
    kl = 0.0
    if prior is not None:
        pos = q > 0
        kl = max(dot(q[pos], logq[pos] - np.log(prior[pos])), 0.0)  # Gibbs: >= 0
    log_mass = math.log(total)
    log_norm = log_mass
    if lam != 0.0:
        # log sum prior exp(lam x) -> lam*x_g + log(mass of the selected states)
        xg = float(x[mask][0])  # mask is set for infinite lam
        log_norm = log_mass if xg == 0 else lam * xg
    return Scalar(
        probs=q,
        logits=logq,
        lam=lam,
        log_norm=log_norm,
        entropy=ent,
        kl=kl,
        mean=mean,
        variance=var,
        lam_variance=0.0,  # lam = 0, or all mass at one value of x
        residual=0.0,
        converged=True,
        iterations=0,
    )


def solve_scalar(
    x: FloatArray,
    target: float,
    prior: FloatArray | None,
    *,
    xname: str,
    tname: str,
    stats: Stats | None = None,
) -> Scalar:
    """Maximum entropy (relative to `prior`) on ``K`` states subject to ``E_q[x] = target``.

    `stats` (of `x`, from :func:`validate_1d_stats`; used without a prior) saves a pass.
    """
    support = None if prior is None else prior > 0
    xs = x if support is None else x[support]
    if stats is None or prior is not None:
        stats = None
        lo, hi = float(np.min(xs)), float(np.max(xs))
    else:
        lo, hi = stats.lo, stats.hi
    where = "" if prior is None else " (over the states with positive prior)"
    if not lo <= target <= hi:
        raise InfeasibleError(
            f"`{tname}`={float(target)!r} is outside the attainable range [min, max] = "
            f"[{lo!r}, {hi!r}] of `{xname}`{where}"
        )
    if lo == hi:
        return degenerate(x, prior, support, 0.0)
    if target == lo:
        return degenerate(x, prior, x == lo if support is None else (x == lo) & support, -math.inf)
    if target == hi:
        return degenerate(x, prior, x == hi if support is None else (x == hi) & support, math.inf)
    ps = None if prior is None else prior[support]
    # exact check of target == mean (then lam = 0): cheap estimate first
    if stats is not None:
        approx = stats.mean
    else:
        approx = float(np.mean(xs)) if ps is None else dot(ps, xs) / float(ps.sum())
    scale = max(abs(lo), abs(hi))
    if abs(approx - target) <= 64 * EPS * scale:
        if ps is None:
            mean = accurate_sum(xs) / xs.size
        else:
            mean = (dot_minus(ps, xs, 0.0)) / accurate_sum(ps)
        if mean == target:
            return degenerate(x, prior, support, 0.0)
        approx = mean  # decides the side of the reference energy
    return _solve_interior(x, xs, target, ps=ps, support=support, lo=lo, hi=hi, approx_mean=approx)


def _solve_interior(  # noqa: C901, PLR0912, PLR0915 - one numerical pipeline, read top-down
    x: FloatArray,
    xs: FloatArray,
    target: float,
    *,
    ps: FloatArray | None,
    support: Any,
    lo: float,
    hi: float,
    approx_mean: float,
) -> Scalar:
    """Solve the interior case ``lo < target < hi``, ``target != mean``, and polish."""
    if ps is None and xs.size > LARGE:  # few passes, or None if it needs this path
        fast = _solve_large(xs, target, lo=lo, hi=hi, below=target < approx_mean)
        if fast is not None:
            return fast
    # Shift to the side of the target so that t = |lam| * span >= 0 and every weight
    # exp(-t e) <= 1: reference lo (lam < 0) below the mean, hi (lam > 0) above it.
    below = target < approx_mean
    ref = lo if below else hi
    sign = -1.0 if below else 1.0
    with np.errstate(over="ignore"):
        span = hi - lo
    halve = not math.isfinite(span)  # only for |x| near the float64 limit
    xs_, ref_, tg_ = (xs * 0.5, ref * 0.5, target * 0.5) if halve else (xs, ref, target)
    if halve:
        span = hi * 0.5 - lo * 0.5
    n = xs.size
    # dimensionless energies e in [0, 1] (and their float32 copy for the Halley steps of
    # large problems), with the sums the bracket needs, in one blocked pass
    e, e32, mass_e, g0, e1 = _scaled(xs_, ref_, span, below=below, ps=ps, f32=n > LARGE)
    gap = (tg_ - ref_) if below else (ref_ - tg_)  # > 0
    u = gap / span  # may underflow for a target within a hair of the reference
    log_u = math.log(gap) - math.log(span)
    lp = None if ps is None else np.log(ps)
    lam_scale = (0.5 if halve else 1.0) / span  # lam = sign * t * lam_scale
    # Proven bracket. Var <= <e>(1 - <e>) on [0, 1] gives d log<e>/dt >= -1, hence
    # t* >= log(ebar/u); the reference states (e = 0, prior mass g0) give
    # <e>_t <= exp(-t e1) sum_{e>0}(pi e)/g0 = exp(-t e1) M/g0, e1 the smallest positive e
    # (which gives t* <= log(M/(g0 u))/e1)
    ptot = float(n) if ps is None else float(ps.sum())
    ebar = mass_e / ptot
    t_lo = max(0.0, math.log(ebar) - log_u)
    # (states below u/2 add at most u/2 to <e>, the others at most exp(-t u/2) M/g0,
    # a second bound for when e1 is tiny)
    with np.errstate(over="ignore"):
        t_hi = (math.log(mass_e / g0) - log_u) / e1
    if u > 0:
        t_hi = min(t_hi, (2 / u) * (math.log(2 * mass_e / g0) - log_u))
    t_hi = max(t_lo, t_hi) * (1 + 1e-9) + 1e-300
    if not math.isfinite(t_hi):
        raise ConvergenceError(
            "cannot bracket the multiplier in float64: the target is within "
            f"{float(gap * (2.0 if halve else 1.0))!r} of the extreme value {float(ref)!r}",
            bracket=(t_lo, t_hi),
            iterations=0,
        )
    iterations = 0
    d64 = _Dual(e, lp, g0, e1, log_u, dtype=np.float64)
    t = math.nan
    t_start = t_lo
    if n > LARGE:
        # Large problems: a root from a strided subsample, Halley steps on all states
        # in float32 (whose exp is several times faster), then float64 Halley steps,
        # each cubically convergent, until the step is below 1e-5 relative (leaving an
        # error far below the rounding of t). Anything unusual falls back to the
        # safeguarded path below.
        t0 = _subsample_start(e, lp, log_u, t_lo)
        d32 = _Dual(e if e32 is None else e32, lp, g0, e1, log_u, dtype=np.float32)
        t_try = t0
        for _ in range(6):  # float32 Halley steps: cheap; a step of 1e-2 leaves ~1e-6
            if not t_try * e1 < 60:
                break
            t32 = _halley_step(d32, t_try)
            iterations += 1
            if not t_lo <= t32 <= t_hi:
                break
            done = abs(t32 - t_try) <= 1e-2 * max(1.0, t32)
            t_try = t32
            if done:
                break
        t_start = t_try
        for _ in range(4):
            step = _halley_step(d64, t_try) - t_try
            iterations += 1
            t_try += step
            if not t_lo <= t_try <= t_hi:
                break
            if abs(step) <= 1e-5 * max(1.0, t_try):
                t = t_try
                break
    if math.isnan(t):
        t, n64, ok = _halley(d64, t_start, t_lo, t_hi, rtol=1e-13)
        iterations += n64
        if not ok:
            t, n64 = _toms748(d64, t_lo, t_hi)
            iterations += n64
    exact = ExactDot(xs, target, xmax=max(abs(lo), abs(hi)))
    unit = 2.0 if halve else 1.0
    centre = d64.last_mean if math.isfinite(d64.last_mean) else 0.5

    def build(t: float) -> tuple[FloatArray, FloatArray, float, _Sums]:
        """Probabilities, log-probabilities, log Z_ref(t) and the sums of the polish.

        Two passes over cache-sized blocks: log-weights and weights (shifted by their
        maximum, so they are <= 1); then normalisation, fused with the exactly summed
        residual, ``<e>``, the variance of ``e`` (centred at the dual's last mean, a
        close estimate) and ``sum q |x|``.
        """
        # shift: e = 0 and e = 1 are attained, so the maximum log-weight is known
        m = (0.0 if t >= 0 else -t) if lp is None else float(np.max(lp - e * t))
        q, logq = np.empty_like(e), np.empty_like(e)
        s0 = 0.0
        with np.errstate(under="ignore"):
            for i in range(0, n, BLOCK):
                sl = slice(i, i + BLOCK)
                lb, qb = logq[sl], q[sl]
                np.multiply(e[sl], -t, out=lb)
                if lp is not None:
                    lb += lp[sl]
                lb -= m
                np.exp(lb, out=qb)
                s0 += float(qb.sum())
        total = accurate_sum(q) if n <= LARGE else s0
        log_total = math.log(total)
        if lp is None and t >= 0 and total < 2 * g0:
            # the g0 reference states weigh exactly 1: log(g0 + w) = log g0 + log1p(w/g0)
            # keeps the digits of a small excited mass w (the entropy is log Z + t u)
            w = _excited_mass(q, e)
            log_total = math.log(g0) + math.log1p(w / g0)
        sums = _Sums()
        parts: list[float] = [-exact.target]
        bound = exact.xmax / total  # >= max |q_j x_j|: every weight is <= 1
        buf = np.empty(min(n, BLOCK))
        for i in range(0, n, BLOCK):
            sl = slice(i, i + BLOCK)
            qb = q[sl]
            qb /= total  # correctly rounded quotients
            logq[sl] -= log_total
            exact.add_block(qb, i, parts, bound, small=n <= 4096)
            eb, d = e[sl], buf[: qb.size]
            np.multiply(qb, eb, out=d)
            sums.mean += float(d.sum())
            np.subtract(eb, centre, out=d)
            np.multiply(d, d, out=d)
            d *= qb
            sums.var += float(d.sum())
            np.abs(xs[sl], out=d)
            d *= qb
            sums.abs_terms += float(d.sum())
        sums.resid = exact.finish(parts)
        # sum q (e - c)^2 = Var e + (<e> - c)^2: c is close to <e>, little cancels
        off = sums.mean - centre
        sums.var -= off * off
        if not off * off <= 1e-6 * sums.var:  # a poor centre: the two-pass variance
            sums.var = _blocked_var(q, e, sums.mean)
        return q, logq, m + log_total, sums

    q, logq, log_z, sums = build(t)
    resid, mean_e, var_e = sums.resid, sums.mean, sums.var
    # Polish: Newton steps in t on the exactly summed residual R = sum q x - target,
    # while they reduce it. The step is far below the accuracy of t, so the first-order
    # update q_j <- q_j (1 - dt (e_j - <e>)) is as exact as a new evaluation, and the
    # residual is updated exactly (see below) without a new exact sum.
    slope = span * var_e * unit  # |dR/dt| in units of x
    var_x = None
    if var_e < 1e-200:  # (e - <e>)**2 underflows: the variance in the units of x
        var_x = weighted_variance(q, xs, target + resid)
        slope = var_x / span / unit
    slope = -slope if below else slope
    good = math.ulp(target)
    tilted = False
    for _ in range(3):
        if abs(resid) <= good or slope == 0:
            break
        dt = -resid / slope
        if not abs(dt) <= 1e-9 * max(1.0, t):  # not a rounding-level correction
            break
        # q_j (1 - dt (e_j - <e>)) differs from q_j by an exact float (Sterbenz: the
        # ratio is within 1e-9 of 1), so the exact residual of the new q is that of q
        # plus a dot product of tiny exact terms, rounded some 1e-15 below the update.
        # Committed in the same pass; undone (rebuilt) in the rare case it is worse
        r2 = resid + _tilt(q, e, mean_e, dt, xs, commit=True, logq=logq)
        iterations += 1
        if abs(r2) >= abs(resid):
            q, logq, log_z, sums = build(t)
            var_e, tilted = sums.var, False
            break
        resid, t = r2, t + dt
        log_z -= dt * mean_e  # d log Z / dt = -<e>
        tilted = True
    if tilted and var_x is None:  # Var e at the polished t (a 1e-9 step moves it)
        var_e = _blocked_var(q, e, mean_e)
    # rounding level of the sum: a few ulp of sum_j q_j |x_j| (before the polish's
    # rounding-level tilt, which changes it by far less than its own size)
    scale_terms = sums.abs_terms
    if not abs(resid) <= max(64 * EPS * scale_terms, 8 * math.ulp(target)):
        raise ConvergenceError(
            "maximum-entropy solve did not reach the residual tolerance: "
            f"|E_q[x] - target| = {float(abs(resid))!r}",
            iterations=iterations,
            residual=abs(resid),
            multiplier=sign * t * lam_scale,
            t=t,
            bracket=(t_lo, t_hi),
        )
    lam = sign * t * lam_scale
    if ps is None:
        # the dual value log Z_ref(t) + t u: two non-negative terms, stationary in t
        entropy = log_z + t * u
        kl = 0.0
    else:
        entropy = entropy_terms(q, logq)
        # KL(q || prior/ptot), the dual value; >= 0 (Gibbs), rounding may dip below
        kl = max(-(log_z - math.log(ptot)) - t * u, 0.0)
    mean = target + resid
    # Var x = span^2 Var e (two-pass, centred at <e>); inf only if it overflows
    sd = math.sqrt(max(var_e, 0.0)) * span * unit
    # Var(lam x) = t^2 Var e: unit-free, whatever the scale of x
    lam_variance = (t * math.sqrt(max(var_e, 0.0))) ** 2
    if var_x is None:
        variance = sd * sd
    else:  # (e - <e>)**2 underflowed: both from x scaled by a power of two
        sd_x, k_x = scaled_sd_rows(q[None, :], xs)
        variance = float(scaled_square(sd_x, k_x)[0])
        lam_variance = float(scaled_square(sd_x, k_x, lam)[0])
    if support is None:
        probs, logits = q, logq
    else:
        probs = np.zeros(x.size)
        probs[support] = q
        logits = np.full(x.size, -np.inf)
        logits[support] = logq
    return Scalar(
        probs=probs,
        logits=logits,
        lam=lam,
        log_norm=lam * ref + log_z,  # log sum_j pi_j exp(lam x_j)
        entropy=entropy,
        kl=kl,
        mean=mean,
        variance=variance,
        lam_variance=lam_variance,
        residual=abs(resid),
        converged=True,
        iterations=iterations,
    )


def _raw_halley(t: float, s: tuple[float, ...], c: float, log_u: float) -> tuple[float, float]:
    """Halley's step for the dual at `t` from centred sums; also ``<e>_t``.

    ``s[k] = sum_j a_j (e_j - c)**k`` for ``k = 0..3`` and weights ``a = exp(-t e)``
    (no prior, below the tail): the step of :meth:`_Dual.__call__` from the raw
    moments ``<e^k>`` they give. Returns nan for the step if it breaks down.
    """
    with np.errstate(all="ignore"):
        m1c, m2c, m3c = s[1] / s[0], s[2] / s[0], s[3] / s[0]
        m1 = c + m1c  # <e>
        if not m1 > 0:
            return math.nan, m1
        m2 = m2c + c * (2 * m1c + c)  # <e^2>
        m3 = m3c + c * (3 * m2c + c * (3 * m1c + c))  # <e^3>
        r2, r3 = m2 / m1, m3 / m1
        f = math.log(m1) - log_u
        f1 = m1 - r2
        f2 = r3 - r2 * r2 - r2 * m1 + m1 * m1
        den = 2 * f1 * f1 - f * f2
        ok = den != 0 and math.isfinite(den)
        return (t - 2 * f * f1 / den if ok else math.nan), m1


def _centred_sums(e: FloatArray, t: float, c: float, buf: FloatArray) -> tuple[float, ...]:
    """``sum_j a_j (e_j - c)**k``, ``k = 0..4``, ``a = exp(-t e)``: one float64 pass."""
    s = [0.0] * 5
    add = np.add.reduce
    with np.errstate(under="ignore"):
        for i in range(0, e.size, BLOCK):
            eb = e[i : i + BLOCK]
            a, d = buf[0, : eb.size], buf[1, : eb.size]
            np.multiply(eb, -t, out=a)
            np.exp(a, out=a)
            s[0] += float(add(a))
            np.subtract(eb, c, out=d)
            a *= d
            s[1] += float(add(a))
            a *= d
            s[2] += float(add(a))
            a *= d
            s[3] += float(add(a))
            a *= d
            s[4] += float(add(a))
    return tuple(s)


def _scaled_into(
    out: FloatArray, x: FloatArray, ref: float, span: float, below: bool
) -> FloatArray:
    """Write the scaled energies ``(x - ref) / span`` (``(ref - x) / span``) into `out`."""
    if below:
        np.subtract(x, ref, out=out)
    else:
        np.subtract(ref, x, out=out)
    out /= span
    return out


def _solve_large(  # noqa: C901, PLR0911, PLR0912, PLR0915 - one pipeline, read top-down
    x: FloatArray, target: float, *, lo: float, hi: float, below: bool
) -> Scalar | None:
    """Solve the interior case for many states and no prior, in four or five passes.

    After the validating pass: the scaling of the energies, fused with a float32
    Halley step from the root of a strided subsample; one float64 Halley step, whose
    centred sums (to the fourth power) also give the cumulants of ``e``; the final
    pass; and the polish when the residual is above an ulp. The final pass writes
    ``log q`` and ``q = exp(log q)`` at once: ``log Z``, ``<e>`` and ``Var e`` at the
    final ``t`` follow from the cumulants at the previous one by a Taylor step (the
    step is at most 1e-6 relative, so the neglected terms are below 1e-24
    relative), and the same pass sums the residual (:class:`GridDot`) and the total
    probability (checked against 1). Returns None where the general path is needed
    (large ``t``, a dominating reference mass, anything unusual).
    """
    n = x.size
    ref = lo if below else hi
    sign = -1.0 if below else 1.0
    with np.errstate(over="ignore"):
        span = hi - lo
    xmax = max(abs(lo), abs(hi))
    if not (math.isfinite(span) and 2.0**-900 < xmax < 2.0**900):
        return None
    # the gap to the reference exactly, as gap + gap_lo (Knuth's two-sum), so that
    # log u carries no rounding of the subtraction
    a_, b_ = (target, -ref) if below else (ref, -target)
    gap = a_ + b_
    bb = gap - a_
    gap_lo = (a_ - (gap - bb)) + (b_ - bb)
    if not gap > 0:
        return None
    u = gap / span
    log_u = math.log(gap) + gap_lo / gap - math.log(span)
    # a start from a strided subsample (a gather of 32768 states, not a pass)
    xsub = x[:: max(1, n // 32768)]
    es = (xsub - ref) / span if below else (ref - xsub) / span
    t = _subsample_start(es, None, log_u, 0.0, rtol=1e-4)
    if not 0.0 < t < 60.0:  # float32 weights exp(-t e) stay normal below t = 60
        return None
    # pass 1: e = |x - ref| / span in [0, 1] (stored where log q will be) and, in the
    # same blocks, the float32 sums of a Halley step at the subsample's root
    logq = np.empty_like(x)
    e = logq
    nb = min(n, BLOCK)
    f32 = np.empty((3, nb), dtype=np.float32)
    nonzero = 0
    s32 = [0.0] * 4
    tt = np.float32(-t)
    add = np.add.reduce
    with np.errstate(under="ignore"):
        for i in range(0, n, BLOCK):
            sl = slice(i, i + BLOCK)
            eb = _scaled_into(e[sl], x[sl], ref, span, below)
            nonzero += int(np.count_nonzero(eb))
            fb, a, ae = f32[0, : eb.size], f32[1, : eb.size], f32[2, : eb.size]
            fb[...] = eb
            np.multiply(fb, tt, out=a)
            np.exp(a, out=a)
            s32[0] += float(add(a))
            np.multiply(a, fb, out=ae)
            s32[1] += float(add(ae))
            ae *= fb
            s32[2] += float(add(ae))
            ae *= fb
            s32[3] += float(add(ae))
    del f32
    g0 = float(n - nonzero)  # the reference states, e = 0 (at least one)
    t_new, centre = _raw_halley(t, tuple(s32), 0.0, log_u)
    iterations = 1
    # float64 Halley steps (one, as a rule) until the step is at most 1e-6 relative
    buf = np.empty((2, nb))
    for _ in range(4):
        if not 0.0 < t_new < 60.0:
            return None
        t = t_new
        s = _centred_sums(e, t, centre, buf)
        iterations += 1
        t_new, mean = _raw_halley(t, s[:4], centre, log_u)
        dt = t_new - t
        if abs(dt) <= 1e-6 * max(1.0, t):
            break
        centre = mean
    else:
        return None
    if not (0.0 < t_new < 60.0 and s[0] >= 2 * g0):  # else log1p(w / g0) is needed
        return None
    # cumulants of e at t (centred sums: no cancellation in the variance), then at
    # t + dt: d/dt log Z = -k1, d/dt k_j = -k_{j+1}
    m1, m2, m3, m4 = (v / s[0] for v in s[1:])
    k1 = centre + m1
    k2 = m2 - m1 * m1
    k3 = m3 - 3 * m1 * m2 + 2 * m1**3
    k4 = m4 - 4 * m1 * m3 - 3 * m2 * m2 + 12 * m1 * m1 * m2 - 6 * m1**4
    corr = dt * (-k1 + dt * (k2 / 2 + dt * (-k3 / 6 + dt * k4 / 24)))
    z = s[0] * math.exp(corr)  # Z at t + dt, rounded once more than s[0]
    log_z = math.log(s[0]) + corr
    mean_e = k1 + dt * (-k2 + dt * (k3 / 2 - dt * k4 / 6))
    var_e = k2 + dt * (-k3 + dt * k4 / 2)
    t = t_new
    if not var_e >= 1e-200:
        return None
    # pass 3: log q (over e), q = exp(-t e) / Z (correctly rounded quotients, as
    # in the general path), their total and the residual
    q = np.empty_like(x)
    dot = GridDot(xmax, 1.01 / z, block=BLOCK)  # q <= 1/Z
    total = 0.0
    with np.errstate(under="ignore"):
        for i in range(0, n, BLOCK):
            sl = slice(i, i + BLOCK)
            lb, qb = logq[sl], q[sl]
            lb *= -t
            np.exp(lb, out=qb)
            qb /= z
            lb -= log_z
            total += float(add(qb))
            dot.add(qb, x[sl])
    resid = dot.total(target)
    if not abs(total - 1.0) <= 4 * EPS:  # the predicted log Z was off: general path
        return None
    # polish, as in the general path: rounding-level Newton steps in t, each one pass,
    # which also divide by the total (its rounding shifts the mean by (total - 1) U,
    # an ulp or two of U where |U| is far above the spread)
    slope = span * var_e * (-1.0 if below else 1.0)
    good = math.ulp(target)
    for _ in range(3):
        if abs(resid) <= good:
            break
        rn = resid - (total - 1.0) * target  # the residual after dividing by the total
        dt = -rn / slope
        if not abs(dt) <= 1e-9 * max(1.0, t):
            return None
        # |log q| >= log Z >= log 2: a change below ulp(log Z)/4 leaves every log q
        small = abs(dt) <= math.ulp(log_z) / 4 and abs(total - 1.0) <= math.ulp(log_z) / 4
        r2 = resid + _tilt(
            q,
            (ref, span, below),  # e again from x, block by block
            mean_e,
            dt,
            x,
            commit=True,
            logq=None if small else logq,
            scale=1.0 / total,
        )
        iterations += 1
        if abs(r2) >= abs(resid):
            return None  # q is tilted already: the general path starts afresh
        resid, t, total = r2, t + dt, 1.0
        log_z -= dt * mean_e
        var_e -= dt * k3  # d Var e / dt = -k3 (the step is below 1e-9 relative)
    # sum_j q_j |x_j| <= |ref| + span <e>: the rounding level of the residual
    scale_terms = abs(ref) + span * mean_e
    if not abs(resid) <= max(64 * EPS * scale_terms, 8 * math.ulp(target)):
        return None
    lam = sign * t / span
    sd = math.sqrt(var_e) * span
    return Scalar(
        probs=q,
        logits=logq,
        lam=lam,
        log_norm=lam * ref + log_z,
        entropy=log_z + t * u,
        kl=0.0,
        mean=target + resid,
        variance=sd * sd,
        lam_variance=(t * math.sqrt(var_e)) ** 2,
        residual=abs(resid),
        converged=True,
        iterations=iterations,
    )


def _scaled(
    xs: FloatArray, ref: float, span: float, *, below: bool, ps: FloatArray | None, f32: bool
) -> tuple[FloatArray, FloatArray | None, float, float, float]:
    """``e = ±(xs - ref)/span``, a float32 copy (if `f32`), ``sum pi e``, ``g0`` and ``e1``.

    ``g0`` is the prior mass (count) of the states with ``e = 0`` and ``e1`` the
    smallest positive ``e`` (1 if there is none). One pass in cache-sized blocks.
    """
    n = xs.size
    e = np.empty_like(xs)
    e32 = np.empty_like(xs, dtype=np.float32) if f32 else None
    mass, g0, e1 = 0.0, 0.0, 1.0
    for i in range(0, n, BLOCK):
        sl = slice(i, i + BLOCK)
        eb = _scaled_into(e[sl], xs[sl], ref, span, below)
        if e32 is not None:
            e32[sl] = eb
        z = eb == 0
        if ps is None:
            mass += float(eb.sum())
            g0 += float(np.count_nonzero(z))
        else:
            pb = ps[sl]
            mass += float((pb * eb).sum())
            g0 += float(pb.sum(where=z))
        e1 = min(e1, float(np.min(eb, where=~z, initial=1.0)))
    return e, e32, mass, g0, e1


def _excited_mass(a: FloatArray, e: FloatArray) -> float:
    """``sum_{e_j > 0} a_j``, in cache-sized blocks (exactly for small problems)."""
    if e.size <= LARGE:
        return accurate_sum(a[e > 0])
    total = 0.0
    for i in range(0, e.size, BLOCK):
        ab = a[i : i + BLOCK]
        total += float(np.sum(ab, where=e[i : i + BLOCK] > 0))
    return total


def _blocked_var(q: FloatArray, e: FloatArray, mean: float) -> float:
    """``sum_j q_j (e_j - mean)**2`` in cache-sized blocks (two-pass variance)."""
    buf = np.empty(min(e.size, BLOCK))
    total = 0.0
    for i in range(0, e.size, BLOCK):
        eb = e[i : i + BLOCK]
        d = buf[: eb.size]
        np.subtract(eb, mean, out=d)
        np.multiply(d, d, out=d)
        d *= q[i : i + BLOCK]
        total += float(d.sum())
    return total


def _tilt(
    q: FloatArray,
    e: FloatArray | tuple[float, float, bool],
    mean: float,
    dt: float,
    x: FloatArray,
    *,
    commit: bool,
    logq: FloatArray | None = None,
    scale: float = 1.0,
) -> float:
    """``sum_j (q'_j - q_j) x_j`` for ``q' = q (1 - dt (e - mean)) scale``, in one pass.

    With `commit`, also store ``q'`` in `q` and ``log q - dt (e - mean) + log scale``
    in `logq`. `scale` is within a few ulp of 1 (a renormalisation). `e` may be given
    as ``(ref, span, below)``: then ``e = |x - ref| / span`` is computed block by block
    (as :func:`_solve_large` does), not read.
    """
    buf = np.empty(min(x.size, BLOCK))
    buf2 = np.empty_like(buf)
    log_scale = math.log(scale)
    total = 0.0
    for i in range(0, x.size, BLOCK):
        sl = slice(i, i + BLOCK)
        qb = q[sl]
        d, d2 = buf[: qb.size], buf2[: qb.size]
        if isinstance(e, tuple):
            ref, span, below = e
            if below:
                np.subtract(x[sl], ref, out=d)
            else:
                np.subtract(ref, x[sl], out=d)
            d /= span
            d -= mean
        else:
            np.subtract(e[sl], mean, out=d)
        d *= -dt
        if commit and logq is not None:
            lb = logq[sl]
            lb += d
            if log_scale != 0.0:
                lb += log_scale
        d += 1.0
        if scale != 1.0:
            d *= scale
        d *= qb  # q'
        np.subtract(d, qb, out=d2)  # exact
        d2 *= x[sl]
        total += float(np.add.reduce(d2))
        if commit:
            qb[...] = d
    return total


def _subsample_start(
    e: FloatArray, lp: FloatArray | None, log_u: float, t_lo: float, *, rtol: float = 1e-6
) -> float:
    """Return a starting ``t`` from about 32768 strided states (``t_lo`` if that fails)."""
    step = max(1, e.size // 32768)
    # the strided states plus one reference state (which dominates for large t)
    es = np.append(e[::step], 0.0)
    lps = None if lp is None else np.append(lp[::step], float(np.max(lp[e == 0])))
    ps = np.ones(es.size) if lps is None else np.exp(lps)
    ground = es == 0
    if not (np.any(ground) and np.any(~ground)):
        return t_lo
    if not log_u < math.log(dot(ps, es) / float(ps.sum())):
        return t_lo
    e1 = float(np.min(es[~ground]))
    dual = _Dual(es, lps, float(ps[ground].sum()), e1, log_u, dtype=np.float64)
    t, _, ok = _halley(dual, t_lo, 0.0, math.inf, rtol=rtol)
    return t if ok and t >= t_lo else t_lo


def _halley_step(dual: _Dual, t: float) -> float:
    """One Halley step for the dual equation from `t` (nan if it breaks down)."""
    with np.errstate(all="ignore"):
        f, f1, f2 = dual(t)
        den = 2 * f1 * f1 - f * f2
        return t - 2 * f * f1 / den if den != 0 and math.isfinite(den) else math.nan


def _halley(
    dual: _Dual, t0: float, t_lo: float, t_hi: float, *, rtol: float
) -> tuple[float, int, bool]:
    """Halley's method (:func:`scipy.optimize.root_scalar`) from `t0`; ok if in bracket."""
    calls0 = dual.calls
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "Derivative was zero." etc.
            from scipy import optimize  # noqa: PLC0415 - ~0.6 s to import; only solves need it

            sol = optimize.root_scalar(
                dual,
                x0=t0,
                fprime=True,
                fprime2=True,
                method="halley",
                xtol=1e-300,
                rtol=rtol,
                maxiter=30,
            )
        root = float(sol.root)
        ok = bool(sol.converged) and t_lo * (1 - 1e-6) <= root <= t_hi
    except (ArithmeticError, RuntimeError, ValueError):
        root, ok = math.nan, False
    return root, dual.calls - calls0, ok


def _toms748(dual: _Dual, t_lo: float, t_hi: float) -> tuple[float, int]:
    """Bracketed root (:func:`scipy.optimize.toms748`) on the proven bracket."""
    calls0 = dual.calls
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fa, fb = dual(t_lo)[0], dual(t_hi)[0]
        if fa <= 0:
            return t_lo, dual.calls - calls0
        if not fb < 0:
            raise ConvergenceError(
                "could not bracket the dual root", bracket=(t_lo, t_hi), values=(fa, fb)
            )
        try:
            from scipy import optimize  # noqa: PLC0415 - ~0.6 s to import; only solves need it

            root = optimize.toms748(
                lambda s: dual(s)[0], t_lo, t_hi, xtol=1e-300, rtol=1e-13, maxiter=200
            )
        except (ArithmeticError, RuntimeError, ValueError) as exc:
            raise ConvergenceError(
                f"bracketed root finding failed: {exc}", bracket=(t_lo, t_hi)
            ) from exc
    return float(root), dual.calls - calls0
