r"""The Normal family.

:class:`Normal` (``loc`` :math:`\mu`, ``scale`` :math:`\sigma`):
:math:`\eta = (\mu/\sigma^2, -1/(2\sigma^2))`, :math:`T(x) = (x, x^2)`,
:math:`h = (2\pi)^{-1/2}`.
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
from expfam._families._common import (
    _cast,
    _check_positive,
    _keep,
    _mean_input,
    _natural64,
    _no_fixed,
    _probe,
    _readonly,
    _require,
    _size,
    _usual,
)
from expfam._family import ExponentialFamily
from expfam._special import _HALF_LOG_2PI, _f64, _r_minus_log1p
from expfam._suffstats import (
    Block,
    SufficientStatistics,
    block_weight,
    blocks_weight,
    dd_quotient,
    exact_block_sum,
    sum_pairs,
    two_sum_parts,
    weighted_block_sum,
)
from expfam._support import Support, out_dtype
from expfam._validation import FloatArray, as_float_array

__all__ = ["Normal"]

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------- normal
class Normal(ScalarFamily):
    r"""Normal distributions with unknown mean :math:`\mu` and standard deviation :math:`\sigma`.

    As an exponential family: :math:`T(x) = (x, x^2)`,
    :math:`\eta = (\mu/\sigma^2,\; -1/(2\sigma^2))`, :math:`h(x) = (2\pi)^{-1/2}`,

    .. math:: A(\eta) = -\frac{\eta_1^2}{4\eta_2} - \frac12\log(-2\eta_2)
              = \frac{\mu^2}{2\sigma^2} + \log\sigma,

    mean parameters :math:`(\mu,\; \mu^2 + \sigma^2)`.

    Parameters
    ----------
    loc : array_like
        Means :math:`\mu`.
    scale : array_like
        Standard deviations :math:`\sigma > 0`. `loc` and `scale` broadcast to the
        batch shape.

    Notes
    -----
    :meth:`log_prob`, :meth:`entropy`, :meth:`cross_entropy` and
    :meth:`kl_divergence` use the textbook closed forms in :math:`(\mu, \sigma)`:
    the generic formulas cancel terms of size :math:`\mu^2/\sigma^2` and lose
    :math:`2\log_{10}|\mu/\sigma|` digits. :meth:`fit` centres the data before
    squaring for the same reason.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import Normal
    >>> d = Normal(loc=1.0, scale=2.0)
    >>> d.natural_params
    array([ 0.25 , -0.125])
    >>> d.mean_params  # E[x], E[x**2]
    array([1., 5.])
    >>> bool(np.isclose(d.entropy(), 0.5 * np.log(2 * np.pi * np.e * 4)))
    True
    """

    _repr_params = ("loc", "scale")
    _support = Support()

    def __init__(self, loc: ArrayLike, scale: ArrayLike) -> None:
        dtype, (m, s) = _usual({"loc": loc, "scale": scale})
        _require(np.isfinite(m), m, "loc", "finite")
        _check_positive(s, "scale")
        info = np.finfo(dtype)
        big = float(info.max)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            prec = 1 / s / s  # 1 / sigma**2, without the overflow of sigma**2
            eta = np.stack([m * prec, -0.5 * prec], axis=-1).astype(dtype)
        # the representable range of scale in this dtype: 0.5 / scale**2 must neither
        # overflow nor underflow to zero
        lo = float(np.sqrt(0.5 / big)) * (1 + 4 * float(info.eps))
        hi = float(np.sqrt(0.5) / np.sqrt(float(info.smallest_subnormal)))
        hi *= 1 - 4 * float(info.eps)
        _require(
            np.isfinite(eta[..., 1]) & (eta[..., 1] < 0),
            s,
            "scale",
            f"in [{lo:.3g}, {hi:.3g}] for a {dtype} Normal (the natural parameter "
            "-1/(2 scale**2) must be representable)",
        )
        _require(
            np.isfinite(eta[..., 0]),
            m,
            "loc",
            f"at most {big:.3g} * scale**2 in magnitude for a {dtype} Normal (the natural "
            "parameter loc/scale**2 must be representable)",
        )
        super().__init__(eta)
        _keep(self, "_params64", (_readonly(np.array(m)), _readonly(np.array(s))))

    def _moments_ok(self, values: F64, what: str) -> F64:
        """Return `values`, or raise ``ValueError`` naming `loc`/`scale` if they overflow."""
        if not np.all(np.isfinite(values)):
            m, s = np.broadcast_arrays(*self._params64)
            bad = ~np.all(np.isfinite(values).reshape(*m.shape, -1), axis=-1)
            limit = float(np.sqrt(np.finfo(self.dtype).max / 2))
            raise ValueError(
                f"the {what} of a Normal with loc={float(m[bad].flat[0])!r}, "
                f"scale={float(s[bad].flat[0])!r} overflow {self.dtype}: they need "
                f"|loc| and scale below about {limit:.3g} (log_prob, entropy and KL work "
                "beyond)"
            )
        return values

    def _check_natural(self) -> None:
        eta = _natural64(self, 2, "Normal")
        _require(np.isfinite(eta), eta, "natural_params", "finite")
        with np.errstate(invalid="ignore"):
            _require(eta[..., 1] < 0, eta[..., 1], "natural_params[..., 1]", "negative")
        _, s = self._params64
        _require(
            np.isfinite(s) & (s > 0),
            s,
            "scale",
            "positive and finite (the parameters over- or underflow in natural form)",
        )

    @cached_property
    def _params64(self) -> tuple[F64, F64]:
        eta = self._natural.astype(np.float64)
        with np.errstate(over="ignore", divide="ignore"):
            var = -0.5 / eta[..., 1]
            return var * eta[..., 0], np.sqrt(var)

    @property
    def loc(self) -> FloatArray:
        r"""Means :math:`\mu`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[0], self.dtype))

    @property
    def scale(self) -> FloatArray:
        r"""Standard deviations :math:`\sigma`, shape ``batch_shape``."""
        return _readonly(_cast(self._params64[1], self.dtype))

    def mean(self) -> FloatArray:
        r"""Mean :math:`\mu`."""
        return _cast(self._params64[0], self.dtype)

    def variance(self) -> FloatArray:
        r"""Variance :math:`\sigma^2` (``inf`` where it overflows the dtype)."""
        with np.errstate(over="ignore"):
            return _cast(self._params64[1] ** 2, self.dtype)

    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`\mu^2/(2\sigma^2) + \log\sigma`, shape ``batch_shape``."""
        m, s = self._params64
        with np.errstate(over="ignore"):
            out = _f64(_cast(0.5 * (m / s) ** 2 + np.log(s), self.dtype))
        return _cast(self._moments_ok(out, "log-partition"), self.dtype)

    def _mean_map(self) -> FloatArray:
        m, s = self._params64
        with np.errstate(over="ignore"):
            out = _f64(_cast(np.stack([m, m * m + s * s], axis=-1), self.dtype))
        return _cast(self._moments_ok(out, "mean parameters (E[x], E[x**2])"), self.dtype)

    def fisher_information(self) -> FloatArray:
        r"""Covariance of :math:`(x, x^2)`: :math:`[[\sigma^2, 2\mu\sigma^2], [2\mu\sigma^2, 4\mu^2\sigma^2 + 2\sigma^4]]`."""  # noqa: E501
        m, s = self._params64
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            v = s * s
            c = 2 * m * v
            out = np.stack(
                [np.stack([v, c], -1), np.stack([c, 4 * m * m * v + 2 * v * v], -1)], -2
            )
            out = _f64(_cast(out, self.dtype))
        return _cast(self._moments_ok(out, "Fisher information"), self.dtype)

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        mu = _mean_input(mean_params, 2, "Normal")
        var = mu[..., 1] - mu[..., 0] ** 2
        if np.any(var <= 0):
            bad = np.flatnonzero(var.ravel() <= 0)[0]
            raise InfeasibleError(
                "`mean_params` = (E[x], E[x**2]) of a Normal need E[x**2] > E[x]**2; found "
                f"{mu.reshape(-1, 2)[bad].tolist()}"
            )
        eta = np.stack([mu[..., 0] / var, -0.5 / var], axis=-1)
        return _cast(eta, as_float_array(mean_params, "mean_params").dtype)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x) = (x, x^2)` for finite real ``x``, shape ``x.shape + (2,)``."""
        a = as_float_array(x, "x")
        _require(np.isfinite(a), a, "x", "finite (the support of a Normal is the real line)")
        return _cast(np.stack([a, a * a], axis=-1), out_dtype(self, x, a))

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        r""":math:`\log h(x) = -\tfrac12\log(2\pi)`, shape ``x.shape``."""
        t = self.sufficient_statistic(x)
        return np.full(t.shape[:-1], -_HALF_LOG_2PI, dtype=t.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.full(self.batch_shape, -_HALF_LOG_2PI, dtype=self.dtype)

    def _log_prob(self, x: F64) -> F64:
        r"""Log density :math:`-\tfrac12((x-\mu)/\sigma)^2 - \log\sigma - \tfrac12\log 2\pi`."""
        m, s = self._params64
        with np.errstate(over="ignore"):  # far in the tails: -inf, the correct limit
            z = (x - m) / s
            return _f64(-0.5 * z * z - np.log(s) - _HALF_LOG_2PI)

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`\tfrac12\log(2\pi e\sigma^2)`, in nats."""
        return _cast(0.5 + _HALF_LOG_2PI + np.log(self._params64[1]), self.dtype)

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other) :math:`= \log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p - \mu_q)^2}{2\sigma_q^2} - \frac12`."""  # noqa: E501
        self._check_same_family(other)
        assert isinstance(other, Normal)  # noqa: S101 - narrowed by _check_same_family
        mp, sp = self._params64
        mq, sq = other._params64
        # rho**2 - 1 - 2 log rho (rho = sp / sq) = phi(r), r = rho**2 - 1 formed from the
        # exact difference sp - sq: nearby scales keep their digits
        with np.errstate(over="ignore"):  # a divergence beyond the largest float: inf
            r = ((sp - sq) / sq) * ((sp + sq) / sq)
            phi = _r_minus_log1p(r, 2 * (np.log(sp) - np.log(sq)))
            kl = 0.5 * (((mp - mq) / sq) ** 2 + phi)
        return _cast(kl, np.result_type(self.dtype, other.dtype))

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Draw samples of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        m, s = self._params64
        return _cast(gen.normal(m, s, size=_size(size) + self.batch_shape), self.dtype)

    # ------------------------------------------------------------------ statistics
    # parts: "s" + "s_lo" = sum w x (compensated); the centred second moment
    # M2 = sum w (x - mean)**2 kept as c**2 * q (c a power of two, q <= W)
    # so that it neither over- nor underflows; merged by Chan et al.'s update.
    @classmethod
    def _stats_block(
        cls, probe: ExponentialFamily, x: FloatArray, w: F64 | None
    ) -> SufficientStatistics:
        probe.sufficient_statistic(x[:0])  # the batch and support checks
        _require(np.isfinite(x), x, "x", "finite (the support of a Normal is the real line)")
        a = x.astype(np.float64)
        weight = block_weight(a.shape[0], w)
        total, total_lo = weighted_block_sum(w, a)
        if w is not None:
            wn = w.reshape(w.shape + (1,) * (a.ndim - 1))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            mean = (total + total_lo) / sum(weight) if sum(weight) > 0 else np.zeros(a.shape[1:])
            d = a - mean
            top = np.max(np.abs(d), axis=0, initial=0.0)
            c = np.ldexp(1.0, np.frexp(top)[1])  # a power of two: the scaling is exact
            z = d / c
            wz = z if w is None else wn * z
            # the corrected two-pass sum: (sum w z)**2 / W removes the rounding of the mean
            q = (wz * z).sum(axis=0) - wz.sum(axis=0) ** 2 / max(sum(weight), 1e-300)
        parts = {"s": total, "s_lo": total_lo, "c": c, "q": q}
        return cls._make_stats(probe, x, weight, parts)

    @classmethod
    def _stats_fast(
        cls,
        probe: ExponentialFamily,  # noqa: ARG003 - the base's signature
        x: NDArray[Any],
        w: F64 | None,
        buf: F64,
    ) -> Block | None:
        """Return the parts of :meth:`_stats_block` for an unweighted 1-d block, lean.

        The support check is the block's minimum and maximum; the largest centred
        deviation is ``max(x) - mean`` or ``mean - min(x)`` (rounding is monotone, so
        it is the largest of the computed ``x - mean``).
        """
        if w is not None or x.ndim != 1 or x.shape[0] == 0:
            return None
        lowest, highest = float(x.min()), float(x.max())
        if not (-math.inf < lowest and highest < math.inf):  # False at nan
            return None
        n = x.shape[0]
        total, total_lo = exact_block_sum(x, top=max(-lowest, highest), out=buf[0])
        mean = (float(total) + float(total_lo)) / n
        top = max(highest - mean, mean - lowest)
        if not top < math.inf:
            return None
        e = math.frexp(top)[1]
        c = math.ldexp(1.0, e)  # a power of two: the scaling is exact
        d = np.subtract(x, mean, out=buf[0])
        if -1000 < e < 1000:
            d *= math.ldexp(1.0, -e)
        else:
            d /= c
        sz = float(d.sum())
        q = float(np.multiply(d, d, out=buf[1]).sum()) - sz * sz / n
        parts = {"s": total, "s_lo": total_lo, "c": np.asarray(c), "q": np.asarray(q)}
        return (float(n), 0.0), parts

    @classmethod
    def _stats_combine(cls, blocks: list[Block]) -> Block:
        r"""Chan et al.'s update over all blocks at once.

        :math:`M_2 = \sum_b M_{2,b} + \sum_b W_b (m_b - m)^2` with the block means
        :math:`m_b` and the mean :math:`m` to twice the precision, scaled by a power of
        two :math:`C` so that nothing over- or underflows.
        """
        w_hi, w_lo = blocks_weight(blocks)
        s, s_lo = sum_pairs(*(np.stack([p[k] for _, p in blocks]) for k in ("s", "s_lo")))
        wb = np.array([b[0][0] for b in blocks])
        wb_lo = np.array([b[0][1] for b in blocks])
        shape = (-1,) + (1,) * s.ndim
        wn, wn_lo = wb.reshape(shape), wb_lo.reshape(shape)
        sb = np.stack([p["s"] for _, p in blocks])
        sb_lo = np.stack([p["s_lo"] for _, p in blocks])
        cb = np.stack([np.broadcast_to(p["c"], s.shape) for _, p in blocks])
        qb = np.stack([np.broadcast_to(p["q"], s.shape) for _, p in blocks])
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            m, m_lo = dd_quotient(s, s_lo, w_hi, w_lo)
            mb, mb_lo = dd_quotient(sb, sb_lo, wn, wn_lo)
            has = (wn + wn_lo) > 0
            delta = np.where(has, (mb - m) + (mb_lo - m_lo), 0.0)
            cc = np.maximum(cb.max(axis=0), np.ldexp(1.0, np.frexp(np.abs(delta).max(axis=0))[1]))
            q = ((cb / cc) ** 2 * qb).sum(axis=0) + ((wn + wn_lo) * (delta / cc) ** 2).sum(axis=0)
        return (w_hi, w_lo), {"s": s, "s_lo": s_lo, "c": np.asarray(cc), "q": np.asarray(q)}

    @classmethod
    def _stats_merge(cls, a: SufficientStatistics, b: SufficientStatistics) -> dict[str, F64]:
        pa, pb = a._parts, b._parts
        wa, wb = a.total_weight, b.total_weight
        hi, lo = two_sum_parts(pa["s"], pa["s_lo"], pb["s"], pb["s_lo"])
        if wa == 0 or wb == 0:
            keep = pb if wa == 0 else pa
            shape = np.broadcast_shapes(pa["c"].shape, pb["c"].shape)
            c, q = (np.broadcast_to(keep[k], shape).copy() for k in ("c", "q"))
            return {"s": hi, "s_lo": lo, "c": c, "q": q}
        ma, ma_lo = a._mean_dd("s")
        mb, mb_lo = b._mean_dd("s")
        with np.errstate(over="ignore", invalid="ignore"):
            delta = (mb - ma) + (mb_lo - ma_lo)  # the means to twice the precision
        cc = np.maximum(np.maximum(pa["c"], pb["c"]), np.ldexp(1.0, np.frexp(delta)[1]))
        safe = cc
        q = (
            (pa["c"] / safe) ** 2 * pa["q"]
            + (pb["c"] / safe) ** 2 * pb["q"]
            + (delta / safe) ** 2 * (wa * (wb / (wa + wb)))
        )
        return {"s": hi, "s_lo": lo, "c": np.asarray(cc), "q": np.asarray(q)}

    @classmethod
    def _stats_sum(cls, s: SufficientStatistics) -> F64:
        p = s._parts
        m = (p["s"] + p["s_lo"]) / s.total_weight
        with np.errstate(over="ignore"):
            second = m * m + p["c"] ** 2 * (p["q"] / s.total_weight)
        return _f64(np.stack([m, second], axis=-1) * s.total_weight)

    @classmethod
    def _fit_stats(cls, s: SufficientStatistics) -> Normal:
        r"""Fit the weighted mean and the centred weighted variance (Chan et al.'s merge).

        The variance is never formed as :math:`E[x^2] - E[x]^2`, which loses every
        digit when :math:`|\bar x| \gg s`, nor squared beyond the float range:
        ``Normal.fit([1e160, -1e160])`` is ``Normal(0, 1e160)``.
        """
        p = s._parts
        mean = (p["s"] + p["s_lo"]) / s.total_weight
        q = p["q"] / s.total_weight
        if np.any(~(q > 0)):
            raise InfeasibleError("`x` has zero variance: the Normal MLE does not exist")
        scale = p["c"] * np.sqrt(q)
        return cls(loc=_cast(mean, s.dtype), scale=_cast(scale, s.dtype))

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Normal:
        _no_fixed(cls, fixed)
        return _probe(cls(loc=0.0, scale=1.0))

    # ------------------------------------------------------------------ distribution functions
    def _df_params(self) -> tuple[F64, ...]:
        return self._params64

    def _df_support(self) -> tuple[float, float]:
        return -np.inf, np.inf

    @staticmethod
    def _df_z(x: F64, p: tuple[F64, ...]) -> F64:
        m, s = p
        z = (x - m) / s
        return _f64(np.where(np.isfinite(z), z, x / s - m / s))  # x - m overflows

    def _df_cdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(special.ndtr(self._df_z(x, p)))

    def _df_sf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(special.ndtr(-self._df_z(x, p)))

    def _df_logcdf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(special.log_ndtr(self._df_z(x, p)))

    def _df_logsf(self, x: F64, p: tuple[F64, ...]) -> F64:
        return _f64(special.log_ndtr(-self._df_z(x, p)))

    def _df_ppf(self, q: F64, p: tuple[F64, ...]) -> F64:
        m, s = p
        return _f64(m + s * special.ndtri(q))

    def _df_isf(self, q: F64, p: tuple[F64, ...]) -> F64:
        m, s = p
        return _f64(m - s * special.ndtri(q))

    def _df_std(self, p: tuple[F64, ...]) -> F64:
        return p[1]

    def _df_mode(self, p: tuple[F64, ...]) -> F64:
        """Return the mean ``loc``."""
        return p[0]
