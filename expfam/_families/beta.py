r"""The Beta family.

:class:`Beta` (``a``, ``b``): :math:`\eta = (a - 1, b - 1)`,
:math:`T(x) = (\log x, \log(1 - x))`, :math:`h = 1` on :math:`(0, 1)`.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._distfns import ScalarFamily
from expfam._errors import InfeasibleError
from expfam._families._beta_dirichlet import (
    _beta_fisher,
    _beta_mean,
    _dirichlet_entropy,
    _dirichlet_inverse,
    _dirichlet_kl,
    _SpreadStatistics,
)
from expfam._families._common import (
    _cast,
    _check_positive,
    _keep,
    _mean_input,
    _natural64,
    _no_fixed,
    _open_support,
    _probe,
    _readonly,
    _require,
    _size,
    _usual,
)
from expfam._family import ExponentialFamily
from expfam._special import _f64, _log_beta
from expfam._suffstats import Block, SufficientStatistics, exact_block_sum
from expfam._support import Support, out_dtype
from expfam._tails import log_betainc
from expfam._validation import FloatArray, as_float_array

__all__ = ["Beta"]

F64 = NDArray[np.float64]


class Beta(_SpreadStatistics, ScalarFamily):
    r"""Beta distributions with shape parameters :math:`a > 0` and :math:`b > 0`.

    Density :math:`x^{a-1}(1-x)^{b-1}/B(a, b)` on :math:`0 < x < 1`. As an
    exponential family: :math:`T(x) = (\log x, \log(1-x))`,
    :math:`\eta = (a - 1, b - 1)`, :math:`h(x) = 1`, :math:`A(\eta) = \ln B(a, b)`,
    mean parameters :math:`(\psi(a) - \psi(a+b),\; \psi(b) - \psi(a+b))`. It is the
    two-category :class:`Dirichlet`.

    Parameters
    ----------
    a, b : array_like
        Positive shape parameters, broadcast to the batch shape.

    Notes
    -----
    The inverse mean map has no closed form; it exists exactly when
    :math:`e^{\mu_1} + e^{\mu_2} < 1` (Jensen) and is solved on the convex dual (see
    :class:`Dirichlet` for the initial guess). :meth:`entropy` is evaluated as
    :math:`H_\Gamma(a) + H_\Gamma(b) - H_\Gamma(a+b) - \psi(a+b)` with
    :math:`H_\Gamma` the entropy of a unit-rate gamma distribution, which avoids the
    cancellation of the textbook formula for large :math:`a, b`.

    It is the conjugate prior over ``probs`` of four likelihoods
    (:meth:`~ExponentialFamily.posterior`, :meth:`~ExponentialFamily.posterior_predictive`;
    :math:`N = \sum_i w_i` observations):

    ===========================  ===============================================
    likelihood                   posterior
    ===========================  ===============================================
    :class:`Bernoulli`           :math:`(a + \sum x_i,\; b + N - \sum x_i)`
    :class:`Binomial` (``n=``)   :math:`(a + \sum x_i,\; b + \sum (n_i - x_i))`
    :class:`Geometric`           :math:`(a + N,\; b + \sum x_i - N)`
    :class:`NegativeBinomial`    :math:`(a + rN,\; b + \sum x_i)`
    ===========================  ===============================================

    The predictives: a :class:`Bernoulli` with ``probs = a / (a + b)``, and the
    beta-binomial ``betabinom(n, a, b)``, beta-geometric ``betanbinom(1, a, b, loc=1)``
    and beta negative binomial ``betanbinom(r, a, b)`` of :mod:`scipy.stats`.

    Examples
    --------
    >>> from expfam import Beta, Bernoulli
    >>> prior = Beta(a=1.0, b=1.0)
    >>> post = prior.posterior(Bernoulli, [1, 1, 0, 1])
    >>> float(post.a), float(post.b)
    (4.0, 2.0)
    >>> float(post.posterior_predictive(Bernoulli).probs)
    0.6666666666666666
    """

    _repr_params = ("a", "b")
    _support = Support(lower=0.0, upper=1.0, safe=0.5)

    def __init__(self, a: ArrayLike, b: ArrayLike) -> None:
        dtype, (a64, b64) = _usual({"a": a, "b": b})
        _check_positive(a64, "a")
        _check_positive(b64, "b")
        super().__init__(np.stack([a64 - 1, b64 - 1], axis=-1).astype(dtype))
        _keep(self, "_params64", (_readonly(np.array(a64)), _readonly(np.array(b64))))

    def _check_natural(self) -> None:
        eta = _natural64(self, 2, "Beta")
        _require(np.isfinite(eta), eta, "natural_params", "finite")
        with np.errstate(invalid="ignore"):
            _require(eta > -1, eta, "natural_params", "> -1 (a, b > 0)")

    @cached_property
    def _params64(self) -> tuple[F64, F64]:
        eta = self._natural.astype(np.float64)
        return eta[..., 0] + 1, eta[..., 1] + 1

    @property
    def a(self) -> FloatArray:
        """First shape parameters ``a``, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[0], self.dtype))

    @property
    def b(self) -> FloatArray:
        """Second shape parameters ``b``, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[1], self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`a/(a+b)`."""
        a, b = self._params64
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            c = a + b
            # a + b overflows near the float max: the same ratio of halves
            out = np.where(np.isfinite(c), a / c, (0.5 * a) / (0.5 * a + 0.5 * b))
        return _cast(out, self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`ab/((a+b)^2(a+b+1))`."""
        a, b = self._params64
        with np.errstate(over="ignore", under="ignore"):
            c = a + b
            h = 0.5 * a + 0.5 * b  # finite where a + b overflows
            big = ((0.5 * a) / h) * ((0.5 * b) / h) * 0.5 / (h + 0.5)
            return _cast(np.where(np.isfinite(c), a / c * (b / c) / (c + 1), big), self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\ln B(a, b)`, shape ``batch_shape``."""
        a, b = self._params64
        return _cast(_log_beta(np.stack([a, b], axis=-1)), self.dtype)

    def _mean_map(self) -> FloatArray:
        a, b = self._params64
        return _cast(_beta_mean(a, b), self.dtype)

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`\operatorname{diag}(\psi_1(a), \psi_1(b)) - \psi_1(a+b)`."""
        a, b = self._params64
        return _cast(_beta_fisher(a, b), self.dtype)

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003

        mu = _mean_input(mean_params, 2, "Beta")
        eta = _dirichlet_inverse(mu.reshape(-1, 2), "Beta")
        return _cast(eta.reshape(mu.shape), as_float_array(mean_params, "mean_params").dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        r""":math:`T(x) = (\log x, \log(1-x))` for ``0 <= x <= 1``, shape ``x.shape + (2,)``."""
        a = as_float_array(x, "x")
        with np.errstate(invalid="ignore"):
            _require((a >= 0) & (a <= 1), a, "x", "in the support [0, 1] of a Beta")
        with np.errstate(divide="ignore"):
            t = np.stack([np.log(a), np.log1p(-a)], axis=-1)
        return _cast(t, out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (Lebesgue measure on ``(0, 1)``), shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.zeros(t.shape[:-1], dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def _log_prob(self, x: F64) -> F64:
        r"""Log density :math:`(a-1)\log x + (b-1)\log(1-x) - \log B(a, b)`."""
        a, b = self._params64
        lb = _log_beta(np.stack([a, b], axis=-1))
        return _f64(special.xlogy(a - 1, x) + special.xlog1py(b - 1, -x) - lb)

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`\ln B(a,b) - (a-1)\psi(a) - (b-1)\psi(b) + (a+b-2)\psi(a+b)`.

        Evaluated without cancellation for large :math:`a, b` (see Notes of the class).
        """
        a, b = self._params64
        return _cast(_dirichlet_entropy(np.stack([a, b], axis=-1)), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other), written so that nearby distributions keep more digits.

        :math:`B(a_q, a_p) + B(b_q, b_p) - B(a_q + b_q, a_p + b_p)` with
        :math:`B(y, x) = \ln\Gamma(y) - \ln\Gamma(x) - (y - x)\psi(x)` (see
        :func:`_lgamma_bregman`), the Bregman divergence of :math:`\ln B(a, b)`.
        """
        self._check_same_family(other)
        assert isinstance(other, Beta)  # noqa: S101 - narrowed by _check_same_family
        ap, bp = self._params64
        aq, bq = other._params64
        alpha_p = np.stack(np.broadcast_arrays(ap, bp), axis=-1)
        alpha_q = np.stack(np.broadcast_arrays(aq, bq), axis=-1)
        kl = _dirichlet_kl(alpha_p, alpha_q)
        return _cast(kl, np.result_type(self.dtype, other.dtype))

    # ------------------------------------------------------------------ statistics
    # parts: compensated sums of T(x), and whether the observations differ at all (the
    # block, combine and merge hooks of _SpreadStatistics)
    @classmethod
    def _stats_fast(
        cls,
        probe: ExponentialFamily,  # noqa: ARG003 - the base's signature
        x: NDArray[Any],
        w: F64 | None,
        buf: F64,
    ) -> Block | None:
        """Return the parts of :meth:`_stats_block` for an unweighted 1-d block, lean.

        The support check is the block's minimum and maximum (0 and 1, where a
        statistic is infinite, take :meth:`_stats_block`); the spread is whether they
        differ.
        """
        if w is not None or x.ndim != 1 or x.shape[0] == 0:
            return None
        lowest, highest = float(x.min()), float(x.max())
        if not (lowest > 0 and highest < 1):  # False at nan
            return None
        # the largest |log x| and |log1p(-x)| are at the extremes; the margin covers a
        # log that is not exactly monotone
        logs = np.log(x, out=buf[0])
        hi0, lo0 = exact_block_sum(logs, top=-math.log(lowest) * (1 + 1e-12), out=buf[2])
        log1m = np.log1p(np.negative(x, out=buf[1]), out=buf[1])
        hi1, lo1 = exact_block_sum(log1m, top=-math.log1p(-highest) * (1 + 1e-12), out=buf[2])
        parts = {
            "t": np.array([hi0, hi1], dtype=np.float64),
            "t_lo": np.array([lo0, lo1], dtype=np.float64),
            "x0": np.asarray(float(x[0])),
            "varies": np.asarray(float(lowest != highest)),
        }
        return (float(x.shape[0]), 0.0), parts

    @classmethod
    def _fit_stats(cls, s: SufficientStatistics) -> Beta:
        """Maximum-likelihood fit (see :meth:`ExponentialFamily.fit`).

        Raises
        ------
        InfeasibleError
            If an observation is 0 or 1 (where the likelihood is unbounded) or all
            observations are equal: the MLE does not exist.
        """
        t = cls._stats_sum(s)
        for k, value in ((0, 0.0), (1, 1.0)):
            if np.any(t[..., k] == -np.inf):
                raise InfeasibleError(
                    f"`x` contains {value!r}: the Beta MLE needs 0 < x < 1 (at 0 and 1 the "
                    "likelihood is unbounded)"
                )
        cls._check_spread(s)
        return cls.from_mean_params(_cast(cls._stats_mean(s), s.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Draw samples of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        a, b = self._params64
        x = gen.beta(a, b, size=_size(size) + self.batch_shape)
        return _open_support(x, self.dtype, upper=1.0)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Beta:
        _no_fixed(cls, fixed)
        return _probe(cls(a=1.0, b=1.0))

    # ------------------------------------------------------------------ distribution functions
    def _df_params(self) -> tuple[F64, ...]:
        return self._params64

    def _df_support(self) -> tuple[float, float]:
        return 0.0, 1.0

    @staticmethod
    def _df_both(x: F64, p: tuple[F64, ...]) -> tuple[F64, F64]:
        """Return the cdf and the sf, the larger as 1 minus the smaller.

        scipy's ``betaincc`` loses digits near 1 (``betaincc(0.5, 0.5, 2.5e-16)`` is
        5e-13 off); 1 minus a value below 1/2 is exact to rounding.
        """
        a, b = p
        c, s = special.betainc(a, b, x), special.betaincc(a, b, x)
        return _f64(np.where(s < 0.5, 1 - s, c)), _f64(np.where(c < 0.5, 1 - c, s))

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return self._df_both(x, p)[0]

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return self._df_both(x, p)[1]

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        return log_betainc(a, b, x, 1 - x)

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        return log_betainc(b, a, 1 - x, x)

    def _df_ppf(self, q: F64, p: tuple[F64, ...]) -> F64:
        # each inverse where its probability is the small tail: 1 - q is exact there
        a, b = p
        return _f64(
            np.where(q <= 0.5, special.betaincinv(a, b, q), special.betainccinv(a, b, 1 - q))
        )

    def _df_isf(self, q: F64, p: tuple[F64, ...]) -> F64:
        a, b = p
        return _f64(
            np.where(q <= 0.5, special.betainccinv(a, b, q), special.betaincinv(a, b, 1 - q))
        )

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        a, b = p
        c = a + b
        return _f64(np.sqrt(a / c * (b / c) / (c + 1)))

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """Return ``(a - 1)/(a + b - 2)`` for ``a, b > 1``, or the end where the density peaks.

        nan where there is no single mode: ``a = b = 1`` (uniform) and ``a, b < 1``
        (both ends).
        """
        a, b = p
        inner = (a - 1) / ((a - 1) + (b - 1))
        out = np.where((a > 1) & (b > 1), inner, np.nan)
        out = np.where((a <= 1) & (b >= 1) & ~((a == 1) & (b == 1)), 0.0, out)
        return _f64(np.where((a >= 1) & (b <= 1) & ~((a == 1) & (b == 1)), 1.0, out))
