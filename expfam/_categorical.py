"""The categorical family: logits as natural parameters, softmax as the mean map."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._family import ExponentialFamily
from expfam._kernels import log_softmax, logsumexp, softmax
from expfam._validation import FloatArray, as_float_array

__all__ = ["Categorical"]


class Categorical(ExponentialFamily):
    r"""Categorical distributions over ``K`` categories, as an exponential family.

    Natural parameters are the logits :math:`u \in [-\infty, \infty)^K` (all ``K`` of
    them, no pivot class; ``-inf`` marks a masked category), the log-partition is
    :math:`A(u) = \operatorname{LSE}(u)`, the mean map is :math:`\operatorname{softmax}`.

    Parameters
    ----------
    logits : array_like, optional
        Natural parameters, shape ``batch_shape + (K,)``.
    probs : array_like, optional
        Mean parameters (probabilities), shape ``batch_shape + (K,)``. Give exactly
        one of `logits` and `probs`.

    Examples
    --------
    >>> from expfam import Categorical
    >>> d = Categorical(probs=[0.5, 0.5, 0.0])
    >>> d.logits
    array([-0.69314718, -0.69314718,        -inf])
    """

    def __init__(self, logits: ArrayLike | None = None, probs: ArrayLike | None = None) -> None:
        if (logits is None) == (probs is None):
            raise TypeError("give exactly one of `logits` and `probs`")
        if logits is not None:
            u = as_float_array(logits, "logits")
            _check_logits(u)
        else:
            p = as_float_array(probs, "probs")  # type: ignore[arg-type]  # not None here
            u = self._inverse_mean_map(p)
        super().__init__(u)

    def _check_natural(self) -> None:
        _check_logits(self._natural)

    # closed forms
    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`A(u) = \\operatorname{LSE}(u)`, shape ``batch_shape``."""
        return logsumexp(self._natural)

    def _mean_map(self) -> FloatArray:
        return softmax(self._natural)

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`\operatorname{diag}(p) - pp^\top`, shape ``(..., K, K)``."""
        p = self.probs
        out = -p[..., :, None] * p[..., None, :]
        idx = np.arange(p.shape[-1])
        out[..., idx, idx] += p
        return out

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:  # noqa: ARG003
        p = as_float_array(mean_params, "probs")
        _check_probs(p)
        with np.errstate(divide="ignore"):
            return np.log(p)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """One-hot encoding of integer labels ``x`` in ``[0, K)``."""
        labels = _check_labels(x, self.num_categories)
        return np.eye(self.num_categories, dtype=self.dtype)[labels]

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero: the categorical base measure is counting measure."""
        labels = _check_labels(x, self.num_categories)
        return np.zeros(labels.shape, dtype=self.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[np.intp]:
        """Draw integer labels of shape ``size + batch_shape``."""
        gen = np.random.default_rng(rng)
        shape = (size,) if isinstance(size, int) else tuple(size)
        cdf = np.cumsum(self.probs, axis=-1)
        u = gen.random(shape + self.batch_shape + (1,)) * cdf[..., -1:]
        labels: NDArray[np.intp] = np.minimum((u >= cdf).sum(axis=-1), self.num_categories - 1)
        return labels

    # parameters
    @property
    def logits(self) -> FloatArray:
        """Natural parameters (as given; not normalised)."""
        return self._natural

    @property
    def probs(self) -> FloatArray:
        """Probabilities ``softmax(logits)``."""
        return self._mean_map()

    @property
    def log_probs(self) -> FloatArray:
        """Normalised logits ``log_softmax(logits)``."""
        return log_softmax(self._natural)

    @property
    def num_categories(self) -> int:
        """Number of categories ``K``."""
        return int(self._natural.shape[-1])


def _check_logits(u: FloatArray) -> None:
    if u.ndim == 0 or u.shape[-1] == 0:
        raise ValueError(f"`logits` must have shape batch_shape + (K,) with K >= 1; got {u.shape}")
    if np.any(np.isnan(u)):
        raise ValueError("`logits` must not contain nan")
    if np.any(u == np.inf):
        raise ValueError("`logits` must not contain +inf")
    if np.any(np.all(u == -np.inf, axis=-1)):
        raise ValueError("`logits` has a row that is all -inf; each row needs a finite logit")


def _check_probs(p: FloatArray) -> None:
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"`probs` must have shape batch_shape + (K,) with K >= 1; got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("`probs` must be finite (no nan or inf)")
    if np.any(p < 0):
        raise ValueError(f"`probs` must be non-negative; found {p[p < 0].flat[0]!r}")
    total = p.sum(axis=-1)
    tol = 8 * np.finfo(p.dtype).eps * max(1, p.shape[-1]) ** 0.5
    bad = np.abs(total - 1) > tol
    if np.any(bad):
        raise ValueError(
            f"`probs` must sum to 1 along the last axis; a row sums to {total[bad].flat[0]!r}"
        )


def _check_labels(x: ArrayLike, K: int) -> NDArray[np.intp]:
    a = np.asarray(x)
    if a.dtype.kind not in "iub":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.intp)
        else:
            raise TypeError(f"`x` must hold integer labels; got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= K):
        raise ValueError(f"`x` holds labels outside [0, {K}): min {a.min()}, max {a.max()}")
    return a.astype(np.intp)
