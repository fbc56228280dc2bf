r"""expfam: exponential-family statistics on numpy and scipy.

Kernels of the categorical family (:func:`logsumexp`, :func:`softmax`,
:func:`log_softmax`, :func:`entropy`, :func:`kl_divergence`, :func:`cross_entropy`,
:func:`cross_entropy_with_logits`), the :class:`ExponentialFamily` base and its
families, and maximum-entropy solvers.

Edge policy (the same for every function; see the *Conventions* page of the docs):

* ``-inf`` logits are masked categories: probability exactly 0, log-probability
  ``-inf``, and a zero contribution wherever the target weight is 0.
* :math:`0 \log 0 = 0`. KL and cross-entropy are ``+inf`` where ``q = 0 < p``;
  a zero never makes a ``nan``.
* ``logsumexp``: empty axis or all ``-inf`` gives ``-inf``; any ``+inf`` (and no
  ``nan``) gives ``+inf``; any ``nan`` gives ``nan``.
* ``softmax``/``log_softmax`` of a row whose max is ``+inf``, that is all ``-inf`` or
  that holds a ``nan``: ``nan`` for that row only. An empty axis gives an empty result.
* Probability arguments with a negative entry raise ``ValueError`` naming the argument;
  nothing is silently renormalised. Complex input raises ``TypeError``.
* No numpy ``RuntimeWarning`` escapes.
* A ``-0.0`` weight is a zero weight; results do not depend on the caller's
  ``np.errstate`` (each function sets the state it needs locally).
"""

from expfam._boltzmann import BoltzmannResult, boltzmann
from expfam._errors import ConvergenceError, InfeasibleError
from expfam._families.bernoulli import Bernoulli
from expfam._families.beta import Beta
from expfam._families.binomial import Binomial
from expfam._families.categorical import Categorical
from expfam._families.dirichlet import Dirichlet
from expfam._families.exponential import Exponential
from expfam._families.gamma import Gamma
from expfam._families.geometric import Geometric
from expfam._families.negative_binomial import NegativeBinomial
from expfam._families.normal import Normal
from expfam._families.poisson import Poisson
from expfam._family import ExponentialFamily
from expfam._glm import glm
from expfam._glm_result import GLMResult
from expfam._kernels import (
    cross_entropy,
    cross_entropy_with_logits,
    entropy,
    kl_divergence,
    log_softmax,
    logsumexp,
    softmax,
)
from expfam._maxent import MaxEntResult, max_entropy
from expfam._suffstats import SufficientStatistics

__version__ = "0.1.0.dev0"

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "BoltzmannResult",
    "Categorical",
    "ConvergenceError",
    "Dirichlet",
    "Exponential",
    "ExponentialFamily",
    "GLMResult",
    "Gamma",
    "Geometric",
    "InfeasibleError",
    "MaxEntResult",
    "NegativeBinomial",
    "Normal",
    "Poisson",
    "SufficientStatistics",
    "__version__",
    "boltzmann",
    "cross_entropy",
    "cross_entropy_with_logits",
    "entropy",
    "glm",
    "kl_divergence",
    "log_softmax",
    "logsumexp",
    "max_entropy",
    "softmax",
]
