r"""Boltzmann distributions over Dask arrays of energies (a state space beyond memory).

The same dual as :mod:`expfam._onedim`, in its shifted, scaled, log form, with every
sum a Dask reduction: one pass for the range and mean of the energies, one for the
bracket, one per bracketed Halley iteration (the four moments of the excited states
in one :func:`dask.compute`), one for the final moments and one for the centred
variance. The scalars are computed; the probabilities and logits are returned as
Dask arrays. Dask is optional: it is imported only when a Dask array arrives.

The sums are Dask's tree reductions of chunk sums (pairwise within chunks): the
residual is some tens of ulp of ``sum_j q_j |E_j|`` (at most 17 measured; there is
no exact sum and no polish, unlike the in-memory solve; ``log u`` is taken as
``log(gap / span)``, not ``log gap - log span``, whose cancellation cost ~1000 ulp
at energies near 1e+-300), and the exact-mean check (``beta = 0``) compares with the
rounded mean.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from expfam._dask import require_known_shape
from expfam._errors import ConvergenceError, InfeasibleError
from expfam._onedim import scaled_square

__all__ = ["solve_dask"]


class Moments:
    """Sums over the states in one Dask pass each (``dask.compute`` of a few reductions)."""

    def __init__(self, dask: Any, da: Any) -> None:
        self.dask, self.da = dask, da
        self.passes = 0

    def compute(self, *sums: Any) -> list[float]:
        self.passes += 1
        return [float(v) for v in self.dask.compute(*sums)]


def solve_dask(  # noqa: C901 - validation and the exact edges, then one of two paths
    energies: Any, mean_energy: float | None, beta: float | None
) -> dict[str, Any]:
    """Solve (`mean_energy`) or evaluate (`beta`) on Dask `energies`; the result's fields."""
    import dask  # noqa: PLC0415 - optional dependency, only for Dask input
    import dask.array as da  # noqa: PLC0415

    require_known_shape(energies, "energies")
    if energies.ndim != 1 or energies.shape[0] == 0:
        raise ValueError(
            f"`energies` must be a 1-D array with at least one entry; got shape {energies.shape}"
        )
    kind = np.dtype(energies.dtype).kind
    if kind not in "biuf":
        raise TypeError(f"`energies` must be real; got dtype {energies.dtype}")
    E = energies.astype(np.float64)
    K = int(E.shape[0])
    mom = Moments(dask, da)
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi, total = mom.compute(E.min(), E.max(), E.sum())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(
            f"`energies` must be finite; found {lo if not math.isfinite(lo) else hi!r}"
        )
    mean = total / K if math.isfinite(total) else 0.5 * lo + 0.5 * hi
    if beta is None:
        U = float(mean_energy)  # type: ignore[arg-type]
        if not lo <= U <= hi:
            raise InfeasibleError(
                f"`mean_energy`={U!r} is outside the attainable range [min, max] = "
                f"[{lo!r}, {hi!r}] of `energies`"
            )
        if lo == hi or mean == U:
            beta = 0.0
        elif lo == U:
            beta = math.inf
        elif hi == U:
            beta = -math.inf
    if beta is not None:
        out = _evaluate(E, float(beta), lo, hi, mom)
        if mean_energy is not None:  # an exact edge of the solve: U = min, max or mean
            out["residual"] = abs(out["mean"] - float(mean_energy))
        return out
    return _solve(E, U, lo=lo, hi=hi, mean=mean, mom=mom)


def _evaluate(E: Any, beta: float, lo: float, hi: float, mom: Moments) -> dict[str, Any]:
    """Evaluate the distribution at ``beta`` (``0`` and ``±inf`` included): two passes."""
    da = mom.da
    ref = lo if beta > 0 else hi
    at = ref == E
    if beta == 0.0:
        b = da.zeros_like(E)
    elif math.isinf(beta):
        b = da.where(at, 0.0, -math.inf)
    elif math.isfinite(hi - lo):
        b = da.where(at, 0.0, -beta * (E - ref))
    else:  # E - ref overflows: halve it exactly (-inf where the product overflows)
        b = da.where(at, 0.0, (E * 0.5 - ref * 0.5) * (-2.0 * beta))
    a = da.exp(b)
    # E scaled by the power of two of its largest |E_j|: the variance and the heat
    # capacity from it over- or underflow only where their true values do
    k = math.frexp(max(abs(lo), abs(hi)))[1]
    x = da.ldexp(E, -k)
    g0, w, s1, sx = mom.compute(
        at.sum(), da.where(at, 0.0, a).sum(), (a * (E - ref)).sum(), (a * x).sum()
    )
    if beta == 0.0:
        g0, w = float(E.shape[0]), 0.0
    log_zr = math.log(g0) + math.log1p(w / g0) if w < g0 else math.log(g0 + w)
    total = g0 + w
    mean_d = s1 / total  # <E - ref>
    mean = ref + mean_d
    if math.isinf(beta):
        var = heat = 0.0
    else:
        mean_x = sx / total
        (var_x,) = mom.compute((a * (x - mean_x) ** 2).sum())
        sd_x = math.sqrt(max(var_x / total, 0.0))
        var = float(scaled_square(sd_x, k))
        heat = float(scaled_square(sd_x, k, beta))
    logits = b - log_zr
    return {
        "logits": logits,
        "probs": da.exp(logits),
        "beta": beta,
        "log_norm": log_zr if ref == 0 or beta == 0 else -beta * ref + log_zr,
        "log_zr": log_zr,
        "ref": ref,
        "entropy": log_zr + (beta * mean_d if beta != 0 and not math.isinf(beta) else 0.0),
        "mean": mean,
        "variance": var,
        "heat_capacity": heat,
        "residual": None,
        "iterations": 0,
        "passes": mom.passes,
    }


def _solve(  # noqa: C901, PLR0915 - one numerical pipeline, read top-down
    E: Any, U: float, *, lo: float, hi: float, mean: float, mom: Moments
) -> dict[str, Any]:
    """Solve the interior case ``lo < U < hi``, ``U != mean``, on Dask energies."""
    da = mom.da
    below = mean > U
    ref, sign = (lo, -1.0) if below else (hi, 1.0)
    with np.errstate(over="ignore"):
        span = hi - lo
    unit = 1.0
    if not math.isfinite(span):
        unit, span = 2.0, hi * 0.5 - lo * 0.5
    h = 1.0 / unit  # 0.5 where E - ref would overflow: halves are exact there
    e = ((E * h - ref * h) if below else (ref * h - E * h)) / span
    # the gap to the reference as gap + gap_lo (Knuth's two-sum), and log u from
    # u = gap/span: log(gap) - log(span) cancels to an absolute error of ulp(log span),
    # ~1000 ulp of u for energies near 1e-300 or 1e300
    a_, b_ = (U * h, -ref * h) if below else (ref * h, -U * h)
    gap = a_ + b_
    bb = gap - a_
    gap_lo = (a_ - (gap - bb)) + (b_ - bb)
    u = gap / span
    if u > 1e-300:
        log_u = math.log(u) + gap_lo / gap
    else:  # u underflows (a target within a hair of the reference)
        log_u = math.log(gap) + gap_lo / gap - math.log(span)
    exc = e > 0
    g0, mass_e, e1 = mom.compute((~exc).sum(), e.sum(), da.where(exc, e, 1.0).min())
    t_lo = max(0.0, math.log(mass_e / E.shape[0]) - log_u)
    with np.errstate(over="ignore"):
        t_hi = (math.log(mass_e / g0) - log_u) / e1
        if u > 0:
            t_hi = min(t_hi, (2 / u) * (math.log(2 * mass_e / g0) - log_u))
    t_hi = max(t_lo, t_hi) * (1 + 1e-9) + 1e-300
    if not math.isfinite(t_hi):
        raise ConvergenceError(
            f"cannot bracket the multiplier in float64: `mean_energy` {U!r} is within "
            f"{gap * unit!r} of the extreme energy {ref!r}"
        )

    def sums(t: float, powers: int) -> list[float]:
        w = da.where(exc, da.exp(-t * (e - e1)), 0.0)  # excited states, <= 1
        terms = [w.sum()]
        wk = w
        for _ in range(1, powers):
            wk = wk * e
            terms.append(wk.sum())
        return mom.compute(*terms)

    def log_zr(t: float, s0: float) -> float:
        with np.errstate(under="ignore", over="ignore"):
            w = s0 * math.exp(-t * e1) if t * e1 < 745 else 0.0
        if w <= g0:
            return math.log(g0) + math.log1p(w / g0)
        return math.log(s0) - t * e1 + math.log1p(g0 / w)

    t, a, b = t_lo, t_lo, t_hi
    width = b - a
    iterations = 0
    for it in range(200):
        s0, s1, s2, s3 = sums(t, 4)
        iterations += 1
        log_m1 = math.log(s1) - t * e1 - log_zr(t, s0)
        m1 = math.exp(log_m1) if log_m1 > -745 else 0.0
        r2, r3 = s2 / s1, s3 / s1
        f, f1 = log_m1 - log_u, m1 - r2
        f2 = r3 - r2 * r2 - r2 * m1 + m1 * m1
        if f > 0:
            a = t
        elif f < 0:
            b = t
        else:
            break
        den = 2 * f1 * f1 - f * f2
        tn = t - 2 * f * f1 / den if den != 0 else math.nan
        ok = math.isfinite(tn) and a <= tn <= b and (it < 8 or b - a <= 0.5 * width)
        width = b - a
        if not ok:
            tn = math.sqrt(a) * math.sqrt(b) if a > 0 and b > 4 * a else 0.5 * (a + b)
        close = max(t, 0.1) * 1e-13
        done = abs(tn - t) <= close or b - a <= close
        t = tn
        if done:
            break
    else:
        raise ConvergenceError(
            "Boltzmann solve on Dask energies did not converge", bracket=(a, b), iterations=200
        )
    # final moments at t, then the variance centred at the mean (two passes)
    s0, s1 = sums(t, 2)
    lz = log_zr(t, s0)
    mean_e = math.exp(math.log(s1) - t * e1 - lz) if s1 > 0 else 0.0
    weight = da.exp(-t * e - lz)  # q
    (var_e,) = mom.compute((weight * (e - mean_e) ** 2).sum())
    lam = sign * (t / span) / unit  # unit * span may overflow
    achieved = ref + unit * span * mean_e if below else ref - unit * span * mean_e
    residual = abs(achieved - U)
    sd = math.sqrt(max(var_e, 0.0)) * span * unit
    logits = -t * e - lz
    return {
        "logits": logits,
        "probs": da.exp(logits),
        "beta": -lam,
        "log_norm": lam * ref + lz,
        "log_zr": lz,
        "ref": ref,
        "entropy": lz + t * u,
        "mean": achieved,
        "variance": sd * sd,
        "heat_capacity": (t * math.sqrt(max(var_e, 0.0))) ** 2,  # Var(beta E) = t^2 Var e
        "residual": residual,
        "iterations": iterations,
        "passes": mom.passes,
    }
