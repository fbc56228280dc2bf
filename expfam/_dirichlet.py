r"""The Dirichlet family, and the inverse mean map it shares with :class:`~expfam.Beta`.

A Dirichlet distribution with concentration :math:`\alpha \in (0, \infty)^K` has
density :math:`\prod_k x_k^{\alpha_k - 1} / B(\alpha)` on the probability simplex
(with respect to Lebesgue measure on its first :math:`K - 1` coordinates). As an
exponential family: :math:`T(x) = \log x`, :math:`\eta = \alpha - 1`,
:math:`h(x) = 1`, :math:`A(\eta) = \sum_k \ln\Gamma(\alpha_k) - \ln\Gamma(\alpha_0)`
with :math:`\alpha_0 = \sum_k \alpha_k`, mean parameters
:math:`E[\log x_k] = \psi(\alpha_k) - \psi(\alpha_0)`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._continuous import (
    _cast,
    _check_positive,
    _digamma_diff,
    _digamma_scale,
    _dirichlet_entropy,
    _dirichlet_kl,
    _entropy_plus_kl,
    _f64,
    _fit_data,
    _keep,
    _log_beta,
    _natural64,
    _no_fixed,
    _no_spread,
    _open_support,
    _others,
    _out_dtype,
    _probe,
    _readonly,
    _require,
    _size,
    _usual,
)
from expfam._dual import DualProblem, solve_dual
from expfam._errors import InfeasibleError
from expfam._family import ExponentialFamily
from expfam._kernels import logsumexp, softmax
from expfam._validation import FloatArray, as_float_array

__all__ = ["Dirichlet"]

F64 = NDArray[np.float64]
_EULER = float(np.euler_gamma)


# ---------------------------------------------------------------------- dual problem
def _A(eta: F64) -> F64:
    return _log_beta(eta + 1)


def _mean(eta: F64) -> F64:
    return _mean_alpha(eta + 1)


def _mean_alpha(a: F64) -> F64:
    """``psi(alpha_k) - psi(alpha_0)``, accurate also where the other alphas are small."""
    return _digamma_diff(a, _others(a))


def _fisher(eta: F64) -> F64:
    return _fisher_alpha(eta + 1)


def _fisher_alpha(a: F64) -> F64:
    c = special.polygamma(1, a.sum(axis=-1))
    k = a.shape[-1]
    out = np.broadcast_to(-c[..., None, None], (*a.shape, k)).copy()
    idx = np.arange(k)
    out[..., idx, idx] += special.polygamma(1, a)
    return _f64(out)


def _newton_step(eta: F64, g: F64) -> F64:
    r"""Solve :math:`(D - c\,11^\top) s = g` by Sherman-Morrison in :math:`O(K)`."""
    a = eta + 1
    dinv = 1 / special.polygamma(1, a)
    c = special.polygamma(1, a.sum(axis=-1))
    u = dinv * g
    denom = 1 - c * dinv.sum(axis=-1)
    return _f64(u + dinv * (c * u.sum(axis=-1) / denom)[:, None])


_DIRICHLET = DualProblem(
    log_partition=_A,
    mean_map=_mean,
    fisher=_fisher,
    in_domain=lambda eta: np.all(np.isfinite(eta) & (eta > -1), axis=-1),
    scale=lambda eta: eta + 1,
    mean_scale=lambda eta: (
        _digamma_scale(eta + 1) + _digamma_scale(eta.sum(axis=-1, keepdims=True) + eta.shape[-1])
    ),
    newton_step=_newton_step,
)


def _inverse_digamma(y: F64, start: F64 | None = None, steps: int = 6) -> tuple[F64, F64]:
    r"""Invert the digamma function by Newton's method from Minka's initial guess.

    Returns :math:`x = \psi^{-1}(y)` and the trigamma :math:`\psi_1(x)`; six steps give
    about ten digits, plenty for an initial guess. `start` replaces Minka's guess (a
    warm start, needing fewer `steps`).
    """
    with np.errstate(over="ignore", divide="ignore"):  # both branches are evaluated
        x = np.where(y >= -2.22, np.exp(np.minimum(y, 700.0)) + 0.5, -1 / (y + _EULER))
    if start is not None:  # nan in `start`: no warm start for that entry
        x = np.where(np.isnan(start), x, start)
    tri = _f64(special.polygamma(1, x))
    for _ in range(steps):
        new = x - (special.digamma(x) - y) / tri
        x = np.where(new > 0, new, x / 4)
        tri = _f64(special.polygamma(1, x))
    return _f64(x), tri


def _initial_total(m: F64) -> F64:
    r"""Log of the total concentration :math:`\alpha_0`, to about eight digits.

    Given :math:`\alpha_0`, each :math:`\alpha_k = \psi^{-1}(\psi(\alpha_0) + \mu_k)`
    (Minka's fixed point); the solution is the unique :math:`\alpha_0` with
    :math:`\phi(u) = \log\sum_k\alpha_k - u = 0` at :math:`u = \log\alpha_0`
    (positive below the solution, negative above). Newton's method on
    :math:`\phi`, safeguarded by the bracket that the signs of :math:`\phi` provide
    (bisection inside it, steps of 2 to find it), from the large-:math:`\alpha_0` guess
    :math:`\alpha_0 \approx (K-1)/(2s)`, :math:`s = -\log\sum_k e^{\mu_k}`.
    """
    k = m.shape[-1]
    s = -logsumexp(m)  # > 0: the Jensen gap
    u = np.log(np.maximum((k - 1) / (2 * s), 1e-300))
    lo = np.full(u.shape, -np.inf)
    hi = np.full(u.shape, np.inf)
    alpha = np.full(m.shape, np.nan)
    du = np.full(u.shape, np.inf)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(100):
            a0 = np.exp(u)
            y = special.digamma(a0)[:, None] + m
            # warm start (3 Newton steps) only where the total moved little
            warm = np.abs(du) < 0.05
            start = np.where(warm[:, None], alpha, np.nan)
            alpha, tri = _inverse_digamma(y, start, 3 if np.all(warm) else 6)
            total = alpha.sum(axis=-1)
            phi = np.log(total) - u
            lo = np.where(phi > 0, u, lo)
            hi = np.where(phi < 0, u, hi)
            dphi = a0 * special.polygamma(1, a0) * (1 / tri).sum(axis=-1) / total - 1
            new = u - phi / dphi
            bracketed = np.isfinite(lo) & np.isfinite(hi)
            bad = ~np.isfinite(new) | ~(new > lo) | ~(new < hi) | ~(dphi < 0)
            bad |= ~bracketed & (np.abs(new - u) > 2)  # at most a factor e**2 per step
            fallback = np.where(bracketed, 0.5 * (lo + hi), np.where(phi > 0, u + 2, u - 2))
            new = np.clip(np.where(bad, fallback, new), -690.0, 690.0)
            du = new - u
            done = (np.abs(du) < 1e-9) | (phi == 0)
            u = new
            if np.all(done):
                break
    return _f64(u)


def _dirichlet_inverse(mu: F64, family: str) -> F64:
    """Inverse mean map for flat mean parameters ``(m, K)``: checks, initial guess, dual solve."""
    with np.errstate(invalid="ignore"):
        gap = -logsumexp(mu) if mu.size else np.zeros(mu.shape[0])
        bad = ~(gap > 0) | np.any(~(mu < 0), axis=-1)
    if np.any(bad):
        i = np.flatnonzero(bad)[0]
        raise InfeasibleError(
            f"`mean_params` = E[log x] of a {family} must satisfy sum(exp(mean_params)) < 1 "
            f"(Jensen); found {mu[i].tolist()}"
        )
    if mu.shape[0] == 0:
        return _f64(mu.copy())
    u = _initial_total(mu)
    alpha, _ = _inverse_digamma(special.digamma(np.exp(u))[:, None] + mu)
    return solve_dual(_DIRICHLET, mu, alpha - 1)


# ---------------------------------------------------------------------- the family
class Dirichlet(ExponentialFamily):
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

    The conjugate prior of :class:`~expfam.Categorical`: see :meth:`posterior`.

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
        return _cast(a / a.sum(axis=-1, keepdims=True), self.dtype)

    def variance(self) -> FloatArray:
        r"""Marginal variances :math:`\alpha_k(\alpha_0 - \alpha_k)/(\alpha_0^2(\alpha_0+1))`."""
        a = self._alpha64
        a0 = a.sum(axis=-1, keepdims=True)
        return _cast(a / a0 * ((a0 - a) / a0) / (a0 + 1), self.dtype)

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
        total = a.astype(np.float64).sum(axis=-1)
        tol = 8 * float(np.finfo(a.dtype).eps) * np.sqrt(k)
        _require(
            np.abs(total - 1) <= tol, total, "x", "on the simplex (sum to 1 along the last axis)"
        )
        return a, _out_dtype(self, x, a)

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

    @classmethod
    def fit(cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any) -> Dirichlet:
        """Maximum-likelihood fit (see :meth:`ExponentialFamily.fit`).

        Raises
        ------
        InfeasibleError
            If a component of an observation is 0 (where the likelihood is unbounded)
            or all observations are equal: the MLE does not exist.
        """
        _no_fixed(cls, fixed)
        data = _fit_data(x, weights, event_ndim=1)
        if data is not None:
            with np.errstate(invalid="ignore"):
                zero = np.any(data == 0)
            if zero:
                raise InfeasibleError(
                    "`x` has a component equal to 0: the Dirichlet MLE needs every "
                    "x_k > 0 (on the faces of the simplex the likelihood is unbounded)"
                )
            _no_spread(data, "Dirichlet", event_ndim=1)
        return super().fit(x, weights=weights)

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`, from the two closed forms."""
        return _entropy_plus_kl(self, other)

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

    def posterior(
        self,
        likelihood: type[ExponentialFamily],
        x: ArrayLike,
        *,
        weights: ArrayLike | None = None,
    ) -> Dirichlet:
        r"""Posterior :math:`\text{Dirichlet}(\alpha + \text{counts})` after labels `x`.

        Parameters
        ----------
        likelihood : type
            :class:`~expfam.Categorical` (the Dirichlet is over its ``probs``).
        x : array_like
            Integer labels in ``[0, K)`` along the first axis, shape
            ``(n,) + batch_shape``.
        weights : array_like, optional
            Non-negative weights of shape ``(n,)`` (fractional counts).

        Returns
        -------
        Dirichlet

        See Also
        --------
        posterior_predictive

        Examples
        --------
        >>> from expfam import Categorical, Dirichlet
        >>> post = Dirichlet(concentration=[1.0, 1.0, 1.0]).posterior(Categorical, [0, 2, 2])
        >>> post.concentration
        array([2., 1., 3.])
        """
        from expfam._conjugate import posterior  # noqa: PLC0415 - _conjugate imports the families

        out = posterior(self, likelihood, x, weights=weights)
        assert isinstance(out, Dirichlet)  # noqa: S101 - the dispatch table maps Dirichlet to Dirichlet
        return out

    def posterior_predictive(self, likelihood: type[ExponentialFamily]) -> Any:
        r"""Predictive distribution of a new label: ``Categorical(probs=alpha / alpha0)``.

        Parameters
        ----------
        likelihood : type
            :class:`~expfam.Categorical`.

        Returns
        -------
        Categorical

        Examples
        --------
        >>> from expfam import Categorical, Dirichlet
        >>> Dirichlet(concentration=[2.0, 1.0, 1.0]).posterior_predictive(Categorical).probs
        array([0.5 , 0.25, 0.25])
        """
        from expfam._conjugate import posterior_predictive  # noqa: PLC0415 - see posterior

        return posterior_predictive(self, likelihood)


def _check_shape(shape: tuple[int, ...], name: str) -> None:
    if len(shape) == 0 or shape[-1] < 2:
        raise ValueError(
            f"`{name}` of a Dirichlet must have shape batch_shape + (K,) with K >= 2; got {shape}"
        )
