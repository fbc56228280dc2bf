r"""The Geometric family.

:class:`Geometric` (``probs`` :math:`p`): :math:`\eta = \log(1 - p)`,
:math:`T(x) = x`, :math:`h = 1` on :math:`\{1, 2, \dots\}`.

The number of trials up to and including the first success, as
:data:`scipy.stats.geom` and :meth:`numpy.random.Generator.geometric`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._conjugate import register_conjugate
from expfam._distfns import ScalarFamily
from expfam._errors import InfeasibleError
from expfam._families._common import (
    _cast,
    _integers,
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
from expfam._sampling import GEOMETRIC_PROBS_MIN, check_sampleable
from expfam._special import _f64, _mul_weight, _r_minus_log1p
from expfam._suffstats import SufficientStatistics
from expfam._support import Support
from expfam._tails import log1mexp
from expfam._validation import FloatArray

__all__ = ["Geometric"]

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------- Geometric
class Geometric(ScalarFamily):
    r"""Geometric distributions: trials up to and including the first success.

    :math:`P(x) = p(1-p)^{x-1}` on :math:`x \in \{1, 2, \dots\}` (the convention of
    :data:`scipy.stats.geom` and :meth:`numpy.random.Generator.geometric`). As an
    exponential family: :math:`T(x) = x`, :math:`\eta = \log(1-p) < 0`, :math:`h = 1`,

    .. math:: A(\eta) = \eta - \log(1 - e^\eta) = \log\frac{1-p}{p},

    mean parameter :math:`1/p \ge 1`. ``probs = 1`` (:math:`\eta = -\infty`) is the
    point mass at 1.

    Parameters
    ----------
    probs : array_like
        Success probabilities in :math:`(0, 1]` (keyword-only); the batch shape is
        its shape.

    Notes
    -----
    There is no ``logits=`` argument: the natural parameter is
    :math:`\eta = \log(1 - p)`, not the log-odds, so a ``logits`` keyword would be
    ambiguous (Bernoulli's ``logits`` *are* its natural parameters). Build a geometric
    distribution from :math:`\eta` with :meth:`from_natural_params`.

    See Also
    --------
    Beta : its conjugate prior.

    Examples
    --------
    >>> from expfam import Geometric
    >>> d = Geometric(probs=0.25)
    >>> float(d.mean()), float(d.variance())
    (4.0, 12.0)
    >>> float(d.log_prob(1))  # log 0.25
    -1.38629436112
    """

    _repr_params = ("probs",)
    _one_parameter = True
    _support = Support(lower=1.0, integer=True, safe=1.0)
    _sum_is_statistic = True

    def __init__(self, *, probs: ArrayLike) -> None:
        dtype, (p,) = _usual({"probs": probs})
        with np.errstate(invalid="ignore"):
            _require((p > 0) & (p <= 1), p, "probs", "a probability in (0, 1]")
        with np.errstate(divide="ignore"):
            super().__init__(np.log1p(-p)[..., None].astype(dtype))

    def _check_natural(self) -> None:
        eta = _natural64(self, 1, "Geometric")
        with np.errstate(invalid="ignore"):
            _require(eta < 0, eta, "natural_params", "negative (probs > 0)")

    @cached_property
    def _pq(self) -> tuple[F64, F64]:
        eta = self._natural[..., 0].astype(np.float64)
        return -np.expm1(eta), np.exp(eta)

    @cached_property
    def _logs(self) -> tuple[F64, F64]:
        r"""``(log p, log(1 - p))``, both to full relative precision.

        :math:`\log p = \log(1 - e^\eta)` by Mächler's rule: ``log(-expm1(eta))``
        would lose the digits of a :math:`\log p` near 0 (``probs`` near 1).
        """
        eta = self._natural[..., 0].astype(np.float64)
        with np.errstate(divide="ignore"):  # eta = 0 is refused; -inf gives log p = 0
            return log1mexp(eta), eta

    @property
    def probs(self) -> FloatArray:
        """Success probabilities, shape ``batch_shape``."""
        return _readonly(_cast(self._pq[0], self.dtype))

    def mean(self) -> FloatArray:
        """Mean ``1 / p`` (``inf`` where it overflows)."""
        with np.errstate(over="ignore"):
            return _cast(1 / self._pq[0], self.dtype)

    def variance(self) -> FloatArray:
        """Variance ``(1 - p) / p**2``."""
        p, q = self._pq
        with np.errstate(over="ignore"):
            return _cast(q / p / p, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\log((1-p)/p)`, shape ``batch_shape``."""
        lp, lq = self._logs
        return _cast(lq - lp, self.dtype)

    def _mean_map(self) -> FloatArray:
        return self.mean()[..., None]

    def fisher_information(self) -> FloatArray:
        """Fisher information ``(1 - p) / p**2``, shape ``batch_shape + (1, 1)``."""
        return self.variance()[..., None, None]

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _scalar_mean_params(mean_params, "Geometric")
        mu64 = mu.astype(np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(mu64) & (mu64 >= 1)
        if not np.all(ok):
            raise InfeasibleError(
                "`mean_params` of a Geometric (the mean, 1/probs) must be finite and >= 1; "
                f"found {float(mu64[~ok].flat[0])!r}"
            )
        with np.errstate(divide="ignore"):
            return _cast(np.log1p(-1 / mu64), mu.dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = x` for positive integers, shape ``x.shape + (1,)``."""
        return _cast(_integers(x, "x", "Geometric", 1)[..., None], _stat_dtype(self, x))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (counting measure on ``{1, 2, ...}``), shape ``x.shape``."""
        return np.zeros(self.sufficient_statistic(x).shape[:-1], dtype=self.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def _log_prob(self, x: F64) -> F64:
        r"""Log mass :math:`\log p + (x-1)\log(1-p)`, exact at ``p = 1``."""
        lp, lq = self._logs
        return _f64(lp + _mul_weight(x - 1, lq))

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`(-p\log p - (1-p)\log(1-p))/p`, in nats."""
        p, q = self._pq
        lp, lq = self._logs
        # -log p - (1 - p) log(1 - p) / p: no product p log p (subnormal for tiny p)
        return _cast(-lp - _mul_weight(q, lq / p) + 0.0, self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= \log(p/p') + \frac{1-p}{p}\log\frac{1-p}{1-p'}`."""
        self._check_same_family(other)
        assert isinstance(other, Geometric)  # noqa: S101 - narrowed by _check_same_family
        p, q = self._pq
        lp, lq = self._logs
        olp, olq = other._logs
        with np.errstate(invalid="ignore"):  # -inf - -inf where both are point masses
            d = lq - olq
        with np.errstate(over="ignore"):  # q / p = inf for a subnormal p
            kl = _f64(np.broadcast_to(lp - olp + _mul_weight(q / p, d), d.shape)).copy()
        # nearby members: KL_Bernoulli(p || p') / p as a sum of non-negative terms,
        # phi(p'/p - 1) + (q/p) phi(q'/q - 1) with phi(r) = r - log1p(r)
        near = np.isfinite(d) & (np.abs(d) < 1)
        if np.any(near):
            dn = -d[near]  # eta_q - eta_p
            pn, qn = np.broadcast_to(p, d.shape)[near], np.broadcast_to(q, d.shape)[near]
            oq = np.exp(np.broadcast_to(olq, d.shape)[near])
            with np.errstate(over="ignore", under="ignore"):  # a subnormal p
                r1 = oq * np.expm1(-dn) / pn  # (p' - p) / p = (q - q') / p
                r0 = np.expm1(dn)  # q' / q - 1
                lr1 = (np.broadcast_to(olp, d.shape) - np.broadcast_to(lp, d.shape))[near]
                kl[near] = _r_minus_log1p(r1, lr1) + _mul_weight(qn / pn, _r_minus_log1p(r0, dn))
        return _cast(kl + 0.0, np.result_type(self.dtype, other.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw numbers of trials (int64) of shape ``size + batch_shape``.

        Raises ``ValueError`` for ``probs`` below ``4.3e-18`` (draws beyond int64).
        """
        p = self._pq[0]
        check_sampleable(p >= GEOMETRIC_PROBS_MIN, p, "probs", "Geometric", "at least 4.3e-18")
        gen = np.random.default_rng(rng)
        return np.asarray(
            gen.geometric(self._pq[0], size=_size(size) + self.batch_shape), dtype=np.int64
        )

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Geometric:
        _no_fixed(cls, fixed)
        return _probe(cls(probs=0.5))

    # ------------------------------------------------------------------ distribution functions
    _discrete = True

    def _df_params(self) -> tuple[F64, ...]:
        return self._pq[0], self._logs[1]

    def _df_support(self) -> tuple[float, float]:
        return 1.0, np.inf

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(-np.expm1(_mul_weight(x, p[1])))  # 1 - (1 - p)**k

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(np.exp(_mul_weight(x, p[1])))

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return log1mexp(_mul_weight(x, p[1]))

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(_mul_weight(x, p[1]))

    def _df_guess(self, q: F64, p: tuple[F64, ...], upper_tail: bool) -> F64:
        """Invert the continuous ``sf(x) = (1 - p)**x``."""
        lq = np.log(q) if upper_tail else np.log1p(-q)
        return _f64(np.ceil(lq / p[1]) - 1)

    def _df_mean(self, p: tuple[F64, ...]) -> F64:
        return _f64(1 / p[0])

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        return _f64(np.sqrt(np.exp(p[1])) / p[0])

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """1, the first trial."""
        return np.ones(p[0].shape)


# ---------------------------------------------------------------------- conjugate prior
def _beta_update(prior: Beta, s: SufficientStatistics) -> Beta:
    """``Beta(a + sum w, b + sum w (x - 1))``."""
    a, b = prior._params64
    total = Geometric._stats_sum(s)[..., 0]
    return Beta(
        a=_cast(a + s.total_weight, prior.dtype),
        b=_cast(b + (total - s.total_weight), prior.dtype),
    )


def _beta_predictive(prior: Beta, **fixed: Any) -> Any:
    """Beta-geometric ``scipy.stats.betanbinom(1, a, b, loc=1)``."""
    if fixed:
        raise TypeError(f"a Geometric likelihood takes no fixed parameters; got {sorted(fixed)}")
    from scipy import stats  # noqa: PLC0415 - scipy.stats costs ~0.3 s at import; only this path needs it

    a, b = prior._params64
    return stats.betanbinom(1, a, b, loc=1)


register_conjugate(Beta, Geometric, update=_beta_update, predictive=_beta_predictive)
