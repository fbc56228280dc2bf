r"""The Dirichlet family.

A Dirichlet distribution with concentration :math:`\alpha \in (0, \infty)^K` has
density :math:`\prod_k x_k^{\alpha_k - 1} / B(\alpha)` on the probability simplex
(with respect to Lebesgue measure on its first :math:`K - 1` coordinates). As an
exponential family: :math:`T(x) = \log x`, :math:`\eta = \alpha - 1`,
:math:`h(x) = 1`, :math:`A(\eta) = \sum_k \ln\Gamma(\alpha_k) - \ln\Gamma(\alpha_0)`
with :math:`\alpha_0 = \sum_k \alpha_k`, mean parameters
:math:`E[\log x_k] = \psi(\alpha_k) - \psi(\alpha_0)`.
"""

from __future__ import annotations

import math
import operator
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._errors import InfeasibleError
from expfam._families._beta_dirichlet import (
    _dirichlet_entropy,
    _dirichlet_inverse,
    _dirichlet_kl,
    _fisher_alpha,
    _mean_alpha,
    _SpreadStatistics,
)
from expfam._families._common import (
    _cast,
    _check_positive,
    _keep,
    _natural64,
    _no_fixed,
    _open_support,
    _probe,
    _readonly,
    _require,
    _size,
    _usual,
)
from expfam._families.beta import Beta
from expfam._family import ExponentialFamily
from expfam._kernels import softmax
from expfam._special import _f64, _log_beta
from expfam._suffstats import Block, SufficientStatistics, exact_block_sum
from expfam._support import out_dtype
from expfam._validation import FloatArray, as_float_array

__all__ = ["Dirichlet"]

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------- the family
class Dirichlet(_SpreadStatistics):
    r"""Dirichlet distributions over the probability simplex of :math:`K \ge 2` categories.

    See the module docstring for the exponential-family form: :math:`T(x) = \log x`,
    :math:`\eta = \alpha - 1`, :math:`A = \sum_k\ln\Gamma(\alpha_k) - \ln\Gamma(\alpha_0)`.

    Parameters
    ----------
    concentration : array_like
        Concentrations :math:`\alpha_k > 0`, shape ``batch_shape + (K,)``.

    Notes
    -----
    The inverse mean map (from :math:`E[\log x]`) has no closed form; it exists
    exactly when :math:`\sum_k e^{\mu_k} < 1`. It is found by a safeguarded Newton
    iteration on the total concentration :math:`\alpha_0` (each :math:`\alpha_k` then
    follows by inverting the digamma function, as in Minka's fixed point [1]_) to
    about eight digits, then by
    Newton's method on the convex dual (:func:`expfam._dual.solve_dual`) with the
    Fisher information, diagonal plus rank one, inverted in :math:`O(K)`.

    The conjugate prior of :class:`~expfam.Categorical`: the posterior after labels
    with weighted counts :math:`c` is :math:`\text{Dirichlet}(\alpha + c)`, the
    predictive a categorical with ``probs = alpha / alpha.sum()`` (see
    :meth:`~ExponentialFamily.posterior`).

    References
    ----------
    .. [1] T. P. Minka, "Estimating a Dirichlet distribution", 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import Dirichlet
    >>> d = Dirichlet(concentration=[1.0, 2.0, 3.0])
    >>> d.mean()
    array([0.16666667, 0.33333333, 0.5       ])
    >>> back = Dirichlet.from_mean_params(d.mean_params)
    >>> bool(np.allclose(back.concentration, [1.0, 2.0, 3.0], rtol=1e-13))
    True
    """

    event_ndim = 1
    _repr_params = ("concentration", "num_categories")

    def __init__(self, concentration: ArrayLike) -> None:
        dtype, (a,) = _usual({"concentration": concentration})
        _check_shape(a.shape, "concentration")
        _check_positive(a, "concentration")
        super().__init__((a - 1).astype(dtype))
        _keep(self, "_alpha64", _readonly(np.array(a)))

    def _check_natural(self) -> None:
        eta = _natural64(self, None, "Dirichlet")
        _check_shape(eta.shape, "natural_params")
        _require(np.isfinite(eta), eta, "natural_params", "finite")
        with np.errstate(invalid="ignore"):
            _require(eta > -1, eta, "natural_params", "> -1 (concentration > 0)")

    @cached_property
    def _alpha64(self) -> F64:
        return self._natural.astype(np.float64) + 1

    @property
    def concentration(self) -> FloatArray:
        r"""Concentrations :math:`\alpha`, shape ``batch_shape + (K,)``."""
        return _readonly(_cast(self._alpha64, self.dtype))

    @property
    def num_categories(self) -> int:
        """Number of categories ``K``."""
        return int(self._natural.shape[-1])

    def mean(self) -> FloatArray:
        r"""Mean :math:`\alpha / \alpha_0`, shape ``batch_shape + (K,)``."""
        a = self._alpha64
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            a0 = a.sum(axis=-1, keepdims=True)
            r = a / a.max(axis=-1, keepdims=True)  # alpha / max alpha: its sum is finite
            out = np.where(np.isfinite(a0), a / a0, r / r.sum(axis=-1, keepdims=True))
        return _cast(out, self.dtype)

    def variance(self) -> FloatArray:
        r"""Marginal variances :math:`\alpha_k(\alpha_0 - \alpha_k)/(\alpha_0^2(\alpha_0+1))`."""
        a = self._alpha64
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            a0 = a.sum(axis=-1, keepdims=True)
            out = a / a0 * ((a0 - a) / a0) / (a0 + 1)
            top = a.max(axis=-1, keepdims=True)
            r = a / top
            s = r.sum(axis=-1, keepdims=True)  # alpha_0 / max alpha, finite
            big = (r / s) * ((s - r) / s) / s / top  # alpha_0 + 1 = alpha_0 there
        return _cast(np.where(np.isfinite(a0), out, big), self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\ln B(\alpha)`, shape ``batch_shape``."""
        return _cast(_log_beta(self._alpha64), self.dtype)

    def _mean_map(self) -> FloatArray:
        return _cast(_mean_alpha(self._alpha64), self.dtype)

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`\operatorname{diag}(\psi_1(\alpha)) - \psi_1(\alpha_0)`."""
        return _cast(_fisher_alpha(self._alpha64), self.dtype)

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = as_float_array(mean_params, "mean_params")
        _check_shape(mu.shape, "mean_params")
        _require(np.isfinite(mu), mu, "mean_params", "finite")
        flat = mu.astype(np.float64).reshape(-1, mu.shape[-1])
        return _cast(_dirichlet_inverse(flat, "Dirichlet").reshape(mu.shape), mu.dtype)

    def _check_x(self, x: ArrayLike) -> tuple[FloatArray, np.dtype[Any]]:
        a = as_float_array(x, "x")
        k = a.shape[-1] if self.__dict__.get("_probe", False) and a.ndim else self.num_categories
        if a.ndim == 0 or a.shape[-1] != k:
            raise ValueError(
                f"`x` must have shape sample_shape + batch_shape + ({k},); got {a.shape}"
            )
        with np.errstate(invalid="ignore"):
            _require(a >= 0, a, "x", "non-negative (a point of the simplex)")
        with np.errstate(over="ignore"):  # a sum beyond the float max: inf, refused below
            total = a.astype(np.float64).sum(axis=-1)
        tol = 8 * float(np.finfo(a.dtype).eps) * np.sqrt(k)
        _require(
            np.abs(total - 1) <= tol, total, "x", "on the simplex (sum to 1 along the last axis)"
        )
        return a, out_dtype(self, x, a)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        r""":math:`T(x) = \log x` for points of the simplex, shape ``x.shape``."""
        a, dt = self._check_x(x)
        with np.errstate(divide="ignore"):
            return _cast(np.log(a.astype(np.float64)), dt)

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero (Lebesgue measure on the simplex), shape ``x.shape[:-1]``."""
        a, dt = self._check_x(x)
        return np.zeros(a.shape[:-1], dtype=dt)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log density :math:`\sum_k(\alpha_k - 1)\log x_k - \ln B(\alpha)`, :math:`0\log 0 = 0`.

        Parameters
        ----------
        x : array_like
            Points of the simplex, shape ``sample_shape + batch_shape + (K,)``.

        Returns
        -------
        ndarray
            Shape ``sample_shape + batch_shape``.
        """
        a, dt = self._check_x(x)
        self._check_x_batch(np.shape(a))
        alpha = self._alpha64
        out = special.xlogy(alpha - 1, a.astype(np.float64)).sum(axis=-1) - _log_beta(alpha)
        return _cast(np.asarray(out), dt)

    def entropy(self) -> FloatArray:
        r"""Entropy in nats.

        :math:`H = \ln B(\alpha) + (\alpha_0-K)\psi(\alpha_0) - \sum_k(\alpha_k-1)\psi(\alpha_k)`,
        evaluated as :math:`\sum_k H_\Gamma(\alpha_k) - H_\Gamma(\alpha_0) -
        (K-1)\psi(\alpha_0)`, with :math:`H_\Gamma` the entropy of a unit-rate gamma
        distribution, which keeps full precision for large concentrations.
        """
        return _cast(_dirichlet_entropy(self._alpha64), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other), the Bregman divergence of :math:`\ln B(\alpha)`.

        Written as :math:`\sum_k B(\alpha_{q,k}, \alpha_{p,k}) - B(\alpha_{q,0},
        \alpha_{p,0})` with :math:`B(y, x) = \ln\Gamma(y) - \ln\Gamma(x) - (y-x)\psi(x)`,
        each summed from a Taylor series for nearby arguments, so nearby distributions
        keep more digits than the generic formula.
        """
        self._check_same_family(other)
        assert isinstance(other, Dirichlet)  # noqa: S101 - narrowed by _check_same_family
        kl = _dirichlet_kl(self._alpha64, other._alpha64)
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
        r"""Return the parts of :meth:`_stats_block` for an unweighted block ``(n, K)``, lean.

        The checks of :meth:`_check_x` and the spread come from a transposed copy of
        the block, one contiguous row per coordinate, where numpy's reductions are
        fast: every coordinate positive (a 0, where a statistic is infinite, takes
        :meth:`_stats_block`), every row's sum within the simplex tolerance by a
        margin for the order of the sum (a row near the tolerance takes
        :meth:`_stats_block`, which decides), the spread from the coordinates' minima
        and maxima. The sums are those of :meth:`_stats_block` bit for bit: the same
        logs, and the same splitter, whose exponent is that of
        :math:`\max|\log x| = -\log \min x` per coordinate.

        Only float64 data take it: a float32 block arrives converted to float64, and
        :meth:`_stats_block` checks it with float32's tolerance and sums its logs
        rounded to float32. A block whose first row is exactly representable in
        float32 may be one, and takes :meth:`_stats_block`.
        """
        if w is not None or x.ndim != 2 or x.dtype != np.float64 or not x.flags.c_contiguous:
            return None
        n, k = x.shape
        eps = float(np.finfo(np.float64).eps)
        # the tolerance of _check_x, less the largest difference between two orders of
        # summing a row whose sum is about 1
        room = 8 * eps * math.sqrt(k) - 1.01 * (k - 1) * eps
        if n == 0 or k < 2 or not room > 0:
            return None
        with np.errstate(over="ignore"):  # data off the simplex: _stats_block says so
            if np.array_equal(x[0].astype(np.float32), x[0]):
                return None
        xt = buf[3].reshape(k, n)
        np.copyto(xt, x.T)
        lowest, highest = xt.min(axis=1), xt.max(axis=1)
        if not np.all(lowest > 0):  # False at nan
            return None
        with np.errstate(over="ignore", invalid="ignore"):  # rows off the simplex
            if not np.all(np.abs(xt.sum(axis=0) - 1) <= room):
                return None
        logs = np.log(x, out=buf[0])
        # the splitter of the sums depends only on the binade of max|log x| per
        # coordinate; -log(min x) is that maximum to an ulp or two (log is monotone to
        # within its rounding; a log > 0, of an x a little above 1, is below 1e-6), so
        # where it lies clear of a power of two it gives that binade
        top = -np.log(lowest)
        below, above = np.frexp(top * (1 - 1e-12))[1], np.frexp(top * (1 + 1e-12))[1]
        safe = (top > 1e-6) & (below == above)
        if not np.all(safe):
            top = np.max(np.abs(logs), axis=0)
        hi, lo = exact_block_sum(logs, top=top)
        parts = {
            "t": hi,
            "t_lo": lo,
            "x0": np.array(x[0]),
            "varies": np.asarray(float(np.any(lowest != highest))),
        }
        return (float(n), 0.0), parts

    @classmethod
    def _fit_stats(cls, s: SufficientStatistics) -> Dirichlet:
        """Maximum-likelihood fit (see :meth:`ExponentialFamily.fit`).

        Raises
        ------
        InfeasibleError
            If a component of an observation is 0 (where the likelihood is unbounded)
            or all observations are equal: the MLE does not exist.
        """
        t = cls._stats_sum(s)
        if np.any(t == -np.inf):
            raise InfeasibleError(
                "`x` has a component equal to 0: the Dirichlet MLE needs every "
                "x_k > 0 (on the faces of the simplex the likelihood is unbounded)"
            )
        cls._check_spread(s)
        return cls.from_mean_params(_cast(cls._stats_mean(s), s.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        r"""Draw points of the simplex, shape ``size + batch_shape + (K,)``.

        Normalised gamma variates, drawn in log space
        (:math:`G_\alpha = G_{\alpha+1} U^{1/\alpha}`) so that small concentrations do
        not underflow to an all-zero row; a coordinate below the smallest positive
        float becomes that float (the support is the open simplex).
        """
        gen = np.random.default_rng(rng)
        a = self._alpha64
        shape = _size(size) + a.shape
        g = gen.standard_gamma(np.broadcast_to(a + 1, shape))
        u = 1 - gen.random(shape)  # in (0, 1]
        with np.errstate(divide="ignore"):
            logg = np.log(g) + np.log(u) / a
        return _open_support(_f64(softmax(logg)), self.dtype)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Dirichlet:
        # the probe checks points of the simplex of any size K (taken from the data)
        _no_fixed(cls, fixed)
        return _probe(cls(concentration=[1.0, 1.0]))

    # ------------------------------------------------------------------ distribution functions
    def mode(self) -> FloatArray:
        r"""Mode :math:`(\alpha_k - 1)/(\alpha_0 - K)`, shape ``batch_shape + (K,)``.

        The density's maximum is interior exactly when every :math:`\alpha_k > 1`;
        elsewhere it lies on the boundary of the simplex (or the density is unbounded
        or flat there) and the result is nan.

        Examples
        --------
        >>> from expfam import Dirichlet
        >>> Dirichlet([3.0, 2.0, 2.0]).mode()
        array([0.5 , 0.25, 0.25])
        """
        a = self._alpha64
        with np.errstate(invalid="ignore", over="ignore"):
            excess = a - 1  # exact for the alpha > 1 that are kept
            out = excess / excess.sum(axis=-1, keepdims=True)
        out = np.where(np.all(a > 1, axis=-1, keepdims=True), out, np.nan)
        return _cast(out, self.dtype)

    def marginal(self, k: int) -> Beta:
        r"""Marginal distribution of component `k`, a Beta distribution.

        :math:`x_k \sim \mathrm{Beta}(\alpha_k, \alpha_0 - \alpha_k)`.

        Parameters
        ----------
        k : int
            Index of the component, ``-K <= k < K`` (negative from the end).

        Returns
        -------
        Beta
            Batch shape ``batch_shape``, in this distribution's dtype; its
            distribution functions give the marginal's cdf, quantiles and intervals.

        Raises
        ------
        TypeError
            If `k` is not an integer.
        ValueError
            If `k` is out of range.

        Examples
        --------
        >>> from expfam import Dirichlet
        >>> m = Dirichlet([2.0, 3.0, 5.0]).marginal(0)
        >>> m
        Beta(a=2, b=8)
        >>> float(m.mean())
        0.2
        """
        try:
            i = operator.index(k)
        except TypeError:
            raise TypeError(f"`k` must be an integer; got {k!r}") from None
        K = self.num_categories
        if not -K <= i < K:
            raise ValueError(
                f"`k` must be in [-{K}, {K}) for a Dirichlet of {K} categories; got {i}"
            )
        a = self._alpha64
        ak = a[..., i]
        rest = np.delete(a, i % K, axis=-1).sum(axis=-1)  # alpha_0 - alpha_k, no cancellation
        return Beta(a=_cast(ak, self.dtype), b=_cast(rest, self.dtype))


def _check_shape(shape: tuple[int, ...], name: str) -> None:
    if len(shape) == 0 or shape[-1] < 2:
        raise ValueError(
            f"`{name}` of a Dirichlet must have shape batch_shape + (K,) with K >= 2; got {shape}"
        )
