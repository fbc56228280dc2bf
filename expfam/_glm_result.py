"""The result of :func:`expfam.glm`: coefficients, inference, prediction and a summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._families.categorical import Categorical
from expfam._family import ExponentialFamily
from expfam._glm_families import CategoricalModel, ScalarModel
from expfam._validation import as_float_array

__all__ = ["GLMResult", "LimitInfo"]

F64 = NDArray[np.float64]


class LimitInfo(NamedTuple):
    """Where the MLE does not exist: the data of the limit model (private)."""

    null: F64  # (p, r) orthonormal basis of the recession span, theta space
    direction: F64  # (q,) or (q, K): strictly separates the separated rows/cells
    rows: NDArray[np.bool_]  # rows with a separated row (scalar) or cell (Categorical)
    cells: NDArray[np.bool_] | None  # (n, K) separated cells of a Categorical
    sides: NDArray[np.int8] | None  # (n,) +1 / -1 the side of each separated row


class GLMResult:
    r"""A fitted generalized linear model (returned by :func:`expfam.glm`).

    Attributes
    ----------
    coef : ndarray
        Coefficients, shape ``(q,)`` or ``(q, K)`` for Categorical (rows summing to 0).
        ``coef[0]`` is the intercept when there is one.
    cov : ndarray
        Covariance of ``coef.ravel()`` (model-based or sandwich, see ``cov_type``),
        shape ``(coef.size, coef.size)``.
    names : list of str
        Names of the rows of ``coef`` (``"intercept"`` first, then the columns of `X`).
    loglik, deviance, null_deviance, aic, bic : float
        As R's ``logLik``, ``deviance``, ``null.deviance``, ``AIC`` and ``BIC``.
    dispersion : float
        Pearson estimate for Normal and Gamma (as R's ``summary.glm``), else 1.
    df_resid, nobs : int
        Residual degrees of freedom and the number of rows with positive weight.
    iterations : int
        Newton iterations (one pass over the data for the Hessian each; for softmax
        regression with at least 200 unknowns, truncated Newton iterations, each a
        gradient pass and a few Hessian-vector passes).
    converged : bool
        Always True for a returned result (a failure raises ``ConvergenceError``).
    mle_exists : bool
        False when the MLE lies in the closure of the family (separation).
    recession : ndarray
        Orthonormal basis of the span of the directions of recession, shape
        ``(r,) + coef.shape`` (``r = 0`` when the MLE exists).
    cov_type : str
        ``"model"`` or ``"robust"``.

    Examples
    --------
    >>> import numpy as np
    >>> import expfam
    >>> x = np.array([[0.5], [1.0], [1.5], [2.0], [2.5], [3.0]])
    >>> res = expfam.glm(expfam.Bernoulli, x, [0, 1, 0, 1, 1, 1])
    >>> res.names, res.coef.shape, res.conf_int().shape
    (['intercept', 'x0'], (2,), (2, 2))
    >>> bool(np.allclose(res.stderr, np.sqrt(np.diag(res.cov))))
    True
    >>> res.predict(np.array([[10.0]])).mean_params.shape  # a Bernoulli of batch (1,)
    (1, 1)
    """

    def __init__(self, **kw: Any) -> None:
        self.family: type[ExponentialFamily] = kw["family"]
        self.link: str = kw["link"]
        self.coef: F64 = kw["coef"]
        # an array, or a function computing it when first asked for (cached)
        self._cov: F64 | Callable[[], F64] = kw["cov"]
        self.names: list[str] = kw["names"]
        self.loglik: float = kw["loglik"]
        self.deviance: float = kw["deviance"]
        self.null_deviance: float = kw["null_deviance"]
        self.aic: float = kw["aic"]
        self.bic: float = kw["bic"]
        self.dispersion: float = kw["dispersion"]
        self.df_resid: int = kw["df_resid"]
        self.nobs: int = kw["nobs"]
        self.iterations: int = kw["iterations"]
        self.converged: bool = kw["converged"]
        self.mle_exists: bool = kw["mle_exists"]
        self.recession: F64 = kw["recession"]
        self.cov_type: str = kw["cov_type"]
        self._t_dist: bool = kw["t_dist"]
        self._limit: LimitInfo | None = kw["limit"]
        self._model: ScalarModel | CategoricalModel = kw["model"]
        self._intercept: bool = kw["intercept"]
        self._eta: F64 = kw["fitted_eta"]
        self._identified = self._identified_mask()

    # ------------------------------------------------------------------ inference
    @property
    def cov(self) -> F64:
        """Covariance of ``coef.ravel()``, computed on first access."""
        if callable(self._cov):
            self._cov = self._cov()
        return self._cov

    def __getstate__(self) -> dict[str, Any]:
        """Pickle with the covariance computed (the function computing it cannot be)."""
        state = self.__dict__.copy()
        state["_cov"] = self.cov
        return state

    def _identified_mask(self) -> NDArray[np.bool_]:
        """Coefficients not moved by any recession direction."""
        if self.recession.shape[0] == 0:
            return np.ones(self.coef.shape, dtype=bool)
        scale = float(np.max(np.abs(self.recession)))
        return np.asarray(np.all(np.abs(self.recession) <= 1e-9 * scale, axis=0))

    @property
    def stderr(self) -> F64:
        """Standard errors of `coef` (``inf`` where a recession direction moves it)."""
        se = np.sqrt(np.clip(np.diag(self.cov), 0.0, None)).reshape(self.coef.shape)
        return np.where(self._identified, se, np.inf)

    @property
    def z(self) -> F64:
        """Wald statistics ``coef / stderr`` (nan where not identified)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self._identified, self.coef / self.stderr, np.nan)

    def _ref(self) -> Any:
        from scipy import stats  # noqa: PLC0415 - scipy.stats costs ~0.3 s at import; only this path needs it

        return stats.t(self.df_resid) if self._t_dist else stats.norm()

    @property
    def p_values(self) -> F64:
        """Two-sided p-values of `z` (Student t on `df_resid` for Normal and Gamma, as R)."""
        return np.asarray(2 * self._ref().sf(np.abs(self.z)))

    def conf_int(self, level: float = 0.95) -> F64:
        """Wald confidence intervals, shape ``coef.shape + (2,)``.

        Along a direction of recession the interval is one-sided: ``[lo, inf)`` where
        the limit pushes the coefficient up, ``(-inf, hi]`` where down, and
        ``(-inf, inf)`` where the recession span moves it both ways.

        Parameters
        ----------
        level : float, optional
            Coverage in (0, 1); default 0.95.
        """
        if not (isinstance(level, (float, int)) and 0 < level < 1):
            raise ValueError(f"`level` must be in (0, 1); got {level!r}")
        crit = float(self._ref().ppf(0.5 + level / 2))
        se = np.sqrt(np.clip(np.diag(self.cov), 0.0, None)).reshape(self.coef.shape)
        lo, hi = self.coef - crit * se, self.coef + crit * se
        if self._limit is not None:
            d = self._limit.direction
            tol = 1e-9 * float(np.max(np.abs(d)))
            free = ~self._identified
            lo = np.where(
                free & (d < -tol), -np.inf, np.where(free & (np.abs(d) <= tol), -np.inf, lo)
            )
            hi = np.where(
                free & (d > tol), np.inf, np.where(free & (np.abs(d) <= tol), np.inf, hi)
            )
        return np.stack([lo, hi], axis=-1)

    # ------------------------------------------------------------------ prediction
    def predict(  # noqa: C901, PLR0912 - argument checks, then one formula
        self, X: ArrayLike | None = None, *, offset: ArrayLike | None = None, **fixed: Any
    ) -> ExponentialFamily:
        """Return the fitted distributions: of the training rows, or of new rows `X`.

        Parameters
        ----------
        X : array_like, optional
            New rows, shape ``(m, p)`` (without the intercept column). Default: the
            training rows (with their offset).
        offset : array_like, optional
            Offset of the new rows, shape ``(m,)`` (``(m, K)`` for Categorical).
        **fixed
            ``n`` (trials) for a Binomial on new rows.

        Returns
        -------
        ExponentialFamily
            A distribution of the family with batch shape ``(m,)``. Where the MLE does
            not exist, the limit along the recession direction is applied (means
            exactly 0 or 1; masked categories).
        """
        model = self._model
        if X is None:
            if offset is not None or fixed:
                raise TypeError("`offset` and fixed parameters need new rows `X`")
            eta = np.asarray(self._eta)  # a fit on Dask arrays computes its rows here
            if isinstance(model, CategoricalModel):
                return Categorical(logits=eta)
            n = np.asarray(_n_rows(model, eta.shape[0]))
            return model.distribution(eta, n, self.dispersion)
        Xa = as_float_array(np.asarray(X) if hasattr(X, "columns") else X, "X")
        q = self.coef.shape[0] - (1 if self._intercept else 0)
        if Xa.ndim != 2 or Xa.shape[1] != q:
            raise ValueError(f"`X` must have shape (m, {q}); got {Xa.shape}")
        if not np.all(np.isfinite(Xa)):
            raise ValueError("`X` must be finite")
        m = Xa.shape[0]
        Xd = np.hstack([np.ones((m, 1)), Xa]) if self._intercept else Xa.astype(np.float64)
        eta = Xd @ self.coef
        if offset is not None:
            off = as_float_array(offset, "offset")
            if off.shape != eta.shape:
                raise ValueError(f"`offset` must have shape {eta.shape}; got {off.shape}")
            eta = eta + off
        if self._limit is not None:
            eta = self._apply_limit(Xd, eta)
        if isinstance(model, CategoricalModel):
            return Categorical(logits=eta)
        if model.n.size > 1 or type(model).__name__ == "_Binomial":
            if set(fixed) != {"n"}:
                raise TypeError("predicting a Binomial on new rows needs `n=` (trials)")
            n = np.broadcast_to(np.asarray(fixed["n"], dtype=np.float64), (m,))
        elif fixed:
            raise TypeError(f"unexpected fixed parameters {sorted(fixed)}")
        else:
            n = np.ones(m)
        return model.distribution(eta, n, self.dispersion)

    def _apply_limit(self, Xd: F64, eta: F64) -> F64:
        assert self._limit is not None  # noqa: S101 - called only with a limit
        d = self._limit.direction
        s = Xd @ d
        tol = 1e-9 * (np.abs(Xd) @ np.abs(d))
        if eta.ndim == 2:  # Categorical: cells below the row's max go to -inf
            top = s.max(axis=1, keepdims=True)
            return np.where(s < top - tol, -np.inf, eta)
        side = np.where(s > tol, 1, np.where(s < -tol, -1, 0)).astype(np.int8)
        model = self._model
        assert isinstance(model, ScalarModel)  # noqa: S101 - not Categorical here
        lim = model.limit_eta(side)
        if np.any(side > 0) and not model.upper_limit:
            i = int(np.flatnonzero(side > 0)[0])
            raise ValueError(
                f"`X` row {i} lies beyond the limit model's face: along the direction of "
                "recession its mean would be infinite, which is no distribution"
            )
        return np.where(side != 0, lim, eta)

    # ------------------------------------------------------------------ summary
    def summary(self, level: float = 0.95) -> str:
        """Return a readable table: coef, stderr, z (or t), p-value and confidence interval."""
        ci = self.conf_int(level)
        stat = "t" if self._t_dist else "z"
        lines = [
            (
                f"GLM: {self.family.__name__} ({self.link} link)    nobs = {self.nobs}    "
                f"df_resid = {self.df_resid}    covariance: {self.cov_type}"
            ),
            (
                f"deviance = {self.deviance:.6g}    null deviance = {self.null_deviance:.6g}    "
                f"dispersion = {self.dispersion:.6g}"
            ),
            (
                f"loglik = {self.loglik:.6g}    AIC = {self.aic:.6g}    BIC = {self.bic:.6g}    "
                f"iterations = {self.iterations}    MLE exists: {self.mle_exists}"
            ),
        ]
        pct = f"{100 * level:g}%"
        header = (
            f"{'':>24} {'coef':>12} {'stderr':>11} {stat:>8} {'P>|' + stat + '|':>9} "
            f"{pct + ' CI':>26}"
        )
        lines += ["", header]
        coef = self.coef.reshape(self.coef.shape[0], -1)
        se = self.stderr.reshape(coef.shape)
        z = self.z.reshape(coef.shape)
        p = self.p_values.reshape(coef.shape)
        ci2 = ci.reshape(*coef.shape, 2)
        for k in range(coef.shape[1]):
            if coef.shape[1] > 1:
                lines.append(f"class {k}:")
            for j, name in enumerate(self.names):
                label = name if len(name) <= 24 else name[:21] + "..."
                lines.append(
                    f"{label:>24} {coef[j, k]:>12.6g} {se[j, k]:>11.4g} {z[j, k]:>8.3f} "
                    f"{p[j, k]:>9.3g} [{ci2[j, k, 0]:>11.5g}, {ci2[j, k, 1]:>11.5g}]"
                )
        if not self.mle_exists:
            lines += [
                "",
                (
                    f"The MLE does not exist: {self.recession.shape[0]} direction(s) of "
                    "recession; coef is the MLE of the limit model."
                ),
            ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"GLMResult(family={self.family.__name__}, link={self.link!r}, "
            f"coef_shape={self.coef.shape}, nobs={self.nobs}, mle_exists={self.mle_exists})"
        )


def _n_rows(model: ScalarModel, m: int) -> F64:
    return model.n if model.n.size > 1 else np.ones(m)
