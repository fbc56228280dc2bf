r"""Per-family pieces of a generalized linear model, as functions of the linear predictor.

A GLM with linear predictor :math:`\eta_i = x_i^\top\beta + o_i` minimises
:math:`\sum_i w_i f(\eta_i; y_i)`. For a canonical link :math:`f(\eta; y) = A(\eta) - y\eta`
with :math:`A` the family's log-partition per unit of dispersion, so the gradient is
:math:`\mu(\eta) - y` and the Hessian is the variance :math:`A''(\eta)`, the Fisher
information. Each class below supplies those closed forms, the support check of the
response, the unit deviance, which responses lie on the boundary of the convex support
(for the existence linear program), the fitted distribution built with the family's
public constructors, and the log-likelihood as R's ``logLik`` computes it.

The test suite checks every closed form here against the families' public
``log_partition``, ``mean_params`` and ``fisher_information``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy import special

from expfam._families.bernoulli import Bernoulli
from expfam._families.binomial import Binomial
from expfam._families.categorical import Categorical
from expfam._families.exponential import Exponential
from expfam._families.gamma import Gamma
from expfam._families.geometric import Geometric
from expfam._families.normal import Normal
from expfam._families.poisson import Poisson
from expfam._family import ExponentialFamily
from expfam._kernels import log_softmax, logsumexp, softmax

__all__ = ["GLM_FAMILIES", "CategoricalModel", "ScalarModel", "make_model"]

F64 = NDArray[np.float64]


def _xlogy0(x: F64, y: F64) -> F64:
    """``x * log(y)`` with ``0 * log(0) = 0`` (y may be 0 where x is 0)."""
    return np.asarray(special.xlogy(x, y), dtype=np.float64)


class ScalarModel:
    """A one-parameter GLM: the response, its checks and the closed forms in eta.

    Subclasses set the class attributes and override the closed forms. Methods take
    and return float64 arrays of shape ``(n,)``.
    """

    family: ClassVar[type[ExponentialFamily]]
    #: natural domain is eta < 0 (else all of R)
    negative_domain: ClassVar[bool] = False
    #: the dispersion is estimated (Pearson, as R's summary.glm)
    has_dispersion: ClassVar[bool] = False
    #: the existence of the MLE is decided by a linear program
    discrete: ClassVar[bool] = False
    #: the limit eta = +inf is a distribution (a Bernoulli or binomial at its top)
    upper_limit: ClassVar[bool] = False
    canonical: ClassVar[bool] = True
    link_name: ClassVar[str] = "canonical"
    K: ClassVar[int] = 1

    def __init__(self, y: F64, fixed: dict[str, Any], n_rows: int) -> None:
        self.y = y
        self.n = self._trials(fixed, n_rows)

    # -------------------------------------------------------------- the response
    def _trials(self, fixed: dict[str, Any], n_rows: int) -> F64:
        del n_rows
        if fixed:
            raise TypeError(
                f"glm with {self.family.__name__} takes no fixed parameters; got {sorted(fixed)}"
            )
        return np.ones(1)

    def check_y(self, y: F64) -> str | None:
        """Return a description of the support if some `y` is outside it, else None."""
        del y
        return None

    # -------------------------------------------------------------- closed forms in eta
    def in_domain(self, eta: F64) -> NDArray[np.bool_]:
        """Rows whose linear predictor is in the natural domain."""
        if self.negative_domain:
            return np.asarray(eta < 0)
        return np.isfinite(eta)

    def cumulant(self, eta: F64) -> F64:
        """Log-partition per unit dispersion, A(eta)."""
        raise NotImplementedError

    def mean(self, eta: F64) -> F64:
        """Mean of the response, A'(eta)."""
        raise NotImplementedError

    def variance(self, eta: F64) -> F64:
        """Variance function at eta, A''(eta)."""
        raise NotImplementedError

    def value(self, eta: F64, y: F64, n: F64) -> F64:
        """Per-row negative log-likelihood up to terms free of eta: A(eta) - y eta."""
        del n
        return self.cumulant(eta) - y * eta

    def grad(self, eta: F64, y: F64, n: F64) -> F64:
        """Return the derivative of :meth:`value` in eta."""
        del n
        return self.mean(eta) - y

    def hess(self, eta: F64, y: F64, n: F64) -> F64:
        """Second derivative of :meth:`value` in eta (used by Newton)."""
        del y, n
        return self.variance(eta)

    def fisher(self, eta: F64, n: F64) -> F64:
        """Return the expected information per row (the IRLS weight), for the covariance."""
        del n
        return self.variance(eta)

    def terms(self, eta: F64, y: F64, n: F64, order: int) -> tuple[F64, F64, F64]:
        """Return :meth:`value` (inf outside the domain) and, by `order`, grad and hess.

        Families override it to share the transcendental functions between the three.
        """
        vals = np.where(self.in_domain(eta), self.value(eta, y, n), np.inf)
        grad = self.grad(eta, y, n) if order >= 1 else vals
        hess = self.hess(eta, y, n) if order >= 2 else vals
        return vals, grad, hess

    def start(self, y: F64) -> F64:
        """Return a starting linear predictor per row (in the domain)."""
        raise NotImplementedError

    def link(self, m: float) -> float:
        """Return the linear predictor whose mean (per trial) is `m` (the link function)."""
        raise NotImplementedError

    def offset_moments(self, y: F64, w: F64, n: F64, off: F64) -> tuple[float, float]:
        """Return sums ``(a, b)``: ``log(a / b)`` is the intercept-only MLE given `off`.

        Only for a log link (the score equation of the intercept is then solved in
        closed form); ``(nan, nan)`` otherwise. `w` > 0 on every row given.
        """
        del y, w, n, off
        return math.nan, math.nan

    # -------------------------------------------------------------- goodness of fit
    def unit_deviance(self, y: F64, mu: F64, n: F64) -> F64:
        """Return the unit deviance 2 (log p(y | saturated) - log p(y | mu)) per dispersion."""
        raise NotImplementedError

    def unit_deviance_eta(self, y: F64, eta: F64, n: F64) -> F64:
        """Return the unit deviance at the linear predictor `eta` (the fitted rows).

        Families whose mean rounds to its bound far out (``expit(40) == 1``) write it
        in `eta`, where it stays finite; the others go through the mean.
        """
        return self.unit_deviance(y, self.mean_n(eta, n), n)

    def constant_deviance(self, y: F64, w: F64, n: F64, rate: float) -> float:
        """Return the deviance of the mean ``n rate`` on every row (weights `w` > 0)."""
        with np.errstate(all="ignore"):
            return float(np.sum(w * self.unit_deviance(y, n * rate, n)))

    def pearson(self, y: F64, mu: F64, eta: F64, n: F64) -> F64:
        """Squared Pearson residual per row, (y - mu)^2 / V(mu)."""
        del mu
        return np.asarray((y - self.mean_n(eta, n)) ** 2 / self.variance_n(eta, n))

    def mean_n(self, eta: F64, n: F64) -> F64:
        """Mean with the trials of a binomial (else the mean)."""
        del n
        return self.mean(eta)

    def variance_n(self, eta: F64, n: F64) -> F64:
        """Variance function with the trials of a binomial (else the variance)."""
        del n
        return self.variance(eta)

    def boundary(self, y: F64, n: F64) -> NDArray[np.int8]:
        """Per row: -1 if y is the lower end of the support, +1 the upper end, else 0."""
        del n
        return np.zeros(y.shape, dtype=np.int8)

    def limit_eta(self, side: NDArray[np.int8]) -> F64:
        """Return the linear predictor of the limit model on rows pushed to a side (+-1)."""
        return np.where(side > 0, np.inf, -np.inf)

    # -------------------------------------------------------------- distributions
    def distribution(self, eta: F64, n: F64, dispersion: float) -> ExponentialFamily:
        """Return the fitted distributions (batch shape ``eta.shape``), via public constructors."""
        del n, dispersion
        return self.family.from_natural_params(eta[..., None])

    def saturated(self, y: F64, w: F64, n: F64) -> float | None:
        """Log-likelihood of the saturated model (every mean at its response), if closed.

        Then the log-likelihood is this minus half the deviance (whose unit terms are
        twice the saturated minus the fitted log-likelihood of each row); None: the
        log-likelihood is summed from the fitted distributions' ``log_prob``.
        """
        del y, w, n
        return None

    def loglik(self, y: F64, eta: F64, w: F64, n: F64, deviance: float) -> float:
        """Log-likelihood as R's ``logLik`` computes it (rows of positive weight given)."""
        sat = self.saturated(y, w, n)
        if sat is not None:
            return sat - deviance / 2
        dist = self.distribution(eta, n, 1.0)
        lp = dist.log_prob(y)
        return float(np.sum(np.where(w > 0, w * lp, 0.0)))


class _Bernoulli(ScalarModel):
    family = Bernoulli
    discrete = True
    upper_limit = True

    def check_y(self, y: F64) -> str | None:
        return None if np.all((y == 0) | (y == 1)) else "0 or 1"

    def cumulant(self, eta: F64) -> F64:
        return np.logaddexp(0.0, eta)

    def mean(self, eta: F64) -> F64:
        return np.asarray(special.expit(eta))

    def variance(self, eta: F64) -> F64:
        return np.asarray(special.expit(eta) * special.expit(-eta))

    def start(self, y: F64) -> F64:
        return np.asarray(special.logit((y + 0.5) / 2))

    def link(self, m: float) -> float:
        return float(special.logit(m))

    def unit_deviance(self, y: F64, mu: F64, n: F64) -> F64:
        del n
        # y is 0 or 1 (other rows have weight 0): -2 log of the probability of y
        with np.errstate(divide="ignore"):
            return -2 * np.log(np.where(y == 1, mu, 1 - mu))

    def unit_deviance_eta(self, y: F64, eta: F64, n: F64) -> F64:
        del n
        # -2 log p(y) = 2 log(1 + exp(-s eta)), s = +1 for y = 1, -1 for y = 0: finite
        # where 1 - expit(eta) rounds to 0 (a misfit row at eta = 40 has deviance 80)
        with np.errstate(invalid="ignore"):
            return np.asarray(2 * np.logaddexp(0.0, np.where(y == 1, -eta, eta)))

    def saturated(self, y: F64, w: F64, n: F64) -> float | None:
        del y, w, n
        return 0.0

    def constant_deviance(self, y: F64, w: F64, n: F64, rate: float) -> float:
        # y is 0 or 1: the sum of w y and of w (1 - y) times -2 log of their probability
        del n
        wy = float(w @ y)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -2 * (
                _xlogy0(np.array(wy), np.array(rate))
                + _xlogy0(np.array(float(np.sum(w)) - wy), np.array(1 - rate))
            )
        return float(out)

    def boundary(self, y: F64, n: F64) -> NDArray[np.int8]:
        del n
        return np.where(y == 1, 1, -1).astype(np.int8)

    def terms(self, eta: F64, y: F64, n: F64, order: int) -> tuple[F64, F64, F64]:
        # one exponential: e = exp(-|eta|) <= 1, a = 1 / (1 + e); the larger of
        # p = expit(eta) and 1 - p is a, the smaller e a (each to an ulp), p (1 - p) = e a^2
        e = np.abs(eta)
        np.negative(e, out=e)
        np.exp(e, out=e)
        vals = np.log1p(e)
        vals += np.maximum(eta, 0.0)  # log(1 + exp(eta))
        if n.size > 1 or n[0] != 1:
            vals *= n
        vals -= y * eta
        if order == 0:
            return vals, vals, vals
        a = e + 1.0
        np.reciprocal(a, out=a)
        e *= a  # the smaller probability
        grad = np.where(eta >= 0, a, e)
        if n.size > 1 or n[0] != 1:
            grad *= n
            e *= n
        grad -= y
        e *= a
        return vals, grad, e


class _Binomial(ScalarModel):
    family = Binomial
    discrete = True
    upper_limit = True

    def _trials(self, fixed: dict[str, Any], n_rows: int) -> F64:
        if set(fixed) != {"n"}:
            raise TypeError(
                "glm with Binomial needs exactly the fixed parameter `n` (trials per row "
                f"or a scalar); got {sorted(fixed)}"
            )
        n = np.asarray(fixed["n"])
        if n.dtype.kind not in "biuf" or n.ndim > 1:
            raise ValueError(f"`n` must be an integer scalar or shape ({n_rows},)")
        n = np.broadcast_to(n.astype(np.float64), (n_rows,)) if n.ndim == 0 else n
        if n.shape != (n_rows,):
            raise ValueError(f"`n` must be a scalar or have shape ({n_rows},); got {n.shape}")
        nf = n.astype(np.float64)
        if not np.all(np.isfinite(nf) & (nf >= 1) & (nf == np.round(nf))):
            raise ValueError("`n` must hold positive integers (trials per row)")
        return nf

    def check_y(self, y: F64) -> str | None:
        ok = np.all((y >= 0) & (y <= self.n) & (y == np.round(y)))
        return None if ok else "integers in {0, ..., n} (n the trials of the row)"

    def cumulant(self, eta: F64) -> F64:
        return np.logaddexp(0.0, eta)

    def mean(self, eta: F64) -> F64:
        return np.asarray(special.expit(eta))

    def variance(self, eta: F64) -> F64:
        return np.asarray(special.expit(eta) * special.expit(-eta))

    def value(self, eta: F64, y: F64, n: F64) -> F64:
        return n * self.cumulant(eta) - y * eta

    def grad(self, eta: F64, y: F64, n: F64) -> F64:
        return n * self.mean(eta) - y

    def hess(self, eta: F64, y: F64, n: F64) -> F64:
        del y
        return n * self.variance(eta)

    def fisher(self, eta: F64, n: F64) -> F64:
        return n * self.variance(eta)

    def mean_n(self, eta: F64, n: F64) -> F64:
        return n * self.mean(eta)

    def variance_n(self, eta: F64, n: F64) -> F64:
        return n * self.variance(eta)

    def start(self, y: F64) -> F64:
        return np.asarray(special.logit((y + 0.5) / (self.n + 1)))

    def link(self, m: float) -> float:
        return float(special.logit(m))

    def saturated(self, y: F64, w: F64, n: F64) -> float | None:
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = (
                special.gammaln(n + 1)
                - special.gammaln(y + 1)
                - special.gammaln(n - y + 1)
                + _xlogy0(y, y / n)
                + _xlogy0(n - y, (n - y) / n)
            )
        return float(np.sum(w * lp))

    def unit_deviance(self, y: F64, mu: F64, n: F64) -> F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * (_xlogy0(y, y / mu) + _xlogy0(n - y, (n - y) / (n - mu)))

    def unit_deviance_eta(self, y: F64, eta: F64, n: F64) -> F64:
        # n - mu = n expit(-eta): no cancellation where expit(eta) rounds to 1
        p, q = special.expit(eta), special.expit(-eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(2 * (_xlogy0(y, y / (n * p)) + _xlogy0(n - y, (n - y) / (n * q))))

    def boundary(self, y: F64, n: F64) -> NDArray[np.int8]:
        return np.where(y == n, 1, np.where(y == 0, -1, 0)).astype(np.int8)

    def terms(self, eta: F64, y: F64, n: F64, order: int) -> tuple[F64, F64, F64]:
        return _Bernoulli.terms(self, eta, y, n, order)  # type: ignore[arg-type]

    def distribution(self, eta: F64, n: F64, dispersion: float) -> ExponentialFamily:
        del dispersion
        return Binomial.from_natural_params(eta[..., None], n=n.astype(np.int64))


class _Poisson(ScalarModel):
    family = Poisson
    discrete = True

    def check_y(self, y: F64) -> str | None:
        ok = np.all((y >= 0) & (y == np.round(y)))
        return None if ok else "non-negative integers"

    def cumulant(self, eta: F64) -> F64:
        return np.exp(eta)

    def mean(self, eta: F64) -> F64:
        return np.exp(eta)

    def variance(self, eta: F64) -> F64:
        return np.exp(eta)

    def start(self, y: F64) -> F64:
        return np.log(y + 0.5)

    def link(self, m: float) -> float:
        return math.log(m) if m > 0 else -math.inf

    def offset_moments(self, y: F64, w: F64, n: F64, off: F64) -> tuple[float, float]:
        del n  # 1: the score of the intercept is sum w (exp(b + o) - y)
        return float(w @ y), float(w @ np.exp(off))

    def unit_deviance(self, y: F64, mu: F64, n: F64) -> F64:
        del n
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * (_xlogy0(y, y / mu) - (y - mu))

    def saturated(self, y: F64, w: F64, n: F64) -> float | None:
        del n
        return float(w @ (_xlogy0(y, y) - y - special.gammaln(y + 1)))

    def boundary(self, y: F64, n: F64) -> NDArray[np.int8]:
        del n
        return np.where(y == 0, -1, 0).astype(np.int8)

    def terms(self, eta: F64, y: F64, n: F64, order: int) -> tuple[F64, F64, F64]:
        del n, order
        mu = np.exp(eta)
        vals = y * eta
        np.subtract(mu, vals, out=vals)
        return vals, mu - y, mu


class _Geometric(ScalarModel):
    family = Geometric
    discrete = True
    negative_domain = True

    def check_y(self, y: F64) -> str | None:
        ok = np.all((y >= 1) & (y == np.round(y)))
        return None if ok else "integers >= 1 (trials up to the first success)"

    def cumulant(self, eta: F64) -> F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(eta < 0, eta - np.log(-np.expm1(np.minimum(eta, 0))), np.inf)

    def mean(self, eta: F64) -> F64:
        with np.errstate(divide="ignore"):
            return -1 / np.expm1(eta)

    def variance(self, eta: F64) -> F64:
        with np.errstate(divide="ignore", over="ignore"):
            return np.asarray(np.exp(eta) / np.expm1(eta) ** 2)

    def start(self, y: F64) -> F64:
        return np.log1p(-1 / (y + 0.5))

    def link(self, m: float) -> float:
        return math.log1p(-1 / m) if m > 1 else -math.inf

    def unit_deviance(self, y: F64, mu: F64, n: F64) -> F64:
        del n
        # log p(y | mean m) = -log m + (y - 1) log(1 - 1/m), saturated at m = y
        with np.errstate(divide="ignore", invalid="ignore"):
            sat = -np.log(y) + _xlogy0(y - 1, 1 - 1 / y)
            fit = -np.log(mu) + _xlogy0(y - 1, 1 - 1 / mu)
        return np.asarray(2 * (sat - fit))

    def unit_deviance_eta(self, y: F64, eta: F64, n: F64) -> F64:
        del n
        # log p(y) = log(1 - e^eta) + (y - 1) eta: 1 - 1/mu = e^eta is not rounded
        with np.errstate(divide="ignore", invalid="ignore"):
            sat = -np.log(y) + _xlogy0(y - 1, 1 - 1 / y)
            fit = np.log(-np.expm1(eta)) + np.where(y > 1, (y - 1) * eta, 0.0)
        return np.asarray(2 * (sat - fit))

    def boundary(self, y: F64, n: F64) -> NDArray[np.int8]:
        del n
        return np.where(y == 1, -1, 0).astype(np.int8)


class _Normal(ScalarModel):
    family = Normal
    has_dispersion = True

    def cumulant(self, eta: F64) -> F64:
        return eta * eta / 2

    def mean(self, eta: F64) -> F64:
        return eta

    def variance(self, eta: F64) -> F64:
        return np.ones_like(eta)

    def start(self, y: F64) -> F64:
        return y

    def link(self, m: float) -> float:
        return m

    def unit_deviance(self, y: F64, mu: F64, n: F64) -> F64:
        del n
        return (y - mu) ** 2

    def distribution(self, eta: F64, n: F64, dispersion: float) -> ExponentialFamily:
        del n
        return Normal(loc=eta, scale=np.full(eta.shape, np.sqrt(dispersion)))

    def loglik(self, y: F64, eta: F64, w: F64, n: F64, deviance: float) -> float:
        # R: sigma^2 = deviance / nobs and the weights are precisions
        del n
        pos = w > 0
        sigma2 = deviance / np.count_nonzero(pos)
        scale = np.sqrt(sigma2 / w[pos])
        lp = Normal(loc=eta[pos], scale=scale).log_prob(y[pos])
        return float(np.sum(lp))


class _Gamma(ScalarModel):
    """Gamma with the shape as dispersion; canonical eta = -1/mu (the rate per unit shape)."""

    family: ClassVar[type[ExponentialFamily]] = Gamma
    negative_domain = True
    has_dispersion = True

    def check_y(self, y: F64) -> str | None:
        return None if np.all(y > 0) else "positive numbers"

    def cumulant(self, eta: F64) -> F64:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(eta < 0, -np.log(np.where(eta < 0, -eta, 1.0)), np.inf)

    def mean(self, eta: F64) -> F64:
        with np.errstate(divide="ignore"):
            return -1 / eta

    def variance(self, eta: F64) -> F64:
        with np.errstate(divide="ignore"):
            return 1 / (eta * eta)

    def start(self, y: F64) -> F64:
        return -1 / y

    def link(self, m: float) -> float:
        return -1 / m

    def unit_deviance(self, y: F64, mu: F64, n: F64) -> F64:
        del n
        return 2 * (-np.log(y / mu) + (y - mu) / mu)

    def pearson(self, y: F64, mu: F64, eta: F64, n: F64) -> F64:
        del eta, n
        return ((y - mu) / mu) ** 2

    def distribution(self, eta: F64, n: F64, dispersion: float) -> ExponentialFamily:
        del n
        shape = np.full(eta.shape, 1 / dispersion)
        mu = self.mean(eta)
        return Gamma(shape=shape, rate=shape / mu)

    def loglik(self, y: F64, eta: F64, w: F64, n: F64, deviance: float) -> float:
        # R's Gamma()$aic: the shape is sum(w) / deviance, not its MLE
        dist = self.distribution(eta, n, deviance / float(np.sum(w)))
        lp = dist.log_prob(y)
        return float(np.sum(np.where(w > 0, w * lp, 0.0)))


class _GammaLog(_Gamma):
    """Gamma with the log link: mu = exp(eta); f = eta + y exp(-eta) is still convex."""

    negative_domain = False
    canonical = False
    link_name = "log"

    def cumulant(self, eta: F64) -> F64:  # not used: the value is written out below
        return eta

    def mean(self, eta: F64) -> F64:
        return np.exp(eta)

    def variance(self, eta: F64) -> F64:
        return np.exp(2 * eta)

    def value(self, eta: F64, y: F64, n: F64) -> F64:
        del n
        with np.errstate(over="ignore"):
            return eta + y * np.exp(-eta)

    def grad(self, eta: F64, y: F64, n: F64) -> F64:
        del n
        return 1 - y * np.exp(-eta)

    def hess(self, eta: F64, y: F64, n: F64) -> F64:
        del n
        return y * np.exp(-eta)

    def fisher(self, eta: F64, n: F64) -> F64:
        del n
        return np.ones_like(eta)

    def start(self, y: F64) -> F64:
        return np.log(y)

    def link(self, m: float) -> float:
        return math.log(m)

    def offset_moments(self, y: F64, w: F64, n: F64, off: F64) -> tuple[float, float]:
        del n  # the score of the intercept is sum w (1 - y exp(-b - o))
        return float(w @ (y * np.exp(-off))), float(np.sum(w))

    def pearson(self, y: F64, mu: F64, eta: F64, n: F64) -> F64:
        del eta, n
        return ((y - mu) / mu) ** 2

    def distribution(self, eta: F64, n: F64, dispersion: float) -> ExponentialFamily:
        del n
        shape = np.full(eta.shape, 1 / dispersion)
        return Gamma(shape=shape, rate=shape * np.exp(-eta))


class _Exponential(_Gamma):
    family = Exponential
    has_dispersion = False

    def distribution(self, eta: F64, n: F64, dispersion: float) -> ExponentialFamily:
        del n, dispersion
        return Exponential.from_natural_params(eta[..., None])

    def loglik(self, y: F64, eta: F64, w: F64, n: F64, deviance: float) -> float:
        return ScalarModel.loglik(self, y, eta, w, n, deviance)


class _ExponentialLog(_GammaLog):
    family = Exponential
    has_dispersion = False

    def distribution(self, eta: F64, n: F64, dispersion: float) -> ExponentialFamily:
        del n, dispersion
        return Exponential(rate=np.exp(-eta))

    def loglik(self, y: F64, eta: F64, w: F64, n: F64, deviance: float) -> float:
        return ScalarModel.loglik(self, y, eta, w, n, deviance)


class CategoricalModel:
    r"""Softmax regression: rows of counts ``c_i`` (one-hot labels or soft targets).

    The per-row objective is :math:`s_i\\,\\mathrm{LSE}(u_i) - \\langle c_i, u_i\\rangle`
    with :math:`s_i = \\sum_k c_{ik}`: the cross-entropy with logits :math:`h(u)` scaled
    by the row total.
    """

    family = Categorical
    has_dispersion = False
    discrete = True
    canonical = True
    link_name = "canonical"

    def __init__(self, counts: F64) -> None:
        self.y = counts
        self.K = counts.shape[1]
        self.total = counts.sum(axis=1)
        self.n = np.ones(1)

    def value(self, eta: F64) -> F64:
        """Per-row s LSE(u) - <c, u>, with 0 * (-inf) = 0 on masked cells."""
        with np.errstate(invalid="ignore"):
            lin = np.where(self.y_block == 0, 0.0, self.y_block * eta).sum(axis=1)
        return np.asarray(self.t_block * logsumexp(eta, axis=-1) - lin)

    def value_and_probs(self, eta: F64) -> tuple[F64, F64]:
        """Per-row value (as :meth:`value`) and the softmax, from one exponentiation.

        Every row has a finite logit (at most some cells are masked with -inf), so
        the row maximum is finite and the shifted exponentials are in [0, 1].
        """
        top = eta.max(axis=1, keepdims=True)
        e = np.exp(eta - top)
        tot = e.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):
            lin = np.where(self.y_block == 0, 0.0, self.y_block * eta).sum(axis=1)
        lse = top[:, 0] + np.log(tot[:, 0])
        return np.asarray(self.t_block * lse - lin), np.asarray(e / tot)

    y_block: F64
    t_block: F64

    def set_block(self, rows: slice) -> None:
        """Point the per-row data at a block of rows."""
        self.y_block = self.y[rows]
        self.t_block = self.total[rows]

    def probs(self, eta: F64) -> F64:
        """Softmax of each row."""
        return np.asarray(softmax(eta, axis=-1))

    def saturated(self, w: F64) -> float:
        """Return the saturated log-likelihood ``sum_i w_i sum_k c_ik log(c_ik / s_i)``."""
        y = self.y
        part = (y > 0) & (y < self.total[:, None])  # one-hot cells give 0 log 1 = 0
        if not np.any(part):
            return 0.0
        rows = np.flatnonzero(np.any(part, axis=1))
        yr = y[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part[rows], yr * np.log(yr / self.total[rows, None]), 0.0)
        return float(np.sum(w[rows] * terms.sum(axis=1)))

    def loglik(self, eta: F64, w: F64) -> float:
        """Return the log-likelihood ``sum_i w_i sum_k c_ik log p_ik`` of logits `eta`."""
        lp = log_softmax(eta, axis=-1)
        with np.errstate(invalid="ignore"):
            rows = np.where(self.y > 0, self.y * lp, 0.0).sum(axis=1)
        return float(np.sum(np.where(w > 0, w * rows, 0.0)))


GLM_FAMILIES: dict[type[ExponentialFamily], dict[str, type[ScalarModel]]] = {
    Bernoulli: {"canonical": _Bernoulli},
    Binomial: {"canonical": _Binomial},
    Poisson: {"canonical": _Poisson, "log": _Poisson},
    Geometric: {"canonical": _Geometric},
    Normal: {"canonical": _Normal, "identity": _Normal},
    Gamma: {"canonical": _Gamma, "log": _GammaLog},
    Exponential: {"canonical": _Exponential, "log": _ExponentialLog},
}


def make_model(family: Any, link: Any) -> type[ScalarModel] | None:
    """Return the model class of `family` and `link` (None for Categorical); raise on others."""
    if family is Categorical:
        if link != "canonical":
            raise ValueError(f"`link` must be 'canonical' for Categorical; got {link!r}")
        return None
    if not (isinstance(family, type) and family in GLM_FAMILIES):
        names = ", ".join(f.__name__ for f in [*GLM_FAMILIES, Categorical])  # type: ignore[attr-defined]
        shown = family.__name__ if isinstance(family, type) else repr(family)
        raise TypeError(f"`family` must be one of the classes {names}; got {shown}")
    links = GLM_FAMILIES[family]
    if link not in links:
        raise ValueError(
            f"`link` must be one of {sorted(links)} for {family.__name__}; got {link!r}"
        )
    return links[link]
