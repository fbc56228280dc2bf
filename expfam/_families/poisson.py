r"""The Poisson family.

:class:`Poisson` (``rate`` :math:`\lambda`): :math:`\eta = \log\lambda`,
:math:`T(x) = x`, :math:`h(x) = 1/x!` on :math:`\{0, 1, \dots\}`.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._conjugate import register_conjugate
from expfam._distfns import ScalarFamily
from expfam._errors import InfeasibleError
from expfam._families._common import (
    _cast,
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
from expfam._families.gamma import Gamma
from expfam._family import ExponentialFamily
from expfam._sampling import POISSON_RATE_MAX, check_sampleable
from expfam._special import (
    _bd0,
    _f64,
    _mul_weight,
    _neg_plogp,
    _poisson_logpmf,
    _window,
    _window_sum,
)
from expfam._suffstats import SufficientStatistics
from expfam._support import Support
from expfam._tails import log_gammainc, log_gammaincc
from expfam._validation import FloatArray

__all__ = ["Poisson"]

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------- Poisson
_POISSON_ASYMPTOTIC = 1e4
# below this rate the entropy sums the first terms directly: lam**30 / 30! < 1e-92 lam
_POISSON_SMALL = 0.01
_POISSON_SMALL_TERMS = 30
# entropy of Poisson(lam) ~ log(2 pi e lam)/2 - sum_k c_k lam**-k (checked against mpmath sums)
_POISSON_SERIES = (1 / 12, 1 / 24, 19 / 360, 9 / 80, 863 / 2520)


class Poisson(ScalarFamily):
    r"""Poisson distributions with rate :math:`\lambda \ge 0`.

    :math:`P(x) = \lambda^x e^{-\lambda}/x!` on :math:`x \in \{0, 1, \dots\}`. As an
    exponential family: :math:`T(x) = x`, :math:`\eta = \log\lambda`,
    :math:`h(x) = 1/x!`, :math:`A(\eta) = e^\eta`, mean parameter :math:`\lambda`.
    ``rate = 0`` (:math:`\eta = -\infty`) is the point mass at 0.

    Parameters
    ----------
    rate : array_like
        Rates :math:`\lambda \ge 0`; the batch shape is its shape.

    Notes
    -----
    :math:`E[\log x!]` (needed for the entropy and cross-entropy) is summed over the
    window holding all but :math:`2e^{-45}` of the mass for :math:`\lambda < 10^4`;
    above, the entropy's asymptotic series

    .. math:: H = \tfrac12\log(2\pi e\lambda) - \frac{1}{12\lambda} - \frac{1}{24\lambda^2}
              - \frac{19}{360\lambda^3} - \frac{9}{80\lambda^4} - \frac{863}{2520\lambda^5}
              - \dots

    is used (truncation error below ``1e-21``) and
    :math:`E[\log x!] = H + \lambda\log\lambda - \lambda`.

    See Also
    --------
    Gamma : its conjugate prior.

    Examples
    --------
    >>> from expfam import Poisson
    >>> d = Poisson(rate=[0.5, 1e6])
    >>> d.entropy()
    array([0.92763747, 8.32669373])
    >>> d.kl_divergence(Poisson(rate=[1.0, 1e6 + 1]))  # bd0 keeps the tiny second value
    array([1.53426409e-01, 4.99999667e-07])
    """

    _repr_params = ("rate",)
    _one_parameter = True
    _support = Support(lower=0.0, integer=True)
    _sum_is_statistic = True

    def __init__(self, rate: ArrayLike) -> None:
        dtype, (lam,) = _usual({"rate": rate})
        with np.errstate(invalid="ignore"):
            _require(np.isfinite(lam) & (lam >= 0), lam, "rate", "non-negative and finite")
        with np.errstate(divide="ignore"):
            super().__init__(np.log(lam)[..., None].astype(dtype))
        _keep(self, "_rate64", _readonly(np.array(lam)))  # not exp(log(rate)): exact

    def _check_natural(self) -> None:
        eta = _natural64(self, 1, "Poisson")
        _require(eta < np.inf, eta, "natural_params", "below +inf")
        with np.errstate(over="ignore"):
            lam = np.exp(eta)
        _require(np.isfinite(lam), eta, "natural_params", "small enough that exp(eta) is finite")

    @cached_property
    def _rate64(self) -> F64:
        return np.exp(self._natural[..., 0].astype(np.float64))

    @property
    def rate(self) -> FloatArray:
        r"""Rates :math:`\lambda`, shape ``batch_shape``."""
        return _readonly(_cast(self._rate64, self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`\lambda`."""
        return _cast(self._rate64, self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`\lambda`."""
        return _cast(self._rate64, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`e^\eta = \lambda`, shape ``batch_shape``."""
        return _cast(self._rate64, self.dtype)

    def _mean_map(self) -> FloatArray:
        return self.mean()[..., None]

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`\lambda`, shape ``batch_shape + (1, 1)``."""
        return self.mean()[..., None, None]

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _scalar_mean_params(mean_params, "Poisson")
        mu64 = mu.astype(np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(mu64) & (mu64 >= 0)
        if not np.all(ok):
            raise InfeasibleError(
                "`mean_params` of a Poisson (the rate) must be non-negative and finite; "
                f"found {float(mu64[~ok].flat[0])!r}"
            )
        with np.errstate(divide="ignore"):
            return _cast(np.log(mu64), mu.dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = x` for non-negative integers, shape ``x.shape + (1,)``."""
        return _cast(_integers(x, "x", "Poisson")[..., None], _stat_dtype(self, x))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        r""":math:`\log h(x) = -\log x!`, shape ``x.shape``."""
        return _cast(-special.gammaln(_integers(x, "x", "Poisson") + 1), self.dtype)

    def _sums(self) -> tuple[F64, F64]:
        r"""Entropy and :math:`E[\log x!]`, float64, shape ``batch_shape``."""
        lam = self._rate64.ravel()
        h = np.zeros(lam.shape)
        elf = np.zeros(lam.shape)
        asym = lam >= _POISSON_ASYMPTOTIC
        la = lam[asym]
        with np.errstate(under="ignore"):  # near the float max 1 / rate is subnormal
            r = 1 / la
            series = np.zeros_like(la)
            for c in reversed(_POISSON_SERIES):
                series = (series + c) * r
        h[asym] = 0.5 * (np.log(2 * np.pi) + np.log(la) + 1) - series  # no 2 pi la overflow
        with np.errstate(over="ignore"):  # E[log x!] overflows (to +inf) near the float max
            elf[asym] = h[asym] + la * (np.log(la) - 1)
        # small rates: the masses lam**k e**-lam / k! by recurrence, each to a few ulp
        # (exp of the log-mass would carry the rounding of log p = -690 for lam = 1e-300)
        small = (lam > 0) & (lam < _POISSON_SMALL)
        ls = lam[small]
        with np.errstate(under="ignore"):
            pk = np.exp(-ls)
            log_lam = np.log(ls)
            hs, es = np.zeros_like(ls), np.zeros_like(ls)
            for k in range(_POISSON_SMALL_TERMS):
                if k:
                    pk = pk * ls / k
                lg = math.lgamma(k + 1)
                hs += _mul_weight(pk, -(k * log_lam - ls - lg))
                es += pk * lg
        h[small], elf[small] = hs, es
        win = ~asym & ~small & (lam > 0)
        lw = lam[win]
        lo, hi = _window(lw, lw)

        def ent(k: F64, rows: NDArray[np.intp]) -> F64:
            return _neg_plogp(_poisson_logpmf(k, lw[rows, None]))

        def lfac(k: F64, rows: NDArray[np.intp]) -> F64:
            return _f64(np.exp(_poisson_logpmf(k, lw[rows, None])) * special.gammaln(k + 1))

        h[win] = _window_sum(lo, hi, ent)
        elf[win] = _window_sum(lo, hi, lfac)
        return h.reshape(self.batch_shape), elf.reshape(self.batch_shape)

    def _expected_log_base_measure(self) -> FloatArray:
        return _cast(-self._sums()[1], self.dtype)

    def _log_prob(self, x: F64) -> F64:
        r"""Log mass :math:`x\log\lambda - \lambda - \log x!` in Loader's form."""
        return _poisson_logpmf(x, self._rate64)

    def entropy(self) -> FloatArray:
        """Entropy in nats (positive-term window sum, or the asymptotic series)."""
        return _cast(self._sums()[0], self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= \lambda\log(\lambda/\lambda') + \lambda' - \lambda` (bd0)."""
        self._check_same_family(other)
        assert isinstance(other, Poisson)  # noqa: S101 - narrowed by _check_same_family
        lp, lq = np.broadcast_arrays(self._rate64, other._rate64)
        out = np.where(lp == 0, lq, np.inf)
        ok = (lq > 0) & (lp > 0)
        out[ok] = _bd0(lp[ok], lq[ok])
        return _cast(out, np.result_type(self.dtype, other.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw counts (int64) of shape ``size + batch_shape``.

        Raises ``ValueError`` for a rate above ``9.22e18`` (int64 counts).
        """
        lam = self._rate64
        check_sampleable(lam <= POISSON_RATE_MAX, lam, "rate", "Poisson", "at most 9.22e18")
        gen = np.random.default_rng(rng)
        return np.asarray(
            gen.poisson(self._rate64, size=_size(size) + self.batch_shape), dtype=np.int64
        )

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Poisson:
        _no_fixed(cls, fixed)
        return _probe(cls(rate=1.0))

    @classmethod
    def _stats_mean(cls, s: SufficientStatistics) -> F64:
        """Return the mean count, correctly rounded (the fitted rate is kept as computed).

        The generic ``(sum + sum_lo) / W`` rounds twice (``Poisson.fit([0, 12],
        weights=[1.7e308] * 2)`` would be ``5.999999999999999``); the quotient of
        the double-double sums rounds once.
        """
        hi, lo = s._mean_dd("t")
        return _f64(np.asarray(hi + lo)[..., None] if np.ndim(hi) == 0 else (hi + lo))

    @classmethod
    def from_mean_params(cls, mean_params: ArrayLike, /, **fixed: Any) -> Poisson:
        """Build a Poisson distribution from its mean (the rate), keeping the rate as given.

        Examples
        --------
        >>> from expfam import Poisson
        >>> float(Poisson.from_mean_params(1e-300).rate)  # not exp(log(1e-300))
        1e-300
        """
        out = super().from_mean_params(mean_params, **fixed)
        mu = cls._with_param_axis(mean_params, "mean_params")
        rate = np.broadcast_to(mu[..., 0].astype(out.dtype), out.batch_shape)
        _keep(out, "_rate64", _readonly(rate.astype(np.float64)))
        return out

    # ------------------------------------------------------------------ distribution functions
    _discrete = True

    def _df_params(self) -> tuple[F64, ...]:
        return (self._rate64,)

    def _df_support(self) -> tuple[float, float]:
        return 0.0, np.inf

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(special.pdtr(x, p[0]))

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(special.pdtrc(x, p[0]))

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return log_gammaincc(x + 1, p[0])  # P(X <= k) = Q(k + 1, rate)

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return log_gammainc(x + 1, p[0])

    def _df_mean(self, p: tuple[F64, ...]) -> F64:
        return p[0]

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        return _f64(np.sqrt(p[0]))

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """``floor(rate)`` (at an integer rate, ``rate - 1`` ties with it)."""
        return _f64(np.floor(p[0]))


# ---------------------------------------------------------------------- conjugate prior
def _gamma_update(prior: Gamma, s: SufficientStatistics) -> Gamma:
    """``Gamma(alpha + sum w x, beta + sum w)``."""
    a, b = prior._params64
    total = Poisson._stats_sum(s)[..., 0]
    return Gamma(shape=_cast(a + total, prior.dtype), rate=_cast(b + s.total_weight, prior.dtype))


def _gamma_predictive(prior: Gamma, **fixed: Any) -> Any:
    """Negative binomial ``scipy.stats.nbinom(alpha, beta / (1 + beta))``."""
    if fixed:
        raise TypeError(f"a Poisson likelihood takes no fixed parameters; got {sorted(fixed)}")
    from scipy import stats  # noqa: PLC0415 - scipy.stats costs ~0.3 s at import; only this path needs it

    a, b = prior._params64
    return stats.nbinom(a, b / (1 + b))


register_conjugate(Gamma, Poisson, update=_gamma_update, predictive=_gamma_predictive)
