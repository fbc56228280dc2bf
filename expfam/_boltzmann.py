r"""The Boltzmann distribution: maximum entropy at a given mean energy.

The distribution of largest entropy among those on ``K`` states with mean energy
:math:`\langle E\rangle = U` is :math:`q = \operatorname{softmax}(-\beta E)`, the mean map
of the categorical family at natural parameters :math:`-\beta E`. Finding :math:`\beta`
from :math:`U` is a one-dimensional convex dual problem, solved here with
:func:`scipy.optimize.root_scalar` on a shifted, scaled and log-transformed form of the
moment equation, then polished against an exactly summed residual (the engine,
shared with :func:`expfam.max_entropy`, lives in :mod:`expfam._onedim`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike

from expfam._boltzmann_dask import solve_dask
from expfam._dask import is_dask_collection
from expfam._families.categorical import Categorical
from expfam._onedim import (
    Scalar,
    Stats,
    degenerate,
    scaled_sd_rows,
    scaled_square,
    solve_scalar,
    validate_1d_stats,
)
from expfam._summation import BLOCK, accurate_sum, dot, dot_minus
from expfam._sweep import Sweep, fixed_beta_batch, log_z_and_free_energy_batch, solve_batch
from expfam._validation import FloatArray, as_float_array

__all__ = ["BoltzmannResult", "boltzmann"]

#: The type of the scalar results: ``float``, or an ndarray for a sweep.
S = TypeVar("S", float, FloatArray)


# --------------------------------------------------------------------------- public API
@dataclass(frozen=True)
class BoltzmannResult(Generic[S]):
    r"""The Boltzmann distribution and its thermodynamics, as returned by :func:`boltzmann`.

    The distribution is :math:`q = \operatorname{softmax}(-\beta E)`. For a sweep (an
    array of `mean_energy`, `beta` or `temperature` values of shape ``s``) every float
    below is an ndarray of shape ``s``, `probs` has shape ``s + (K,)`` and
    `distribution` has batch shape ``s``.

    Attributes
    ----------
    distribution : Categorical
        The distribution, with logits :math:`\log q` (``-inf`` for states of zero
        probability); built from `logits` when first used (for Dask energies this
        computes them into memory).
    logits : ndarray
        :math:`\log q`, shape ``(K,)`` (``-inf`` for states of zero probability); a
        Dask array when the energies are one.
    probs : ndarray
        The probabilities :math:`q`, shape ``(K,)``: the vector the accuracy claims
        refer to. ``distribution.probs`` recomputes a softmax of the logits and agrees
        to about ``eps * max|logit|`` relative.
    beta : float
        Inverse temperature :math:`\beta`; ``inf`` when ``mean_energy`` is the ground
        energy, ``-inf`` when it is the top energy. :func:`max_entropy` with the
        energies as its one feature finds the multiplier :math:`\lambda = -\beta`.
    temperature : float
        :math:`T = 1/\beta`: ``inf`` at :math:`\beta = 0`, ``0`` at :math:`\beta = \pm\infty`.
    log_partition : float
        :math:`\log Z = \log\sum_j e^{-\beta E_j}`. At :math:`\beta = \pm\infty` it is the
        limit :math:`-\beta E_0 + \log g` (``-inf``, ``+inf``, or :math:`\log g` when the
        extreme energy :math:`E_0` is 0; :math:`g` its degeneracy).
    free_energy : float
        :math:`F = -\log Z/\beta = U - TS`. At :math:`\beta = \pm\infty`, :math:`F = U`
        (the ground or top energy). At :math:`\beta = 0`, :math:`F = -\infty` when
        :math:`S > 0` (the limit :math:`\beta \to 0^+`, :math:`T \to +\infty`) and
        :math:`F = U` when :math:`S = 0` (a single state). Finite where
        :math:`\beta E` overflows and :math:`\log Z` is infinite (it is computed as
        :math:`E_0 - \log Z_0/\beta` with :math:`E_0` the dominant extreme energy);
        ``±inf`` only where the true value overflows.
    entropy : float
        :math:`S = -\sum_j q_j \log q_j` in nats.
    mean_energy : float
        The mean energy :math:`U = \sum_j q_j E_j` of `probs`, summed exactly.
    variance : float
        :math:`\operatorname{Var}_q E` (``inf`` or 0 only where the true value over- or
        underflows).
    heat_capacity : float
        :math:`C = dU/dT = \beta^2 \operatorname{Var}_q E = \operatorname{Var}_q(\beta E)`
        (in units of Boltzmann's constant); exactly 0 at :math:`\beta = 0` and
        :math:`\beta = \pm\infty`. It is unit-free and computed so (from the solver's
        scaled energies, or from :math:`E` scaled by a power of two), never from
        :math:`\beta^2` and :math:`\operatorname{Var} E` apart: finite at any energy scale.
    residual : float or None
        :math:`|\sum_j q_j E_j - U_\text{target}|`, summed exactly over `probs`
        (above 16384 states to within far less than an ulp of the target; ``None``
        when `beta` was given).
    converged : bool
        Always ``True`` for a returned result (a failed solve raises
        :class:`ConvergenceError`).
    iterations : int
        Dual iterations (root-finder steps plus polishing steps); ``0`` for the exact
        edge cases and when `beta` is given. For a sweep, the most any target needed
        (the iterations are vectorised over the targets).

    Examples
    --------
    A two-level system at unit temperature; the free energy is both
    :math:`-\log Z/\beta` and :math:`U - TS`:

    >>> import expfam
    >>> r = expfam.boltzmann([0.0, 1.0], beta=1.0)
    >>> r.probs
    array([0.73105858, 0.26894142])
    >>> bool(abs(r.free_energy - (r.mean_energy - r.temperature * r.entropy)) < 1e-15)
    True
    """

    logits: Any
    probs: Any
    beta: S
    temperature: S
    log_partition: S
    free_energy: S
    entropy: S
    mean_energy: S
    variance: S
    residual: S | None
    converged: bool
    iterations: int
    heat_capacity: S

    @cached_property
    def distribution(self) -> Categorical:
        """The categorical distribution with these logits (built on first use)."""
        return Categorical(logits=np.asarray(self.logits))


def _fixed_beta(E: FloatArray, beta: float) -> Scalar:
    """Evaluate the Boltzmann distribution at a given (finite, nonzero) ``beta``."""
    lam = -beta
    lo, hi = float(np.min(E)), float(np.max(E))
    ref = lo if lam < 0 else hi
    with np.errstate(over="ignore", invalid="ignore"):
        # where E - ref overflows (|E| near the float64 limit) it is halved exactly
        halve = not math.isfinite(hi - lo)
        b = (E * 0.5 - ref * 0.5) * (2.0 * lam) if halve else lam * (E - ref)
    b[ref == E] = 0.0
    with np.errstate(under="ignore"):
        a = np.exp(b)
    total = accurate_sum(a)
    q = a / total
    log_total = math.log(total)
    logq = b - log_total
    pos = q > 0
    ent = -dot(q[pos], logq[pos])
    mean = dot_minus(q, E, 0.0)
    # Var E and Var(beta E) from E scaled by a power of two: each is finite and
    # nonzero wherever its true value is
    sd, k = scaled_sd_rows(q[None, :], E)
    return Scalar(
        probs=q,
        logits=logq,
        lam=lam,
        log_norm=lam * ref + log_total,
        entropy=ent,
        kl=0.0,
        mean=mean,
        variance=float(scaled_square(sd, k)[0]),
        lam_variance=float(scaled_square(sd, k, lam)[0]),
        residual=0.0,
        converged=True,
        iterations=0,
    )


@overload
def boltzmann(
    energies: ArrayLike,
    mean_energy: float | None = None,
    *,
    beta: float | None = None,
    temperature: float | None = None,
) -> BoltzmannResult[float]: ...


@overload
def boltzmann(
    energies: ArrayLike,
    mean_energy: ArrayLike | None = None,
    *,
    beta: ArrayLike | None = None,
    temperature: ArrayLike | None = None,
) -> BoltzmannResult[Any]: ...


def boltzmann(
    energies: ArrayLike,
    mean_energy: ArrayLike | None = None,
    *,
    beta: ArrayLike | None = None,
    temperature: ArrayLike | None = None,
) -> BoltzmannResult[Any]:
    r"""Find the maximum-entropy distribution on ``K`` states with a given mean energy.

    Among all distributions :math:`q` on states with energies :math:`E_j` and mean
    energy :math:`\sum_j q_j E_j = U`, the one of largest entropy is the Boltzmann
    distribution :math:`q = \operatorname{softmax}(-\beta E)`, the categorical family at
    natural parameters :math:`-\beta E`. Give `mean_energy` to solve for :math:`\beta`,
    or `beta` (or `temperature`) to evaluate the distribution directly.

    Parameters
    ----------
    energies : array_like or dask.array.Array
        Finite energies, shape ``(K,)`` with ``K >= 1``. A Dask array (a state space
        larger than memory) is solved with Dask reductions (see Notes).
    mean_energy : float or array_like, optional
        The target mean energy :math:`U`, in ``[min E, max E]``; an array of targets
        is a sweep, solved in one vectorised solve.
    beta : float or array_like, optional
        The inverse temperature (``±inf`` allowed), or an array of them.
    temperature : float or array_like, optional
        The temperature :math:`T = 1/\beta` (``±inf`` allowed; ``0`` is the
        ground-state limit :math:`\beta = +\infty`), or an array of them. Give
        exactly one of `mean_energy`, `beta` and `temperature`.

    Returns
    -------
    BoltzmannResult
        The distribution, :math:`\beta`, :math:`T`, :math:`\log Z`, :math:`F`, :math:`S`,
        :math:`U`, :math:`\operatorname{Var} E`, the heat capacity and solver
        information: floats for a scalar target, arrays of its shape for a sweep.

    Raises
    ------
    InfeasibleError
        If `mean_energy` is outside ``[min E, max E]`` (a :class:`ValueError`).
    ConvergenceError
        If the solve does not reach its tolerance (with diagnostics); never a silently
        wrong :math:`q`.
    ValueError
        If `energies` is not 1-D and non-empty or holds ``nan``/``±inf``, or if
        `mean_energy` or `beta` is ``nan``.
    TypeError
        If not exactly one of `mean_energy`, `beta` and `temperature` is given.

    See Also
    --------
    max_entropy : general moment constraints and a prior.
    softmax : the forward map :math:`-\beta E \mapsto q`.

    Notes
    -----
    **Edge cases are answered exactly, before any iteration.** ``U < min E`` or
    ``U > max E`` is infeasible. ``U = min E`` gives :math:`\beta = +\infty` and ``q``
    uniform over the :math:`g` ground states (entropy :math:`\log g`); ``U = max E``
    gives :math:`\beta = -\infty`. All energies equal, or ``U`` equal to the exact
    mean of ``E``, gives :math:`\beta = 0` and the uniform distribution.

    **Interior solve.** With the reference energy :math:`E_r` on the side of the
    target (``min E`` if ``U`` is below the mean, else ``max E``), span
    :math:`\Delta = \max E - \min E`, dimensionless energies
    :math:`e_j = |E_j - E_r|/\Delta \in [0, 1]` and :math:`t = |\beta|\Delta \ge 0`,
    the dual optimality condition is solved in the log form

    .. math:: \log \langle e \rangle_t = \log u, \qquad
              \langle e\rangle_t = \frac{\sum_j e_j e^{-t e_j}}{\sum_j e^{-t e_j}},
              \quad u = |U - E_r|/\Delta,

    which is nearly linear in :math:`t` far from the mean, with Halley's method
    (:func:`scipy.optimize.root_scalar`; analytic derivatives are cumulants of
    :math:`e`) inside the proven bracket :math:`\log(\bar e/u) \le t \le
    \log(\sum_j e_j/(g u))/e_{(1)}` (:func:`scipy.optimize.toms748` as the fallback).
    All weights are :math:`e^{-t e_j} \le 1`; far in the tail the excited states are
    summed on their own scale. The solution is then polished: the residual
    :math:`\sum_j q_j E_j - U` is summed exactly over the float64 probabilities
    (Dekker's error-free products and an exact sum) and Newton steps in :math:`t` are
    taken while they reduce it.

    **Many states** (above 16384, :math:`t < 60`): four or five passes over the
    energies. One validates them; one scales them and, in the same cache-sized blocks,
    takes a float32 Halley step (a SIMD-fast exp) from the root of a strided
    subsample; one takes a float64 Halley step, whose centred sums also give the
    cumulants of :math:`e`; the final pass writes :math:`\log q` and :math:`q` with
    :math:`\log Z`, :math:`\langle e\rangle` and :math:`\operatorname{Var} e` known in
    advance (a Taylor step in :math:`t` from those cumulants) and sums the residual
    with both factors split on fixed grids (the products of the high parts and their
    block sums are exact; the rest is below :math:`2^{-18}` of the terms), within far
    less than an ulp; a
    polishing pass follows only when the residual is above an ulp of ``U``. Anything
    unusual takes the general path above. A residual above
    ``max(64 eps sum_j q_j |E_j|, 8 ulp(U))`` raises :class:`ConvergenceError`; in
    practice it is within an ulp or two of ``U``, unless ``|U|`` is far below the
    spread of the energies and ``K`` is small (the float probabilities then cannot
    express ``U`` to its last bit).

    The entropy is the dual value :math:`\log Z_r(t) + t u` (a sum of two
    non-negative terms, stationary in :math:`t`), accurate to a few ulp. Energies
    are processed in cache-sized blocks. float32 input is solved in float64.

    **Dask arrays.** With Dask `energies` (and one target) every sum is a Dask
    reduction: one pass for the range and mean, one for the bracket, one per Halley
    iteration (the four moments together), one for the final moments and one for the
    centred variance. The scalars are computed; `probs` and `logits` are lazy Dask
    arrays (``distribution`` computes them into memory when used). The sums are
    Dask's tree sums, not exact ones, and there is no polish: the residual is some
    tens of ulp of :math:`\sum_j q_j |E_j|` (measured: at most 17, i.e. 33 ulp of
    ``U``, for 3000 normal energies scaled by 1e-300 to 1e300 in chunks of 97; the
    tests allow 64), the same at every scale, and `residual` reports it from those
    sums.

    **Sweeps.** For an array of targets the same dual is solved for all of them at
    once: bracketed Halley iterations over the unfinished targets, each one pass over
    ``(targets, states)`` tiles of about 32768 elements, then the exactly summed
    residual and the polish of each row. Each element equals the scalar solve to
    within what the residual tolerance fixes (a few ulp where :math:`\beta` is well
    conditioned). The memory is that of the result, ``targets x K`` probabilities and
    logits, plus a few tiles.

    Examples
    --------
    Jaynes' Brandeis dice: a die whose faces average 4.5 instead of 3.5.

    >>> import numpy as np
    >>> import expfam
    >>> r = expfam.boltzmann(np.arange(1.0, 7.0), 4.5)
    >>> round(r.beta, 6)
    -0.371049
    >>> np.round(r.probs, 4)
    array([0.0544, 0.0788, 0.1142, 0.1654, 0.2398, 0.3475])
    >>> bool(abs(float(r.probs @ np.arange(1.0, 7.0)) - 4.5) < 1e-14)
    True

    At the ground energy the temperature is zero and the ground states share the mass:

    >>> r = expfam.boltzmann([0.0, 0.0, 1.0], 0.0)
    >>> r.beta, r.temperature, r.probs
    (inf, 0.0, array([0.5, 0.5, 0. ]))

    A temperature sweep of a two-level system, with its heat capacity (the Schottky
    peak near :math:`T \approx 0.42`):

    >>> T = np.array([0.1, 0.42, 2.0])
    >>> r = expfam.boltzmann([0.0, 1.0], temperature=T)
    >>> r.probs.shape, np.round(r.heat_capacity, 4)
    ((3, 2), array([0.0045, 0.4392, 0.0588]))
    """
    if sum(v is not None for v in (mean_energy, beta, temperature)) != 1:
        raise TypeError("give exactly one of `mean_energy`, `beta` and `temperature`")
    # numpy's default error state, whatever the caller's: expected inf arithmetic is
    # silenced locally, anything else would warn (and fail our tests)
    with np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"):
        if is_dask_collection(energies):
            return _dask_result(energies, mean_energy, beta, temperature)
        E, stats = validate_1d_stats(energies, "energies")
        if temperature is not None:
            t = _as_values(temperature, "temperature", allow_inf=True)
            # T -> 0 from either side (-0.0 == 0.0) is beta = +inf: the ground states
            with np.errstate(divide="ignore", over="ignore"):  # |T| < 1/max: beta = ±inf
                b = np.where(t == 0, math.inf, 1.0 / np.where(t == 0, 1.0, t))
            return _result(E, None, b, stats) if t.ndim == 0 else _sweep_result(E, None, b)
        if beta is not None:
            b = _as_values(beta, "beta", allow_inf=True)
            return _result(E, None, b, stats) if b.ndim == 0 else _sweep_result(E, None, b)
        U = _as_values(mean_energy, "mean_energy", allow_inf=False)
        return _result(E, U, None, stats) if U.ndim == 0 else _sweep_result(E, U, None)


def _result(
    E: FloatArray, U: FloatArray | None, beta: FloatArray | None, stats: Stats
) -> BoltzmannResult[float]:
    """Solve (`U` given) or evaluate (`beta` given) for 0-d inputs."""
    if U is None:
        b = float(beta)  # type: ignore[arg-type]
        if b == 0.0:
            sol = degenerate(E, None, None, 0.0)
        elif math.isinf(b):
            pick = (np.min(E) if b > 0 else np.max(E)) == E
            sol = degenerate(E, None, pick, -b)
        else:
            sol = _fixed_beta(E, b)
        residual = None
    else:
        sol = solve_scalar(E, float(U), None, xname="energies", tname="mean_energy", stats=stats)
        residual = sol.residual
    beta_ = 0.0 if sol.lam == 0.0 else -sol.lam
    S, U_ = sol.entropy, sol.mean
    log_z = sol.log_norm
    if beta_ == 0.0:
        temperature = math.inf
        free = -math.inf if S > 0 else U_
    elif math.isinf(beta_):
        temperature = 0.0  # not 1/-inf = -0.0
        free = U_
    else:
        temperature = 1.0 / beta_
        lo, hi = (
            (stats.lo, stats.hi) if stats is not None else (float(np.min(E)), float(np.max(E)))
        )
        log_z, free = _log_z_and_free_energy(E, beta_, log_z, lo, hi)
    return BoltzmannResult(
        logits=sol.logits,
        probs=sol.probs,
        beta=beta_ + 0.0,
        temperature=temperature + 0.0,
        log_partition=log_z + 0.0,
        free_energy=free + 0.0,
        entropy=S + 0.0,
        mean_energy=U_ + 0.0,
        variance=sol.variance + 0.0,
        residual=None if residual is None else residual + 0.0,
        converged=sol.converged,
        iterations=sol.iterations,
        heat_capacity=sol.lam_variance + 0.0,
    )


def _dask_result(
    energies: Any, mean_energy: Any, beta: Any, temperature: Any
) -> BoltzmannResult[float]:
    """Solve or evaluate on Dask energies: scalars computed, probabilities lazy."""
    if temperature is not None:
        t = float(_as_values(temperature, "temperature", allow_inf=True))
        beta = math.inf if t == 0 else 1.0 / t
    b = None if beta is None else _as_values(beta, "beta", allow_inf=True)
    U = None if mean_energy is None else _as_values(mean_energy, "mean_energy", allow_inf=False)
    if (b is not None and b.ndim) or (U is not None and U.ndim):
        raise ValueError(
            "a sweep (an array of `mean_energy`, `beta` or `temperature`) is not supported "
            "with Dask `energies`; give one value per call"
        )
    f = solve_dask(energies, None if U is None else float(U), None if b is None else float(b))
    beta_ = 0.0 if f["beta"] == 0 else float(f["beta"])
    S, U_, log_z = f["entropy"], f["mean"], f["log_norm"]
    if beta_ == 0.0:
        temperature_, free = math.inf, (-math.inf if S > 0 else U_)
    elif math.isinf(beta_):
        temperature_, free = 0.0, U_
    else:
        # F = ref - log Z_ref / beta: finite even where -beta * ref overflows
        temperature_, free = 1.0 / beta_, f["ref"] - f["log_zr"] / beta_
    residual = f["residual"]
    return BoltzmannResult(
        logits=f["logits"],
        probs=f["probs"],
        beta=beta_ + 0.0,
        temperature=temperature_ + 0.0,
        log_partition=log_z + 0.0,
        free_energy=free + 0.0,
        entropy=S + 0.0,
        mean_energy=U_ + 0.0,
        variance=f["variance"] + 0.0,
        residual=None if residual is None else residual + 0.0,
        converged=True,
        iterations=f["iterations"],
        heat_capacity=f["heat_capacity"] + 0.0,
    )


def _sweep_result(
    E: FloatArray, U: FloatArray | None, beta: FloatArray | None
) -> BoltzmannResult[FloatArray]:
    """Solve or evaluate for a sweep: one vectorised solve for all targets."""
    shape = (U if beta is None else beta).shape  # type: ignore[union-attr]
    if U is not None:
        sw: Sweep = solve_batch(E, U.reshape(-1))
    else:
        sw = fixed_beta_batch(E, beta.reshape(-1))  # type: ignore[union-attr]
    b = sw.beta
    b[b == 0] = 0.0  # no -0.0
    finite = np.isfinite(b) & (b != 0)
    zero, inf = b == 0, np.isinf(b)
    with np.errstate(divide="ignore", over="ignore"):
        temperature = np.where(zero, math.inf, np.where(inf, 0.0, 1.0 / np.where(finite, b, 1.0)))
    log_z, free = sw.log_norm.copy(), sw.mean.copy()
    free[zero & (sw.entropy > 0)] = -math.inf
    if np.any(finite):
        lz, fr = log_z_and_free_energy_batch(E, b[finite], sw.log_norm[finite])
        log_z[finite], free[finite] = lz, fr
    # Var E and C = Var(beta E) from E scaled by a power of two per row (unit-free)
    sd, k2 = scaled_sd_rows(sw.probs, E)
    variance = np.where(inf, sw.variance, scaled_square(sd, k2))
    heat = np.where(finite, scaled_square(sd, k2, np.where(finite, b, 0.0)), 0.0)
    k = E.size

    def out(v: FloatArray) -> FloatArray:
        return np.asarray(v + 0.0).reshape(shape)

    return BoltzmannResult(
        logits=sw.logits.reshape((*shape, k)),
        probs=sw.probs.reshape((*shape, k)),
        beta=out(b),
        temperature=out(temperature),
        log_partition=out(log_z),
        free_energy=out(free),
        entropy=out(sw.entropy),
        mean_energy=out(sw.mean),
        variance=out(variance),
        residual=None if U is None else out(sw.residual),
        converged=True,
        iterations=int(np.max(sw.iterations, initial=0)),
        heat_capacity=out(heat),
    )


def _log_z_and_free_energy(
    E: FloatArray, beta: float, dual: float, lo: float, hi: float
) -> tuple[float, float]:
    """Return ``log Z`` and ``F = -log Z / beta``, each to a few eps of its own size.

    `dual` is the solver's value of ``log Z``, accurate only relative to the terms
    of the dual (``-beta*ref`` and the entropy): for E = [0, 1] at beta ~ 690 it gave
    log Z = -2e-314 (the true value is +1e-300), and ``U - T*S`` gave F = 0. Where it
    is small (|log Z| < 1) or cancels against ``-beta*ref``, ``log Z`` is recomputed
    with the reference energy on the side that dominates (the minimum for
    beta > 0): ``log Z = -beta*ref + LSE(b)``, ``b = -beta*(E - ref) <= 0``.

    When ``beta * ref`` overflows (``log Z`` is then ``±inf``), ``F = ref - LSE(b)/beta``
    is still finite: it is computed that way, never as ``-log Z / beta``.
    """
    ref = lo if beta > 0 else hi
    if math.isfinite(dual) and abs(dual) >= max(1.0, 0.5 * abs(beta * ref)):
        return dual, -dual / beta
    lse = _log_z_ref(E, beta, ref, halve=not math.isfinite(hi - lo))
    return -beta * ref + lse, ref - lse / beta


def _log_z_ref(E: FloatArray, beta: float, ref: float, *, halve: bool = False) -> float:
    """``log sum_j exp(-beta (E_j - ref))`` for the dominant reference, in one pass.

    The ``g`` reference states weigh exactly 1 and the others ``w_j < 1``: the sum is
    ``log g + log1p(w/g)``, which keeps the digits of a small ``w``. With `halve`
    (``max E - min E`` overflows) ``E - ref`` is taken in halves.
    """
    g, w = 0.0, 0.0
    buf = np.empty(min(E.size, BLOCK))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i in range(0, E.size, BLOCK):
            eb = E[i : i + BLOCK]
            b = buf[: eb.size]
            at = eb == ref
            if halve:
                np.multiply(eb, 0.5, out=b)
                b -= 0.5 * ref
                b *= -2.0 * beta  # ±inf if it overflows: the weight is then 0
            else:
                np.subtract(eb, ref, out=b)
                b *= -beta
            b[at] = 0.0  # exactly, even where beta * 0 meets an overflowing factor
            np.exp(b, out=b)
            g += float(np.count_nonzero(at))
            w += float(b.sum(where=~at))
    return math.log(g) + math.log1p(w / g) if w < g else math.log(g + w)


def _as_values(v: Any, name: str, *, allow_inf: bool) -> FloatArray:
    """Return a real argument (scalar or array of targets) as float64, or raise naming it."""
    a = as_float_array(v, name).astype(np.float64, copy=False)
    if np.any(np.isnan(a)) or (not allow_inf and np.any(np.isinf(a))):
        bad = a[np.isnan(a) | (np.isinf(a) & (not allow_inf))].reshape(-1)[0]
        where = "" if a.ndim == 0 else " everywhere"
        kind = "a number" if allow_inf else "finite"
        raise ValueError(f"`{name}` must be {kind}{where}; got {float(bad)!r}")
    return a
