r"""Batched Boltzmann distributions: a sweep of mean energies or inverse temperatures.

One vectorised solve for ``n`` targets over the same ``K`` energies: bracketed Halley
iterations on the scalar dual of :mod:`expfam._onedim` (the same shifted, scaled, log
form), run for all unfinished targets at once, each iteration one pass over the
energies in ``(rows, states)`` tiles of about ``BLOCK`` elements; then the
probabilities, an exactly summed residual per row and the same polish as the scalar
solve. The names carry no underscore: the module serves :mod:`expfam._boltzmann`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from expfam._errors import ConvergenceError, InfeasibleError
from expfam._kernels import logsumexp
from expfam._summation import BLOCK, EPS, accurate_sum, row_dot_minus
from expfam._validation import FloatArray

__all__ = ["Sweep", "fixed_beta_batch", "log_z_and_free_energy_batch", "solve_batch"]

F64 = FloatArray
_TINY = float(np.finfo(np.float64).tiny)


@dataclass
class Sweep:
    """Row-wise results for ``n`` targets (arrays of shape ``(n,)`` or ``(n, K)``)."""

    probs: F64
    logits: F64
    beta: F64
    log_norm: F64  # log sum_j exp(-beta E_j)
    entropy: F64
    mean: F64
    variance: F64
    residual: F64
    iterations: NDArray[np.int64]


def _tiles(k: int) -> tuple[int, int]:
    """Rows and columns per tile of about ``BLOCK`` elements."""
    kb = max(1, min(k, BLOCK))
    return max(1, BLOCK // kb), kb


def _row_variance(q: F64, x: F64, mean: F64) -> F64:
    """``sum_j q_ij (x_j - mean_i)**2`` over ``q > 0`` (two-pass; ``inf`` on overflow)."""
    n, k = q.shape
    nb, kb = _tiles(k)
    out = np.zeros(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for r in range(0, n, nb):
            for c in range(0, k, kb):
                qb = q[r : r + nb, c : c + kb]
                d = x[None, c : c + kb] - mean[r : r + nb, None]
                d *= d
                d *= qb
                d[qb == 0] = 0.0  # 0 * inf is 0 here: the state carries no mass
                out[r : r + nb] += d.sum(axis=1)
    return out


def _row_dot(q: F64, x: F64) -> F64:
    """``q @ x`` row by row, pairwise in tiles (no ``(n, K)`` temporary)."""
    n, k = q.shape
    nb, kb = _tiles(k)
    out = np.zeros(n)
    for r in range(0, n, nb):
        for c in range(0, k, kb):
            out[r : r + nb] += (q[r : r + nb, c : c + kb] * x[None, c : c + kb]).sum(axis=1)
    return out


def _row_xlogx(q: F64, logq: F64) -> F64:
    """``sum_j q_j log q_j`` row by row, ``0 log 0 = 0``, in tiles."""
    n, k = q.shape
    nb, kb = _tiles(k)
    out = np.zeros(n)
    with np.errstate(invalid="ignore"):
        for r in range(0, n, nb):
            for c in range(0, k, kb):
                qb = q[r : r + nb, c : c + kb]
                t = qb * logq[r : r + nb, c : c + kb]
                t[qb == 0] = 0.0
                out[r : r + nb] += t.sum(axis=1)
    return out


def fixed_beta_batch(E: F64, beta: F64) -> Sweep:
    """Evaluate the Boltzmann distribution at each of the inverse temperatures `beta`.

    Row by row as the scalar evaluation: the reference energy on the dominant side
    (``min E`` for ``beta > 0``, else ``max E``), weights ``exp(-beta (E - ref)) <= 1``
    summed exactly, ``q`` uniform over the reference states at ``beta = ±inf``.
    """
    lo, hi = float(np.min(E)), float(np.max(E))
    n = beta.size
    ref = np.where(beta > 0, lo, hi)
    # two (n, K) arrays, the outputs: b becomes log q, its exponential q
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(hi - lo):
            b = np.subtract(E[None, :], ref[:, None])
            b *= -beta[:, None]
        else:  # the differences overflow: halve them (exactly), multiply, double
            b = np.subtract(E[None, :] * 0.5, ref[:, None] * 0.5)
            b *= -beta[:, None]
            b *= 2.0
    b[E[None, :] == ref[:, None]] = 0.0  # exactly, also where inf meets 0
    b[beta == 0] = 0.0
    with np.errstate(under="ignore"):
        q = np.exp(b)
    total = row_dot_minus(q, None, 0.0)
    q /= total[:, None]
    log_total = np.log(total)
    b -= log_total[:, None]
    logq = b
    ent = 0.0 - _row_xlogx(q, logq)
    mean = row_dot_minus(q, E, 0.0)
    var = _row_variance(q, E, mean)
    var[np.isinf(beta)] = 0.0
    with np.errstate(invalid="ignore", over="ignore"):  # (beta ref beyond the range: inf)
        log_norm = np.where(ref == 0, log_total, -beta * ref + log_total)
    return Sweep(
        probs=q,
        logits=logq,
        beta=beta.astype(np.float64),
        log_norm=log_norm,
        entropy=ent,
        mean=mean,
        variance=var,
        residual=np.zeros(n),
        iterations=np.zeros(n, dtype=np.int64),
    )


def solve_batch(E: F64, U: F64) -> Sweep:
    """Solve for the Boltzmann distributions with mean energies `U` (shape ``(n,)``)."""
    lo, hi = float(np.min(E)), float(np.max(E))
    bad = ~((lo <= U) & (hi >= U))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise InfeasibleError(
            f"`mean_energy`[{i}]={float(U[i])!r} is outside the attainable range "
            f"[min, max] = [{lo!r}, {hi!r}] of `energies`"
        )
    mean = accurate_sum(E) / E.size
    beta = np.zeros(U.size)
    at_lo, at_hi = np.equal(U, lo), np.equal(U, hi)
    beta[at_lo] = math.inf
    beta[at_hi] = -math.inf
    fixed = at_lo | at_hi | np.equal(U, mean)
    if lo == hi:
        beta[:] = 0.0
        fixed[:] = True
    out = fixed_beta_batch(E, beta)
    for below in (True, False):
        rows = np.flatnonzero(~fixed & ((mean > U) if below else (mean < U)))
        if rows.size:
            part = _interior(E, U[rows], lo, hi, below=below)
            for name in ("probs", "logits", "beta", "log_norm", "entropy", "mean", "variance"):
                getattr(out, name)[rows] = getattr(part, name)
            out.residual[rows] = part.residual
            out.iterations[rows] = part.iterations
    return out


class _Dual:
    """``F(t) = log<e>_t - log u`` and its derivatives for many ``t`` at once.

    The excited states (``e > 0``) are weighted by ``exp(-t (e - e1)) <= 1`` (the state
    at ``e1`` has weight 1) and combined with the ``g0`` reference states in the log
    domain, which is stable for every ``t >= 0``.
    """

    def __init__(self, e: F64, log_u: F64) -> None:
        exc = e > 0
        self.ex = e[exc]
        self.g0 = float(e.size - self.ex.size)
        self.e1 = float(np.min(self.ex))
        self.dex = self.ex - self.e1
        self.log_u = log_u
        self.passes = 0

    def sums(self, t: F64, powers: int) -> list[F64]:
        """``sum_{e>0} e^k exp(-t (e - e1))`` for ``k < powers``, row by row."""
        self.passes += 1
        n, k = t.size, self.ex.size
        nb, kb = _tiles(k)
        out: list[F64] = [np.zeros(n) for _ in range(powers)]
        with np.errstate(under="ignore"):
            for r in range(0, n, nb):
                tb = -t[r : r + nb, None]
                for c in range(0, k, kb):
                    a = tb * self.dex[None, c : c + kb]
                    np.exp(a, out=a)
                    eb = self.ex[None, c : c + kb]
                    for p in range(powers):
                        if p:
                            a *= eb
                        out[p][r : r + nb] += a.sum(axis=1)
        return out

    def log_zr(self, t: F64, s0: F64) -> F64:
        """``log(g0 + s0 exp(-t e1))``, accurate also when the excited term is tiny."""
        with np.errstate(under="ignore", over="ignore"):
            w = s0 * np.exp(-t * self.e1)
            big = w > self.g0
            small_part = math.log(self.g0) + np.log1p(w / self.g0)
            big_part = np.log(s0) - t * self.e1 + np.log1p(self.g0 / np.where(big, w, 1.0))
        out: F64 = np.where(big, big_part, small_part)
        return out

    def __call__(self, t: F64, rows: NDArray[np.intp]) -> tuple[F64, F64, F64]:
        s0, s1, s2, s3 = self.sums(t, 4)
        log_m1 = np.log(s1) - t * self.e1 - self.log_zr(t, s0)
        with np.errstate(under="ignore"):
            m1 = np.exp(log_m1)
        r2, r3 = s2 / s1, s3 / s1
        f = log_m1 - self.log_u[rows]
        return f, m1 - r2, r3 - r2 * r2 - r2 * m1 + m1 * m1


def _interior(  # noqa: C901, PLR0912, PLR0915 - one numerical pipeline, read top-down
    E: F64, U: F64, lo: float, hi: float, *, below: bool
) -> Sweep:
    """Solve ``lo < U < hi`` on one side of the mean, for all of `U` at once."""
    ref, sign = (lo, -1.0) if below else (hi, 1.0)
    with np.errstate(over="ignore"):
        span = hi - lo
    halve = not math.isfinite(span)
    if halve:
        Eh, ref_h, Uh, span = E * 0.5, ref * 0.5, U * 0.5, hi * 0.5 - lo * 0.5
    else:
        Eh, ref_h, Uh = E, ref, U
    e = (Eh - ref_h) if below else (ref_h - Eh)
    e /= span
    gap = (Uh - ref_h) if below else (ref_h - Uh)
    with np.errstate(under="ignore"):
        u = gap / span
    log_u = np.log(gap) - math.log(span)
    lam_scale = (0.5 if halve else 1.0) / span
    n = U.size
    dual = _Dual(e, log_u)
    g0, e1 = dual.g0, dual.e1
    mass_e = float(e.sum())
    t_lo = np.maximum(0.0, math.log(mass_e / e.size) - log_u)
    with np.errstate(over="ignore"):
        t_hi = (math.log(mass_e / g0) - log_u) / e1
        pos = u > 0
        t_hi[pos] = np.minimum(t_hi[pos], (2 / u[pos]) * (math.log(2 * mass_e / g0) - log_u[pos]))
        t_hi = np.maximum(t_lo, t_hi) * (1 + 1e-9) + 1e-300
    if not np.all(np.isfinite(t_hi)):
        i = int(np.flatnonzero(~np.isfinite(t_hi))[0])
        raise ConvergenceError(
            "cannot bracket the multiplier in float64: `mean_energy` "
            f"{float(U[i])!r} is within {float(gap[i] * (2.0 if halve else 1.0))!r} of "
            f"the extreme energy {ref!r}",
            index=i,
        )
    # bracketed Halley iterations for all rows at once; a step that leaves the
    # bracket, or (after a few steps) one that did not halve it, is replaced by a
    # bisection (geometric across decades). A change of t by 1e-13 moves <e> by at
    # most 1e-13 * Var e: the polish below takes over from there
    t, a, b = t_lo.copy(), t_lo.copy(), t_hi.copy()
    width = b - a
    iterations = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    for it in range(200):
        if not active.size:
            break
        tt = t[active]
        with np.errstate(all="ignore"):
            f, f1, f2 = dual(tt, active)
            iterations[active] += 1
            a[active] = np.where(f > 0, tt, a[active])
            b[active] = np.where(f < 0, tt, b[active])
            den = 2 * f1 * f1 - f * f2
            tn = tt - 2 * f * f1 / den
            aa, bb = a[active], b[active]
            ok = np.isfinite(tn) & (tn >= aa) & (tn <= bb)
            if it >= 8:
                ok &= bb - aa <= 0.5 * width[active]
            width[active] = bb - aa
            geo = (aa > 0) & (bb > 4 * aa)
            mid = np.where(geo, np.sqrt(aa) * np.sqrt(bb), 0.5 * (aa + bb))
            tn = np.where(ok, tn, mid)
        close = np.maximum(tt, 1e-1) * 1e-12
        done = (f == 0) | (np.abs(tn - tt) <= close) | (bb - aa <= close)
        t[active] = np.where(f == 0, tt, tn)
        active = active[~done]
    if active.size:
        i = int(active[0])
        raise ConvergenceError(
            "batched Boltzmann solve did not converge",
            index=i,
            mean_energy=float(U[i]),
            bracket=(float(a[i]), float(b[i])),
        )
    # probabilities: reference states weigh 1, the excited ones exp(-t e) (summed
    # exactly); log Z_ref = log(g0 + w) from log1p, accurate when w is tiny
    ground = e == 0
    # two (n, K) arrays in all, the outputs: logq holds -t e, q its exponential
    logq = np.multiply(-t[:, None], e[None, :])
    with np.errstate(under="ignore"):
        q = np.exp(logq)
    q[:, ground] = 0.0  # (they weigh exactly 1)
    w = row_dot_minus(q, None, 0.0)
    q[:, ground] = 1.0
    total = g0 + w
    log_zr = math.log(g0) + np.log1p(w / g0)
    q /= total[:, None]
    logq -= log_zr[:, None]
    resid = row_dot_minus(q, E, U)
    # polish: Newton steps in t on the exactly summed residual while they reduce it
    # (first-order tilts q (1 - dt (e - <e>)), as in the scalar solve)
    mean_e = _row_dot(q, e)
    var_e = _row_variance(q, e, mean_e)
    unit = 2.0 if halve else 1.0
    with np.errstate(over="ignore"):
        slope = span * var_e * unit  # |dR/dt| in the units of E
        sd = np.sqrt(var_e) * span * unit
        var_x = sd * sd  # inf only if it overflows
    small = var_e < 1e-200  # e**2 underflows: take the variance in the units of E
    if np.any(small):
        var_x[small] = _row_variance(q[small], E, U[small] + resid[small])
        slope[small] = var_x[small] / span / unit
    slope = -slope if below else slope
    good = np.array([math.ulp(float(v)) for v in U])
    for _ in range(3):
        with np.errstate(all="ignore"):
            dt = -resid / slope
        go = (np.abs(resid) > good) & (slope != 0) & (np.abs(dt) <= 1e-9 * np.maximum(1.0, t))
        rows = np.flatnonzero(go)
        if not rows.size:
            break
        # in row blocks of about BLOCK elements: no (n, K) temporaries
        better = np.zeros(rows.size, dtype=bool)
        nb = _tiles(e.size)[0]
        for b0 in range(0, rows.size, nb):
            rb = rows[b0 : b0 + nb]
            d = (e[None, :] - mean_e[rb, None]) * -dt[rb, None]
            q2 = q[rb] * (1.0 + d)
            r2 = resid[rb] + ((q2 - q[rb]) * E[None, :]).sum(axis=1)
            ok = np.abs(r2) < np.abs(resid[rb])
            better[b0 : b0 + nb] = ok
            keep = rb[ok]
            q[keep] = q2[ok]
            logq[keep] += d[ok]
            resid[keep] = r2[ok]
        iterations[rows] += 1
        keep = rows[better]
        t[keep] += dt[keep]
        log_zr[keep] -= dt[keep] * mean_e[keep]
        if not np.all(better):
            slope[rows[~better]] = 0.0  # stop those rows
    scale_terms = _row_dot(q, np.abs(E))
    tol = np.maximum(64 * EPS * scale_terms, 8 * good)
    fail = ~(np.abs(resid) <= tol)
    if np.any(fail):
        i = int(np.flatnonzero(fail)[0])
        raise ConvergenceError(
            "maximum-entropy solve did not reach the residual tolerance: "
            f"|E_q[x] - target| = {float(abs(resid[i]))!r} for `mean_energy`[{i}]",
            index=i,
            residual=float(abs(resid[i])),
            iterations=int(iterations[i]),
        )
    lam = sign * t * lam_scale
    return Sweep(
        probs=q,
        logits=logq,
        beta=-lam,
        log_norm=lam * ref + log_zr,
        entropy=log_zr + t * u,
        mean=U + resid,
        variance=var_x,
        residual=np.abs(resid),
        iterations=iterations,
    )


def log_z_and_free_energy_batch(E: F64, beta: F64, dual: F64) -> tuple[F64, F64]:
    """``log Z`` and ``F = -log Z / beta`` for finite nonzero `beta`, row by row.

    As the scalar version: the solver's `dual` where it is large against the terms it
    came from, else recomputed as ``-beta ref + LSE(-beta (E - ref))``.
    """
    lo, hi = float(np.min(E)), float(np.max(E))
    ref = np.where(beta > 0, lo, hi)
    with np.errstate(over="ignore"):  # (beta ref beyond the range: inf, recomputed)
        keep = np.isfinite(dual) & (np.abs(dual) >= np.maximum(1.0, 0.5 * np.abs(beta * ref)))
        log_z, free = dual.copy(), -dual / beta
    redo = np.flatnonzero(~keep)
    if redo.size:
        br, rr = beta[redo], ref[redo]
        with np.errstate(over="ignore", invalid="ignore"):
            if math.isfinite(hi - lo):
                b = -br[:, None] * (E[None, :] - rr[:, None])
            else:  # the differences overflow: halve them (exactly), multiply, double
                b = -br[:, None] * (E[None, :] * 0.5 - rr[:, None] * 0.5) * 2.0
        b[E[None, :] == rr[:, None]] = 0.0
        lse = np.asarray(logsumexp(b, axis=-1), dtype=np.float64)
        with np.errstate(over="ignore"):
            log_z[redo] = -br * rr + lse
            free[redo] = rr - lse / br
    return log_z, free
