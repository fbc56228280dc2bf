r"""The exponential-family base class.

A member of an exponential family has density (or mass) with respect to a base
measure

.. math:: p(x \mid \eta) = h(x) \exp(\langle \eta, T(x)\rangle - A(\eta)),

with natural parameters :math:`\eta`, sufficient statistic :math:`T`, log-partition
:math:`A` and mean parameters :math:`\mu = \nabla A(\eta) = E[T(x)]`.

A family supplies closed forms for :math:`A`, :math:`\nabla A`, :math:`\nabla^2 A`,
the inverse mean map, :math:`T(x)`, :math:`\log h(x)` and :math:`E[\log h(x)]`; this
class writes ``log_prob``, ``entropy``, ``cross_entropy``, ``kl_divergence`` (a
Bregman divergence of :math:`A`) and maximum-likelihood ``fit`` once, from those. A
family may override one of the generic formulas for accuracy; the generic formula,
called as ``ExponentialFamily.entropy(dist)``, is then its test oracle.
"""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expfam._conjugate import conjugate_rule
from expfam._dask import dask_module, is_dask_collection
from expfam._kernels import mul0
from expfam._suffstats import (
    Block,
    SufficientStatistics,
    block_weight,
    blocks_weight,
    exact_block_sum,
    int_block_sum,
    sum_pairs,
    two_sum_parts,
    weighted_block_sum,
)
from expfam._support import Support, finish_log_prob, log_prob_outcomes, out_dtype
from expfam._validation import FloatArray, as_float_array, check_weights, rescaled_weights

F64 = NDArray[np.float64]
#: Elements per block of the streaming statistics pass (fits in the L2 cache).
_BLOCK = 1 << 16
#: Float64 work arrays of one block that ``suffstats`` lends to ``_stats_fast``.
_BUFFERS = 4

__all__ = ["ExponentialFamily"]

Self = TypeVar("Self", bound="ExponentialFamily")


class ExponentialFamily(abc.ABC):
    r"""Base class of every exponential family in expfam.

    An instance holds the natural parameters of a batch of distributions in an array
    of shape ``batch_shape + param_shape``, the parameter axis last
    (``param_shape = (d,)``; ``d = 1`` for one-parameter families). All methods
    broadcast over the batch.

    Subclasses implement :meth:`log_partition`, :meth:`_mean_map`,
    :meth:`fisher_information`, :meth:`_inverse_mean_map`,
    :meth:`sufficient_statistic`, :meth:`log_base_measure`,
    :meth:`_expected_log_base_measure` and :meth:`sample`; the rest is generic.

    Attributes
    ----------
    event_ndim : int
        Number of dimensions of one outcome ``x`` (0 for scalar outcomes and
        categorical labels, 1 for vector outcomes such as a Dirichlet's).
    """

    event_ndim: ClassVar[int] = 0
    #: Names of the usual parameters (properties) shown by ``repr``.
    _repr_params: ClassVar[tuple[str, ...]] = ()
    #: One-parameter family (``param_shape == (1,)``): the alternate constructors
    #: accept a scalar for a single distribution.
    _one_parameter: ClassVar[bool] = False
    #: The support of a scalar family, declared as data; ``log_prob`` handles outcomes
    #: outside it once for all families (None: the family writes ``log_prob`` itself).
    _support: ClassVar[Support | None] = None
    #: Whether :math:`T(x) = x` (a scalar family whose statistic is the observation):
    #: then ``suffstats`` sums raw blocks (integers exactly, without a float copy).
    _sum_is_statistic: ClassVar[bool] = False

    _natural: FloatArray

    def __init__(self, natural_params: ArrayLike, /) -> None:
        eta = as_float_array(natural_params, "natural_params")
        if eta.ndim == 0:
            raise ValueError("`natural_params` must have a trailing parameter axis")
        eta = np.array(eta, copy=True)
        eta.flags.writeable = False
        self._natural = eta

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_natural_params(cls: type[Self], natural_params: ArrayLike, /, **fixed: Any) -> Self:
        """Build a distribution from natural parameters (``batch_shape + (d,)``).

        `fixed` holds the family's known, non-natural parameters (e.g. ``n`` of a
        binomial). Families validate the parameters here. A one-parameter family
        also takes a scalar (one distribution).
        """
        natural_params = cls._with_param_axis(natural_params, "natural_params")
        obj = cls.__new__(cls)
        ExponentialFamily.__init__(obj, natural_params)
        obj._init_fixed(**fixed)
        obj._check_natural()
        return obj

    @classmethod
    def from_mean_params(cls: type[Self], mean_params: ArrayLike, /, **fixed: Any) -> Self:
        r"""Build a distribution from mean parameters :math:`\mu = E[T(x)]`.

        A one-parameter family also takes a scalar (one distribution).
        """
        mu = cls._with_param_axis(mean_params, "mean_params")
        return cls.from_natural_params(cls._inverse_mean_map(mu, **fixed), **fixed)

    @classmethod
    def _with_param_axis(cls, params: ArrayLike, name: str) -> FloatArray:
        """`params` as a float array; a one-parameter family gives a scalar its parameter axis."""
        a = as_float_array(params, name)
        return a.reshape(1) if cls._one_parameter and a.ndim == 0 else a

    def _init_fixed(self, **fixed: Any) -> None:
        """Store known (non-natural) parameters; the default family has none."""
        if fixed:
            raise TypeError(f"{type(self).__name__} takes no fixed parameters; got {fixed}")

    def _check_natural(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Validate ``self._natural`` (shape and domain); raise ``ValueError``."""

    def _fixed(self) -> dict[str, Any]:
        """Return the known parameters, for rebuilding a distribution of the same kind."""
        return {}

    # ------------------------------------------------------------------ parameters
    @property
    def natural_params(self) -> FloatArray:
        r"""Natural parameters :math:`\eta`, shape ``batch_shape + param_shape``."""
        return self._natural

    @property
    def mean_params(self) -> FloatArray:
        r"""Mean parameters :math:`\mu = \nabla A(\eta) = E[T(x)]`."""
        return self._mean_map()

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of distributions."""
        return self._natural.shape[:-1]

    @property
    def param_shape(self) -> tuple[int, ...]:
        """Shape of one distribution's natural parameter vector, ``(d,)``."""
        return self._natural.shape[-1:]

    @property
    def dtype(self) -> np.dtype[Any]:
        """Floating dtype of the parameters (float32 or float64)."""
        return self._natural.dtype

    def __repr__(self) -> str:
        """Show the usual parameters (6 significant digits), batch shape and a non-default dtype.

        Parameters are left out for batches holding more than 10,000 numbers, where
        computing and printing them would cost more than a repr should.

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Categorical, Gamma
        >>> Gamma(shape=2.0, rate=0.5)
        Gamma(shape=2, rate=0.5)
        >>> Categorical(logits=[[0.0, 0.0, -np.inf], [0.0, np.log(3.0), 0.0]])
        Categorical(probs=[[0.5, 0.5, 0], [0.2, 0.6, 0.2]], num_categories=3, batch_shape=(2,))
        """
        parts = []
        shown = self._natural.size <= 10_000
        for name in self._repr_params if shown else ():
            text = np.array2string(
                np.asarray(getattr(self, name)),
                threshold=6,
                edgeitems=2,
                separator=", ",
                formatter={"float_kind": lambda v: f"{v:.6g}"},
            )
            parts.append(f"{name}={' '.join(text.split())}")
        if self.batch_shape or not parts:
            parts.append(f"batch_shape={self.batch_shape}")
        if not shown:
            parts.append(f"param_shape={self.param_shape}")
        if self.dtype != np.float64:
            parts.append(f"dtype={self.dtype}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # ------------------------------------------------------------------ family closed forms
    @abc.abstractmethod
    def log_partition(self) -> FloatArray:
        r"""Log-partition :math:`A(\eta)`, shape ``batch_shape``."""

    @abc.abstractmethod
    def _mean_map(self) -> FloatArray:
        r""":math:`\nabla A(\eta)`, shape ``batch_shape + param_shape``."""

    @abc.abstractmethod
    def fisher_information(self) -> FloatArray:
        r"""Fisher information :math:`\nabla^2 A(\eta)`, shape ``batch_shape + (d, d)``."""

    @classmethod
    @abc.abstractmethod
    def _inverse_mean_map(cls, mean_params: FloatArray, /, **fixed: Any) -> FloatArray:
        """Natural parameters whose mean map is `mean_params`."""

    @abc.abstractmethod
    def sufficient_statistic(self, x: ArrayLike) -> FloatArray:
        """:math:`T(x)`: shape ``x.shape[:x.ndim - event_ndim] + param_shape``.

        Raises ``ValueError`` for ``x`` outside the support.
        """

    @abc.abstractmethod
    def log_base_measure(self, x: ArrayLike) -> FloatArray:
        r""":math:`\log h(x)`, shape ``x.shape[:x.ndim - event_ndim]``."""

    @abc.abstractmethod
    def _expected_log_base_measure(self) -> FloatArray:
        r""":math:`E_\eta[\log h(x)]`, shape ``batch_shape``."""

    @abc.abstractmethod
    def sample(
        self, size: int | tuple[int, ...] = (), rng: np.random.Generator | int | None = None
    ) -> NDArray[Any]:
        """Draw samples of shape ``size + batch_shape + event_shape``."""

    # ------------------------------------------------------------------ generic formulas
    def _check_same_family(self, other: ExponentialFamily, name: str = "other") -> None:
        if type(other) is not type(self):
            raise TypeError(
                f"`{name}` must be a {type(self).__name__}; got {type(other).__name__}"
            )
        if other.param_shape != self.param_shape:
            raise ValueError(
                f"`{name}` has parameter shape {other.param_shape}, "
                f"but this distribution has {self.param_shape}"
            )
        try:
            np.broadcast_shapes(self.batch_shape, other.batch_shape)
        except ValueError:
            raise ValueError(
                f"batch shapes {self.batch_shape} and {other.batch_shape} (`{name}`) "
                "do not broadcast"
            ) from None
        mine, theirs = self._fixed(), other._fixed()
        for key in sorted(set(mine) | set(theirs)):
            a, b = mine.get(key), theirs.get(key)
            try:
                same = bool(np.all(np.asarray(a) == np.asarray(b)))
            except ValueError:  # shapes that do not broadcast
                same = False
            if not same:
                theirs_s = np.array2string(np.asarray(b), threshold=8)
                mine_s = np.array2string(np.asarray(a), threshold=8)
                raise ValueError(
                    f"`{name}` has {key}={theirs_s}, but this distribution has {key}={mine_s}; "
                    "both must have the same known parameters"
                )

    def _check_x_batch(self, x_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``broadcast(sample_shape, batch_shape)`` for outcomes of shape `x_shape`.

        Raises ``ValueError`` naming `x` when the outcomes do not broadcast against the
        batch (``x.shape`` must be ``sample_shape + batch_shape + event_shape``).
        """
        nd = len(x_shape) - self.event_ndim
        sample = x_shape[:nd] if nd >= 0 else x_shape
        try:
            return np.broadcast_shapes(sample, self.batch_shape)
        except ValueError:
            raise ValueError(
                f"`x` with shape {x_shape} does not broadcast against the batch shape "
                f"{self.batch_shape} of this {type(self).__name__} (x.shape must be "
                "sample_shape + batch_shape"
                + (" + event_shape" if self.event_ndim else "")
                + ", broadcasting)"
            ) from None

    def log_prob(self, x: ArrayLike) -> FloatArray:
        r"""Log density or mass :math:`\langle\eta, T(x)\rangle - A(\eta) + \log h(x)`.

        Parameters
        ----------
        x : array_like
            Outcomes, shape ``sample_shape + batch_shape + event_shape`` (broadcasting
            against the batch). For a scalar family, an outcome outside the support
            gives ``-inf`` (probability 0, as in :mod:`scipy.stats`) and a nan outcome
            gives nan.

        Returns
        -------
        ndarray
            Shape ``broadcast(sample_shape, batch_shape)``; float32 for a float32
            distribution (a float64 array of real outcomes joins it as float64).

        Examples
        --------
        >>> from expfam import Poisson
        >>> Poisson(rate=2.0).log_prob([0, 1, -1, 2.5])
        array([-2.        , -1.30685282,        -inf,        -inf])

        The generic formula, called on a family that overrides it for accuracy:

        >>> from expfam import Categorical, ExponentialFamily
        >>> d = Categorical(probs=[0.25, 0.75])
        >>> ExponentialFamily._generic_log_prob(d, [0, 1])
        array([-1.38629436, -0.28768207])
        """
        support = self._support
        if support is None:
            return self._generic_log_prob(x)
        a, x64, outside, nan = log_prob_outcomes(self, x, support)
        out = self._log_prob(x64)
        dtype = self.dtype if support.integer else out_dtype(self, x, a)
        return np.asarray(finish_log_prob(out, outside, nan), dtype=dtype)

    def _log_prob(self, x: F64) -> F64:
        """Return the family's log density at outcomes `x` inside the support (float64)."""
        raise NotImplementedError(f"{type(self).__name__} declares no support")

    def _generic_log_prob(self, x: ArrayLike) -> FloatArray:
        """Return the generic formula (the test oracle of every family's :meth:`log_prob`)."""
        self._check_x_batch(np.shape(x))
        t = self.sufficient_statistic(x)
        return np.asarray(
            mul0(t, self._natural).sum(axis=-1) - self.log_partition() + self.log_base_measure(x)
        )

    def entropy(self) -> FloatArray:
        r"""Entropy :math:`A(\eta) - \langle \eta, \mu\rangle - E[\log h(x)]`, in nats.

        Returns
        -------
        ndarray
            Shape ``batch_shape``.

        Notes
        -----
        The generic formula cancels when :math:`A(\eta)` is large compared with the
        entropy; families override it where that matters.

        Examples
        --------
        >>> from expfam import Categorical, ExponentialFamily
        >>> float(ExponentialFamily.entropy(Categorical(probs=[0.5, 0.5])))
        0.6931471805599453
        """
        return np.asarray(
            self.log_partition()
            - mul0(self.mean_params, self._natural).sum(axis=-1)
            - self._expected_log_base_measure()
        )

    def cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Cross-entropy :math:`-E_{\text{self}}[\log q(x)]` with `other` as :math:`q`.

        Computed as :math:`H(p) + \mathrm{KL}(p \| q)` from the family's two closed
        forms, which keep their digits where the generic
        :math:`A(\eta_q) - \langle \eta_q, \mu_p\rangle - E_p[\log h(x)]` cancels
        (large parameters). A family may override it.

        Parameters
        ----------
        other : ExponentialFamily
            A distribution of the same family, with the same known parameters and
            parameter shape; batch shapes broadcast.

        Returns
        -------
        ndarray
            Shape ``broadcast(batch_shape, other.batch_shape)``.

        Raises
        ------
        TypeError
            If `other` is of another family.
        ValueError
            If the parameter shapes or known parameters differ, or the batch shapes do
            not broadcast.

        Examples
        --------
        >>> from expfam import Normal
        >>> float(Normal(0.0, 1.0).cross_entropy(Normal(1.0, 1.0)))
        1.9189385332046727
        """
        return np.asarray(self.entropy() + self.kl_divergence(other))

    def _generic_cross_entropy(self, other: ExponentialFamily) -> FloatArray:
        r"""Return the generic :math:`A(\eta_q) - \langle \eta_q, \mu_p\rangle - E_p[\log h(x)]`.

        The test oracle of every family's :meth:`cross_entropy`.

        Examples
        --------
        >>> from expfam import Categorical
        >>> p, q = Categorical(probs=[0.5, 0.5]), Categorical(probs=[0.25, 0.75])
        >>> float(p._generic_cross_entropy(q))
        0.8369882167858358
        """
        self._check_same_family(other)
        return np.asarray(
            other.log_partition()
            - mul0(self.mean_params, other.natural_params).sum(axis=-1)
            - self._expected_log_base_measure()
        )

    def kl_divergence(self, other: ExponentialFamily) -> FloatArray:
        r"""KL(self ‖ other), the Bregman divergence of :math:`A`.

        :math:`A(\eta_q) - A(\eta_p) - \langle \eta_q - \eta_p, \mu_p \rangle`.

        Parameters
        ----------
        other : ExponentialFamily
            The second distribution (see :meth:`cross_entropy`).

        Returns
        -------
        ndarray
            Shape ``broadcast(batch_shape, other.batch_shape)``.

        Examples
        --------
        >>> from expfam import Categorical, ExponentialFamily
        >>> p, q = Categorical(probs=[0.5, 0.5]), Categorical(probs=[0.25, 0.75])
        >>> float(ExponentialFamily.kl_divergence(p, q))
        0.14384103622589045
        """
        self._check_same_family(other)
        with np.errstate(invalid="ignore", over="ignore"):  # -inf - -inf where mu_p = 0
            diff = other.natural_params - self._natural
        return np.asarray(
            other.log_partition()
            - self.log_partition()
            - mul0(self.mean_params, diff).sum(axis=-1)
        )

    # ------------------------------------------------------------------ data -> statistics
    @classmethod
    def suffstats(
        cls, x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any
    ) -> SufficientStatistics:
        r"""Sufficient statistics of observations `x`: the one pass every fit is made of.

        The data are read once, in cache-sized blocks, and reduced to the total weight
        and the weighted sum of :math:`T(x)` (in the family's accurate form, see
        :class:`~expfam.SufficientStatistics`). Statistics of separate chunks merge
        with ``+``; :meth:`fit` is ``suffstats(x, weights=weights, **fixed).fit()``.

        Parameters
        ----------
        x : array_like or dask.array.Array
            Observations along the first axis, shape ``(n,) + batch_shape +
            event_shape``; ``n`` may be 0 (empty statistics). A Dask array is reduced
            chunk by chunk where its chunks live (statistics per chunk, merged in a
            tree) and the statistics are computed; see *Data larger than memory*.
        weights : array_like, optional
            Finite, non-negative weights of shape ``(n,)``. A zero weight drops its
            observation (even one where :math:`T(x)` is infinite).
        **fixed
            Known parameters of the family (e.g. ``n`` of a :class:`~expfam.Binomial`).

        Returns
        -------
        SufficientStatistics

        Raises
        ------
        ValueError
            If an observation is outside the support, a weight is negative, nan or
            infinite, the shapes disagree, or the total weight overflows.
        TypeError
            If a known parameter is missing or unexpected, or the data are not real
            numbers.

        Examples
        --------
        >>> from expfam import Poisson
        >>> s = Poisson.suffstats([3, 1, 4]) + Poisson.suffstats([1, 5])
        >>> s.count, float(s.mean_params[0]), float(s.fit().rate)
        (5, 2.8, 2.8)
        """
        if is_dask_collection(x, weights):  # statistics per chunk, merged in a tree
            lazy: SufficientStatistics = dask_module("expfam._dask_stats").dask_suffstats(
                cls, x, weights, fixed
            )
            return lazy
        probe = cls._fit_probe(**fixed)
        a, dtype = _observations(x, probe.event_ndim)
        n = a.shape[0]
        w = check_weights(weights, n)
        rows = cls._block_rows(a.shape)
        # one set of block buffers for the whole pass; per block only plain parts are
        # kept, and combined once at the end (no statistics objects per block)
        buf = np.empty((_BUFFERS, min(n, rows), *a.shape[1:]))
        blocks: list[Block] = []
        for start in range(0, max(n, 1), rows):
            xb = a[start : start + rows]
            wb = None if w is None else w[start : start + rows]
            # the lean paths compute in float64 (numpy would compute a float32 block's
            # sums with a float64 splitter in float32)
            lean = xb.astype(np.float64) if xb.dtype.kind == "f" and xb.dtype != np.float64 else xb
            part = cls._stats_fast(probe, lean, wb, buf[:, : xb.shape[0]]) if n else None
            if part is None:
                if xb.dtype != dtype:
                    xb = xb.astype(dtype)
                s = cls._stats_block(probe, xb, wb)
                part = (s._weight, s._parts)
            blocks.append(part)
        weight, parts = blocks[0] if len(blocks) == 1 else cls._stats_combine(blocks)
        out = SufficientStatistics(
            cls,
            count=n,
            weight=weight,
            parts=parts,
            fixed=probe._fixed(),
            batch_shape=a.shape[1 : a.ndim - probe.event_ndim],
            dtype=dtype,
        )
        if not math.isfinite(out.total_weight):
            raise ValueError(
                "the total of `weights` overflows float64; rescale them (a maximum-"
                "likelihood fit does not depend on their scale)"
            )
        return out

    @classmethod
    def _block_rows(cls, shape: tuple[int, ...]) -> int:
        """Rows of observations per block of the streaming pass (about ``_BLOCK`` elements)."""
        return max(1, _BLOCK // max(1, math.prod(shape[1:])))

    @classmethod
    def _stats_fast(
        cls,
        probe: ExponentialFamily,  # noqa: ARG003 - the families' lean paths may use it
        x: NDArray[Any],
        w: F64 | None,
        buf: F64,
    ) -> Block | None:
        """Parts of one block by a lean path, or None to take :meth:`_stats_block`.

        `x` is the raw block (integers not converted); `buf` holds ``_BUFFERS`` float64
        work arrays of the block's shape. The lean path checks the support with the
        block's minimum and maximum and returns None whenever in doubt, so every
        error is raised (with its message) by :meth:`_stats_block`. Default: for
        :attr:`_sum_is_statistic` families without weights, exact sums of the block
        (integer blocks in int64).
        """
        sup = cls._support
        if not cls._sum_is_statistic or w is not None or sup is None or x.ndim != 1:
            return None
        lowest, highest = x.min(), x.max()
        mn, mx = float(lowest), float(highest)
        if not (mn >= sup.lower and mx <= sup.upper and mx < math.inf):  # False at nan
            return None
        if x.dtype.kind in "biu":
            pair = int_block_sum(x, max(abs(int(lowest)), abs(int(highest))))
        else:
            if sup.integer:
                np.floor(x, out=buf[0])
                if not np.array_equal(buf[0], x):
                    return None
            pair = exact_block_sum(x, top=max(-mn, mx), out=buf[0])
        if pair is None:
            return None
        hi, lo = pair
        return (float(x.shape[0]), 0.0), {"t": hi[..., None], "t_lo": lo[..., None]}

    @classmethod
    def _stats_combine(cls, blocks: list[Block]) -> Block:
        """Combine the parts of the blocks of one pass (default: exact sums of each part).

        Families whose parts are not plain sums override it; the default falls back to
        merging statistics pairwise when a part is not a compensated ``key``/``key_lo``
        pair.
        """
        keys = set(blocks[0][1])
        if any(k + "_lo" not in keys for k in keys if not k.endswith("_lo")):
            merged = SufficientStatistics.merge(cls._block_stats(b) for b in blocks)
            return merged._weight, merged._parts
        weight = blocks_weight(blocks)
        parts: dict[str, F64] = {}
        for k in keys:
            if k.endswith("_lo"):
                continue
            hi = np.stack([p[k] for _, p in blocks])
            lo = np.stack([p[k + "_lo"] for _, p in blocks])
            parts[k], parts[k + "_lo"] = sum_pairs(hi, lo)
        return weight, parts

    @classmethod
    def _block_stats(cls, block: Block) -> SufficientStatistics:
        """Wrap a block's parts as statistics (for the pairwise merge; count and shape unused)."""
        (w_hi, w_lo), parts = block
        return SufficientStatistics(
            cls,
            count=1,
            weight=(w_hi, w_lo),
            parts=parts,
            fixed={},
            batch_shape=(),
            dtype=np.dtype(np.float64),
        )

    @classmethod
    def _stats_block(
        cls, probe: ExponentialFamily, x: FloatArray, w: F64 | None
    ) -> SufficientStatistics:
        """Statistics of one block of observations (default: compensated sums of T(x))."""
        t = probe.sufficient_statistic(x).astype(np.float64)
        weight = block_weight(x.shape[0], w)
        total, lo = weighted_block_sum(w, t)
        return cls._make_stats(probe, x, weight, {"t": total, "t_lo": lo})

    @classmethod
    def _make_stats(
        cls,
        probe: ExponentialFamily,
        x: FloatArray,
        weight: tuple[float, float],
        parts: dict[str, F64],
        *,
        batch_shape: tuple[int, ...] | None = None,
    ) -> SufficientStatistics:
        shape = x.shape[1 : x.ndim - probe.event_ndim] if batch_shape is None else batch_shape
        return SufficientStatistics(
            cls,
            count=x.shape[0],
            weight=weight,
            parts=parts,
            fixed=probe._fixed(),
            batch_shape=shape,
            dtype=x.dtype,
        )

    @classmethod
    def _stats_merge(cls, a: SufficientStatistics, b: SufficientStatistics) -> dict[str, F64]:
        """Merge the parts of two statistics (default: compensated sums)."""
        hi, lo = two_sum_parts(a._parts["t"], a._parts["t_lo"], b._parts["t"], b._parts["t_lo"])
        return {"t": hi, "t_lo": lo}

    @classmethod
    def _stats_merged_fixed(cls, *_: SufficientStatistics) -> dict[str, Any] | None:
        """Known parameters of merged statistics whose known parameters differ (None: refuse)."""
        return None

    @classmethod
    def _stats_sum(cls, s: SufficientStatistics) -> F64:
        r""":math:`\sum_i w_i T(x_i)`, shape ``batch_shape + param_shape`` (float64)."""
        out: F64 = np.asarray(s._parts["t"] + s._parts["t_lo"], dtype=np.float64)
        return out

    @classmethod
    def _stats_mean(cls, s: SufficientStatistics) -> F64:
        out: F64 = np.asarray(cls._stats_sum(s) / s.total_weight, dtype=np.float64)
        return out

    @classmethod
    def _fit_stats(cls: type[Self], s: SufficientStatistics) -> Self:
        """Maximum-likelihood distribution from statistics: the inverse mean map."""
        mu = np.asarray(cls._stats_mean(s), dtype=s.dtype)
        return cls.from_mean_params(mu, **s.fixed)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls: type[Self], x: ArrayLike, /, *, weights: ArrayLike | None = None, **fixed: Any
    ) -> Self:
        """Maximum-likelihood fit: ``suffstats(x, weights=weights, **fixed).fit()``.

        Moment matching: the weighted mean of :math:`T(x)`, then the inverse mean map.

        Parameters
        ----------
        x : array_like
            Observations along the first axis, shape ``(n,) + batch_shape +
            event_shape``: one fit per batch member (``batch_shape = x.shape[1:]``
            less the event shape; ``()`` for a 1-d sample of scalars).
        weights : array_like, optional
            Finite, non-negative weights of shape ``(n,)``; only their ratios matter.
        **fixed
            Known parameters of the family.

        Returns
        -------
        ExponentialFamily
            A distribution of batch shape ``batch_shape``, in the dtype of `x`
            (float64 for integers and Python numbers).

        Raises
        ------
        ValueError
            If there is no observation, a weight is negative, nan or infinite, all
            weights are 0, or an observation is outside the support.
        InfeasibleError
            If the maximum-likelihood estimate does not exist (e.g. no spread).

        Examples
        --------
        >>> from expfam import Exponential
        >>> Exponential.fit([0.5, 1.5, 1.0])
        Exponential(rate=1)
        """
        out = cls.suffstats(x, weights=rescaled_weights(weights), **fixed).fit()
        assert isinstance(out, cls)  # noqa: S101 - statistics fit their own family
        return out

    @classmethod
    def _fit_probe(cls: type[Self], **fixed: Any) -> Self:
        """Return an instance used only for its `sufficient_statistic` during `fit`."""
        raise NotImplementedError(f"{cls.__name__} does not define a generic fit")

    # ------------------------------------------------------------------ conjugacy
    def posterior(
        self: Self,
        likelihood: type[ExponentialFamily],
        x: ArrayLike | SufficientStatistics,
        /,
        *,
        weights: ArrayLike | None = None,
        **fixed: Any,
    ) -> Self:
        r"""Posterior after observing `x` from `likelihood`, with this distribution as the prior.

        This distribution is a conjugate prior over the parameter of the likelihood
        family; the class's *Notes* list the likelihoods and their updates. The
        update needs only the sufficient statistics of the observations, so `x`
        may be raw observations or a :class:`~expfam.SufficientStatistics` of the
        likelihood (e.g. merged from chunks); updating in several batches gives the
        same posterior as updating once with all the data.

        Parameters
        ----------
        likelihood : type
            The likelihood family (a class), e.g. :class:`~expfam.Poisson` for a
            :class:`~expfam.Gamma` prior.
        x : array_like or SufficientStatistics
            Observations along the first axis, shape ``(n,) + batch_shape``
            (broadcasting against this prior's batch), or their statistics.
        weights : array_like, optional
            Non-negative weights of shape ``(n,)`` (fractional counts); only with raw
            observations.
        **fixed
            Known parameters of the likelihood (e.g. ``n=`` for a binomial: one
            number, one per batch member, or one per observation).

        Returns
        -------
        ExponentialFamily
            A distribution of this family.

        Raises
        ------
        TypeError
            If this family is not conjugate to `likelihood`, or statistics of another
            family are given.

        Examples
        --------
        >>> from expfam import Gamma, Poisson
        >>> post = Gamma(shape=2.0, rate=1.0).posterior(Poisson, [3, 0, 4])
        >>> float(post.shape), float(post.rate)
        (9.0, 4.0)
        >>> chunks = Poisson.suffstats([3, 0]) + Poisson.suffstats([4])
        >>> Gamma(shape=2.0, rate=1.0).posterior(Poisson, chunks)
        Gamma(shape=9, rate=4)
        """
        rule = conjugate_rule(type(self), likelihood)
        if isinstance(x, SufficientStatistics):
            if x.family is not likelihood:
                raise TypeError(
                    f"`x` holds statistics of {x.family.__name__}, not of the likelihood "
                    f"{likelihood.__name__}"
                )
            if weights is not None or fixed:
                raise TypeError(
                    "`weights` and known parameters belong to raw observations; statistics "
                    "already hold them"
                )
            stats = x
        else:
            implied = {} if rule.known is None else rule.known(self)
            stats = likelihood.suffstats(x, weights=weights, **implied, **fixed)
        out = rule.update(self, stats)
        if not isinstance(out, type(self)):  # pragma: no cover - a registration bug
            raise TypeError(f"the conjugate update of {type(self).__name__} returned {out!r}")
        return out

    def posterior_predictive(self, likelihood: type[ExponentialFamily], /, **fixed: Any) -> Any:
        """Predictive distribution of one new observation from `likelihood` under this prior.

        Returns an expfam distribution where the predictive is one (e.g. a
        :class:`~expfam.Bernoulli`), otherwise a frozen :mod:`scipy.stats`
        distribution batched like this prior (computing in float64); the class's
        *Notes* list them.

        Parameters
        ----------
        likelihood : type
            The likelihood family (a class).
        **fixed
            Known parameters of the likelihood (e.g. ``n=`` for a binomial).

        Examples
        --------
        >>> import numpy as np
        >>> from expfam import Gamma, Poisson
        >>> pred = Gamma(shape=2.0, rate=1.0).posterior_predictive(Poisson)
        >>> bool(np.isclose(pred.pmf(0), (1 / 2) ** 2))
        True
        """
        return conjugate_rule(type(self), likelihood).predictive(self, **fixed)


def _observations(x: ArrayLike, event_ndim: int) -> tuple[NDArray[Any], np.dtype[Any]]:
    """`x` as an array of observations along the first axis, and the dtype to compute in.

    Integer and boolean arrays are kept as they are (converted block by block, so a
    fit of a large integer array needs no float64 copy of it).
    """
    if (
        isinstance(x, np.ndarray)
        and x.dtype.kind in "biu"
        and not isinstance(x, np.ma.MaskedArray)
    ):
        a: NDArray[Any] = np.asarray(x)
        dtype: np.dtype[Any] = np.dtype(np.float64)
    else:
        a = as_float_array(x, "x")
        dtype = a.dtype
    if a.ndim <= event_ndim:
        what = "a scalar" if a.ndim == 0 else f"shape {a.shape}"
        raise ValueError(
            "`x` must hold observations along its first axis (shape (n,) + batch_shape"
            + (" + event_shape" if event_ndim else "")
            + f"); got {what}"
        )
    return a, dtype
