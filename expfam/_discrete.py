r"""Discrete families: Bernoulli, binomial (known number of trials), Poisson and geometric.

* :class:`Bernoulli` (``probs`` :math:`p`): :math:`\eta = \operatorname{logit} p`,
  :math:`T(x) = x`, :math:`h = 1` on :math:`\{0, 1\}`.
* :class:`Binomial` (known ``n``, ``probs`` :math:`p`): :math:`\eta = \operatorname{logit} p`,
  :math:`T(x) = x`, :math:`h(x) = \binom{n}{x}` on :math:`\{0, \dots, n\}`.
* :class:`Poisson` (``rate`` :math:`\lambda`): :math:`\eta = \log\lambda`,
  :math:`T(x) = x`, :math:`h(x) = 1/x!` on :math:`\{0, 1, \dots\}`.
* :class:`Geometric` (``probs`` :math:`p`): :math:`\eta = \log(1 - p)`,
  :math:`T(x) = x`, :math:`h = 1` on :math:`\{1, 2, \dots\}`.

The geometric distribution follows :data:`scipy.stats.geom` and
:meth:`numpy.random.Generator.geometric`: the number of trials up to and including
the first success, :math:`P(x) = p(1-p)^{x-1}` on :math:`x \in \{1, 2, \dots\}`.

Boundary members are allowed where they are distributions: ``probs`` 0 or 1 for
Bernoulli and binomial (natural parameter :math:`\mp\infty`), rate 0 for Poisson
(:math:`\eta = -\infty`, a point mass at 0) and ``probs = 1`` for geometric. Their
log-probabilities, entropies and divergences are exact limits (computed by the
overrides below, which the generic formulas serve as test oracles for in the
interior).

Log-probabilities use Loader's saddle-point form [1]_ (for Poisson
:math:`\log p(x) = -\tfrac12\log(2\pi x) - \mathrm{stirlerr}(x) - \mathrm{bd0}(x, \lambda)`,
and its binomial analogue), which keeps full relative precision where
:math:`x\log\lambda - \lambda - \log x!` cancels terms of size :math:`\lambda\log\lambda`.

The expected log base measures :math:`E[\log x!]` (Poisson) and
:math:`E[\log\binom{n}{x}]` (binomial), and the entropies, are summed over the
window :math:`|x - \mu| \le t` where Bernstein's inequality bounds the mass outside
by :math:`2e^{-45}`, with positive terms only; for variances beyond ``1e4`` (Poisson)
and ``1e8`` (binomial) the entropy's asymptotic expansion is used instead, with a
truncation error below ``4e-17``.

References
----------
.. [1] C. Loader, "Fast and accurate computation of binomial probabilities", 2000.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._continuous import (
    _bd0,
    _cast,
    _f64,
    _finish_log_prob,
    _integer_outcomes,
    _log_dpois_raw,
    _log_prob_outcomes,
    _natural64,
    _no_fixed,
    _probe,
    _r_minus_log1p,
    _readonly,
    _require,
    _scalar_mean_params,
    _size,
    _stirlerr,
    _usual,
)
from expfam._errors import InfeasibleError
from expfam._family import ExponentialFamily
from expfam._validation import FloatArray, as_float_array

__all__ = ["Bernoulli", "Binomial", "Geometric", "Poisson"]

F64 = NDArray[np.float64]
_LOG_2PI = float(np.log(2 * np.pi))


# ---------------------------------------------------------------------- log-pmfs in Loader form
def _poisson_logpmf(k: F64, lam: F64) -> F64:
    """Log-pmf of Poisson(lam) at non-negative integers `k` (broadcast), with lam >= 0."""
    k, lam = np.broadcast_arrays(np.asarray(k, np.float64), np.asarray(lam, np.float64))
    out = np.where(k == 0, 0.0, -np.inf)  # the point mass at 0 (lam = 0)
    pos = lam > 0
    out[pos] = _log_dpois_raw(k[pos], lam[pos])
    return _f64(out)


def _log_choose(n: F64, k: F64) -> F64:
    r""":math:`\log\binom{n}{k}` for integers ``0 <= k <= n``, accurate for huge `n`.

    :math:`k\log(n/k) - (n-k)\,\mathrm{log1p}(-k/n) - \tfrac12\log(2\pi k(n-k)/n)
    + \mathrm{stirlerr}(n) - \mathrm{stirlerr}(k) - \mathrm{stirlerr}(n-k)`.
    """
    n, k = np.broadcast_arrays(np.asarray(n, np.float64), np.asarray(k, np.float64))
    out = np.zeros(n.shape)
    mid = (k > 0) & (k < n)
    nm, km = n[mid], k[mid]
    j = nm - km
    out[mid] = (
        km * np.log(nm / km)
        - j * np.log1p(-km / nm)
        - 0.5 * (_LOG_2PI + np.log(km) + np.log1p(-km / nm))
        + _stirlerr(nm)
        - _stirlerr(km)
        - _stirlerr(j)
    )
    return out


def _binom_logpmf(k: F64, n: F64, eta: F64) -> F64:
    r"""Log-pmf of Binomial(n, expit(eta)) at integers ``0 <= k <= n`` (broadcast).

    Loader's form :math:`\mathrm{stirlerr}(n) - \mathrm{stirlerr}(k) - \mathrm{stirlerr}(n-k)
    - \mathrm{bd0}(k, np) - \mathrm{bd0}(n-k, nq) - \tfrac12\log(2\pi k(n-k)/n)`.
    """
    k, n, eta = np.broadcast_arrays(
        np.asarray(k, np.float64), np.asarray(n, np.float64), np.asarray(eta, np.float64)
    )
    logp = -np.logaddexp(0, -eta)
    logq = -np.logaddexp(0, eta)
    p = special.expit(eta)
    q = special.expit(-eta)
    out = np.empty(k.shape)
    lo = k == 0
    hi = (k == n) & ~lo
    out[lo] = -_mul_weight(n[lo], -logq[lo])
    out[hi] = -_mul_weight(n[hi], -logp[hi])
    mid = ~(lo | hi)
    km, nm, pm, qm = k[mid], n[mid], p[mid], q[mid]
    j = nm - km
    with np.errstate(divide="ignore", invalid="ignore"):
        val = (
            _stirlerr(nm)
            - _stirlerr(km)
            - _stirlerr(j)
            - _bd0_safe(km, nm * pm)
            - _bd0_safe(j, nm * qm)
            - 0.5 * (_LOG_2PI + np.log(km) + np.log1p(-km / nm))
        )
    out[mid] = val
    return out


def _bd0_safe(x: F64, m: F64) -> F64:
    """``bd0(x, m)`` that is ``+inf`` where ``m == 0 < x`` (a zero-probability outcome)."""
    out = np.full(np.broadcast_shapes(x.shape, m.shape), np.inf)
    ok = m > 0
    out[ok] = _bd0(x[ok], m[ok])
    return out


def _mul_weight(w: F64, x: F64) -> F64:
    """``w * x`` with ``0 * inf = 0``."""
    return np.where(w == 0, 0.0, w * np.where(w == 0, 0.0, x))


def _binary_entropy(eta: F64) -> F64:
    r"""Bernoulli entropy :math:`p\,\mathrm{softplus}(-\eta) + q\,\mathrm{softplus}(\eta)`."""
    p, q = special.expit(eta), special.expit(-eta)
    return _mul_weight(p, np.logaddexp(0, -eta)) + _mul_weight(q, np.logaddexp(0, eta))


# ---------------------------------------------------------------------- window sums
def _window(mean: F64, var: F64, upper: F64 | None = None) -> tuple[F64, F64]:
    """Integer window ``[lo, hi]`` holding all but ``2 e**-45`` of the mass (Bernstein)."""
    big_l = 45.0
    t = big_l / 3 + np.sqrt(big_l * big_l / 9 + 2 * big_l * var)
    lo = np.maximum(np.floor(mean - t), 0)
    hi = np.ceil(mean + t)
    if upper is not None:
        hi = np.minimum(hi, upper)
    return lo, hi


def _window_sum(lo: F64, hi: F64, terms: Any) -> F64:
    """``sum_{k=lo_i}^{hi_i} terms(k, rows)[i]`` for each row ``i``, in chunks."""
    m = lo.shape[0]
    out = np.zeros(m)
    if m == 0:
        return out
    width = int(np.max(hi - lo)) + 1
    chunk = max(1, (1 << 20) // width)
    offsets = np.arange(width, dtype=np.float64)
    for start in range(0, m, chunk):
        rows = np.arange(start, min(m, start + chunk))
        k = lo[rows, None] + offsets
        valid = k <= hi[rows, None]
        k = np.where(valid, k, lo[rows, None])
        vals = terms(k, rows)
        out[rows] = np.where(valid, vals, 0.0).sum(axis=-1)
    return out


def _neg_plogp(lp: F64) -> F64:
    """``-exp(lp) * lp`` with 0 where ``lp = -inf``."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isneginf(lp), 0.0, -np.exp(lp) * lp)


# ---------------------------------------------------------------------- checks
def _check_probs(p: F64, name: str = "probs") -> None:
    with np.errstate(invalid="ignore"):
        _require((p >= 0) & (p <= 1), p, name, "a probability in [0, 1]")


def _integers(
    x: ArrayLike,
    name: str,
    family: str,
    lower: float = 0,
    upper: F64 | None = None,
    *,
    upper_label: str = "n",
) -> F64:
    """Outcomes as float64 after checking they are integers in the support.

    The support is named ``{lower, ..., upper_label}`` (``{lower, lower + 1, ...}``
    without an upper bound).
    """
    a = as_float_array(x, name)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(a) & (a == np.round(a)) & (a >= lower)
        if upper is not None:
            ok = ok & (a <= upper)
    if not np.all(ok):
        bad = np.broadcast_to(a, ok.shape)[~ok].flat[0]
        lo = int(lower)
        if upper is None:
            support = f"{{{lo}, {lo + 1}, {lo + 2}, ...}}"
        elif upper_label == str(lo + 1):
            support = f"{{{lo}, {upper_label}}}"
        else:
            support = f"{{{lo}, ..., {upper_label}}}"
        raise ValueError(
            f"`{name}` must hold integers in the support {support} of a "
            f"{family}; found {float(bad)!r}"
        )
    return a.astype(np.float64)


def _stat_dtype(dist: ExponentialFamily, x: ArrayLike) -> np.dtype[Any]:
    """Return the dtype of :math:`T(x)`: the distribution's, or for a fit probe the data's."""
    if dist.__dict__.get("_probe", False):
        return as_float_array(x, "x").dtype
    return dist.dtype


def _check_n(n: ArrayLike) -> F64:
    a = as_float_array(n, "n")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(a) & (a == np.round(a)) & (a >= 1)
    _require(ok, a, "n", "a positive integer (the number of trials)")
    return a.astype(np.float64)


# ---------------------------------------------------------------------- Bernoulli
class Bernoulli(ExponentialFamily):
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

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log mass :math:`x\log p + (1-x)\log(1-p)`, exact at ``p`` in ``{0, 1}``.

        Parameters
        ----------
        x : array_like
            Outcomes in ``{0, 1}``, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        _, k, outside, nan = _log_prob_outcomes(self, x, lambda a: (a == 0) | (a == 1), 0.0)
        eta = self._eta
        out = np.where(k == 1, -np.logaddexp(0, -eta), -np.logaddexp(0, eta))
        out = _finish_log_prob(out + 0.0, outside, nan)  # + 0.0: no -0.0 for sure outcomes
        return _cast(out, self.dtype)

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`-p\log p - (1-p)\log(1-p)`, a sum of non-negative terms."""
        return _cast(_binary_entropy(self._eta), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= p\log(p/p') + (1-p)\log((1-p)/(1-p'))`."""
        self._check_same_family(other)
        assert isinstance(other, Bernoulli)  # noqa: S101 - narrowed by _check_same_family
        return _cast(_bernoulli_kl(self._eta, other._eta), np.result_type(self.dtype, other.dtype))

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`, a sum of non-negative terms."""
        return np.asarray(self.entropy() + self.kl_divergence(other))

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


def _bernoulli_kl(eta_p: F64, eta_q: F64) -> F64:
    r"""KL between Bernoulli distributions with logits `eta_p` and `eta_q` (broadcast).

    For nearby logits (:math:`|\eta_q - \eta_p| < 1`) it is summed as
    :math:`p\varphi(p'/p - 1) + (1-p)\varphi((1-p')/(1-p) - 1)` with
    :math:`\varphi(r) = r - \operatorname{log1p}(r) \ge 0` and the ratios
    :math:`p'/p - 1 = \sigma(-\eta_q)\operatorname{expm1}(\eta_q - \eta_p)`,
    :math:`(1-p')/(1-p) - 1 = \sigma(\eta_q)\operatorname{expm1}(\eta_p - \eta_q)`:
    non-negative terms, no cancellation. Otherwise (and at the boundary members) the
    textbook :math:`p\log(p/p') + (1-p)\log((1-p)/(1-p'))`, which does not cancel there.
    """
    eta_p, eta_q = np.broadcast_arrays(
        np.asarray(eta_p, np.float64), np.asarray(eta_q, np.float64)
    )
    p, q = special.expit(eta_p), special.expit(-eta_p)
    with np.errstate(invalid="ignore"):  # inf - inf where both are boundary members
        d1 = np.logaddexp(0, -eta_q) - np.logaddexp(0, -eta_p)
        d0 = np.logaddexp(0, eta_q) - np.logaddexp(0, eta_p)
        delta = eta_q - eta_p
    out = _f64(_mul_weight(p, d1) + _mul_weight(q, d0))
    near = np.isfinite(delta) & (np.abs(delta) < 1)
    if np.any(near):
        dn, en = delta[near], eta_q[near]
        r1 = special.expit(-en) * np.expm1(dn)
        r0 = special.expit(en) * np.expm1(-dn)
        lr1, lr0 = -d1[near], -d0[near]  # log(p'/p), log(q'/q)
        out[near] = p[near] * _r_minus_log1p(r1, lr1) + q[near] * _r_minus_log1p(r0, lr0)
    return out


# ---------------------------------------------------------------------- Binomial
_BINOMIAL_ASYMPTOTIC = 1e8  # variance above which the entropy's expansion is used


class Binomial(ExponentialFamily):
    r"""Binomial distributions with a known number of trials :math:`n`.

    :math:`P(x) = \binom{n}{x} p^x (1-p)^{n-x}` on :math:`x \in \{0, \dots, n\}`. As an
    exponential family: :math:`T(x) = x`, :math:`\eta = \operatorname{logit} p`,
    :math:`h(x) = \binom{n}{x}`, :math:`A(\eta) = n\log(1 + e^\eta)`, mean parameter
    :math:`np`. The number of trials is a fixed (known) parameter: pass it as ``n=``
    to :meth:`from_natural_params`, :meth:`from_mean_params` and :meth:`fit`.

    Parameters
    ----------
    n : array_like of int
        Numbers of trials (positive integers), broadcasting with the probabilities.
    probs : array_like, optional
        Success probabilities in :math:`[0, 1]`.
    logits : array_like, optional
        Log-odds. Give exactly one of `probs` and `logits`, by keyword
        (``Binomial(10, probs=0.3)``).

    Notes
    -----
    :meth:`entropy` and :meth:`_expected_log_base_measure` sum over the window where
    the mass is (see the module docstring): the cost grows like the standard
    deviation up to ``1e4``, beyond which an asymptotic expansion is used.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import Binomial
    >>> d = Binomial(n=10, probs=0.3)
    >>> float(d.mean())
    3.0
    >>> float(np.exp(d.log_prob(0)))  # 0.7 ** 10
    0.0282475249
    >>> Binomial.fit([3, 4, 5], n=10).probs
    array(0.4)
    """

    _repr_params = ("n", "probs")
    _one_parameter = True

    def __init__(
        self, n: ArrayLike, *, probs: ArrayLike | None = None, logits: ArrayLike | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise TypeError("give exactly one of `probs` and `logits` (keyword arguments)")
        n64 = _check_n(n)
        if probs is not None:
            dtype, (p,) = _usual({"probs": probs})
            _check_probs(p)
            eta = special.logit(p)
        else:
            dtype, (eta,) = _usual({"logits": np.asarray(logits)})
            _require(~np.isnan(eta), eta, "logits", "free of nan")
        try:
            shape = np.broadcast_shapes(eta.shape, n64.shape)
        except ValueError:
            which = "probs" if probs is not None else "logits"
            raise ValueError(
                f"`n` with shape {n64.shape} and `{which}` with shape {eta.shape} do not broadcast"
            ) from None
        super().__init__(np.broadcast_to(eta, shape)[..., None].astype(dtype))
        self._n64 = np.broadcast_to(n64, shape)

    def _init_fixed(self, **fixed: Any) -> None:
        if set(fixed) != {"n"}:
            raise TypeError(f"Binomial needs exactly the fixed parameter `n`; got {sorted(fixed)}")
        n64 = _check_n(fixed["n"])
        try:
            shape = np.broadcast_shapes(self.batch_shape, n64.shape)
        except ValueError:
            raise ValueError(
                f"`n` with shape {n64.shape} does not broadcast with the batch shape "
                f"{self.batch_shape}"
            ) from None
        if shape != self.batch_shape:
            eta = np.broadcast_to(self._natural, (*shape, 1)).copy()
            eta.flags.writeable = False
            self._natural = eta
        self._n64 = np.broadcast_to(n64, shape)

    def _fixed(self) -> dict[str, Any]:
        return {"n": self.n}

    def _check_natural(self) -> None:
        _natural64(self, 1, "Binomial")

    @cached_property
    def _eta(self) -> F64:
        return self._natural[..., 0].astype(np.float64)

    @cached_property
    def _pq(self) -> tuple[F64, F64]:
        return special.expit(self._eta), special.expit(-self._eta)

    @property
    def n(self) -> NDArray[np.int64]:
        """Numbers of trials, shape ``batch_shape``."""
        return _readonly(np.asarray(self._n64, dtype=np.int64))

    @property
    def probs(self) -> FloatArray:
        """Success probabilities, shape ``batch_shape``."""
        return _readonly(_cast(self._pq[0], self.dtype))

    @property
    def logits(self) -> FloatArray:
        r"""Log-odds :math:`\eta`, shape ``batch_shape``."""
        return self._natural[..., 0]

    def mean(self) -> FloatArray:
        """Mean ``n p``."""
        return _cast(self._n64 * self._pq[0], self.dtype)

    def variance(self) -> FloatArray:
        """Variance ``n p (1 - p)``."""
        p, q = self._pq
        return _cast(self._n64 * p * q, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`n\log(1 + e^\eta)`, shape ``batch_shape``."""
        return _cast(self._n64 * np.logaddexp(0, self._eta), self.dtype)

    def _mean_map(self) -> FloatArray:
        return self.mean()[..., None]

    def fisher_information(self) -> FloatArray:
        """Fisher information ``n p (1 - p)``, shape ``batch_shape + (1, 1)``."""
        return self.variance()[..., None, None]

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:
        if set(fixed) != {"n"}:
            raise TypeError("Binomial needs the fixed parameter `n`")
        n64 = _check_n(fixed["n"])
        mu = _scalar_mean_params(mean_params, "Binomial")
        mu64 = mu[..., 0].astype(np.float64)
        with np.errstate(invalid="ignore"):
            ok = (mu64 >= 0) & (mu64 <= n64)
        if not np.all(ok):
            raise InfeasibleError(
                "`mean_params` of a Binomial (the mean) must lie in [0, n]; found "
                f"{float(np.broadcast_to(mu64, ok.shape)[~ok].flat[0])!r}"
            )
        return _cast(special.logit(mu64 / n64)[..., None], mu.dtype)

    def _outcomes(self, x: ArrayLike) -> F64:
        """Outcomes as float64, after checking their shape and support."""
        if not self.__dict__.get("_probe", False):
            self._check_x_batch(np.shape(as_float_array(x, "x")))
        return _integers(x, "x", "Binomial", 0, self._n64)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = x` for ``x`` in ``{0, ..., n}``, shape ``x.shape + (1,)``."""
        k = self._outcomes(x)
        return _cast(k[..., None], _stat_dtype(self, x))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        r""":math:`\log\binom{n}{x}`, shape ``broadcast(x.shape, batch_shape)``."""
        k = self._outcomes(x)
        return _cast(_log_choose(self._n64, k), self.dtype)

    def _sums(self) -> tuple[F64, F64]:
        r"""Entropy and :math:`E[\log\binom{n}{x}]`, float64, shape ``batch_shape``."""
        n = self._n64.ravel()
        eta = np.broadcast_to(self._eta, self.batch_shape).ravel()
        p, q = special.expit(eta), special.expit(-eta)
        var = n * p * q
        h = np.empty(n.shape)
        elh = np.empty(n.shape)
        asym = var >= _BINOMIAL_ASYMPTOTIC
        # asymptotic expansion: H = log(2 pi e v) / 2 - (1 - 4 p q) / (12 v) + O(v**-2)
        va, pqa = var[asym], p[asym] * q[asym]
        h[asym] = 0.5 * (np.log(2 * np.pi * va) + 1) - (1 - 4 * pqa) / (12 * va)
        elh[asym] = n[asym] * _binary_entropy(eta[asym]) - h[asym]
        win = ~asym
        nw, ew = n[win], eta[win]
        lo, hi = _window(nw * p[win], var[win], nw)

        def ent(k: F64, rows: NDArray[np.intp]) -> F64:
            return _neg_plogp(_binom_logpmf(k, nw[rows, None], ew[rows, None]))

        def loc(k: F64, rows: NDArray[np.intp]) -> F64:
            lp = _binom_logpmf(k, nw[rows, None], ew[rows, None])
            return np.exp(lp) * _log_choose(nw[rows, None], k)

        h[win] = _window_sum(lo, hi, ent)
        elh[win] = _window_sum(lo, hi, loc)
        return h.reshape(self.batch_shape), elh.reshape(self.batch_shape)

    def _expected_log_base_measure(self) -> FloatArray:
        return _cast(self._sums()[1], self.dtype)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log mass :math:`\log\binom{n}{x} + x\log p + (n-x)\log(1-p)` (Loader's form).

        Parameters
        ----------
        x : array_like
            Outcomes in ``{0, ..., n}``, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        n = self._n64
        _, k, outside, nan = _log_prob_outcomes(self, x, lambda a: _integer_outcomes(a, 0, n), 0.0)
        out = _binom_logpmf(k, self._n64, self._eta) + 0.0
        return _cast(_finish_log_prob(out, outside, nan), self.dtype)

    def entropy(self) -> FloatArray:
        """Entropy in nats: a sum of positive terms over the window holding the mass."""
        return _cast(self._sums()[0], self.dtype)

    def _check_same_n(self, other: ExponentialFamily) -> Binomial:
        self._check_same_family(other)
        assert isinstance(other, Binomial)  # noqa: S101 - narrowed by _check_same_family
        if not np.all(self._n64 == other._n64):
            raise ValueError("`other` must have the same number of trials `n` as this Binomial")
        return other

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= n\,\mathrm{KL}_\text{Bernoulli}(p\|p')`; needs equal `n`."""
        o = self._check_same_n(other)
        kl = self._n64 * _bernoulli_kl(self._eta, o._eta)
        return _cast(kl, np.result_type(self.dtype, other.dtype))

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`; needs equal `n`."""
        return np.asarray(self.entropy() + self.kl_divergence(other))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw counts (int64) of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        n = self._n64.astype(np.int64)
        return np.asarray(
            gen.binomial(n, self._pq[0], size=_size(size) + self.batch_shape), dtype=np.int64
        )

    @classmethod
    def fit(cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any) -> Binomial:
        """Maximum-likelihood fit of ``probs`` for a known number of trials ``n``.

        As :meth:`ExponentialFamily.fit`, with ``n`` (a keyword) one number or one per
        batch member: it must broadcast against ``x.shape[1:]``, the batch of the
        observations (the first axis). For a different number of trials per
        observation the likelihood has no single ``n``; the maximum-likelihood
        ``probs`` is then ``sum(x) / sum(n)``.

        Examples
        --------
        >>> from expfam import Binomial
        >>> Binomial.fit([3, 4, 5], n=10)
        Binomial(n=10, probs=0.4)
        >>> Binomial.fit([[3, 1], [5, 2]], n=[10, 4]).probs  # a batch of two
        array([0.4  , 0.375])
        """
        if "n" in fixed:
            n_shape, x_shape = np.shape(fixed["n"]), np.shape(x)
            batch = x_shape[1:]
            try:
                ok = np.broadcast_shapes(n_shape, batch) == batch
            except ValueError:
                ok = False
            if x_shape and not ok:
                raise ValueError(
                    f"`n` with shape {n_shape} does not match `x` with shape {x_shape}: "
                    f"`n` must be one number or broadcast against the batch shape {batch} "
                    "of the observations (first axis); for a different n per observation "
                    "the maximum-likelihood probs is sum(x) / sum(n)"
                )
        return super().fit(x, weights=weights, **fixed)

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Binomial:
        if set(fixed) != {"n"}:
            raise TypeError("Binomial.fit needs the number of trials: `Binomial.fit(x, n=...)`")
        return _probe(cls(n=fixed["n"], probs=0.5))


# ---------------------------------------------------------------------- Poisson
_POISSON_ASYMPTOTIC = 1e4
# entropy of Poisson(lam) ~ log(2 pi e lam)/2 - sum_k c_k lam**-k (checked against mpmath sums)
_POISSON_SERIES = (1 / 12, 1 / 24, 19 / 360, 9 / 80, 863 / 2520)


class Poisson(ExponentialFamily):
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

    def __init__(self, rate: ArrayLike) -> None:
        dtype, (lam,) = _usual({"rate": rate})
        with np.errstate(invalid="ignore"):
            _require(np.isfinite(lam) & (lam >= 0), lam, "rate", "non-negative and finite")
        with np.errstate(divide="ignore"):
            super().__init__(np.log(lam)[..., None].astype(dtype))

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
        r = 1 / la
        series = np.zeros_like(la)
        for c in reversed(_POISSON_SERIES):
            series = (series + c) * r
        h[asym] = 0.5 * (np.log(2 * np.pi * la) + 1) - series
        elf[asym] = h[asym] + la * np.log(la) - la
        win = ~asym & (lam > 0)
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

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log mass :math:`x\log\lambda - \lambda - \log x!`, in Loader's form.

        Parameters
        ----------
        x : array_like
            Non-negative integer outcomes, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        _, k, outside, nan = _log_prob_outcomes(self, x, lambda a: _integer_outcomes(a, 0), 0.0)
        out = _poisson_logpmf(k, self._rate64) + 0.0
        return _cast(_finish_log_prob(out, outside, nan), self.dtype)

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

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`, a sum of non-negative terms."""
        return np.asarray(self.entropy() + self.kl_divergence(other))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw counts (int64) of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        return np.asarray(
            gen.poisson(self._rate64, size=_size(size) + self.batch_shape), dtype=np.int64
        )

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Poisson:
        _no_fixed(cls, fixed)
        return _probe(cls(rate=1.0))


# ---------------------------------------------------------------------- Geometric
class Geometric(ExponentialFamily):
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
        """``(log p, log(1 - p))``, both to full relative precision."""
        eta = self._natural[..., 0].astype(np.float64)
        return np.log(-np.expm1(eta)), eta

    @property
    def probs(self) -> FloatArray:
        """Success probabilities, shape ``batch_shape``."""
        return _readonly(_cast(self._pq[0], self.dtype))

    def mean(self) -> FloatArray:
        """Mean ``1 / p``."""
        return _cast(1 / self._pq[0], self.dtype)

    def variance(self) -> FloatArray:
        """Variance ``(1 - p) / p**2``."""
        p, q = self._pq
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

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log mass :math:`\log p + (x-1)\log(1-p)`, exact at ``p = 1``.

        Parameters
        ----------
        x : array_like
            Positive integer outcomes, broadcasting against the batch.
            Outside the support the result is ``-inf`` (probability 0), as in
            :mod:`scipy.stats`; a nan outcome gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``.
        """
        _, k, outside, nan = _log_prob_outcomes(self, x, lambda a: _integer_outcomes(a, 1), 1.0)
        lp, lq = self._logs
        out = lp + _mul_weight(k - 1, lq) + 0.0
        return _cast(_finish_log_prob(out, outside, nan), self.dtype)

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`(-p\log p - (1-p)\log(1-p))/p`, in nats."""
        p, q = self._pq
        lp, lq = self._logs
        return _cast((-_mul_weight(p, lp) - _mul_weight(q, lq)) / p + 0.0, self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= \log(p/p') + \frac{1-p}{p}\log\frac{1-p}{1-p'}`."""
        self._check_same_family(other)
        assert isinstance(other, Geometric)  # noqa: S101 - narrowed by _check_same_family
        p, q = self._pq
        lp, lq = self._logs
        olp, olq = other._logs
        with np.errstate(invalid="ignore"):  # -inf - -inf where both are point masses
            d = lq - olq
        kl = _f64(np.broadcast_to(lp - olp + _mul_weight(q / p, d), d.shape)).copy()
        # nearby members: KL_Bernoulli(p || p') / p as a sum of non-negative terms,
        # phi(p'/p - 1) + (q/p) phi(q'/q - 1) with phi(r) = r - log1p(r)
        near = np.isfinite(d) & (np.abs(d) < 1)
        if np.any(near):
            dn = -d[near]  # eta_q - eta_p
            pn, qn = np.broadcast_to(p, d.shape)[near], np.broadcast_to(q, d.shape)[near]
            oq = np.exp(np.broadcast_to(olq, d.shape)[near])
            r1 = oq * np.expm1(-dn) / pn  # (p' - p) / p = (q - q') / p
            r0 = np.expm1(dn)  # q' / q - 1
            lr1 = (np.broadcast_to(olp, d.shape) - np.broadcast_to(lp, d.shape))[near]
            kl[near] = _r_minus_log1p(r1, lr1) + qn / pn * _r_minus_log1p(r0, dn)
        return _cast(kl + 0.0, np.result_type(self.dtype, other.dtype))

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`H(p) + \mathrm{KL}(p\|q)`."""
        return np.asarray(self.entropy() + self.kl_divergence(other))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw numbers of trials (int64) of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        return np.asarray(
            gen.geometric(self._pq[0], size=_size(size) + self.batch_shape), dtype=np.int64
        )

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Geometric:
        _no_fixed(cls, fixed)
        return _probe(cls(probs=0.5))
