r"""The categorical family: logits as natural parameters, softmax as the mean map.

Accuracy
--------
Entropy and cross-entropy are computed from the logits as sums of non-negative terms
:math:`p_j \cdot (-\log q_j)`, and the KL divergence as
:math:`\sum_j p_j\,((-\log q_j) - (-\log p_j))`, never as the difference
:math:`A(u) - \langle p, u\rangle` that cancels catastrophically for confident rows.
With :math:`m = \max_j u_j` attained at :math:`j^*`, :math:`d_j = u_j - m \le 0` and
:math:`s = \sum_{j \ne j^*} e^{d_j}`,

.. math::

    -\log S(u)_j = \mathrm{log1p}(s) - d_j \;\ge 0, \qquad
    S(u)_j = e^{d_j} / (1 + s).

The shifted logits :math:`d_j` are carried as an unevaluated sum ``hi + lo`` of two
floats (Knuth's TwoSum), so that :math:`e^{d_j}` is correct to about one rounding even
when :math:`|d_j|` is large; a product :math:`p_j w_j` whose :math:`p_j` underflows is
formed without leaving the normal range until the last step; float32 input is computed
in float64 and rounded once. The results are within 4 eps of the exact values for the
given floating-point inputs, relative to the magnitude of their terms (tested against
mpmath for confident rows, masked categories and spreads up to 1e300). A distribution
built from probabilities keeps them as its mean parameters, so that nothing is lost in
the round trip through their logarithms.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._conjugate import register_conjugate
from expfam._families.dirichlet import Dirichlet
from expfam._family import ExponentialFamily
from expfam._kernels import log_softmax, logsumexp, mul0
from expfam._suffstats import Block, SufficientStatistics
from expfam._validation import FloatArray, as_float_array, reject_bool_labels

__all__ = ["Categorical"]

F64 = NDArray[np.float64]


class Categorical(ExponentialFamily):
    r"""Categorical distributions over ``K`` categories, as an exponential family.

    The natural parameters are the logits :math:`u \in [-\infty, \infty)^K`: all ``K``
    of them, no pivot category, ``-inf`` marking a masked category (probability exactly
    0). The sufficient statistic is the one-hot encoding of the label, the base measure
    is counting measure, the log-partition is :math:`A(u) = \operatorname{LSE}(u)`, the
    mean map is :math:`S(u) = \operatorname{softmax}(u)` and the Fisher information is
    :math:`\operatorname{diag}(p) - pp^\top`. Logits are defined up to an additive
    constant per row; everything here is invariant under such a shift.

    Parameters
    ----------
    logits : array_like, optional
        Natural parameters, shape ``batch_shape + (K,)``, ``K >= 1``. ``-inf`` is
        allowed (a masked category); ``nan`` and ``+inf`` are not, and every row needs
        at least one finite logit.
    probs : array_like, optional
        Mean parameters (probabilities), shape ``batch_shape + (K,)``: finite,
        non-negative, each row summing to 1 within ``8 * eps * sqrt(K)`` of the dtype
        (nothing is renormalised). Zeros are allowed and become ``-inf`` logits.
        Give exactly one of `logits` and `probs`.

    Raises
    ------
    TypeError
        If both or neither of `logits` and `probs` are given, or their dtype is not
        real.
    ValueError
        If the values or the shape are invalid (the message names the argument, the
        offending value or row, and the shape).

    See Also
    --------
    expfam.cross_entropy_with_logits, expfam.softmax, expfam.log_softmax

    Notes
    -----
    **The seed identity.** For every probability vector :math:`p` and logits :math:`u`,

    .. math::

        \texttt{Categorical(probs=p).cross\_entropy(Categorical(logits=u))}
        = \texttt{cross\_entropy\_with\_logits(p, u)}
        = \mathrm{KL}(p \,\|\, S(u)) + H(p),

    and the gradient of this quantity with respect to :math:`u` is :math:`S(u) - p`
    (the mean map minus the target mean: the gradient of the negative log-likelihood
    :math:`A(u) - \langle p, u\rangle`).

    The Fisher information is singular: the all-ones vector (a common shift of the
    logits) is in its null space, and so is every masked coordinate.

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import Categorical, cross_entropy_with_logits, softmax
    >>> d = Categorical(probs=[0.5, 0.5, 0.0])
    >>> d.logits
    array([-0.69314718, -0.69314718,        -inf])
    >>> float(d.entropy())  # log 2: the masked category contributes exactly 0
    0.6931471805599453

    The seed identity, and the gradient of the cross-entropy in the logits:

    >>> p, u = np.array([0.7, 0.2, 0.1]), np.array([2.0, -1.0, 0.5])
    >>> ce = Categorical(probs=p).cross_entropy(Categorical(logits=u))
    >>> kl = Categorical(probs=p).kl_divergence(Categorical(logits=u))
    >>> h = Categorical(probs=p).entropy()
    >>> value, grad = cross_entropy_with_logits(p, u, return_grad=True)
    >>> bool(np.isclose(ce, value) and np.isclose(ce, kl + h))
    True
    >>> bool(np.allclose(grad, softmax(u) - p))
    True

    Confident rows keep their digits (within 4 eps), where the textbook formula on the
    rounded probabilities loses most of them:

    >>> from scipy import stats
    >>> u = np.array([0.0, -40.0])
    >>> float(Categorical(logits=u).entropy())  # exact: 1.74182524466955148...e-16
    1.7418252446695514e-16
    >>> float(stats.entropy(softmax(u)))  # 2.4% off
    1.70e-16
    """

    _repr_params = ("probs", "num_categories")

    _probs: FloatArray | None = None

    def __init__(self, *, logits: ArrayLike | None = None, probs: ArrayLike | None = None) -> None:
        if logits is not None and probs is not None:
            raise TypeError("give exactly one of `logits` and `probs`; got both")
        if logits is None and probs is None:
            raise TypeError("give exactly one of `logits` and `probs`; got neither")
        if logits is not None:
            u = as_float_array(logits, "logits")
            _check_logits(u)
            super().__init__(u)
        else:
            p = as_float_array(probs, "probs")  # type: ignore[arg-type]  # not None here
            _check_probs(p)
            self._set_probs(p)

    def _set_probs(self, p: FloatArray) -> None:
        """Initialise from checked probabilities, which are kept as the mean parameters."""
        with np.errstate(divide="ignore"):
            ExponentialFamily.__init__(self, np.log(p))
        p = np.array(p, copy=True)
        p.flags.writeable = False
        self._probs = p

    @classmethod
    def from_mean_params(cls, mean_params: ArrayLike, /, **fixed: Any) -> Categorical:
        r"""Build a categorical from probabilities (same checks as ``probs=``).

        Parameters
        ----------
        mean_params : array_like
            Probabilities, shape ``batch_shape + (K,)``.
        **fixed
            Only ``num_categories``, which, if given, must equal ``K``.

        Returns
        -------
        Categorical

        Examples
        --------
        >>> from expfam import Categorical
        >>> Categorical.from_mean_params([0.25, 0.75]).probs
        array([0.25, 0.75])
        """
        p = as_float_array(mean_params, "mean_params")
        _check_probs(p, "mean_params")
        _check_fixed(fixed, p.shape[-1], "mean_params")
        obj = cls.__new__(cls)
        obj._set_probs(p)
        return obj

    def _init_fixed(self, **fixed: Any) -> None:
        """Accept (and check) ``num_categories``, which is implied by the logits' shape."""
        _check_fixed(fixed, self._natural.shape[-1], "natural_params")

    def _check_natural(self) -> None:
        _check_logits(self._natural, "natural_params")

    def _check_same_family(self, other: ExponentialFamily, name: str = "other") -> None:
        if isinstance(other, Categorical) and other.num_categories != self.num_categories:
            raise ValueError(
                f"`{name}` has {other.num_categories} categories (logits shape "
                f"{other.logits.shape}), but this distribution has {self.num_categories} "
                f"(logits shape {self.logits.shape})"
            )
        super()._check_same_family(other, name)

    # ------------------------------------------------------------------ parameters
    @property
    def logits(self) -> FloatArray:
        """Natural parameters as given (not normalised), shape ``batch_shape + (K,)``.

        ``log(probs)`` for a distribution built from probabilities. Read-only.
        """
        return self._natural

    @property
    def probs(self) -> FloatArray:
        """Probabilities ``softmax(logits)``, shape ``batch_shape + (K,)``.

        As given for a distribution built from probabilities.
        """
        return self._mean_map()

    @property
    def log_probs(self) -> FloatArray:
        """Normalised logits ``log_softmax(logits)``: the log-probabilities."""
        return log_softmax(self._natural)

    @property
    def num_categories(self) -> int:
        """Number of categories ``K``."""
        return int(self._natural.shape[-1])

    def _parts(self) -> _Parts:
        """Probabilities and negative log-probabilities, in float64 (see module notes)."""
        if self._probs is not None:
            p = self._probs.astype(np.float64)
            with np.errstate(divide="ignore"):
                return _Parts(p, -np.log(p))
        return _logit_parts(self._natural)

    # ------------------------------------------------------------------ closed forms
    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`A(u) = \log \sum_j e^{u_j}`, shape ``batch_shape``.

        Examples
        --------
        >>> from expfam import Categorical
        >>> float(Categorical(logits=[1000.0, 1000.0]).log_partition())
        1000.6931471805599
        """
        return logsumexp(self._natural)

    def _mean_map(self) -> FloatArray:
        if self._probs is not None:
            return self._probs
        return _logit_parts(self._natural).p.astype(self.dtype, copy=False)

    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`\operatorname{diag}(p) - pp^\top`, the Hessian of :math:`A`.

        Returns
        -------
        ndarray
            Shape ``batch_shape + (K, K)``. Symmetric positive semi-definite and
            singular: the all-ones direction is in its null space.

        Examples
        --------
        >>> from expfam import Categorical
        >>> Categorical(probs=[0.5, 0.5]).fisher_information()
        array([[ 0.25, -0.25],
               [-0.25,  0.25]])
        """
        p = self._parts().p
        with np.errstate(under="ignore"):  # products of tiny probabilities are 0
            out = -p[..., :, None] * p[..., None, :]
        out += 0.0  # -0.0 -> 0.0 where a probability is 0
        idx = np.arange(p.shape[-1])
        out[..., idx, idx] = _indicator_variance(p)
        return _to_dtype(out, self.dtype)

    def mean(self) -> FloatArray:
        """Mean of the one-hot outcome: the probabilities, shape ``batch_shape + (K,)``.

        The mean parameters :math:`E[T(x)]`, as :meth:`Dirichlet.mean
        <expfam.Dirichlet.mean>` is the mean of a point of the simplex. (The mean of
        the integer label itself is rarely meaningful.)

        Examples
        --------
        >>> from expfam import Categorical
        >>> Categorical(probs=[0.2, 0.8]).mean()
        array([0.2, 0.8])
        """
        return _to_dtype(self._parts().p, self.dtype)

    def variance(self) -> FloatArray:
        r"""Variances :math:`p_k(1 - p_k)` of the one-hot outcome, shape ``batch_shape + (K,)``.

        The diagonal of :meth:`fisher_information` (the covariance of :math:`T(x)`).
        :math:`1 - p_k` of the most probable category is summed from the others, so a
        confident row keeps its digits.

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Categorical
        >>> Categorical(logits=[0.0, -40.0]).variance()
        array([4.24835426e-18, 4.24835426e-18])
        """
        return _to_dtype(_indicator_variance(self._parts().p), self.dtype)

    @classmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:
        p = as_float_array(mean_params, "mean_params")
        _check_probs(p, "mean_params")
        _check_fixed(fixed, p.shape[-1], "mean_params")
        with np.errstate(divide="ignore"):
            return np.log(p)

    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """One-hot encoding of integer labels `x` in ``[0, K)``.

        Returns
        -------
        ndarray
            Shape ``x.shape + (K,)``, in the distribution's dtype.

        Examples
        --------
        >>> from expfam import Categorical
        >>> Categorical(logits=[0.0, 0.0, 0.0]).sufficient_statistic([2, 0])
        array([[0., 0., 1.],
               [1., 0., 0.]])
        """
        labels = _check_labels(x, self.num_categories)
        return np.eye(self.num_categories, dtype=self.dtype)[labels]

    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        """Zero: the categorical base measure is counting measure.

        Returns
        -------
        ndarray
            Zeros of shape ``x.shape``, in the distribution's dtype.
        """
        labels = _check_labels(x, self.num_categories)
        return np.zeros(labels.shape, dtype=self.dtype)

    def _expected_log_base_measure(self) -> FloatArray:
        return np.zeros(self.batch_shape, dtype=self.dtype)

    # ------------------------------------------------------------------ accurate overrides
    def log_prob(self, x: ArrayLike) -> FloatArray:
        """Log-probability of integer labels `x`.

        Parameters
        ----------
        x : array_like of int
            Labels in ``[0, K)``, shape ``sample_shape + batch_shape`` (broadcasting
            against the batch).

        Returns
        -------
        ndarray
            ``log_probs[..., x]``, shape ``broadcast(x.shape, batch_shape)``; ``-inf``
            for a masked category.

        Raises
        ------
        ValueError
            If a label is outside ``[0, K)`` or `x` does not broadcast against the batch.
        TypeError
            If `x` does not hold integers (a bool label is not one).

        Examples
        --------
        >>> from expfam import Categorical
        >>> d = Categorical(probs=[0.25, 0.75, 0.0])
        >>> d.log_prob([1, 2])
        array([-0.28768207,        -inf])
        """
        labels = _check_labels(x, self.num_categories)
        shape = self._check_x_batch(labels.shape)
        # the given probabilities, if any, are more accurate than their logits
        lp = self.log_probs if self._probs is None else (-self._parts().nlp).astype(self.dtype)
        lp = np.broadcast_to(lp, (*shape, self.num_categories))
        idx = np.broadcast_to(labels, shape)[..., None]
        return np.take_along_axis(lp, idx, axis=-1)[..., 0]

    def entropy(self) -> FloatArray:
        r"""Shannon entropy in nats, computed from the logits.

        Returns
        -------
        ndarray
            Shape ``batch_shape``. Masked categories contribute exactly 0.

        Notes
        -----
        :math:`H = \sum_j S_j\,(\mathrm{log1p}(s) - d_j)`, a sum of non-negative
        terms (see the module notes), accurate to a few units of roundoff relative to
        :math:`H` even for confident rows, where the textbook
        :math:`-\sum_j p_j \log p_j` on rounded probabilities loses most digits.

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Categorical
        >>> float(Categorical(logits=[0.0, 0.0, -np.inf]).entropy())
        0.6931471805599453
        """
        parts = self._parts()
        return _to_dtype(parts.weighted(parts.nlp).sum(axis=-1), self.dtype)

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`-\sum_j p_j \log q_j` of `other` (as :math:`q`) under self.

        Parameters
        ----------
        other : Categorical
            The model distribution :math:`q`, with the same number of categories; batch
            shapes broadcast.

        Returns
        -------
        ndarray
            Shape ``broadcast(batch_shape, other.batch_shape)``; ``+inf`` where `other`
            masks a category that self does not; float32 only if both are float32.

        Raises
        ------
        TypeError
            If `other` is not a :class:`Categorical`.
        ValueError
            If the numbers of categories differ or the batch shapes do not broadcast.

        See Also
        --------
        expfam.cross_entropy_with_logits : the same with `self` given by probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Categorical
        >>> p = Categorical(probs=[0.5, 0.5])
        >>> float(p.cross_entropy(Categorical(logits=[0.0, 0.0])))
        0.6931471805599453
        >>> float(p.cross_entropy(Categorical(logits=[0.0, -np.inf])))
        inf
        """
        self._check_same_family(other)
        assert isinstance(other, Categorical)  # noqa: S101 - narrowed by the check above
        value = self._parts().weighted(other._parts().nlp).sum(axis=-1)
        value = np.where(_support_escapes(self, other), np.inf, value)
        return _to_dtype(value, np.result_type(self.dtype, other.dtype))

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""Kullback-Leibler divergence KL(self ‖ other), from the logits of both.

        Parameters
        ----------
        other : Categorical
            The second distribution, with the same number of categories; batch shapes
            broadcast.

        Returns
        -------
        ndarray
            Shape ``broadcast(batch_shape, other.batch_shape)``, ``>= 0``; ``+inf`` where
            `other` masks a category that self does not (``q_j = 0 < p_j``), and a
            category masked in both contributes exactly 0. Never ``nan``.

        Raises
        ------
        TypeError
            If `other` is not a :class:`Categorical`.
        ValueError
            If the numbers of categories differ or the batch shapes do not broadcast.

        Notes
        -----
        :math:`\sum_j p_j\,(-\log q_j - (-\log p_j))` with both negative
        log-probabilities computed as in the module notes; a result that rounding made
        negative is returned as 0 (the exact value is non-negative).

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Categorical
        >>> p = Categorical(probs=[0.5, 0.5, 0.0])
        >>> float(p.kl_divergence(p))
        0.0
        >>> float(p.kl_divergence(Categorical(probs=[0.25, 0.75, 0.0])))
        0.14384103622589045
        >>> float(p.kl_divergence(Categorical(probs=[1.0, 0.0, 0.0])))
        inf
        """
        self._check_same_family(other)
        assert isinstance(other, Categorical)  # noqa: S101 - narrowed by the check above
        parts = self._parts()
        with np.errstate(invalid="ignore"):  # inf - inf where both mask: weight p = 0
            value = parts.weighted(other._parts().nlp - parts.nlp).sum(axis=-1)
        value = np.where(_support_escapes(self, other), np.inf, np.maximum(value, 0.0))
        return _to_dtype(value, np.result_type(self.dtype, other.dtype))

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        size: int | Sequence[int] = (),
        rng: np.random.Generator | int | None = None,
    ) -> NDArray[np.intp]:
        """Draw integer labels.

        Parameters
        ----------
        size : int or sequence of int, optional
            Sample shape; the result has shape ``size + batch_shape``.
        rng : numpy.random.Generator or int, optional
            Generator or seed (passed to :func:`numpy.random.default_rng`): the same seed
            gives the same labels.

        Returns
        -------
        ndarray of intp
            Labels in ``[0, K)``; a masked (or zero-probability) category is never drawn.

        Examples
        --------
        >>> from expfam import Categorical
        >>> d = Categorical(probs=[0.2, 0.0, 0.8])
        >>> x = d.sample(5, rng=0)
        >>> x.shape, bool((x != 1).all())
        ((5,), True)
        """
        gen = np.random.default_rng(rng)
        shape = _sample_shape(size)
        K = self.num_categories
        p = self.probs.astype(np.float64).reshape(-1, K)
        cdf = np.cumsum(p, axis=-1)
        cdf /= cdf[:, -1:]  # entries from the last positive one onward are exactly 1
        u = gen.random((*shape, p.shape[0]))
        if K <= 32:
            labels = (u[..., None] >= cdf).sum(axis=-1)
        else:
            labels = np.empty(u.shape, dtype=np.intp)
            for row in range(p.shape[0]):
                labels[..., row] = np.searchsorted(cdf[row], u[..., row], side="right")
        out: NDArray[np.intp] = labels.astype(np.intp).reshape((*shape, *self.batch_shape))
        return out

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(  # type: ignore[override]  # K must be known: an unseen category is still one
        cls,
        x: ArrayLike,
        /,
        num_categories: int | None,
        *,
        weights: ArrayLike | None = None,
        pseudocount: ArrayLike = 0.0,
    ) -> Categorical:
        r"""Maximum-likelihood (or smoothed) fit from integer labels.

        Parameters
        ----------
        x : array_like of int
            Observed labels in ``[0, num_categories)``, shape ``(n,)``.
        num_categories : int
            Number of categories ``K`` (categories never observed still count).
        weights : array_like, optional
            Finite, non-negative weights, shape ``(n,)``.
        pseudocount : float or array_like, optional
            Added to every category's (weighted) count: additive (Laplace/Lidstone)
            smoothing, equivalently the MAP estimate under a Dirichlet prior with
            concentration ``pseudocount + 1``. Scalar or shape ``(K,)``; default 0.

        Returns
        -------
        Categorical
            Batch shape ``()``, probabilities ``(counts + pseudocount) / total``; a
            category with zero smoothed count gets probability 0 (logit ``-inf``).
            float32 if `weights` is float32, else float64.

        Raises
        ------
        ValueError
            If a label is outside ``[0, K)``, a weight or pseudocount is negative or not
            finite, the shapes disagree, or the total count is 0.
        TypeError
            If `x` does not hold integers: a bool label (a bool array, or ``True``
            among the labels) is not one; numpy reads a bool array as a mask.

        See Also
        --------
        fit_counts

        Examples
        --------
        >>> from expfam import Categorical
        >>> Categorical.fit([0, 0, 1, 0], 3).probs
        array([0.75, 0.25, 0.  ])
        >>> Categorical.fit([0, 0, 1, 0], 3, pseudocount=1.0).probs
        array([0.57142857, 0.28571429, 0.14285714])
        """
        if num_categories is None:
            raise TypeError("`num_categories` is required: the number of categories K")
        a = np.asarray(x)
        if a.ndim != 1:
            raise ValueError(f"`x` must be a 1-d array of labels; got shape {a.shape}")
        stats = cls.suffstats(x, weights=weights, num_categories=num_categories)
        dtype = np.float32 if np.asarray(weights).dtype == np.float32 else np.float64
        counts = cls._stats_sum(stats).astype(dtype)
        if not counts.sum() > 0 and not np.any(np.asarray(pseudocount) != 0):
            raise ValueError(
                f"nothing to fit: `x` (shape {a.shape}) has no observation with positive "
                "weight and `pseudocount` is 0"
            )
        return cls.fit_counts(counts, pseudocount=pseudocount)

    @classmethod
    def suffstats(
        cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any
    ) -> SufficientStatistics:
        """Sufficient statistics of integer labels `x`: the (weighted) label counts.

        As :meth:`ExponentialFamily.suffstats
        <expfam.ExponentialFamily.suffstats>`, with ``num_categories=`` required.
        A label is a category index, so bool labels (a bool array, or ``True`` in a
        list of labels) raise :class:`TypeError`; numpy reads a bool array as a mask.

        Parameters
        ----------
        x : array_like of int or dask.array.Array
            Labels in ``[0, num_categories)``, shape ``(n,)``.
        weights : array_like, optional
            Finite, non-negative weights of shape ``(n,)``.
        **fixed
            ``num_categories``, the number of categories ``K``.

        Returns
        -------
        SufficientStatistics

        Raises
        ------
        ValueError
            If a label is outside ``[0, K)``, a weight is negative or not finite, or the
            shapes disagree.
        TypeError
            If `x` does not hold integers (a bool label is not one), or
            ``num_categories`` is missing.

        Examples
        --------
        >>> from expfam import Categorical
        >>> s = Categorical.suffstats([0, 2, 2], num_categories=3)
        >>> s.count, s.mean_params
        (3, array([0.33333333, 0.        , 0.66666667]))
        """
        reject_bool_labels(x, "x")
        return super().suffstats(x, weights=weights, **fixed)

    @classmethod
    def _stats_fast(
        cls,
        probe: ExponentialFamily,
        x: NDArray[Any],
        w: F64 | None,
        buf: F64,  # noqa: ARG003 - the base's signature
    ) -> Block | None:
        """Count an unweighted 1-d block of integer labels by ``np.bincount`` (exact).

        The labels are checked by the block's minimum and maximum; any doubt takes
        :meth:`_stats_block` (the one-hot sums), which raises the usual error.
        """
        if w is not None or x.ndim != 1 or x.shape[0] == 0 or x.dtype.kind not in "iu":
            return None
        if x.dtype.kind == "u" and x.dtype.itemsize >= np.dtype(np.intp).itemsize:
            return None  # bincount takes labels as intp
        assert isinstance(probe, Categorical)  # noqa: S101 - the probe of this family
        K = probe.num_categories
        if not (int(x.min()) >= 0 and int(x.max()) < K):
            return None
        counts = np.bincount(x, minlength=K).astype(np.float64)  # exact below 2**53
        return (float(x.shape[0]), 0.0), {"t": counts, "t_lo": np.zeros(K)}

    @classmethod
    def _fit_stats(cls, s: SufficientStatistics) -> Categorical:
        """Probabilities proportional to the weighted counts."""
        return cls.fit_counts(cls._stats_sum(s).astype(s.dtype))

    @classmethod
    def _fit_probe(cls, **fixed: Any) -> Categorical:
        if "num_categories" not in fixed:
            raise TypeError("fitting a Categorical needs `num_categories`")
        K = _check_num_categories(fixed["num_categories"], None, "num_categories")
        _check_fixed(fixed, K, "num_categories")
        return cls(logits=np.zeros(K))

    @classmethod
    def fit_counts(cls, counts: ArrayLike, *, pseudocount: ArrayLike = 0.0) -> Categorical:
        r"""Maximum-likelihood (or smoothed) fit from category counts.

        Parameters
        ----------
        counts : array_like
            Finite, non-negative (possibly fractional) counts, shape
            ``batch_shape + (K,)``: one fit per row.
        pseudocount : float or array_like, optional
            Added to every count (see :meth:`fit`); broadcast against `counts`.

        Returns
        -------
        Categorical
            Probabilities ``(counts + pseudocount) / total`` per row, in the dtype of
            `counts` (float64 for integer counts).

        Raises
        ------
        ValueError
            If a count or pseudocount is negative or not finite, or a row's smoothed
            total is 0.

        Examples
        --------
        >>> from expfam import Categorical
        >>> Categorical.fit_counts([3, 1, 0]).probs
        array([0.75, 0.25, 0.  ])
        >>> Categorical.fit_counts([3, 1, 0]).logits[2]
        np.float64(-inf)
        """
        c = as_float_array(counts, "counts")
        if c.ndim == 0 or c.shape[-1] == 0:
            raise ValueError(
                f"`counts` must have shape batch_shape + (K,) with K >= 1; got {c.shape}"
            )
        _check_nonneg_finite(c, "counts")
        a = as_float_array(pseudocount, "pseudocount")
        _check_nonneg_finite(a, "pseudocount")
        try:
            ok = np.broadcast_shapes(a.shape, c.shape) == c.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"`pseudocount` with shape {a.shape} does not broadcast to the shape of "
                f"`counts`, {c.shape}"
            )
        c = c + a.astype(c.dtype)
        with np.errstate(over="ignore"):
            total = c.sum(axis=-1, keepdims=True)
        if np.any(total == 0):
            where = "" if c.ndim == 1 else f"row {_first_index(total[..., 0] == 0)} of "
            raise ValueError(
                f"{where}`counts` (plus `pseudocount`) sums to 0: nothing to fit; give a "
                "positive `pseudocount`"
            )
        if np.any(np.isinf(total)):  # rescale first: the counts' sum overflows
            c = c / c.max(axis=-1, keepdims=True)
            total = c.sum(axis=-1, keepdims=True)
        obj = cls.__new__(cls)
        obj._set_probs(c / total)
        return obj

    # ------------------------------------------------------------------ temperature
    def with_temperature(self, temperature: ArrayLike) -> Categorical:
        r"""Return the categorical with logits divided by `temperature`.

        Parameters
        ----------
        temperature : float or array_like
            Non-negative; an array broadcasts against ``batch_shape``. ``0`` gives the
            limit :math:`T \to 0^+`: uniform over the arg-max set of each row (the
            categories tied at the maximum logit). ``inf`` gives the limit
            :math:`T \to \infty`: uniform over the unmasked categories.

        Returns
        -------
        Categorical
            Same dtype; batch shape ``broadcast(batch_shape, temperature.shape)``.
            For ``0 < T < inf`` the logits are ``logits / T``, or, in a row where that
            overflows, ``(logits - max) / T`` (the same distribution).

        Raises
        ------
        ValueError
            If `temperature` is negative or nan, or does not broadcast.

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Categorical
        >>> d = Categorical(logits=[2.0, 2.0, 0.0, -np.inf])
        >>> d.with_temperature(2.0).logits
        array([ 1.,  1.,  0., -inf])
        >>> d.with_temperature(0.0).probs
        array([0.5, 0.5, 0. , 0. ])
        >>> d.with_temperature(np.inf).probs
        array([0.33333333, 0.33333333, 0.33333333, 0.        ])
        """
        t = as_float_array(temperature, "temperature")
        if np.any(np.isnan(t)) or np.any(t < 0):
            bad = t[np.isnan(t) | (t < 0)].flat[0]
            raise ValueError(f"`temperature` must be non-negative (0 and inf allowed); got {bad}")
        u = self._natural
        try:
            shape = np.broadcast_shapes(self.batch_shape, t.shape)
        except ValueError:
            raise ValueError(
                f"`temperature` with shape {t.shape} does not broadcast against the batch "
                f"shape {self.batch_shape}"
            ) from None
        u64 = np.broadcast_to(u, (*shape, self.num_categories)).astype(np.float64)
        t64 = np.broadcast_to(t.astype(np.float64), shape)[..., None]
        finite = np.isfinite(u64)
        m = u64.max(axis=-1, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = (u64 / t64).astype(self.dtype)
            overflow = np.any(finite & ~np.isfinite(out), axis=-1, keepdims=True)
            shifted = ((u64 - m) / t64).astype(self.dtype)
        out = np.where(overflow, shifted, out)
        zero = np.where(u64 == m, 0.0, -np.inf).astype(self.dtype)
        inf = np.where(finite, 0.0, -np.inf).astype(self.dtype)
        out = np.where(t64 == 0, zero, np.where(t64 == np.inf, inf, out))
        return Categorical(logits=out)

    # ------------------------------------------------------------------ distribution functions
    def mode(self) -> NDArray[np.int64]:
        """Most probable label (int64), shape ``batch_shape``; ties go to the smallest label.

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Categorical
        >>> Categorical(logits=[[0.0, 2.0, 1.0], [5.0, -np.inf, 5.0]]).mode()
        array([1, 0])
        """
        return np.asarray(np.argmax(self._natural, axis=-1), dtype=np.int64)


# ---------------------------------------------------------------------- helpers


def _to_dtype(value: FloatArray, dtype: Any) -> FloatArray:
    """Round a float64 result to `dtype` (an overflow becomes inf, as it should)."""
    with np.errstate(over="ignore"):
        return np.asarray(value).astype(dtype, copy=False)


class _Parts(NamedTuple):
    """Probabilities ``p`` and ``nlp = -log p`` in float64, with what made them.

    ``hi + lo`` are the shifted logits ``u - max`` (TwoSum) and ``s`` the sum of the
    non-maximal ``exp(u - max)``; all three are None for probabilities given directly.
    """

    p: F64
    nlp: F64
    hi: F64 | None = None
    lo: F64 | None = None
    s: F64 | None = None

    def weighted(self, w: F64) -> FloatArray:
        """``p * w`` with ``0 * inf = 0``, accurate also where ``p`` underflows.

        Where ``p`` is below the normal range its product with ``w`` is formed as
        ``a * ((a * (1 + lo) / (1 + s)) * w)`` with ``a = exp(hi / 2)``, which stays in the
        normal range until the last multiplication, so the result is right to the
        subnormal grid instead of losing all relative precision.
        """
        out = mul0(self.p, w)
        if self.hi is None or self.lo is None or self.s is None:
            return out
        shape = out.shape
        wb = np.broadcast_to(w, shape)
        with np.errstate(invalid="ignore"):
            small = (
                np.broadcast_to((self.p < _TINY) & np.isfinite(self.hi), shape)
                & np.isfinite(wb)
                & (wb != 0)
            )
        if np.any(small):
            hi = np.broadcast_to(self.hi, shape)[small]
            lo = np.broadcast_to(self.lo, shape)[small]
            s = np.broadcast_to(self.s, shape)[small]
            with np.errstate(under="ignore"):
                a = np.exp(hi / 2)
                out[small] = a * ((a * (1.0 + lo) / (1.0 + s)) * wb[small])
        return out


_TINY = float(np.finfo(np.float64).tiny)


def _logit_parts(logits: FloatArray) -> _Parts:
    """``softmax(u)`` and ``-log_softmax(u)`` in float64, for rows with a finite logit.

    The shifted logits ``d = u - max`` are kept as ``hi + lo`` (TwoSum), so
    ``exp(d) = exp(hi) * (1 + lo)`` is accurate to about one rounding.
    """
    u = np.asarray(logits, dtype=np.float64)
    idx = np.argmax(u, axis=-1)[..., None]
    m = np.take_along_axis(u, idx, axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        hi = u - m
        bb = hi - u
        lo = (u - (hi - bb)) + (-m - bb)
    lo[~np.isfinite(lo)] = 0.0  # masked categories, or spreads beyond the float range
    with np.errstate(under="ignore"):
        e = np.exp(hi)
        e += e * lo
    np.put_along_axis(e, idx, 0.0, axis=-1)
    s = e.sum(axis=-1, keepdims=True)
    p = e / (1.0 + s)
    np.put_along_axis(p, idx, 1.0 / (1.0 + s), axis=-1)
    nlp = (np.log1p(s) - hi) - lo
    return _Parts(p, nlp, hi, lo, s)


def _indicator_variance(p: NDArray[Any]) -> NDArray[Any]:
    """``p_k (1 - p_k)``, with ``1 - p_k`` of the largest ``p_k`` summed from the others."""
    top = np.argmax(p, axis=-1)[..., None]
    rest = 1.0 - p
    mask = np.ones(p.shape, dtype=bool)
    np.put_along_axis(mask, top, values=False, axis=-1)
    others = np.where(mask, p, 0.0).sum(axis=-1, keepdims=True)
    np.put_along_axis(rest, top, others, axis=-1)
    return p * rest


def _support_escapes(p: Categorical, q: Categorical) -> NDArray[np.bool_]:
    """Rows where `q` masks a category that `p` does not: KL and cross-entropy are inf.

    Decided on the masks, not on the (possibly underflowed) probabilities.
    """
    live = p._probs > 0 if p._probs is not None else np.isfinite(p._natural)
    dead = q._probs == 0 if q._probs is not None else np.isneginf(q._natural)
    return np.asarray(np.any(live & dead, axis=-1))


def _check_num_categories(K: Any, expected: int | None, name: str) -> int:
    """Validate `K` (None means "take `expected`") and return it."""
    if K is None:
        assert expected is not None  # noqa: S101 - internal invariant
        return expected
    if isinstance(K, (bool, np.bool_)):
        raise TypeError(f"`num_categories` must be an integer; got {K!r}")
    try:
        k = operator.index(K)
    except TypeError:
        raise TypeError(f"`num_categories` must be an integer; got {K!r}") from None
    if k < 1:
        raise ValueError(f"`num_categories` must be at least 1; got {k}")
    if expected is not None and k != expected:
        raise ValueError(
            f"`num_categories`={k} does not match the last axis of `{name}` ({expected})"
        )
    return k


def _check_fixed(fixed: dict[str, Any], K: int, name: str) -> None:
    """Check the only fixed parameter, ``num_categories`` (implied by the shape)."""
    unknown = set(fixed) - {"num_categories"}
    if unknown:
        raise TypeError(
            f"Categorical takes only `num_categories` as a fixed parameter; got {sorted(unknown)}"
        )
    _check_num_categories(fixed.get("num_categories"), K, name)


def _first_index(mask: NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _check_logits(u: FloatArray, name: str = "logits") -> None:
    if u.ndim == 0 or u.shape[-1] == 0:
        raise ValueError(f"`{name}` must have shape batch_shape + (K,) with K >= 1; got {u.shape}")
    if np.any(np.isnan(u)):
        raise ValueError(
            f"`{name}` must not contain nan; found one at index {_first_index(np.isnan(u))} "
            f"(shape {u.shape})"
        )
    if np.any(u == np.inf):
        raise ValueError(
            f"`{name}` must not contain +inf; found one at index "
            f"{_first_index(u == np.inf)} (shape {u.shape})"
        )
    dead = np.all(u == -np.inf, axis=-1)
    if np.any(dead):
        raise ValueError(
            f"row {_first_index(dead)} of `{name}` (shape {u.shape}) is all -inf; "
            "every row needs at least one finite logit"
        )


def _check_probs(p: FloatArray, name: str = "probs") -> None:
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"`{name}` must have shape batch_shape + (K,) with K >= 1; got {p.shape}")
    if not np.all(np.isfinite(p)):
        where = _first_index(~np.isfinite(p))
        raise ValueError(f"`{name}` must be finite; found {p[where].item()} at index {where}")
    if np.any(p < 0):
        where = _first_index(p < 0)
        raise ValueError(
            f"`{name}` must be non-negative; found {p[where].item()} at index {where}"
        )
    total = p.sum(axis=-1, dtype=np.float64)
    tol = 8 * np.finfo(p.dtype).eps * max(1, p.shape[-1]) ** 0.5
    bad = np.abs(total - 1) > tol
    if np.any(bad):
        where = _first_index(bad)
        raise ValueError(
            f"`{name}` must sum to 1 along the last axis (within {tol:.3g}); row {where} "
            f"sums to {float(total[where])!r}"
        )


def _check_nonneg_finite(a: FloatArray, name: str) -> None:
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be finite; found {a[~np.isfinite(a)].flat[0].item()}")
    if np.any(a < 0):
        raise ValueError(f"`{name}` must be non-negative; found {a[a < 0].flat[0].item()}")


def _check_labels(x: ArrayLike, K: int) -> NDArray[np.intp]:
    reject_bool_labels(x, "x")
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not (np.all(np.isfinite(a)) and np.all(a == np.round(a))):
            bad = a[~(np.isfinite(a) & (a == np.round(a)))].flat[0]
            raise ValueError(f"`x` must hold integer labels; found {bad.item()}")
        a = a.astype(np.intp)
    elif a.dtype.kind not in "iu":
        raise TypeError(f"`x` must hold integer labels; got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= K):
        bad = a[(a < 0) | (a >= K)].flat[0]
        raise ValueError(
            f"`x` holds label {bad.item()} outside [0, {K}) (K = number of categories)"
        )
    return a.astype(np.intp)


def _sample_shape(size: int | Sequence[int]) -> tuple[int, ...]:
    """Normalise a numpy-style `size` (an int or a sequence of ints) to a tuple."""
    try:
        shape = (
            (operator.index(size),)
            if not isinstance(size, Sequence)
            else tuple(operator.index(n) for n in size)
        )
    except TypeError:
        raise TypeError(f"`size` must be an int or a sequence of ints; got {size!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"`size` must not have negative entries; got {size!r}")
    return shape


# ---------------------------------------------------------------------- conjugate prior
def _dirichlet_update(prior: Dirichlet, s: SufficientStatistics) -> Dirichlet:
    """``Dirichlet(alpha + weighted counts)``."""
    counts = Categorical._stats_sum(s)
    return Dirichlet(concentration=np.asarray(prior._alpha64 + counts, dtype=prior.dtype))


def _dirichlet_predictive(prior: Dirichlet, **fixed: Any) -> Categorical:
    """``Categorical(probs = alpha / alpha.sum())``."""
    if fixed:
        raise TypeError(f"a Categorical likelihood takes no fixed parameters; got {sorted(fixed)}")
    alpha = prior._alpha64
    return Categorical(
        probs=np.asarray(alpha / alpha.sum(axis=-1, keepdims=True), dtype=prior.dtype)
    )


register_conjugate(
    Dirichlet,
    Categorical,
    update=_dirichlet_update,
    predictive=_dirichlet_predictive,
    known=lambda prior: {"num_categories": prior.num_categories},
)
