r"""The Exponential family.

:class:`Exponential` (``rate`` :math:`\lambda`): :math:`\eta = -\lambda`,
:math:`T(x) = x`, :math:`h = 1` on :math:`[0, \infty)`.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._conjugate import register_conjugate
from expfam._distfns import ScalarFamily
from expfam._errors import InfeasibleError
from expfam._families._common import (
    _SUM_SHIFT,
    _cast,
    _check_positive,
    _common_scale,
    _finite_rate,
    _keep,
    _mean_input,
    _natural64,
    _no_fixed,
    _probe,
    _readonly,
    _require,
    _rescale,
    _scaled_block_sum,
    _scaled_mean,
    _scaled_total,
    _size,
    _usual,
)
from expfam._families.gamma import Gamma
from expfam._family import ExponentialFamily
from expfam._special import _f64, _r_minus_log1p
from expfam._suffstats import (
    Block,
    SufficientStatistics,
    block_weight,
    blocks_weight,
    sum_pairs,
    two_sum_parts,
    weighted_block_sum,
)
from expfam._support import Support, out_dtype
from expfam._tails import log1mexp
from expfam._validation import FloatArray, as_float_array

__all__ = ["Exponential"]

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------- exponential
class Exponential(ScalarFamily):
    r"""Exponential distributions with rate :math:`\lambda > 0`.

    Density :math:`\lambda e^{-\lambda x}` on :math:`x \ge 0`. As an exponential
    family: :math:`T(x) = x`, :math:`\eta = -\lambda`, :math:`h(x) = 1`,
    :math:`A(\eta) = -\log(-\eta)`, mean parameter :math:`E[x] = 1/\lambda`.

    Parameters
    ----------
    rate : array_like
        Rates :math:`\lambda > 0`; the batch shape is ``rate.shape``.

    See Also
    --------
    Gamma : its conjugate prior (see :meth:`Gamma.posterior <ExponentialFamily.posterior>`).

    Examples
    --------
    >>> from expfam import Exponential
    >>> d = Exponential(rate=[0.5, 2.0])
    >>> d.mean()
    array([2. , 0.5])
    >>> d.natural_params
    array([[-0.5],
           [-2. ]])
    """

    _repr_params = ("rate",)
    _one_parameter = True
    _support = Support(lower=0.0)
    _sum_is_statistic = True

    def __init__(self, rate: ArrayLike) -> None:
        dtype, (lam,) = _usual({"rate": rate})
        _check_positive(lam, "rate")
        super().__init__((-lam[..., None]).astype(dtype))
        _keep(self, "_params64", (_readonly(np.array(lam)),))

    def _check_natural(self) -> None:
        eta = _natural64(self, 1, "Exponential")
        with np.errstate(invalid="ignore"):
            _require(np.isfinite(eta) & (eta < 0), eta, "natural_params", "negative and finite")

    @cached_property
    def _params64(self) -> tuple[F64]:
        return (-self._natural[..., 0].astype(np.float64),)

    @property
    def rate(self) -> FloatArray:
        r"""Rates :math:`\lambda`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[0], self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`1/\lambda`."""
        with np.errstate(over="ignore"):  # inf for a rate below 1 / the float max
            return _cast(1 / self._params64[0], self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`1/\lambda^2`."""
        with np.errstate(over="ignore", under="ignore"):
            return _cast((1 / self._params64[0]) ** 2, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`A(\eta) = -\log(-\eta) = -\log\lambda`."""
        return _cast(-np.log(self._params64[0]), self.dtype)

    def _mean_map(self) -> FloatArray:
        return self.mean()[..., None]

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`1/\eta^2 = 1/\lambda^2`, shape ``batch_shape + (1, 1)``."""
        return self.variance()[..., None, None]

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _mean_input(mean_params, 1, "Exponential")
        if np.any(mu <= 0):
            raise InfeasibleError(
                f"`mean_params` of an Exponential (the mean) must be positive; "
                f"found {float(mu[mu <= 0].flat[0])!r}"
            )
        dtype = as_float_array(mean_params, "mean_params").dtype
        rate = _finite_rate(1.0, mu, "the mean (`mean_params`, or the mean of the data)", dtype)
        return _cast(-rate, dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = x` for ``x >= 0``, shape ``x.shape + (1,)``."""
        a = as_float_array(x, "x")
        with np.errstate(invalid="ignore"):
            _require(a >= 0, a, "x", "in the support [0, inf) of an Exponential")
        return _cast(a[..., None], out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (Lebesgue measure on ``[0, inf)``), shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.zeros(t.shape[:-1], dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Draw samples of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        shape = _size(size) + self.batch_shape
        with np.errstate(over="ignore"):  # a scale beyond the float max: +inf draws
            return _cast(gen.standard_exponential(shape) / self._params64[0], self.dtype)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Exponential:
        _no_fixed(cls, fixed)
        return _probe(cls(rate=1.0))

    def _log_prob(self, x: F64) -> F64:
        r"""Log density :math:`\log\lambda - \lambda x` on ``x >= 0``."""
        lam = self._params64[0]
        with np.errstate(over="ignore"):
            return _f64(np.log(lam) - lam * x)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= r - \mathrm{log1p}(r)`, :math:`r = \lambda_q/\lambda_p - 1`.

        Summed without cancellation (a series for small :math:`|r|`), so nearby
        distributions keep their digits.
        """
        self._check_same_family(other)
        assert isinstance(other, Exponential)  # noqa: S101 - narrowed by _check_same_family
        lp, lq = self._params64[0], other._params64[0]
        with np.errstate(over="ignore"):
            r = (lq - lp) / lp
        kl = _r_minus_log1p(r, np.log(lq) - np.log(lp))
        return _cast(kl, np.result_type(self.dtype, other.dtype))

    # ------------------------------------------------------------------ statistics
    # parts: "t" + "t_lo" = sum w x (compensated), scaled by 2**"e" (0, or `_SUM_SHIFT`
    # where the plain sum overflows: the mean of [1e300, 1.7e308] is representable)
    @classmethod
    def _stats_fast(
        cls, probe: ExponentialFamily, x: NDArray[Any], w: F64 | None, buf: F64
    ) -> Block | None:
        part = super()._stats_fast(probe, x, w, buf)
        if part is None:
            return None
        weight, parts = part
        t = parts["t"]
        if not (math.isfinite(t.item()) if t.size == 1 else np.all(np.isfinite(t))):
            return None  # an overflowing sum: the scaled one of `_stats_block`
        return weight, {**parts, "e": np.zeros(t.shape)}

    @classmethod
    def _stats_block(
        cls, probe: ExponentialFamily, x: FloatArray, w: F64 | None
    ) -> SufficientStatistics:
        t = probe.sufficient_statistic(x).astype(np.float64)
        weight = block_weight(x.shape[0], w)
        hi, lo, e = _scaled_block_sum(
            weighted_block_sum(w, t), lambda: weighted_block_sum(w, np.ldexp(t, -int(_SUM_SHIFT)))
        )
        return cls._make_stats(probe, x, weight, {"t": hi, "t_lo": lo, "e": e})

    @classmethod
    def _stats_combine(cls, blocks: list[Block]) -> Block:
        t = np.stack([p["t"] for _, p in blocks])
        t_lo = np.stack([p["t_lo"] for _, p in blocks])
        if not any(p["e"].any() for _, p in blocks):  # the usual case: no scaled sums
            hi, lo = sum_pairs(t, t_lo)
            if np.all(np.isfinite(hi)):
                return blocks_weight(blocks), {"t": hi, "t_lo": lo, "e": np.zeros(hi.shape)}
        e = np.stack([np.broadcast_to(p["e"], t.shape[1:]) for _, p in blocks])
        top, (hi, lo) = _common_scale(
            np.max(e, axis=0), lambda to: sum_pairs(*_rescale((t, t_lo), e, to))
        )
        return blocks_weight(blocks), {"t": hi, "t_lo": lo, "e": top}

    @classmethod
    def _stats_merge(cls, a: SufficientStatistics, b: SufficientStatistics) -> dict[str, F64]:
        pa, pb = a._parts, b._parts

        def total(to: F64) -> tuple[F64, F64]:
            return two_sum_parts(
                *_rescale((pa["t"], pa["t_lo"]), pa["e"], to),
                *_rescale((pb["t"], pb["t_lo"]), pb["e"], to),
            )

        top, (hi, lo) = _common_scale(np.maximum(pa["e"], pb["e"]), total)
        return {"t": hi, "t_lo": lo, "e": np.broadcast_to(top, hi.shape).copy()}

    @classmethod
    def _stats_sum(cls, s: SufficientStatistics) -> F64:
        p = s._parts
        return _scaled_total(p["t"], p["t_lo"], p["e"])

    @classmethod
    def _stats_mean(cls, s: SufficientStatistics) -> F64:
        p = s._parts
        return _scaled_mean(p["t"], p["t_lo"], p["e"], s.total_weight)

    @classmethod
    def _fit_stats(cls, s: SufficientStatistics) -> Exponential:
        """Maximum-likelihood fit ``rate = 1 / mean(x)`` from the statistics.

        The mean comes from the sum scaled by a power of two where the plain sum
        overflows, so it is exact to about an ulp for any finite data.

        Raises
        ------
        ValueError
            If an observation is infinite (the mean is then infinite).
        InfeasibleError
            If all (weighted) observations are 0: the MLE does not exist; or the
            fitted rate (1 / mean) overflows the dtype of the data.
        """
        mean = cls._stats_mean(s)
        if np.any(mean == np.inf):
            raise ValueError(
                "`x` must be finite to fit an Exponential (the MLE rate is 1 / mean); found inf"
            )
        if np.any(mean == 0):
            raise InfeasibleError(
                "`x` is all 0: the Exponential MLE (rate = 1 / mean) needs a positive mean"
            )
        return cls.from_mean_params(np.asarray(mean, dtype=s.dtype))

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`1 - \log\lambda`, in nats.

        The closed form: the generic :math:`A - \eta\mu` forms
        :math:`\lambda \cdot (1/\lambda)`, which overflows for a subnormal rate.

        Examples
        --------
        >>> from expfam import Exponential
        >>> float(Exponential(rate=5e-324).entropy())  # 1 + 744.44
        745.4400719213812
        """
        return _cast(1 - np.log(self._params64[0]), self.dtype)

    # ------------------------------------------------------------------ distribution functions
    def _df_params(self) -> tuple[F64, ...]:
        return self._params64

    def _df_support(self) -> tuple[float, float]:
        return 0.0, np.inf

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(-np.expm1(-p[0] * x))

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(np.exp(-p[0] * x))

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return log1mexp(-p[0] * x)

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(-p[0] * x)

    def _df_ppf(self, q: F64, p: tuple[F64, ...]) -> F64:
        return _f64(-np.log1p(-q) / p[0])

    def _df_isf(self, q: F64, p: tuple[F64, ...]) -> F64:
        return _f64(-np.log(q) / p[0])

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        return _f64(1 / p[0])

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """0, the density's maximum."""
        return np.zeros(p[0].shape)


# ---------------------------------------------------------------------- conjugate prior
def _gamma_update(prior: Gamma, s: SufficientStatistics) -> Gamma:
    """``Gamma(alpha + sum w, beta + sum w x)``."""
    a, b = prior._params64
    total = Exponential._stats_sum(s)[..., 0]
    return Gamma(shape=_cast(a + s.total_weight, prior.dtype), rate=_cast(b + total, prior.dtype))


def _gamma_predictive(prior: Gamma, **fixed: Any) -> Any:
    """Lomax ``scipy.stats.lomax(alpha, scale=beta)``."""
    if fixed:
        raise TypeError(
            f"an Exponential likelihood takes no fixed parameters; got {sorted(fixed)}"
        )
    from scipy import stats  # noqa: PLC0415 - scipy.stats costs ~0.3 s at import; only this path needs it

    a, b = prior._params64
    return stats.lomax(a, scale=b)


register_conjugate(Gamma, Exponential, update=_gamma_update, predictive=_gamma_predictive)
