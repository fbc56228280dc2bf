r"""Conjugate priors: a registry that each likelihood's module fills.

A likelihood family declares its conjugate prior in its own module with
:func:`register_conjugate`: the prior family, the update (a function of the prior
and the likelihood's :class:`~expfam.SufficientStatistics`) and the posterior
predictive. ``prior.posterior(Likelihood, x)`` and
``prior.posterior_predictive(Likelihood)`` (methods of every family) look the pair
up here. This module imports no family.

Observations lie along the first axis, ``x.shape = (N,) + batch_shape`` (broadcast
against the prior's batch). Optional non-negative ``weights`` of shape ``(N,)``
count each observation fractionally: :math:`N \to \sum w_i`,
:math:`\sum x_i \to \sum w_i x_i` (zero weights leave the prior unchanged). Since an
update reads only the statistics, updating in several batches, or once with merged
statistics, gives the same posterior as updating once with all the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ConjugateRule", "conjugate_rule", "register_conjugate"]


@dataclass(frozen=True)
class ConjugateRule:
    """How a prior family is updated by, and predicts, one likelihood family."""

    update: Callable[[Any, Any], Any]
    predictive: Callable[..., Any]
    known: Callable[[Any], dict[str, Any]] | None = None


_RULES: dict[tuple[type, type], ConjugateRule] = {}


def register_conjugate(
    prior: type,
    likelihood: type,
    *,
    update: Callable[[Any, Any], Any],
    predictive: Callable[..., Any],
    known: Callable[[Any], dict[str, Any]] | None = None,
) -> None:
    """Declare `prior` conjugate to `likelihood` (called by the likelihood's module).

    `update(prior_dist, stats)` returns the posterior from the likelihood's
    statistics; `predictive(prior_dist, **fixed)` the predictive distribution of one
    new observation; `known(prior_dist)`, if given, the likelihood's known parameters
    that the prior determines (e.g. a Dirichlet's number of categories).
    """
    _RULES[prior, likelihood] = ConjugateRule(update=update, predictive=predictive, known=known)


def conjugate_rule(prior: type, likelihood: Any) -> ConjugateRule:
    """Return the registered rule, or raise ``TypeError`` listing the likelihoods."""
    rule = _RULES.get((prior, likelihood))
    if rule is None:
        names = sorted(lik.__name__ for (pri, lik) in _RULES if pri is prior)
        got = getattr(likelihood, "__name__", repr(likelihood))
        if not names:
            raise TypeError(f"{prior.__name__} is not a conjugate prior of any expfam family")
        raise TypeError(
            f"`likelihood` must be one of the classes {names} that {prior.__name__} is "
            f"conjugate to; got {got}"
        )
    return rule
