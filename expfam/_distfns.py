r"""Distribution functions of the scalar families: cdf, sf, quantiles, intervals, modes.

:class:`ScalarFamily` writes the public methods once (validation, broadcasting
against the batch, the edges of the support, dtype and the discrete quantile
search); each scalar family supplies only its formulas, on float64 arrays of the
points strictly inside its support:

- ``_df_params()``: the float64 parameters (shape ``batch_shape``) the formulas take;
- ``_df_support()``: the support's ends ``(lower, upper)``;
- ``_df_cdf``, ``_df_sf``, ``_df_logcdf``, ``_df_logsf``: the four tail functions,
  each computed from its own regularised function (never ``1 - cdf`` nor
  ``log(1 - cdf)``), so both tails keep their relative precision; where a log-tail
  is above ``log(1/2)`` the wrapper takes ``log1p(-other tail)`` instead, which keeps
  the digits of a logarithm near 0;
- ``_df_ppf``, ``_df_isf`` (continuous families): the two inverses;
- ``_df_mode``, ``_df_std``.

Conventions (those of :mod:`scipy.stats`):

- a discrete cdf is a step function of real ``x``: ``cdf(x) = cdf(floor(x))``;
- ``ppf(q)`` is the smallest ``x`` of the support with ``cdf(x) >= q`` and
  ``isf(q)`` the smallest with ``sf(x) <= q``; for a discrete family ``ppf(0)`` and
  ``isf(1)`` are one below the support's lower end;
- a probability ``q`` outside ``[0, 1]`` (or nan) gives nan, as does a nan ``x``
  (``interval`` raises ``ValueError`` for a level outside ``[0, 1]``, as scipy does);
  ``x = ±inf`` gives the limits.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._family import ExponentialFamily
from expfam._fpstate import quiet
from expfam._validation import FloatArray, as_float_array

__all__ = ["ScalarFamily"]

F64 = NDArray[np.float64]
Params = tuple[F64, ...]

#: Cap on the iterations of the discrete quantile search (bracketing and bisection
#: over float64 integers need at most about 2 * 1075 steps).
_MAX_STEPS = 4400
_LN2 = float(np.log(2.0))


def _f64(x: Any) -> F64:
    out: F64 = np.asarray(x, dtype=np.float64)
    return out


class ScalarFamily(ExponentialFamily):
    """Base of the families of scalar outcomes: their distribution functions.

    See the module docstring for what a family supplies and the conventions.
    """

    #: Outcomes are integers (a step cdf and the discrete quantile convention).
    _discrete: ClassVar[bool] = False

    # ------------------------------------------------------------------ family hooks
    def _df_params(self) -> Params:
        """Float64 parameters of the formulas, each broadcastable to ``batch_shape``."""
        raise NotImplementedError  # pragma: no cover - every scalar family overrides

    def _df_support(self) -> tuple[Any, Any]:
        """Return the support's ends ``(lower, upper)`` (scalars or ``batch_shape`` arrays)."""
        raise NotImplementedError  # pragma: no cover

    def _df_cdf(self, x: F64, p: Params) -> F64:
        raise NotImplementedError  # pragma: no cover

    def _df_sf(self, x: F64, p: Params) -> F64:
        raise NotImplementedError  # pragma: no cover

    def _df_logcdf(self, x: F64, p: Params) -> F64:
        return _f64(np.log(self._df_cdf(x, p)))

    def _df_logsf(self, x: F64, p: Params) -> F64:
        return _f64(np.log(self._df_sf(x, p)))

    def _df_ppf(self, q: F64, p: Params) -> F64:
        raise NotImplementedError  # pragma: no cover - continuous families override

    def _df_isf(self, q: F64, p: Params) -> F64:
        raise NotImplementedError  # pragma: no cover - continuous families override

    def _df_mode(self, p: Params) -> F64:
        raise NotImplementedError  # pragma: no cover

    def _df_std(self, p: Params) -> F64:  # noqa: ARG002 - families override with formulas
        return _f64(np.sqrt(self.variance().astype(np.float64)))  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ plumbing
    def _df_dtype(self, x: ArrayLike, a: FloatArray) -> np.dtype[Any]:
        """Return the result dtype: a float numpy argument joins the parameters' dtype."""
        if isinstance(x, (np.ndarray, np.generic)) and np.asarray(x).dtype.kind == "f":
            return np.result_type(a.dtype, self.dtype)
        return self.dtype

    def _df_prepare(
        self, x: ArrayLike, name: str
    ) -> tuple[F64, Params, F64, F64, np.dtype[Any], tuple[int, ...]]:
        """`x` and the parameters as flat float64 arrays of the broadcast shape."""
        a = as_float_array(x, name)
        try:
            shape = self._check_x_batch(a.shape)
        except ValueError as e:
            raise ValueError(str(e).replace("`x`", f"`{name}`", 1)) from None
        dtype = self._df_dtype(x, a)
        x64 = np.broadcast_to(a.astype(np.float64), shape).ravel()
        params = tuple(np.broadcast_to(_f64(v), shape).ravel() for v in self._df_params())
        lo, hi = (np.broadcast_to(_f64(v), shape).ravel() for v in self._df_support())
        return x64, params, lo, hi, dtype, shape

    def _df_tail(self, x: ArrayLike, which: str) -> FloatArray:
        """One of cdf, sf, logcdf, logsf at `x`: the edges here, the interior by the family."""
        with quiet():
            x64, params, lo, hi, dtype, shape = self._df_prepare(x, "x")
            if self._discrete:
                x64 = np.floor(x64)
                below, above = x64 < lo, x64 >= hi
            else:
                below, above = x64 <= lo, x64 >= hi
            nan = np.isnan(x64)
            inside = ~(nan | below | above)
            log = which.startswith("log")
            lower_tail = which in ("cdf", "logcdf")
            zero, one = (-np.inf, 0.0) if log else (0.0, 1.0)
            out = np.where(below, zero if lower_tail else one, np.nan)
            out = np.where(above, one if lower_tail else zero, out)
            if np.any(inside):
                fn = {
                    "cdf": self._df_cdf,
                    "sf": self._df_sf,
                    "logcdf": self._df_logcdf,
                    "logsf": self._df_logsf,
                }[which]
                xi, pi = x64[inside], tuple(v[inside] for v in params)
                res = fn(xi, pi)
                if log:  # near 0 the log of the other tail's complement is the accurate one
                    big = res > -_LN2
                    if np.any(big):
                        other = self._df_sf if lower_tail else self._df_cdf
                        res[big] = np.log1p(-other(xi[big], tuple(v[big] for v in pi)))
                out[inside] = res
            # clip a rounding excess (nan stays nan); + 0.0: no -0.0
            out = np.minimum(out, 0.0) + 0.0 if log else np.clip(out, 0.0, 1.0)
            return np.asarray(out.reshape(shape), dtype=dtype)

    def _df_quantile(self, q: ArrayLike, upper_tail: bool) -> FloatArray:
        """``ppf`` (lower tail) or ``isf`` (upper tail) at probabilities `q`."""
        with quiet():
            q64, params, lo, hi, dtype, shape = self._df_prepare(q, "q")
            below_support = lo - 1 if self._discrete else lo
            start, end = (hi, below_support) if upper_tail else (below_support, hi)
            out = np.where(q64 == 0, start, np.nan)
            out = np.where(q64 == 1, end, out)
            inside = (q64 > 0) & (q64 < 1)
            if np.any(inside):
                qi = q64[inside]
                pi = tuple(v[inside] for v in params)
                if self._discrete:
                    res = self._df_search(qi, pi, lo[inside], hi[inside], upper_tail)
                else:
                    res = (self._df_isf if upper_tail else self._df_ppf)(qi, pi)
                    res = np.clip(res, lo[inside], hi[inside])
                out[inside] = res
            return np.asarray(out.reshape(shape) + 0.0, dtype=dtype)

    def _df_search(self, q: F64, p: Params, lo: F64, hi: F64, upper_tail: bool) -> F64:
        """Smallest integer ``k`` in ``[lo, hi]`` with ``cdf(k) >= q`` (or ``sf(k) <= q``).

        The predicate is monotone in ``k``: false below the answer, true from it on.
        A normal approximation gives the first guess; doubling steps bracket the
        answer and bisection over the integers closes the bracket (where integers are
        farther apart than 1, at the nearest representable ones).
        """

        def pred(k: F64, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
            res = np.zeros(k.shape, dtype=bool)
            res[k >= hi[rows]] = True
            mid = (k >= lo[rows]) & (k < hi[rows])
            if np.any(mid):
                sub = tuple(v[rows][mid] for v in p)
                if upper_tail:
                    res[mid] = self._df_sf(k[mid], sub) <= q[rows][mid]
                else:
                    res[mid] = self._df_cdf(k[mid], sub) >= q[rows][mid]
            return res

        guess = self._df_guess(q, p, upper_tail)
        guess = np.where(np.isfinite(guess), np.floor(guess), lo)
        k0 = np.clip(guess, lo, np.maximum(lo, np.minimum(hi, np.finfo(np.float64).max)))
        rows = np.arange(q.size)
        ok = pred(k0, rows)
        # the bracket: `bad` below the answer, `good` at or above it
        good = np.where(ok, k0, hi)
        bad = np.where(ok, lo - 1, k0)
        step = np.ones(q.size)
        # gallop from the guess toward the answer
        todo = np.flatnonzero(ok & (k0 > lo))
        for _ in range(_MAX_STEPS):
            if todo.size == 0:
                break
            k = np.maximum(k0[todo] - step[todo], lo[todo])
            t = pred(k, todo)
            good[todo[t]] = k[t]
            bad[todo[~t]] = k[~t]
            step[todo] *= 2
            todo = todo[t & (k > lo[todo])]
        todo = np.flatnonzero(~ok)
        step[:] = 1
        for _ in range(_MAX_STEPS):
            if todo.size == 0:
                break
            k = np.minimum(k0[todo] + step[todo], hi[todo])
            t = pred(k, todo)
            good[todo[t]] = k[t]
            bad[todo[~t]] = k[~t]
            step[todo] *= 2
            todo = todo[~t & (k < hi[todo])]
        # bisection over the integers
        todo = np.flatnonzero(good - bad > 1)
        for _ in range(_MAX_STEPS):
            if todo.size == 0:
                break
            b, g = bad[todo], good[todo]
            mid = np.floor(b + (g - b) / 2)
            fine = (mid > b) & (mid < g)
            todo, mid = todo[fine], mid[fine]
            t = pred(mid, todo)
            good[todo[t]] = mid[t]
            bad[todo[~t]] = mid[~t]
            todo = todo[good[todo] - bad[todo] > 1]
        return good

    def _df_guess(self, q: F64, p: Params, upper_tail: bool) -> F64:
        """First guess of a discrete quantile: the normal approximation."""
        mean = _f64(self._df_mean(p))
        std = self._df_std(p)
        z = special.ndtri(q)  # the standard normal's quantile
        return _f64(mean - std * z if upper_tail else mean + std * z)

    def _df_mean(self, p: Params) -> F64:
        raise NotImplementedError  # pragma: no cover - discrete families override

    # ------------------------------------------------------------------ public methods
    def cdf(self, x: ArrayLike) -> FloatArray:
        r"""Cumulative distribution function :math:`F(x) = P(X \le x)`.

        Parameters
        ----------
        x : array_like
            Points, shape ``sample_shape + batch_shape`` (broadcasting against the
            batch). Any real number: below the support the result is 0, above it 1;
            a discrete family's cdf is a step function (``cdf(x) = cdf(floor(x))``).
            A nan gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(x.shape, batch_shape)``, in the distribution's dtype (a
            float numpy `x` joins it).

        See Also
        --------
        sf : the complement, computed from its own regularised function.
        logcdf, ppf

        Examples
        --------
        >>> from expfam import Normal, Poisson
        >>> float(Normal(0.0, 1.0).cdf(1.96))
        0.9750021048517795
        >>> Poisson(rate=2.0).cdf([0, 1.5, -1.0])
        array([0.13533528, 0.40600585, 0.        ])
        """
        return self._df_tail(x, "cdf")

    def sf(self, x: ArrayLike) -> FloatArray:
        r"""Survival function :math:`S(x) = P(X > x)`, accurate in the upper tail.

        Computed from the complementary regularised function (never ``1 - cdf``),
        so far-tail values keep their relative precision. See :meth:`cdf` for the
        arguments and conventions.

        Examples
        --------
        >>> from expfam import Normal
        >>> print(f"{float(Normal(0.0, 1.0).sf(30.0)):.10e}")  # 1 - cdf would be 0
        4.9067139271e-198
        """
        return self._df_tail(x, "sf")

    def logcdf(self, x: ArrayLike) -> FloatArray:
        r"""Logarithm of the cdf, :math:`\log P(X \le x)`; ``-inf`` below the support.

        Stays finite far in the lower tail, where the cdf underflows. See :meth:`cdf`.

        Examples
        --------
        >>> from expfam import Normal
        >>> round(float(Normal(0.0, 1.0).logcdf(-40.0)), 10)  # cdf underflows to 0
        -804.6084420138
        """
        return self._df_tail(x, "logcdf")

    def logsf(self, x: ArrayLike) -> FloatArray:
        r"""Logarithm of the survival function, :math:`\log P(X > x)`.

        From the complementary regularised function, never ``log(1 - cdf)``. See
        :meth:`cdf`.

        Examples
        --------
        >>> from expfam import Exponential
        >>> float(Exponential(rate=2.0).logsf(1000.0))  # exactly -rate * x
        -2000.0
        """
        return self._df_tail(x, "logsf")

    def ppf(self, q: ArrayLike) -> FloatArray:
        r"""Quantile function (inverse of :meth:`cdf`).

        For a discrete family, the smallest ``x`` of the support with
        ``cdf(x) >= q`` (scipy's convention; ``ppf(0)`` is one below the support).

        Parameters
        ----------
        q : array_like
            Probabilities, broadcasting against the batch. A `q` outside ``[0, 1]``
            or nan gives nan (as in :mod:`scipy.stats`).

        Returns
        -------
        ndarray
            Shape ``broadcast(q.shape, batch_shape)``, in the distribution's dtype
            (float, also for discrete families).

        See Also
        --------
        isf : the upper-tail quantile, accurate for tiny `q`.

        Examples
        --------
        >>> from expfam import Binomial, Normal
        >>> float(Normal(0.0, 1.0).ppf(0.975))
        1.959963984540054
        >>> Binomial(n=10, probs=0.5).ppf([0.0, 0.5, 1.0])
        array([-1.,  5., 10.])
        """
        return self._df_quantile(q, upper_tail=False)

    def isf(self, q: ArrayLike) -> FloatArray:
        r"""Inverse survival function: ``x`` with ``sf(x) = q``.

        For a discrete family, the smallest ``x`` of the support with
        ``sf(x) <= q``. Accurate for tiny `q` (``isf(1e-300)`` is finite). See
        :meth:`ppf` for the arguments.

        Examples
        --------
        >>> from expfam import Exponential
        >>> float(Exponential(rate=1.0).isf(1e-300))  # -log(1e-300)
        690.7755278982137
        """
        return self._df_quantile(q, upper_tail=True)

    def interval(self, level: ArrayLike) -> tuple[FloatArray, FloatArray]:
        r"""Equal-tailed interval holding probability `level`.

        ``(ppf((1 - level) / 2), isf((1 - level) / 2))`` (the upper end from
        :meth:`isf`: equal to scipy's ``ppf((1 + level) / 2)`` but without the
        rounding of ``1 - q``).

        Parameters
        ----------
        level : array_like
            Probabilities in ``[0, 1]``, broadcasting against the batch; a nan gives
            nan ends.

        Returns
        -------
        lower, upper : ndarray

        Raises
        ------
        ValueError
            If a `level` is outside ``[0, 1]`` (as :meth:`scipy.stats.rv_continuous.interval`).

        Examples
        --------
        A 95% credible interval for a success probability, from a posterior:

        >>> from expfam import Bernoulli, Beta
        >>> post = Beta(a=1.0, b=1.0).posterior(Bernoulli, [1, 0, 1, 1, 1, 0, 1, 1])
        >>> lo, hi = post.interval(0.95)
        >>> round(float(lo), 4), round(float(hi), 4)
        (0.3999, 0.9251)
        """
        a = as_float_array(level, "level")
        with quiet():
            bad = (a < 0) | (a > 1)
            tail = np.asarray((1 - a.astype(np.float64)) / 2)
        if np.any(bad):
            raise ValueError(
                f"`level` must be a probability in [0, 1]; found {float(a[bad].flat[0])!r}"
            )
        if isinstance(level, (np.ndarray, np.generic)) and a.dtype.kind == "f":
            tail = tail.astype(a.dtype)  # keep the dtype rule of `level`
        return self.ppf(tail), self.isf(tail)

    def median(self) -> FloatArray:
        """Median, ``ppf(0.5)`` (for a discrete family the smallest ``x`` with cdf >= 1/2).

        Examples
        --------
        >>> from expfam import Exponential
        >>> float(Exponential(rate=1.0).median())  # log 2
        0.6931471805599453
        """
        return self.ppf(0.5)

    def mode(self) -> FloatArray:
        """Most probable value (the density's or the mass's maximum), shape ``batch_shape``.

        Where two outcomes tie (a discrete family at an integer boundary) it is the
        larger, as far as the rounding of the parameters tells a tie; where there
        is no single mode the family's docstring says which value is returned.

        Examples
        --------
        >>> from expfam import Gamma, Poisson
        >>> float(Gamma(shape=3.0, rate=2.0).mode())  # (shape - 1) / rate
        1.0
        >>> float(Poisson(rate=2.5).mode())
        2.0
        """
        with quiet():
            p = tuple(np.broadcast_to(_f64(v), self.batch_shape) for v in self._df_params())
            out = np.broadcast_to(self._df_mode(p), self.batch_shape)
        return np.asarray(out + 0.0, dtype=self.dtype)

    def std(self) -> FloatArray:
        """Return the standard deviation, shape ``batch_shape`` (finite past a variance overflow).

        Examples
        --------
        >>> from expfam import Normal
        >>> Normal(loc=0.0, scale=[1.0, 1e160]).std()  # the variance overflows
        array([1.e+000, 1.e+160])
        """
        with quiet():
            p = tuple(np.broadcast_to(_f64(v), self.batch_shape) for v in self._df_params())
            out = np.broadcast_to(self._df_std(p), self.batch_shape)
        return np.asarray(out, dtype=self.dtype)
