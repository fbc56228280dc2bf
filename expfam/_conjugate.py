r"""Conjugate priors: posterior updates and posterior predictive distributions.

The API is two methods on the prior, ``prior.posterior(Likelihood, x)`` and
``prior.posterior_predictive(Likelihood)``, with the likelihood given as a *class*
(its parameter is what the prior is over). Both dispatch to the functions here.

Updates after observations :math:`x_1, \dots, x_N` (all weights 1), and predictives:

* ``Beta(a, b)`` and :class:`~expfam.Bernoulli`:
  :math:`(a + \sum x_i,\ b + N - \sum x_i)`; predictive
  :class:`~expfam.Bernoulli` with ``probs = a / (a + b)``.
* ``Beta(a, b)`` and :class:`~expfam.Binomial` (``n`` trials):
  :math:`(a + \sum x_i,\ b + \sum (n_i - x_i))`; ``n`` broadcasts against ``x``, so
  it may be one number, one per batch member, or one per observation (shape
  ``(N,)``); predictive beta-binomial ``scipy.stats.betabinom(n, a, b)``.
* ``Beta(a, b)`` and :class:`~expfam.Geometric` (trials to the first success):
  :math:`(a + N,\ b + \sum x_i - N)`; predictive beta-geometric
  ``scipy.stats.betanbinom(1, a, b, loc=1)``.
* ``Gamma(alpha, beta)`` and :class:`~expfam.Poisson`:
  :math:`(\alpha + \sum x_i,\ \beta + N)`; predictive negative binomial
  ``scipy.stats.nbinom(alpha, beta / (1 + beta))``.
* ``Gamma(alpha, beta)`` and :class:`~expfam.Exponential`:
  :math:`(\alpha + N,\ \beta + \sum x_i)`; predictive Lomax
  ``scipy.stats.lomax(alpha, scale=beta)``.
* ``Dirichlet(alpha)`` and :class:`~expfam.Categorical`:
  :math:`\alpha + \text{counts}`; predictive :class:`~expfam.Categorical` with
  ``probs = alpha / alpha.sum()``.

A predictive that is itself one of our families is returned as such; the others (not
exponential families) are frozen :mod:`scipy.stats` distributions, batched like the
prior, with the full scipy API (``pmf``/``pdf``, ``logpmf``/``logpdf``, ``mean``,
``var``, ``rvs``, ...); they compute in float64.

Observations lie along the first axis, ``x.shape = (N,) + batch_shape`` (broadcast
against the prior's batch). Optional non-negative ``weights`` of shape ``(N,)``
count each observation fractionally: :math:`N \to \sum w_i`,
:math:`\sum x_i \to \sum w_i x_i` (zero weights leave the prior unchanged). Updating
in several batches gives the same posterior as updating once with all the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from expfam._categorical import Categorical
from expfam._continuous import Beta, Exponential, Gamma, _cast
from expfam._dirichlet import Dirichlet
from expfam._discrete import Bernoulli, Binomial, Geometric, Poisson, _check_n, _integers
from expfam._family import ExponentialFamily
from expfam._validation import as_float_array

__all__ = ["posterior", "posterior_predictive"]

F64 = NDArray[np.float64]


def _weights(weights: ArrayLike | None, n_obs: int) -> F64:
    if weights is None:
        return np.ones(n_obs)
    w = as_float_array(weights, "weights")
    if w.shape != (n_obs,):
        raise ValueError(
            f"`weights` must have shape {(n_obs,)} (one per observation); got {w.shape}"
        )
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(w) & (w >= 0)
    if not np.all(ok):
        raise ValueError(f"`weights` must be finite and non-negative; found {float(w[~ok][0])!r}")
    return w.astype(np.float64)


def _observations(x: ArrayLike) -> F64:
    a = as_float_array(x, "x")
    if a.ndim == 0:
        raise ValueError("`x` must hold observations along its first axis; got a scalar")
    return a.astype(np.float64)


def _wsum(w: F64, values: F64) -> F64:
    """``sum_i w_i values_i`` over the first axis."""
    return np.asarray(np.tensordot(w, values, axes=(0, 0)))


# ---------------------------------------------------------------------- updates
def _beta_bernoulli(prior: Beta, x: ArrayLike, w: ArrayLike | None) -> Beta:
    k = _integers(_observations(x), "x", "Bernoulli", 0, np.ones(()), upper_label="1")
    ww = _weights(w, k.shape[0])
    a, b = prior._params64
    return _beta(prior, a + _wsum(ww, k), b + _wsum(ww, 1 - k))


def _beta_binomial(prior: Beta, x: ArrayLike, w: ArrayLike | None, n: ArrayLike) -> Beta:
    n64 = _check_n(n)
    obs = _observations(x)
    try:
        np.broadcast_shapes(n64.shape, obs.shape)
    except ValueError:
        raise ValueError(
            f"`n` with shape {n64.shape} does not broadcast against `x` with shape "
            f"{obs.shape} (observations along the first axis; `n` may be one number, one "
            "per batch member or one per observation)"
        ) from None
    k = _integers(obs, "x", "Binomial", 0, n64)
    ww = _weights(w, k.shape[0])
    a, b = prior._params64
    return _beta(prior, a + _wsum(ww, k), b + _wsum(ww, n64 - k))


def _beta_geometric(prior: Beta, x: ArrayLike, w: ArrayLike | None) -> Beta:
    k = _integers(_observations(x), "x", "Geometric", 1)
    ww = _weights(w, k.shape[0])
    a, b = prior._params64
    return _beta(prior, a + _wsum(ww, np.ones_like(k)), b + _wsum(ww, k - 1))


def _gamma_poisson(prior: Gamma, x: ArrayLike, w: ArrayLike | None) -> Gamma:
    k = _integers(_observations(x), "x", "Poisson")
    ww = _weights(w, k.shape[0])
    a, b = prior._params64
    return _gamma(prior, a + _wsum(ww, k), b + _wsum(ww, np.ones_like(k)))


def _gamma_exponential(prior: Gamma, x: ArrayLike, w: ArrayLike | None) -> Gamma:
    obs = _observations(x)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(obs) & (obs >= 0)
    if not np.all(ok):
        raise ValueError(
            f"`x` must be in the support [0, inf) of an Exponential; found {float(obs[~ok][0])!r}"
        )
    ww = _weights(w, obs.shape[0])
    a, b = prior._params64
    return _gamma(prior, a + _wsum(ww, np.ones_like(obs)), b + _wsum(ww, obs))


def _dirichlet_categorical(prior: Dirichlet, x: ArrayLike, w: ArrayLike | None) -> Dirichlet:
    k = prior.num_categories
    onehot = Categorical(logits=np.zeros(k)).sufficient_statistic(x).astype(np.float64)
    if onehot.ndim < 2:
        raise ValueError("`x` must hold labels along its first axis; got a scalar")
    ww = _weights(w, onehot.shape[0])
    alpha = prior._alpha64 + _wsum(ww, onehot)
    return Dirichlet(concentration=_cast(alpha, prior.dtype))


def _beta(prior: Beta, a: F64, b: F64) -> Beta:
    return Beta(a=_cast(a, prior.dtype), b=_cast(b, prior.dtype))


def _gamma(prior: Gamma, a: F64, b: F64) -> Gamma:
    return Gamma(shape=_cast(a, prior.dtype), rate=_cast(b, prior.dtype))


_UPDATES: dict[tuple[type[ExponentialFamily], type[ExponentialFamily]], Callable[..., Any]] = {
    (Beta, Bernoulli): _beta_bernoulli,
    (Beta, Binomial): _beta_binomial,
    (Beta, Geometric): _beta_geometric,
    (Gamma, Poisson): _gamma_poisson,
    (Gamma, Exponential): _gamma_exponential,
    (Dirichlet, Categorical): _dirichlet_categorical,
}


def _lookup(
    table: dict[tuple[type[ExponentialFamily], type[ExponentialFamily]], Callable[..., Any]],
    prior: ExponentialFamily,
    likelihood: Any,
) -> Callable[..., Any]:
    key = (type(prior), likelihood)
    if key not in table:
        names = sorted(lik.__name__ for (pri, lik) in table if pri is type(prior))
        got = getattr(likelihood, "__name__", repr(likelihood))
        raise TypeError(
            f"`likelihood` must be one of the classes {names} that {type(prior).__name__} is "
            f"conjugate to; got {got}"
        )
    return table[key]


def _n_kwarg(likelihood: Any, fixed: dict[str, Any]) -> dict[str, Any]:
    if likelihood is Binomial:
        if set(fixed) != {"n"}:
            raise TypeError("a Binomial likelihood needs its number of trials: pass `n=`")
        return fixed
    if fixed:
        raise TypeError(
            f"a {likelihood.__name__} likelihood takes no fixed parameters; got {sorted(fixed)}"
        )
    return {}


def posterior(
    prior: ExponentialFamily,
    likelihood: type[ExponentialFamily],
    x: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    **fixed: Any,
) -> ExponentialFamily:
    """Posterior of a conjugate `prior` after observations `x` from `likelihood`.

    See the module docstring for the table of updates; the methods
    :meth:`Beta.posterior <expfam.Beta.posterior>`,
    :meth:`Gamma.posterior <expfam.Gamma.posterior>` and
    :meth:`Dirichlet.posterior <expfam.Dirichlet.posterior>` call this.
    """
    update = _lookup(_UPDATES, prior, likelihood)
    extra = _n_kwarg(likelihood, fixed)
    out: ExponentialFamily = update(prior, x, weights, *extra.values())
    return out


# ---------------------------------------------------------------------- predictives
def _pred_bernoulli(prior: Beta) -> Bernoulli:
    a, b = prior._params64
    return Bernoulli(probs=_cast(a / (a + b), prior.dtype))


def _pred_binomial(prior: Beta, n: ArrayLike) -> Any:
    a, b = prior._params64
    return stats.betabinom(_check_n(n).astype(np.int64), a, b)


def _pred_geometric(prior: Beta) -> Any:
    a, b = prior._params64
    return stats.betanbinom(1, a, b, loc=1)


def _pred_poisson(prior: Gamma) -> Any:
    a, b = prior._params64
    return stats.nbinom(a, b / (1 + b))


def _pred_exponential(prior: Gamma) -> Any:
    a, b = prior._params64
    return stats.lomax(a, scale=b)


def _pred_categorical(prior: Dirichlet) -> Categorical:
    alpha = prior._alpha64
    return Categorical(probs=_cast(alpha / alpha.sum(axis=-1, keepdims=True), prior.dtype))


_PREDICTIVES: dict[tuple[type[ExponentialFamily], type[ExponentialFamily]], Callable[..., Any]] = {
    (Beta, Bernoulli): _pred_bernoulli,
    (Beta, Binomial): _pred_binomial,
    (Beta, Geometric): _pred_geometric,
    (Gamma, Poisson): _pred_poisson,
    (Gamma, Exponential): _pred_exponential,
    (Dirichlet, Categorical): _pred_categorical,
}


def posterior_predictive(
    prior: ExponentialFamily, likelihood: type[ExponentialFamily], **fixed: Any
) -> Any:
    """Predictive distribution of one new observation from `likelihood` under `prior`.

    Returns an expfam family where the predictive is one (Bernoulli, Categorical),
    otherwise a frozen :mod:`scipy.stats` distribution; see the module docstring.
    """
    make = _lookup(_PREDICTIVES, prior, likelihood)
    extra = _n_kwarg(likelihood, fixed)
    return make(prior, *extra.values())
