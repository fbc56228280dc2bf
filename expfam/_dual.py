r"""Inverse mean maps without a closed form, solved on the convex dual.

For a regular exponential family the inverse mean map :math:`\mu \mapsto \eta` is
the minimiser of the strictly convex dual objective

.. math:: f(\eta) = A(\eta) - \langle \eta, \mu \rangle,
   \qquad \nabla f = \nabla A(\eta) - \mu, \qquad \nabla^2 f = \nabla^2 A(\eta),

which has a unique minimiser exactly when :math:`\mu` lies in the interior of the
mean-parameter domain. :func:`solve_dual` minimises it for a whole batch at once:

1. a vectorised damped Newton iteration from a family-supplied initial guess (for
   example Minka's for the gamma and Dirichlet families), with a backtracking
   (Armijo) line search that also keeps every iterate inside the natural-parameter
   domain, and pure Newton steps once the Newton decrement is at rounding level;
2. for the rare rows where that fails, :func:`scipy.optimize.minimize` with
   ``method="trust-exact"`` and the analytic gradient and Hessian, one row at a
   time, followed by Newton polishing;
3. a :class:`~expfam.ConvergenceError` carrying the diagnostics if a row still fails.

A row is accepted when its last Newton step is below ``rtol`` relative to the
family's natural scale of each component (for example :math:`\alpha` and
:math:`\beta` of a gamma distribution), or, when the problem is so ill-conditioned
that rounding noise in :math:`\nabla A` keeps the steps above that level, when the
residual :math:`\nabla A(\eta) - \mu` is a few units of roundoff of the magnitudes
it is computed from (the answer is then the exact inverse of a mean parameter
within a few ulps of the given one: backward stable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from expfam._errors import ConvergenceError

__all__ = ["DualProblem", "solve_dual"]

F64 = NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class DualProblem:
    r"""The pieces of a family's log-partition that :func:`solve_dual` needs.

    Every callable works on float64 arrays whose rows are independent problems:
    natural parameters of shape ``(m, d)``.

    Attributes
    ----------
    log_partition : callable
        :math:`A(\eta)`, shape ``(m,)``; only called inside the domain.
    mean_map : callable
        :math:`\nabla A(\eta)`, shape ``(m, d)``.
    fisher : callable
        :math:`\nabla^2 A(\eta)`, shape ``(m, d, d)``.
    in_domain : callable
        Boolean ``(m,)``: the row lies in the open natural-parameter domain.
    scale : callable
        The natural magnitude of each component of :math:`\eta`, shape ``(m, d)``,
        against which Newton steps are measured (e.g. ``|eta + 1|`` when ``eta + 1``
        is a shape parameter).
    mean_scale : callable
        The magnitude of the terms each component of :math:`\nabla A` is computed
        from, shape ``(m, d)``: the residual's rounding level.
    newton_step : callable, optional
        ``(eta, g) -> H^{-1} g`` with ``H`` the Fisher information; defaults to a
        dense solve. Families with structure (Dirichlet: diagonal plus rank one)
        supply an :math:`O(d)` version.
    """

    log_partition: Callable[[F64], F64]
    mean_map: Callable[[F64], F64]
    fisher: Callable[[F64], F64]
    in_domain: Callable[[F64], NDArray[np.bool_]]
    scale: Callable[[F64], F64]
    mean_scale: Callable[[F64], F64]
    newton_step: Callable[[F64, F64], F64] | None = None

    def step(self, eta: F64, g: F64) -> F64:
        """Newton step ``H^{-1} g`` for each row."""
        if self.newton_step is not None:
            return self.newton_step(eta, g)
        h = self.fisher(eta)
        out: F64 = np.full_like(g, np.nan)
        # a singular row (rounding at an extreme) gets nan and then fails to converge
        ok = np.all(np.isfinite(h), axis=(-2, -1)) & (np.abs(np.linalg.det(h)) > 0)
        if np.any(ok):
            out[ok] = np.linalg.solve(h[ok], g[ok][..., None])[..., 0]
        return out

    def objective(self, eta: F64, mu: F64) -> F64:
        """Dual objective ``A(eta) - <eta, mu>`` per row; ``+inf`` outside the domain."""
        out = np.full(eta.shape[0], np.inf)
        ok = self.in_domain(eta)
        if np.any(ok):
            out[ok] = self.log_partition(eta[ok]) - np.sum(eta[ok] * mu[ok], axis=-1)
        return out


def _judge(problem: DualProblem, eta: F64, mu: F64, rtol: float) -> tuple[NDArray[np.bool_], F64]:
    """Return the accepted rows and their relative Newton steps (see the module docstring)."""
    ok = problem.in_domain(eta) & np.all(np.isfinite(eta), axis=-1)
    rel = np.full(eta.shape[0], np.inf)
    if np.any(ok):
        e = eta[ok]
        with np.errstate(all="ignore"):
            g = problem.mean_map(e) - mu[ok]
            step = problem.step(e, g)
            rel_ok = np.max(np.abs(step) / problem.scale(e), axis=-1)
            backward = np.max(np.abs(g) / (problem.mean_scale(e) + np.abs(mu[ok])), axis=-1)
        rel_ok = np.where(np.isnan(rel_ok), np.inf, rel_ok)
        good = (rel_ok <= rtol) | (backward <= 64 * _EPS)
        rel[ok] = rel_ok
        ok[ok] = good
    return ok, rel


def _newton(
    problem: DualProblem, mu: F64, eta0: F64, max_iter: int
) -> tuple[F64, NDArray[np.intp]]:
    """Vectorised damped Newton; returns the last iterates and the iteration counts."""
    m = mu.shape[0]
    eta = eta0.copy()
    f = problem.objective(eta, mu)
    done = ~np.isfinite(f)  # a bad initial guess: leave it to the fallback
    best = np.full(m, np.inf)  # smallest relative step so far
    stall = np.zeros(m, dtype=np.intp)
    iters = np.zeros(m, dtype=np.intp)
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        e, mu_a, f0 = eta[act], mu[act], f[act]
        with np.errstate(all="ignore"):
            g = problem.mean_map(e) - mu_a
            step = problem.step(e, g)
            dec = np.sum(g * step, axis=-1)  # Newton decrement squared (>= 0 if H is PD)
            rel = np.max(np.abs(step) / problem.scale(e), axis=-1)
        bad = ~np.all(np.isfinite(step), axis=-1) | ~(dec >= 0)
        # Newton region: the predicted decrease is at rounding level of f, so f cannot
        # arbitrate; take the full step (if it stays in the domain).
        pure = dec <= 1e-10 * (1 + np.abs(f0))
        t = np.ones(act.size)
        accepted = np.zeros(act.size, dtype=bool)
        new_eta = e.copy()
        new_f = f0.copy()
        pending = ~bad
        for _ls in range(64):
            if not np.any(pending):
                break
            idx = np.flatnonzero(pending)
            trial = e[idx] - t[idx, None] * step[idx]
            ft = problem.objective(trial, mu_a[idx])
            with np.errstate(invalid="ignore"):
                good = np.isfinite(ft) & (pure[idx] | (ft <= f0[idx] - 1e-4 * t[idx] * dec[idx]))
            new_eta[idx[good]] = trial[good]
            new_f[idx[good]] = ft[good]
            accepted[idx[good]] = True
            pending[idx[good]] = False
            t[idx[~good]] *= 0.5
        failed = ~accepted
        eta[act] = new_eta
        f[act] = new_f
        iters[act] += 1
        relstep = rel * t
        # quadratic convergence: after a step below 1e-11 the error is ~1e-22
        converged = accepted & (relstep <= 1e-11)
        # rounding-limited (the step is noise of size cond * eps): no progress on the
        # best step for three iterations
        slow = accepted & (relstep < 1e-6) & (relstep > 0.5 * best[act])
        stall[act] = np.where(slow, stall[act] + 1, 0)
        best[act] = np.minimum(best[act], np.where(accepted, relstep, np.inf))
        done[act] = failed | converged | (stall[act] >= 3)
    return eta, iters


def solve_dual(
    problem: DualProblem,
    mean_params: F64,
    init: F64,
    *,
    rtol: float = 1e-13,
    max_iter: int = 100,
    name: str = "mean_params",
) -> F64:
    r"""Minimise :math:`A(\eta) - \langle\eta,\mu\rangle` for each row of `mean_params`.

    Parameters
    ----------
    problem : DualProblem
        The family's log-partition, its derivatives and its domain.
    mean_params : ndarray
        Mean parameters, float64 of shape ``(m, d)``, already checked to lie in the
        interior of the mean-parameter domain.
    init : ndarray
        Initial natural parameters, shape ``(m, d)``, inside the natural domain.
    rtol : float, optional
        Accept a row once its Newton step is below `rtol` relative to the natural
        scale of each component (or once it is backward stable; see Notes).
    max_iter : int, optional
        Iteration limit of the batched Newton phase.
    name : str, optional
        Argument name used in error messages.

    Returns
    -------
    ndarray
        Natural parameters, shape ``(m, d)``.

    Raises
    ------
    ConvergenceError
        If a row fails both the batched Newton iteration and the per-row
        :func:`scipy.optimize.minimize` fallback. Its ``diagnostics`` hold the
        failing ``indices``, their ``mean_params``, the last ``natural_params`` and the
        ``relative_step``.

    Notes
    -----
    Newton's method converges quadratically near the solution, so a step below
    ``1e-11`` relative ends the iteration with the answer correct to rounding level
    (and the acceptance test then takes one more Newton step, which must be below
    `rtol`). When the iteration stalls above that level (the condition number of the
    inverse map times ``eps`` exceeds it: e.g. a gamma shape of ``1e6``, where
    :math:`\log\alpha - \psi(\alpha) \approx 1/(2\alpha)` is computed from two
    numbers that agree to six digits), the row is accepted if it is backward stable.

    Examples
    --------
    The inverse of the mean map of the gamma family in natural coordinates
    :math:`\eta = (\alpha - 1, -\beta)`:

    >>> import numpy as np
    >>> from expfam import Gamma
    >>> mu = Gamma(shape=3.0, rate=2.0).mean_params
    >>> eta = Gamma._inverse_mean_map(mu)  # calls solve_dual
    >>> np.allclose(eta, [2.0, -2.0], rtol=1e-14)
    True
    """
    mu = np.asarray(mean_params, dtype=np.float64)
    eta0 = np.asarray(init, dtype=np.float64)
    if mu.shape[0] == 0:
        return np.array(eta0, dtype=np.float64)
    eta, iters = _newton(problem, mu, eta0, max_iter)
    ok, rel = _judge(problem, eta, mu, rtol)
    if np.all(ok):
        return eta
    for i in np.flatnonzero(~ok):
        start = (
            eta[i] if np.isfinite(problem.objective(eta[i : i + 1], mu[i : i + 1])[0]) else eta0[i]
        )
        eta[i] = _scipy_fallback(problem, mu[i], start)
        polished, _ = _newton(problem, mu[i : i + 1], eta[i : i + 1], 20)
        eta[i] = polished[0]
    ok, rel = _judge(problem, eta, mu, rtol)
    if not np.all(ok):
        bad = np.flatnonzero(~ok)
        raise ConvergenceError(
            f"could not invert the mean map for `{name}`: {bad.size} of {mu.shape[0]} "
            f"problem(s) did not converge (first: flat index {bad[0]}, mean parameters "
            f"{mu[bad[0]].tolist()}, relative Newton step {rel[bad[0]]:.3g})",
            indices=bad,
            mean_params=mu[bad],
            natural_params=eta[bad],
            relative_step=rel[bad],
            newton_iterations=iters[bad],
        )
    return eta


def _scipy_fallback(problem: DualProblem, mu: F64, start: F64) -> F64:
    """One row with :func:`scipy.optimize.minimize` (trust-exact, analytic jac/hess)."""

    def fun(x: F64) -> float:
        return float(problem.objective(x[None, :], mu[None, :])[0])

    def jac(x: F64) -> F64:
        out: F64 = problem.mean_map(x[None, :])[0] - mu
        return out

    def hess(x: F64) -> F64:
        out: F64 = problem.fisher(x[None, :])[0]
        return out

    if not np.isfinite(fun(start)):
        return start  # no usable starting point: the row fails
    with np.errstate(all="ignore"):
        try:
            from scipy import optimize  # noqa: PLC0415 - ~0.6 s to import; only solves need it

            res: Any = optimize.minimize(
                fun,
                start,
                jac=jac,
                hess=hess,
                method="trust-exact",
                options={"gtol": 1e-300, "maxiter": 500},
            )
        except (ValueError, np.linalg.LinAlgError):  # non-finite derivatives at an extreme
            return start
    x: F64 = np.asarray(res.x, dtype=np.float64)
    return x if np.isfinite(fun(x)) else start
