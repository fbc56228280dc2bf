r"""Mathematics the Beta and Dirichlet families share.

The Dirichlet log-partition, mean map and Fisher information in natural and usual
parameters, the inverse mean map (a Newton solve on the convex dual, started from
Minka's fixed point), and the entropy and KL divergence computed without the
cancellation of the textbook formulas. A Beta is the two-category Dirichlet of
:math:`(x, 1 - x)`. And their statistics (:class:`_SpreadStatistics`): the sums of
:math:`T(x)` with a record of whether the observations differ, without which the
maximum-likelihood estimate does not exist.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

from expfam._dual import DualProblem, solve_dual
from expfam._errors import InfeasibleError
from expfam._family import ExponentialFamily
from expfam._kernels import logsumexp
from expfam._special import (
    _digamma_diff,
    _digamma_scale,
    _f64,
    _gamma_entropy_unit,
    _lgamma_bregman,
    _log_beta,
)
from expfam._suffstats import Block, SufficientStatistics
from expfam._validation import FloatArray

__all__ = []

F64 = NDArray[np.float64]


def _others(a: F64) -> F64:
    """``sum_{j != k} a_j`` for each ``k``, from prefix and suffix sums (no cancellation)."""
    zero = np.zeros((*a.shape[:-1], 1))
    prefix = np.concatenate([zero, np.cumsum(a[..., :-1], axis=-1)], axis=-1)
    suffix = np.concatenate([np.cumsum(a[..., :0:-1], axis=-1)[..., ::-1], zero], axis=-1)
    return _f64(prefix + suffix)


def _dirichlet_entropy(alpha: F64) -> F64:
    r"""Entropy of Dirichlet distributions (last axis: the concentrations), in nats.

    :math:`\sum_k H_\Gamma(\alpha_k) - H_\Gamma(\alpha_0) - (K-1)\psi(\alpha_0)`, with
    :math:`H_\Gamma` the entropy of a unit-rate gamma distribution
    (:func:`_gamma_entropy_unit`), free of the cancellation of the textbook formula
    :math:`A - \langle\eta, \mu\rangle` for large concentrations. Where the textbook
    formula does not cancel (its terms are within a factor 4 of the result) it is used
    instead: it is then as accurate, and exact for the uniform distribution.
    """
    k = alpha.shape[-1]
    with np.errstate(all="ignore"):
        a0 = alpha.sum(axis=-1)
        h = _gamma_entropy_unit(alpha).sum(axis=-1) - _gamma_entropy_unit(a0)
        h = h - (k - 1) * special.digamma(a0)
        log_b = _log_beta(alpha)
        eta_mu = (alpha - 1) * _digamma_diff(alpha, _others(alpha))
        textbook = log_b - eta_mu.sum(axis=-1)
        scale = np.abs(log_b) + np.abs(eta_mu).sum(axis=-1)
    out = np.where(np.isfinite(scale) & (scale <= 4 * np.abs(textbook)), textbook, h)
    over = np.isinf(a0)  # alpha_0 beyond the float max: its log from the scaled sum
    if np.any(over):
        al = alpha[over]
        top = al.max(axis=-1)
        log_a0 = np.log(top) + np.log((al / top[..., None]).sum(axis=-1))
        # H_Gamma(a0) = (1 + log 2 pi + log a0) / 2 and psi(a0) = log a0 to 1e-308
        h_a0 = 0.5 * (1 + np.log(2 * np.pi) + log_a0)
        out[over] = _gamma_entropy_unit(al).sum(axis=-1) - h_a0 - (k - 1) * log_a0
    # a concentration below 1 / (float max): the entropy, about -1/alpha_k, is -inf
    tiny = np.any(np.isneginf(special.digamma(alpha)), axis=-1)
    return _f64(np.where(tiny, -np.inf, out))


def _dirichlet_kl(alpha_p: F64, alpha_q: F64) -> F64:
    r"""KL between Dirichlet distributions (last axis: concentrations), broadcast.

    The Bregman divergence of :math:`\ln B`. Where every concentration moves by at most
    1/8 of itself (:math:`|\alpha_{q,k} - \alpha_{p,k}| \le \alpha_{p,k}/8`, also for
    the totals), as
    :math:`\sum_k B(\alpha_{q,k}, \alpha_{p,k}) - B(\alpha_{q,0}, \alpha_{p,0})`
    with :math:`B` the Bregman divergence of :math:`\ln\Gamma` summed from its Taylor
    series (:func:`_lgamma_bregman`): no cancellation between the large terms of the
    textbook formula. Elsewhere the textbook
    :math:`\ln B(\alpha_q) - \ln B(\alpha_p) - \langle\alpha_q - \alpha_p,
    \psi(\alpha_p) - \psi(\alpha_{p,0})\rangle`, with the careful log-beta and
    digamma differences.
    """
    alpha_p, alpha_q = np.broadcast_arrays(alpha_p, alpha_q)
    d = alpha_q - alpha_p
    a0, d0 = alpha_p.sum(axis=-1), d.sum(axis=-1)
    near = np.all(np.abs(d) <= alpha_p / 8, axis=-1) & (np.abs(d0) <= a0 / 8)
    out = np.empty(a0.shape)
    if np.any(near):
        parts = _lgamma_bregman(alpha_p[near], d[near]).sum(axis=-1)
        out[near] = parts - _lgamma_bregman(a0[near], d0[near])
    far = ~near
    if np.any(far):
        ap, aq = alpha_p[far], alpha_q[far]
        mu = _digamma_diff(ap, _others(ap))
        out[far] = _log_beta(aq) - _log_beta(ap) - ((aq - ap) * mu).sum(axis=-1)
    return _f64(np.maximum(out, 0.0))


# ---------------------------------------------------------------------- statistics
class _SpreadStatistics(ExponentialFamily):
    r"""The statistics of :class:`Beta` and :class:`Dirichlet`: sums of T(x) and the spread.

    Their maximum-likelihood estimate exists only if the observations are not all
    equal, which the sums of :math:`T(x) = \log x` cannot tell; the parts ``x0`` and
    ``varies`` (:func:`_spread_parts`) record it per batch member, next to the
    compensated sums ``t``, ``t_lo``, through every block, combine and merge.
    """

    @classmethod
    def _stats_block(
        cls, probe: ExponentialFamily, x: FloatArray, w: F64 | None
    ) -> SufficientStatistics:
        out = super()._stats_block(probe, x, w)
        out._parts.update(_spread_parts(x.astype(np.float64), w, cls.event_ndim))
        return out

    @classmethod
    def _stats_combine(cls, blocks: list[Block]) -> Block:
        """Exact sums of the statistics and the spread of all blocks at once."""
        sums = [(wt, {k: p[k] for k in ("t", "t_lo")}) for wt, p in blocks]
        weight, parts = super()._stats_combine(sums)
        parts.update(_combine_spread([p for _, p in blocks], cls.event_ndim))
        return weight, parts

    @classmethod
    def _stats_merge(cls, a: SufficientStatistics, b: SufficientStatistics) -> dict[str, F64]:
        parts = super()._stats_merge(a, b)
        parts.update(_merge_spread(a._parts, b._parts, cls.event_ndim))
        return parts

    @classmethod
    def _check_spread(cls, s: SufficientStatistics) -> None:
        """Raise ``InfeasibleError`` if all observations (of a batch member) are equal."""
        if np.any(s._parts["varies"] == 0):
            raise InfeasibleError(
                f"`x` has no spread (all observations are equal): the {cls.__name__} MLE "
                "does not exist (the mean parameters lie on the boundary of their domain)"
            )


def _spread_parts(a: F64, w: F64 | None, event_ndim: int = 0) -> dict[str, F64]:
    """Parts recording whether a block's weighted observations differ (per batch member).

    ``x0``: the first observation of positive weight (nan if there is none);
    ``varies``: 1.0 where another observation of positive weight differs from it.
    """
    keep = a if w is None else a[w > 0]
    if keep.shape[0] == 0:
        x0 = np.full(a.shape[1:], np.nan)
        return {"x0": x0, "varies": np.zeros(a.shape[1 : a.ndim - event_ndim])}
    differ = keep != keep[:1]
    varies = np.any(differ, axis=(0, *range(differ.ndim - event_ndim, differ.ndim)))
    return {"x0": _f64(keep[0]), "varies": varies.astype(np.float64)}


def _merge_spread(pa: dict[str, F64], pb: dict[str, F64], event_ndim: int = 0) -> dict[str, F64]:
    """Merge :func:`_spread_parts` of two chunks."""
    a_none, b_none = np.isnan(pa["x0"]), np.isnan(pb["x0"])
    differ = ~a_none & ~b_none & (pa["x0"] != pb["x0"])
    if event_ndim:
        differ = np.any(differ, axis=tuple(range(-event_ndim, 0)))
    varies = np.maximum(np.maximum(pa["varies"], pb["varies"]), differ.astype(np.float64))
    return {"x0": _f64(np.where(a_none, pb["x0"], pa["x0"])), "varies": _f64(varies)}


def _combine_spread(parts: list[dict[str, F64]], event_ndim: int = 0) -> dict[str, F64]:
    """Merge :func:`_spread_parts` of many blocks at once (as :func:`_merge_spread` would)."""
    x0 = np.stack([p["x0"] for p in parts])
    none = np.isnan(x0)
    first = np.argmax(~none, axis=0)  # the first block with an observation of weight
    ref = np.take_along_axis(x0, first[None], axis=0)[0]
    differ = ~none & (x0 != ref)
    if event_ndim:
        differ = np.any(differ, axis=tuple(range(-event_ndim, 0)))
    varies = np.maximum(np.stack([p["varies"] for p in parts]).max(axis=0), differ.max(axis=0))
    return {"x0": _f64(ref), "varies": _f64(varies)}


# ---------------------------------------------------------------------- beta
def _beta_mean(a: F64, b: F64) -> F64:
    return np.stack([_digamma_diff(a, b), _digamma_diff(b, a)], axis=-1)


def _beta_fisher(a: F64, b: F64) -> F64:
    c = -special.polygamma(1, a + b)
    return np.stack(
        [
            np.stack([special.polygamma(1, a) + c, c], -1),
            np.stack([c, special.polygamma(1, b) + c], -1),
        ],
        -2,
    )


_EULER = float(np.euler_gamma)


# ---------------------------------------------------------------------- dual problem
def _A(eta: F64) -> F64:
    return _log_beta(eta + 1)


def _mean(eta: F64) -> F64:
    return _mean_alpha(eta + 1)


def _mean_alpha(a: F64) -> F64:
    """``psi(alpha_k) - psi(alpha_0)``, accurate also where the other alphas are small."""
    return _digamma_diff(a, _others(a))


def _fisher(eta: F64) -> F64:
    return _fisher_alpha(eta + 1)


def _fisher_alpha(a: F64) -> F64:
    c = special.polygamma(1, a.sum(axis=-1))
    k = a.shape[-1]
    out = np.broadcast_to(-c[..., None, None], (*a.shape, k)).copy()
    idx = np.arange(k)
    out[..., idx, idx] += special.polygamma(1, a)
    return _f64(out)


def _newton_step(eta: F64, g: F64) -> F64:
    r"""Solve :math:`(D - c\,11^\top) s = g` by Sherman-Morrison in :math:`O(K)`."""
    a = eta + 1
    dinv = 1 / special.polygamma(1, a)
    c = special.polygamma(1, a.sum(axis=-1))
    u = dinv * g
    denom = 1 - c * dinv.sum(axis=-1)
    return _f64(u + dinv * (c * u.sum(axis=-1) / denom)[:, None])


_DIRICHLET = DualProblem(
    log_partition=_A,
    mean_map=_mean,
    fisher=_fisher,
    in_domain=lambda eta: np.all(np.isfinite(eta) & (eta > -1), axis=-1),
    scale=lambda eta: eta + 1,
    mean_scale=lambda eta: (
        _digamma_scale(eta + 1) + _digamma_scale(eta.sum(axis=-1, keepdims=True) + eta.shape[-1])
    ),
    newton_step=_newton_step,
)


def _inverse_digamma(y: F64, start: F64 | None = None, steps: int = 6) -> tuple[F64, F64]:
    r"""Invert the digamma function by Newton's method from Minka's initial guess.

    Returns :math:`x = \psi^{-1}(y)` and the trigamma :math:`\psi_1(x)`; six steps give
    about ten digits, plenty for an initial guess. `start` replaces Minka's guess (a
    warm start, needing fewer `steps`).
    """
    with np.errstate(over="ignore", divide="ignore"):  # both branches are evaluated
        x = np.where(y >= -2.22, np.exp(np.minimum(y, 700.0)) + 0.5, -1 / (y + _EULER))
    if start is not None:  # nan in `start`: no warm start for that entry
        x = np.where(np.isnan(start), x, start)
    tri = _f64(special.polygamma(1, x))
    for _ in range(steps):
        new = x - (special.digamma(x) - y) / tri
        x = np.where(new > 0, new, x / 4)
        tri = _f64(special.polygamma(1, x))
    return _f64(x), tri


def _initial_total(m: F64) -> F64:
    r"""Log of the total concentration :math:`\alpha_0`, to about eight digits.

    Given :math:`\alpha_0`, each :math:`\alpha_k = \psi^{-1}(\psi(\alpha_0) + \mu_k)`
    (Minka's fixed point); the solution is the unique :math:`\alpha_0` with
    :math:`\phi(u) = \log\sum_k\alpha_k - u = 0` at :math:`u = \log\alpha_0`
    (positive below the solution, negative above). Newton's method on
    :math:`\phi`, safeguarded by the bracket that the signs of :math:`\phi` provide
    (bisection inside it, steps of 2 to find it), from the large-:math:`\alpha_0` guess
    :math:`\alpha_0 \approx (K-1)/(2s)`, :math:`s = -\log\sum_k e^{\mu_k}`.
    """
    k = m.shape[-1]
    s = -logsumexp(m)  # > 0: the Jensen gap
    u = np.log(np.maximum((k - 1) / (2 * s), 1e-300))
    lo = np.full(u.shape, -np.inf)
    hi = np.full(u.shape, np.inf)
    alpha = np.full(m.shape, np.nan)
    du = np.full(u.shape, np.inf)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(100):
            a0 = np.exp(u)
            y = special.digamma(a0)[:, None] + m
            # warm start (3 Newton steps) only where the total moved little
            warm = np.abs(du) < 0.05
            start = np.where(warm[:, None], alpha, np.nan)
            alpha, tri = _inverse_digamma(y, start, 3 if np.all(warm) else 6)
            total = alpha.sum(axis=-1)
            phi = np.log(total) - u
            lo = np.where(phi > 0, u, lo)
            hi = np.where(phi < 0, u, hi)
            dphi = a0 * special.polygamma(1, a0) * (1 / tri).sum(axis=-1) / total - 1
            new = u - phi / dphi
            bracketed = np.isfinite(lo) & np.isfinite(hi)
            bad = ~np.isfinite(new) | ~(new > lo) | ~(new < hi) | ~(dphi < 0)
            bad |= ~bracketed & (np.abs(new - u) > 2)  # at most a factor e**2 per step
            fallback = np.where(bracketed, 0.5 * (lo + hi), np.where(phi > 0, u + 2, u - 2))
            new = np.clip(np.where(bad, fallback, new), -690.0, 690.0)
            du = new - u
            done = (np.abs(du) < 1e-9) | (phi == 0)
            u = new
            if np.all(done):
                break
    return _f64(u)


def _dirichlet_inverse(mu: F64, family: str) -> F64:
    """Inverse mean map for flat mean parameters ``(m, K)``: checks, initial guess, dual solve."""
    with np.errstate(invalid="ignore"):
        gap = -logsumexp(mu) if mu.size else np.zeros(mu.shape[0])
        bad = ~(gap > 0) | np.any(~(mu < 0), axis=-1)
    if np.any(bad):
        i = np.flatnonzero(bad)[0]
        raise InfeasibleError(
            f"`mean_params` = E[log x] of a {family} must satisfy sum(exp(mean_params)) < 1 "
            f"(Jensen); found {mu[i].tolist()}"
        )
    if mu.shape[0] == 0:
        return _f64(mu.copy())
    u = _initial_total(mu)
    alpha, _ = _inverse_digamma(special.digamma(np.exp(u))[:, None] + mu)
    return solve_dual(_DIRICHLET, mu, alpha - 1)
