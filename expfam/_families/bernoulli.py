r"""The Bernoulli family.

:class:`Bernoulli` (``probs`` :math:`p`): :math:`\eta = \operatorname{logit} p`,
:math:`T(x) = x`, :math:`h = 1` on :math:`\{0, 1\}`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._conjugate import register_conjugate
from expfam._distfns import ScalarFamily
from expfam._families._common import (
    _cast,
    _check_probs,
    _integers,
    _keep,
    _natural64,
    _no_fixed,
    _probe,
    _readonly,
    _require,
    _scalar_mean_params,
    _size,
    _stat_dtype,
    _usual,
)
from expfam._families.beta import Beta
from expfam._family import ExponentialFamily
from expfam._special import _bernoulli_kl, _binary_entropy, _f64
from expfam._suffstats import SufficientStatistics
from expfam._support import Support
from expfam._validation import FloatArray

__all__ = ["Bernoulli"]

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------- Bernoulli
class Bernoulli(ScalarFamily):
    r"""Bernoulli distributions on :math:`\{0, 1\}` with success probability :math:`p`.

    As an exponential family: :math:`T(x) = x`, :math:`\eta = \operatorname{logit} p`,
    :math:`h = 1`, :math:`A(\eta) = \log(1 + e^\eta)` (evaluated as
    ``logaddexp(0, eta)``), mean parameter :math:`p`.

    Parameters
    ----------
    probs : array_like, optional
        Success probabilities in :math:`[0, 1]`.
    logits : array_like, optional
        Log-odds :math:`\eta \in [-\infty, \infty]`. Give exactly one of `probs` and
        `logits`, by keyword (``Bernoulli(0.3)`` is a ``TypeError``: probability or
        log-odds?); the batch shape is its shape.

    See Also
    --------
    Beta : its conjugate prior.

    Examples
    --------
    >>> from expfam import Bernoulli
    >>> d = Bernoulli(probs=[0.25, 1.0])
    >>> d.logits
    array([-1.09861229,         inf])
    >>> d.log_prob([1, 1])
    array([-1.38629436,  0.        ])
    >>> d.entropy()
    array([0.56233514, 0.        ])
    """

    _repr_params = ("probs",)
    _one_parameter = True
    _support = Support(lower=0.0, upper=1.0, integer=True)
    _sum_is_statistic = True

    def __init__(self, *, probs: ArrayLike | None = None, logits: ArrayLike | None = None) -> None:
        if (probs is None) == (logits is None):
            raise TypeError("give exactly one of `probs` and `logits` (keyword arguments)")
        if probs is not None:
            dtype, (p,) = _usual({"probs": probs})
            _check_probs(p)
            eta = special.logit(p)
        else:
            dtype, (eta,) = _usual({"logits": np.asarray(logits)})
            _require(~np.isnan(eta), eta, "logits", "free of nan")
        super().__init__(eta[..., None].astype(dtype))
        if probs is not None:  # kept: expit(logit(p)) is not p (0 for p = 5e-324)
            _keep(self, "_pq", (_readonly(np.array(p)), _readonly(np.array(1 - p))))

    def _check_natural(self) -> None:
        _natural64(self, 1, "Bernoulli")

    @cached_property
    def _eta(self) -> F64:
        return self._natural[..., 0].astype(np.float64)

    @cached_property
    def _pq(self) -> tuple[F64, F64]:
        return special.expit(self._eta), special.expit(-self._eta)

    @property
    def probs(self) -> FloatArray:
        """Success probabilities, shape ``batch_shape``."""
        return _readonly(_cast(self._pq[0], self.dtype))

    @property
    def logits(self) -> FloatArray:
        r"""Log-odds :math:`\eta`, shape ``batch_shape``."""
        return self._natural[..., 0]

    def mean(self) -> FloatArray:
        """Mean ``p``."""
        return _cast(self._pq[0], self.dtype)

    def variance(self) -> FloatArray:
        """Variance ``p (1 - p)``."""
        p, q = self._pq
        return _cast(p * q, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\log(1 + e^\eta)`, shape ``batch_shape``."""
        with np.errstate(under="ignore"):  # log1p(exp(-745)) is 0: no event
            return _cast(np.logaddexp(0, self._eta), self.dtype)

    def _mean_map(self) -> FloatArray:
        return self.mean()[..., None]

    def fisher_information(self) -> FloatArray:
        """Fisher information ``p (1 - p)``, shape ``batch_shape + (1, 1)``."""
        return self.variance()[..., None, None]

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _scalar_mean_params(mean_params, "Bernoulli")
        _check_probs(mu.astype(np.float64), "mean_params")
        return _cast(special.logit(mu.astype(np.float64)), mu.dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = x` for ``x`` in ``{0, 1}``, shape ``x.shape + (1,)``."""
        k = _integers(x, "x", "Bernoulli", 0, np.ones(()), upper_label="1")
        return _cast(k[..., None], _stat_dtype(self, x))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (counting measure on ``{0, 1}``), shape ``x.shape``."""
        return np.zeros(self.sufficient_statistic(x).shape[:-1], dtype=self.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def _log_prob(self, x: F64) -> F64:
        r"""Log mass :math:`x\log p + (1 - x)\log(1 - p)`, from the logits without cancellation."""
        eta = self._eta
        with np.errstate(under="ignore"):  # log1p(exp(-745)) is 0: no event
            return _f64(np.where(x == 1, -np.logaddexp(0, -eta), -np.logaddexp(0, eta)))

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`-p\log p - (1-p)\log(1-p)`, a sum of non-negative terms."""
        return _cast(_binary_entropy(self._eta), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= p\log(p/p') + (1-p)\log((1-p)/(1-p'))`."""
        self._check_same_family(other)
        assert isinstance(other, Bernoulli)  # noqa: S101 - narrowed by _check_same_family
        return _cast(_bernoulli_kl(self._eta, other._eta), np.result_type(self.dtype, other.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw 0/1 outcomes (int64) of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        u = gen.random(_size(size) + self.batch_shape)
        return np.asarray(u < self._pq[0], dtype=np.int64)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Bernoulli:
        _no_fixed(cls, fixed)
        return _probe(cls(probs=0.5))

    # ------------------------------------------------------------------ distribution functions
    _discrete = True

    def _df_params(self) -> tuple[F64, ...]:
        return self._pq

    def _df_support(self) -> tuple[float, float]:
        return 0.0, 1.0

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:  # noqa: ARG002 - x = 0 inside
        return p[1]

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:  # noqa: ARG002
        return p[0]

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:  # noqa: ARG002
        pr, q = p
        return _f64(np.where(pr < 0.5, np.log1p(-pr), np.log(q)))

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:  # noqa: ARG002
        pr, q = p
        return _f64(np.where(q < 0.5, np.log1p(-q), np.log(pr)))

    def _df_mean(self, p: tuple[F64, ...]) -> F64:
        return p[0]

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        return _f64(np.sqrt(p[0] * p[1]))

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """1 where ``probs >= 1/2`` (at 1/2 the two outcomes tie), else 0."""
        return _f64(p[0] >= 0.5)


# ---------------------------------------------------------------------- conjugate prior
def _beta_update(prior: Beta, s: SufficientStatistics) -> Beta:
    """``Beta(a + sum w x, b + sum w (1 - x))``."""
    a, b = prior._params64
    k = Bernoulli._stats_sum(s)[..., 0]
    return Beta(a=_cast(a + k, prior.dtype), b=_cast(b + (s.total_weight - k), prior.dtype))


def _beta_predictive(prior: Beta, **fixed: Any) -> Bernoulli:
    """``Bernoulli(probs = a / (a + b))``."""
    _no_known("Bernoulli", fixed)
    a, b = prior._params64
    return Bernoulli(probs=_cast(a / (a + b), prior.dtype))


def _no_known(likelihood: str, fixed: dict[str, Any]) -> None:
    if fixed:
        raise TypeError(
            f"a {likelihood} likelihood takes no fixed parameters; got {sorted(fixed)}"
        )


register_conjugate(Beta, Bernoulli, update=_beta_update, predictive=_beta_predictive)
