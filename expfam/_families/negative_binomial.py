r"""The negative binomial family, with a known number of successes :math:`r`.

:class:`NegativeBinomial` (known ``r``, ``probs`` :math:`p`): the number of failures
before the :math:`r`-th success, as :data:`scipy.stats.nbinom` ``(n=r, p=probs)``;
:math:`\eta = \log(1 - p)`, :math:`T(x) = x`,
:math:`h(x) = \binom{x + r - 1}{x}` on :math:`\{0, 1, \dots\}`. Its conjugate prior
is the :class:`~expfam.Beta` distribution over ``probs``.
"""

from __future__ import annotations

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
    _natural64,
    _probe,
    _readonly,
    _require,
    _scalar_mean_params,
    _size,
    _stat_dtype,
    _usual,
)
from expfam._families.beta import Beta
from expfam._families.geometric import Geometric
from expfam._family import ExponentialFamily
from expfam._sampling import POISSON_RATE_MAX, check_sampleable
from expfam._special import (
    _f64,
    _nbinom_log_h,
    _nbinom_logpmf,
    _nbinom_logpmf_log_h,
    _window,
    _window_sum,
)
from expfam._suffstats import SufficientStatistics
from expfam._support import Support
from expfam._tails import log_betainc
from expfam._validation import FloatArray, as_float_array

__all__ = ["NegativeBinomial"]

F64 = NDArray[np.float64]


def _check_r(r: ArrayLike) -> F64:
    a = as_float_array(r, "r").astype(np.float64)
    with np.errstate(invalid="ignore"):
        _require(np.isfinite(a) & (a > 0), a, "r", "positive and finite (the number of successes)")
    return a


class NegativeBinomial(ScalarFamily):
    r"""Negative binomial distributions: failures before the :math:`r`-th success.

    :math:`P(x) = \binom{x + r - 1}{x} p^r (1 - p)^x` on :math:`x \in \{0, 1, \dots\}`,
    as :data:`scipy.stats.nbinom` with ``n = r`` and ``p = probs``. The number of
    successes :math:`r > 0` (real, as in scipy) is a fixed (known) parameter. As an
    exponential family: :math:`T(x) = x`, :math:`\eta = \log(1 - p) < 0`,
    :math:`h(x) = \binom{x + r - 1}{x}`,

    .. math:: A(\eta) = -r \log(1 - e^\eta) = -r \log p,

    mean parameter :math:`r(1 - p)/p`, Fisher information :math:`r(1 - p)/p^2`.
    ``probs = 1`` is the point mass at 0.

    Parameters
    ----------
    r : array_like
        Numbers of successes :math:`r > 0` (known).
    probs : array_like
        Success probabilities in :math:`(0, 1]` (keyword-only). `r` and `probs`
        broadcast to the batch shape.

    Notes
    -----
    The conjugate prior over ``probs`` is :class:`~expfam.Beta`:
    :math:`\text{Beta}(a + r\sum_i w_i,\; b + \sum_i w_i x_i)`, with a beta negative
    binomial predictive (``scipy.stats.betanbinom(r, a, b)``). The entropy and
    :math:`E[\log h(x)]` are sums over the window where Bernstein's inequality bounds
    the mass outside by :math:`2e^{-45}`, widened to the right up to the
    :math:`10^{-22}` quantile of the geometric-like tail; their cost grows with the
    standard deviation.

    See Also
    --------
    Geometric : the number of trials to the first success (``r = 1``, shifted by one).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from expfam import NegativeBinomial
    >>> d = NegativeBinomial(r=3, probs=0.25)
    >>> float(d.mean()), float(d.variance())
    (9.0, 36.0)
    >>> bool(np.isclose(d.log_prob(4), stats.nbinom.logpmf(4, 3, 0.25)))
    True
    >>> NegativeBinomial.fit([0, 4, 2, 7, 1], r=2)
    NegativeBinomial(r=2, probs=0.416667)
    """

    _repr_params = ("r", "probs")
    _one_parameter = True
    _support = Support(lower=0.0, integer=True)
    _sum_is_statistic = True

    def __init__(self, r: ArrayLike, *, probs: ArrayLike) -> None:
        dtype, (p,) = _usual({"probs": probs})
        with np.errstate(invalid="ignore"):
            _require((p > 0) & (p <= 1), p, "probs", "a probability in (0, 1]")
        with np.errstate(divide="ignore"):
            super().__init__(np.log1p(-p)[..., None].astype(dtype))
        self._init_fixed(r=r)

    def _init_fixed(self, **fixed: Any) -> None:
        if set(fixed) != {"r"}:
            raise TypeError(
                f"NegativeBinomial needs exactly the fixed parameter `r`; got {sorted(fixed)}"
            )
        r64 = _check_r(fixed["r"])
        try:
            shape = np.broadcast_shapes(self.batch_shape, r64.shape)
        except ValueError:
            raise ValueError(
                f"`r` with shape {r64.shape} does not broadcast with the batch shape "
                f"{self.batch_shape}"
            ) from None
        if shape != self.batch_shape:
            eta = np.broadcast_to(self._natural, (*shape, 1)).copy()
            eta.flags.writeable = False
            self._natural = eta
        self._r64 = _readonly(np.broadcast_to(r64, shape).copy())

    def _fixed(self) -> dict[str, Any]:
        return {"r": self.r}

    def _check_natural(self) -> None:
        eta = _natural64(self, 1, "NegativeBinomial")
        with np.errstate(invalid="ignore"):
            _require(eta < 0, eta, "natural_params", "negative (probs > 0)")

    @cached_property
    def _geometric(self) -> Geometric:
        """The geometric distribution of the same ``probs``: its closed forms, times ``r``."""
        return Geometric.from_natural_params(self._natural)

    @property
    def r(self) -> FloatArray:
        """Numbers of successes, shape ``batch_shape``."""
        return _readonly(_cast(self._r64, self.dtype))

    @property
    def probs(self) -> FloatArray:
        """Success probabilities, shape ``batch_shape``."""
        return self._geometric.probs

    def mean(self) -> FloatArray:
        """Mean ``r (1 - p) / p`` (``inf`` where it overflows)."""
        p, q = self._geometric._pq
        with np.errstate(over="ignore"):  # a subnormal p
            return _cast(self._r64 * (q / p), self.dtype)

    def variance(self) -> FloatArray:
        """Variance ``r (1 - p) / p**2`` (``inf`` where it overflows)."""
        p, q = self._geometric._pq
        with np.errstate(over="ignore"):  # a tiny p
            return _cast(self._r64 * (q / p / p), self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`-r\log p`, shape ``batch_shape``."""
        lp, _ = self._geometric._logs
        return _cast(-self._r64 * lp, self.dtype)

    def _mean_map(self) -> FloatArray:
        return self.mean()[..., None]

    def fisher_information(self) -> FloatArray:
        """Fisher information ``r (1 - p) / p**2``, shape ``batch_shape + (1, 1)``."""
        return self.variance()[..., None, None]

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:
        mu = _scalar_mean_params(mean_params, "NegativeBinomial")
        mu64 = mu.astype(np.float64)[..., 0]
        r64 = _check_r(fixed["r"])
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(mu64) & (mu64 >= 0)
        if not np.all(ok):
            raise InfeasibleError(
                "`mean_params` of a NegativeBinomial (the mean) must be finite and >= 0; "
                f"found {float(np.broadcast_to(mu64, ok.shape)[~ok].flat[0])!r}"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = np.log1p(-r64 / (r64 + mu64))  # log(1 - p), p = r / (r + mean)
        return _cast(eta[..., None], mu.dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = x` for non-negative integers, shape ``x.shape + (1,)``."""
        return _cast(_integers(x, "x", "NegativeBinomial")[..., None], _stat_dtype(self, x))

    def _log_h(self, k: F64) -> F64:
        return _nbinom_log_h(k, self._r64)

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        r""":math:`\log\binom{x + r - 1}{x}`, shape ``broadcast(x.shape, batch_shape)``.

        In Stirling's form (:func:`expfam._special._nbinom_log_h`): the difference of
        log-gammas would cancel terms of size :math:`x\log x`.
        """
        k = self.sufficient_statistic(x)[..., 0].astype(np.float64)
        return _cast(self._log_h(k), self.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        mean = _f64(self.mean()).reshape(-1)
        var = _f64(self.variance()).reshape(-1)
        r = np.broadcast_to(self._r64, self.batch_shape).reshape(-1)
        lo, hi = _window(mean, var)
        # the geometric right tail is heavier than Bernstein's bound assumes
        p64 = self._geometric._pq[0].reshape(-1)
        from scipy import stats  # noqa: PLC0415 - scipy.stats costs ~0.3 s at import; only this path needs it

        with np.errstate(invalid="ignore", over="ignore"):
            tail = stats.nbinom.isf(1e-22, r, p64)
        hi = np.maximum(hi, np.where(np.isfinite(tail), tail, hi) + 1)
        eta = self._natural[..., 0].astype(np.float64).reshape(-1)

        def term(k: F64, rows: NDArray[np.intp]) -> F64:
            logp, log_h = _nbinom_logpmf_log_h(k, r[rows, None], eta[rows, None])
            return _f64(np.exp(logp) * log_h)

        out = _window_sum(lo, hi, term)
        return _cast(out.reshape(self.batch_shape), self.dtype)

    def _log_prob(self, x: F64) -> F64:
        r"""Log mass :math:`\log\binom{x+r-1}{x} + r\log p + x\log(1-p)`, in Loader's form.

        The textbook sum cancels terms of size :math:`x\log x` (a thousand ulp at
        ``x = 5000``); Loader's saddle-point form keeps a few ulp (see
        :func:`expfam._special._nbinom_logpmf`).
        """
        return _nbinom_logpmf(x, self._r64, self._natural[..., 0].astype(np.float64))

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`A(\eta) - \eta\mu - E[\log h(x)]`, in nats (a window sum)."""
        return np.asarray(ExponentialFamily.entropy(self) + 0.0)

    def _check_same_r(self, other: ExponentialFamily) -> NegativeBinomial:
        self._check_same_family(other)
        if not isinstance(other, NegativeBinomial):  # pragma: no cover - checked above
            raise TypeError("`other` must be a NegativeBinomial")
        return other

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= r\,\mathrm{KL}_{\text{geom}}(p \| p')`.

        Needs the same ``r``; the geometric divergence
        :math:`\log(p/p') + \frac{1-p}{p}\log\frac{1-p}{1-p'}` keeps its digits for
        nearby members.
        """
        o = self._check_same_r(other)
        kl = self._geometric.kl_divergence(o._geometric).astype(np.float64)
        return _cast(self._r64 * kl, np.result_type(self.dtype, other.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw numbers of failures (int64) of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        p = self._geometric._pq[0]
        shape = _size(size) + self.batch_shape
        # numpy draws a Poisson of a gamma of mean r (1 - p) / p: the same int64 limit
        check_sampleable(
            self._r64 * (self._geometric._pq[1] / p) <= POISSON_RATE_MAX / 64,
            p,
            "probs",
            "NegativeBinomial",
            "large enough that r (1 - probs) / probs <= 1.4e17",
        )
        return np.asarray(gen.negative_binomial(self._r64, p, size=shape), dtype=np.int64)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> NegativeBinomial:
        if set(fixed) != {"r"}:
            raise TypeError(
                "a NegativeBinomial needs its number of successes: pass `r=` "
                "(e.g. `NegativeBinomial.fit(x, r=3)`)"
            )
        return _probe(cls(r=fixed["r"], probs=0.5))

    # ------------------------------------------------------------------ distribution functions
    _discrete = True

    def _df_params(self) -> tuple[F64, ...]:
        p, q = self._geometric._pq
        return self._r64, p, q

    def _df_support(self) -> tuple[float, float]:
        return 0.0, np.inf

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        r, pr, _ = p
        return _f64(special.betainc(r, x + 1, pr))  # I_p(r, k + 1)

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        r, _, q = p
        return _f64(special.betainc(x + 1, r, q))  # I_{1-p}(k + 1, r)

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        r, pr, q = p
        return log_betainc(r, x + 1, pr, q)

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        r, pr, q = p
        return log_betainc(x + 1, r, q, pr)

    def _df_mean(self, p: tuple[F64, ...]) -> F64:
        r, pr, q = p
        return _f64(r * q / pr)

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        r, pr, q = p
        return _f64(np.sqrt(r * q) / pr)

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """``floor((r - 1)(1 - p)/p)`` for ``r > 1``, else 0 (ties: the larger)."""
        r, pr, q = p
        return _f64(np.where(r > 1, np.floor((r - 1) * q / pr), 0.0))


# ---------------------------------------------------------------------- conjugate prior
def _beta_update(prior: Beta, s: SufficientStatistics) -> Beta:
    """``Beta(a + r sum w, b + sum w x)``."""
    a, b = prior._params64
    r = _check_r(s.fixed["r"])
    total = NegativeBinomial._stats_sum(s)[..., 0]
    return Beta(a=_cast(a + r * s.total_weight, prior.dtype), b=_cast(b + total, prior.dtype))


def _beta_predictive(prior: Beta, **fixed: Any) -> Any:
    """Beta negative binomial ``scipy.stats.betanbinom(r, a, b)``."""
    if set(fixed) != {"r"}:
        raise TypeError("a NegativeBinomial likelihood needs its number of successes: pass `r=`")
    from scipy import stats  # noqa: PLC0415 - scipy.stats costs ~0.3 s at import; only this path needs it

    a, b = prior._params64
    return stats.betanbinom(_check_r(fixed["r"]), a, b)


register_conjugate(Beta, NegativeBinomial, update=_beta_update, predictive=_beta_predictive)
