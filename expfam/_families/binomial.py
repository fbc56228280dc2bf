r"""The Binomial family.

:class:`Binomial` (known ``n``, ``probs`` :math:`p`): :math:`\eta = \operatorname{logit} p`,
:math:`T(x) = x`, :math:`h(x) = \binom{n}{x}` on :math:`\{0, \dots, n\}`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._conjugate import register_conjugate
from expfam._dask import dask_module, is_dask_collection
from expfam._distfns import ScalarFamily
from expfam._errors import InfeasibleError
from expfam._families._common import (
    _cast,
    _check_probs,
    _integers,
    _keep,
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
from expfam._family import ExponentialFamily
from expfam._special import (
    _bernoulli_kl,
    _binary_entropy,
    _binom_logpmf,
    _f64,
    _log_choose,
    _neg_plogp,
    _window,
    _window_sum,
)
from expfam._suffstats import (
    Block,
    SufficientStatistics,
    block_weight,
    exact_block_sum,
    int_block_sum,
    two_sum_parts,
)
from expfam._support import Support
from expfam._tails import log_betainc
from expfam._validation import FloatArray, as_float_array, check_weights, rescaled_weights

__all__ = ["Binomial"]

F64 = NDArray[np.float64]


def _check_n(n: ArrayLike) -> F64:
    a = as_float_array(n, "n")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(a) & (a == np.round(a)) & (a >= 1) & (a <= 2.0**53)
    # above 2**53 floats are not all integers, and n reads back as int64
    _require(ok, a, "n", "a positive integer (the number of trials) at most 2**53")
    return a.astype(np.float64)


def _binomial_block(k: NDArray[Any], n: F64, w: F64 | None, n_batch: F64 | None) -> Block:
    """Parts of one block: exact sums of the (weighted) successes and trials.

    An unweighted integer block whose numbers of trials are one per batch member
    (`n_batch`, broadcasting against the batch) is checked by its minimum and its
    maxima and summed in int64; any other block (or any doubt) is converted and
    checked element by element, which raises the usual error.
    """
    if w is None and n_batch is not None and k.dtype.kind in "biu" and k.shape[0]:
        rows = k.shape[0]
        highest = k.max(axis=0)
        exact = float(np.max(n_batch)) * rows < 2**53  # the trials' sums below are exact
        if exact and int(k.min()) >= 0 and bool(np.all(highest <= n_batch)):
            pair = int_block_sum(k, int(np.max(highest)))
            if pair is not None:
                sn = np.broadcast_to(n_batch * rows, k.shape[1:]).astype(np.float64)
                parts = {
                    "t": pair[0][..., None],
                    "t_lo": pair[1][..., None],
                    "n": sn,
                    "n_lo": np.zeros(k.shape[1:]),
                }
                return (float(rows), 0.0), parts
    kk = _integers(k, "x", "Binomial", 0, n)
    weight = block_weight(k.shape[0], w)
    nn: Any = n
    if w is not None:
        wn = w.reshape(w.shape + (1,) * (k.ndim - 1))
        with np.errstate(over="ignore"):  # an overflowing total is refused by `suffstats`
            kk, nn = wn * kk, wn * n
    sk, sk_lo = exact_block_sum(_f64(kk))
    sn, sn_lo = exact_block_sum(_f64(nn))
    return weight, {"t": sk[..., None], "t_lo": sk_lo[..., None], "n": sn, "n_lo": sn_lo}


# ---------------------------------------------------------------------- Binomial
_BINOMIAL_ASYMPTOTIC = 1e8  # variance above which the entropy's expansion is used


class Binomial(ScalarFamily):
    r"""Binomial distributions with a known number of trials :math:`n`.

    :math:`P(x) = \binom{n}{x} p^x (1-p)^{n-x}` on :math:`x \in \{0, \dots, n\}`. As an
    exponential family: :math:`T(x) = x`, :math:`\eta = \operatorname{logit} p`,
    :math:`h(x) = \binom{n}{x}`, :math:`A(\eta) = n\log(1 + e^\eta)`, mean parameter
    :math:`np`. The number of trials is a fixed (known) parameter: pass it as ``n=``
    to :meth:`from_natural_params`, :meth:`from_mean_params` and :meth:`fit`.

    Parameters
    ----------
    n : array_like of int
        Numbers of trials (positive integers up to ``2**53``, above which floats are
        not all integers), broadcasting with the probabilities.
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
    _support = Support(lower=0.0, integer=True, upper_attr="_n64")

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
        if probs is not None:  # kept: expit(logit(p)) is not p (0 for p = 5e-324)
            pb = np.broadcast_to(p, shape)
            _keep(self, "_pq", (_readonly(np.array(pb)), _readonly(np.array(1 - pb))))

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
        with np.errstate(under="ignore"):  # log1p(exp(-745)) is 0: no event
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

    def _log_prob(self, x: F64) -> F64:
        """Log mass in Loader's saddle-point form (see the module notes)."""
        return _binom_logpmf(x, self._n64, self._eta)

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

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.int64]:
        """Draw counts (int64) of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        n = self._n64.astype(np.int64)
        return np.asarray(
            gen.binomial(n, self._pq[0], size=_size(size) + self.batch_shape), dtype=np.int64
        )

    # ------------------------------------------------------------------ statistics
    @classmethod
    def suffstats(
        cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any
    ) -> SufficientStatistics:
        r"""Sufficient statistics: :math:`\sum_i w_i x_i` and :math:`\sum_i w_i n_i`.

        As :meth:`ExponentialFamily.suffstats`, with the number of trials ``n`` (a
        keyword) broadcasting against `x`: one number, one per batch member, or one
        per observation (shape ``(n_obs,)`` or ``x.shape``). Statistics of
        observations with different numbers of trials still merge; their
        :attr:`~expfam.SufficientStatistics.fixed` ``n`` is then None.

        Examples
        --------
        >>> from expfam import Beta, Binomial
        >>> s = Binomial.suffstats([3, 4], n=[10, 20])  # one n per observation
        >>> float(s.mean_params[0]), s.fixed["n"] is None
        (3.5, True)
        >>> Beta(a=1.0, b=1.0).posterior(Binomial, s)
        Beta(a=8, b=24)
        """
        if is_dask_collection(x, weights):
            lazy: SufficientStatistics = dask_module("expfam._dask_stats").dask_suffstats(
                cls, x, weights, fixed
            )
            return lazy
        probe = cls._fit_probe(**fixed)
        n64 = _check_n(fixed["n"])
        raw = isinstance(x, np.ndarray) and x.dtype.kind in "biu"
        # integer arrays stay as they are: each block is converted (or summed in int64)
        a: NDArray[Any] = np.asarray(x) if raw else as_float_array(x, "x")
        if a.ndim == 0:
            raise ValueError("`x` must hold observations along its first axis; got a scalar")
        batch = a.shape[1:]
        try:
            per_batch = np.broadcast_shapes(n64.shape, batch) == batch
        except ValueError:
            per_batch = False
        per_obs = False
        if not per_batch:
            n_obs = n64.reshape(n64.shape + (1,) * len(batch)) if n64.ndim == 1 else n64
            try:
                per_obs = np.broadcast_shapes(n_obs.shape, a.shape) == a.shape
            except ValueError:
                per_obs = False
            if not per_obs:
                raise ValueError(
                    f"`n` with shape {n64.shape} does not broadcast against `x` with shape "
                    f"{a.shape} (observations along the first axis; `n` may be one number, "
                    "one per batch member or one per observation)"
                )
            n64 = n_obs
        nb = np.broadcast_to(n64, a.shape)
        w = check_weights(weights, a.shape[0])
        rows = cls._block_rows(a.shape)
        n_batch = None if per_obs else n64
        blocks = [
            _binomial_block(
                a[i : i + rows], nb[i : i + rows], None if w is None else w[i : i + rows], n_batch
            )
            for i in range(0, max(a.shape[0], 1), rows)
        ]
        weight, parts = blocks[0] if len(blocks) == 1 else cls._stats_combine(blocks)
        out = SufficientStatistics(
            cls,
            count=a.shape[0],
            weight=weight,
            parts=parts,
            fixed={"n": None if per_obs else probe._fixed()["n"]},
            batch_shape=batch,
            dtype=np.dtype(np.float64) if raw else a.dtype,
        )
        if not np.isfinite(out.total_weight):
            raise ValueError(
                "the total of `weights` overflows float64; rescale them (a maximum-"
                "likelihood fit does not depend on their scale)"
            )
        return out

    @classmethod
    def _stats_merge(cls, a: SufficientStatistics, b: SufficientStatistics) -> dict[str, F64]:
        parts = super()._stats_merge(a, b)
        pa, pb = a._parts, b._parts
        parts["n"], parts["n_lo"] = two_sum_parts(pa["n"], pa["n_lo"], pb["n"], pb["n_lo"])
        return parts

    @classmethod
    def _stats_merged_fixed(cls, *_: SufficientStatistics) -> dict[str, Any] | None:
        return {"n": None}

    @classmethod
    def _trials(cls, s: SufficientStatistics) -> F64:
        r""":math:`\sum_i w_i n_i`, shape ``batch_shape``."""
        return _f64(s._parts["n"] + s._parts["n_lo"])

    @classmethod
    def _fit_stats(cls, s: SufficientStatistics) -> Binomial:
        """``probs = sum(w x) / sum(w n)`` for the shared number of trials ``n``.

        Raises
        ------
        ValueError
            If the statistics mix different numbers of trials: no single binomial
            then has the fitted ``probs`` (:meth:`fit` gives one per observation).
        """
        n = s.fixed["n"]
        if n is None:
            probs = cls._stats_sum(s)[..., 0] / cls._trials(s)
            raise ValueError(
                "these statistics mix observations with different numbers of trials `n`: "
                f"the maximum-likelihood probs is sum(x) / sum(n) = {probs!r}, but no single "
                "Binomial has it; `Binomial.fit(x, n=n_per_observation)` returns one per "
                "observation"
            )
        return cls.from_mean_params(_cast(cls._stats_mean(s), s.dtype), n=n)

    @classmethod
    def fit(cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any) -> Binomial:
        """Maximum-likelihood fit of ``probs`` for a known number of trials ``n``.

        As :meth:`ExponentialFamily.fit`, with ``n`` (a keyword) one number, one per
        batch member (broadcasting against ``x.shape[1:]``), or one per observation.
        The maximum-likelihood ``probs`` is ``sum(w x) / sum(w n)``. With one ``n``
        per observation the result holds one distribution per observation (batch
        shape ``x.shape``), all with that ``probs``.

        Examples
        --------
        >>> from expfam import Binomial
        >>> Binomial.fit([3, 4, 5], n=10)
        Binomial(n=10, probs=0.4)
        >>> Binomial.fit([[3, 1], [5, 2]], n=[10, 4]).probs  # a batch of two
        array([0.4  , 0.375])
        >>> Binomial.fit([3, 4], n=[10, 20])  # one n per observation
        Binomial(n=[10, 20], probs=[0.233333, 0.233333], batch_shape=(2,))
        """
        s = cls.suffstats(x, weights=rescaled_weights(weights), **fixed)
        if s.fixed["n"] is not None:
            out = s.fit()
            assert isinstance(out, Binomial)  # noqa: S101 - statistics fit their own family
            return out
        s._require_data()
        probs = cls._stats_sum(s)[..., 0] / cls._trials(s)
        n = np.asarray(fixed["n"])
        shape = np.broadcast_shapes(np.shape(x), n.shape)
        if n.ndim == 1 and len(shape) > 1:  # one per observation, along the first axis
            n = n.reshape(n.shape + (1,) * (len(shape) - 1))
        return cls(
            n=np.broadcast_to(n, shape), probs=np.broadcast_to(_cast(probs, s.dtype), shape)
        )

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Binomial:
        if set(fixed) != {"n"}:
            raise TypeError(
                "a Binomial needs its number of trials: pass `n=` (e.g. `Binomial.fit(x, n=10)`)"
            )
        return _probe(cls(n=fixed["n"], probs=0.5))

    # ------------------------------------------------------------------ distribution functions
    _discrete = True

    def _df_params(self) -> tuple[F64, ...]:
        p, q = self._pq
        return self._n64, p, q

    def _df_support(self) -> tuple[float, F64]:
        return 0.0, self._n64

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        n, _, q = p
        return _f64(special.betainc(n - x, x + 1, q))  # I_{1-p}(n - k, k + 1)

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        n, pr, _ = p
        return _f64(special.betainc(x + 1, n - x, pr))  # I_p(k + 1, n - k)

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        n, pr, q = p
        return log_betainc(n - x, x + 1, q, pr)

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        n, pr, q = p
        return log_betainc(x + 1, n - x, pr, q)

    def _df_mean(self, p: tuple[F64, ...]) -> F64:
        return _f64(p[0] * p[1])

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        n, pr, q = p
        return _f64(np.sqrt(n * pr * q))

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """``floor((n + 1) p)``, at most ``n`` (at an integer value the one below ties)."""
        n, pr, _ = p
        return _f64(np.minimum(np.floor((n + 1) * pr), n))


# ---------------------------------------------------------------------- conjugate prior
def _beta_update(prior: Beta, s: SufficientStatistics) -> Beta:
    """``Beta(a + sum w x, b + sum w (n - x))``."""
    a, b = prior._params64
    k = Binomial._stats_sum(s)[..., 0]
    rest = Binomial._trials(s) - k
    return Beta(a=_cast(a + k, prior.dtype), b=_cast(b + rest, prior.dtype))


def _beta_predictive(prior: Beta, **fixed: Any) -> Any:
    """Beta-binomial ``scipy.stats.betabinom(n, a, b)``."""
    if set(fixed) != {"n"}:
        raise TypeError("a Binomial likelihood needs its number of trials: pass `n=`")
    from scipy import stats  # noqa: PLC0415 - scipy.stats costs ~0.3 s at import; only this path needs it

    a, b = prior._params64
    return stats.betabinom(_check_n(fixed["n"]).astype(np.int64), a, b)


register_conjugate(Beta, Binomial, update=_beta_update, predictive=_beta_predictive)
