r"""The registry of exponential families that the generic laws (``tests/test_laws.py``) run on.

Every :class:`~expfam.ExponentialFamily` subclass exported from :mod:`expfam` needs at least
one :class:`FamilyCase` here; ``test_every_exported_family_is_registered`` fails otherwise.
The categorical case lives in this module; the other families' cases live in
``tests/family_cases.py``, which exports ``CASES: list[FamilyCase]`` and is picked up when it
exists.

The case-hook contract
----------------------
Required:

``family``
    The class under test.
``make(rng, batch_shape, dtype) -> dist``
    A random instance with exactly that ``batch_shape`` and ``dtype`` (``numpy.float32`` or
    ``numpy.float64``), drawn from `rng` (a ``numpy.random.Generator``; the laws draw the seed,
    the batch shape and the dtype with hypothesis). Cover the family's interesting regimes
    (large and small parameters, near-degenerate members) but keep the parameters at least a
    relative ``1e-2`` away from the boundary of the natural domain, so that finite
    differences and Monte Carlo checks stay meaningful; put true extremes in ``edge_cases``.
    Build with the public constructor or ``family.from_natural_params(eta, **fixed)``.

Optional (``None`` switches the corresponding laws off for the case, and that is reported as
a skip with the hook's name):

``name``
    Test id; defaults to the class name. Give one when a family has several cases.
``make_other(rng, dist) -> other``
    Another random instance *comparable* with `dist`: same family, same fixed parameters
    (``dist._fixed()``), same ``param_shape``, same dtype, same batch shape. Used for
    cross-entropy and KL. Default: ``make(rng, dist.batch_shape, dist.dtype)`` (correct for a
    family without fixed parameters and with a fixed ``param_shape``).
``quadrature(dist) -> (x, w)``
    A rule with :math:`\int f\,d\nu \approx \sum_i w_i f(x_i)` over the support, with respect
    to the base measure :math:`\nu` of ``log_prob`` (counting measure for a discrete family,
    Lebesgue for a continuous one). ``x`` has shape ``(n,) + batch_shape + event_shape`` (or
    any shape broadcasting to it, e.g. ``(n,) + (1,) * len(batch_shape) + event_shape``);
    ``w`` broadcasts to ``(n,) + batch_shape``. A discrete family enumerates its support with
    ``w = 1`` (truncating an infinite support once the tail mass is below
    ``quadrature_rtol``); a continuous family returns nodes and weights (e.g. Gauss-Legendre
    on a mapped interval, tanh-sinh, ...). It is called on float64 distributions only. The
    laws check, to ``quadrature_rtol`` relative to the magnitude of the terms:
    :math:`\sum w e^{\log p} = 1`, :math:`\sum w\,p\,T = \mu`,
    :math:`-\sum w\,p \log p = H` and :math:`\sum w\,p \log h = E[\log h]`.
``fit_kwargs(dist) -> dict``
    Keyword arguments to pass to ``family.fit`` (besides ``weights``) so that it fits a
    member of the same kind as `dist` (batch shape ``()``). Default: ``dist._fixed()``.
    ``None`` results are not allowed; set ``fits = False`` instead for a family without fit.
``fits``
    Whether ``family.fit`` is defined (``True`` by default).
``scipy_log_prob(dist, x) -> ndarray`` and ``scipy_entropy(dist) -> ndarray``
    The same quantities from ``scipy.stats`` (float64 in, float64 out; ``x`` has shape
    ``sample_shape + batch_shape + event_shape``), compared at ``scipy_rtol``.
``edge_cases(dtype) -> list[dist]``
    Hand-picked extreme members (boundary of the natural domain, masked categories, huge or
    tiny parameters) on which every law that needs no second instance or random draw also
    runs, as explicit examples.
``fd_steps(dist) -> ndarray``
    Finite-difference steps, shape ``batch_shape + param_shape`` (float64). Default
    ``fd_step * max(1, |eta|)``. Supply it when the natural domain has a nearby boundary:
    the 5-point stencil evaluates at ``eta ± 2 h``.

Tolerances (units given; the defaults suit closed forms):

``rtol_eps`` (default 64)
    Identities between closed forms (KL = CE - H, KL(p‖p) = 0, overrides against the generic
    base formulas, ``log_prob`` against ``sufficient_statistic``/``log_base_measure``), in
    units of the dtype's eps, relative to the sum of the magnitudes of the terms.
``inverse_rtol_eps`` (default 64)
    ``mean(inverse(mu)) == mu``, in eps relative to ``max |mu|`` of the row, so a numerically
    solved inverse mean map passes if it is backward stable.
``f32_rtol_eps`` (default 64)
    float32 results against the float64 results for the same parameters, in float32 eps
    relative to ``1 + |value|`` (raise it for a family whose closed forms are
    ill-conditioned in places, and say why).
``fd_step`` (default 1e-3), ``fd_rtol`` (default 1e-7)
    Relative step and tolerance of the numerical derivatives (mean map = gradient of A,
    Fisher = Jacobian of the mean map), in float64, measured against ``1 + |A| + max |mu|``
    (resp. ``1 + max |mu| + max |F|``) of the row.
``quadrature_rtol`` (default 1e-10), ``scipy_rtol`` (default 1e-10)
    As above.
``sample_size`` (default 20000)
    Monte Carlo size for the sampling and fit laws. The sample mean of :math:`T` must lie
    within 5 standard errors :math:`\sqrt{F_{ii}/n}` (:math:`\operatorname{Cov} T = F`) of
    :math:`\mu`, at a fixed seed.

``max_examples`` (default None)
    A cap on the hypothesis examples of every property law for this case, for a family
    whose hooks are expensive (a numerically solved inverse mean map, a 2-d quadrature).
    The profile's ``max_examples`` (``ci``: 150) applies otherwise, and the derivative,
    inverse, quadrature and scipy laws use at most 60. Keep each law under ~2 s per case
    in the ``ci`` profile: the full suite must stay a few minutes on 2 cores.

Conventions the laws assume
---------------------------
* A natural parameter that is not finite (the categorical's ``-inf`` masked category) is a
  limit coordinate: it is not perturbed by finite differences and its mean parameter, and
  its row and column of the Fisher information, must be exactly 0.
* ``sample(size, rng)`` returns ``size + batch_shape + event_shape`` and is reproducible for
  an integer or ``Generator`` `rng`.
* Every method returns the dtype of the parameters (float32 in, float32 out).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import expfam
from expfam import Categorical, ExponentialFamily

__all__ = [  # noqa: F822 - REGISTRY is provided lazily by the module `__getattr__`
    "REGISTRY",
    "FamilyCase",
    "exported_families",
    "get_registry",
]

Maker = Callable[[np.random.Generator, tuple[int, ...], np.dtype[Any]], ExponentialFamily]


@dataclass(frozen=True)
class FamilyCase:
    """One family's hooks for the generic laws; see the module docstring for the contract."""

    family: type[ExponentialFamily]
    make: Maker
    name: str = ""
    make_other: Callable[[np.random.Generator, ExponentialFamily], ExponentialFamily] | None = None
    quadrature: Callable[[ExponentialFamily], tuple[NDArray[Any], NDArray[Any]]] | None = None
    fit_kwargs: Callable[[ExponentialFamily], dict[str, Any]] | None = None
    fits: bool = True
    scipy_log_prob: Callable[[ExponentialFamily, NDArray[Any]], NDArray[Any]] | None = None
    scipy_entropy: Callable[[ExponentialFamily], NDArray[Any]] | None = None
    edge_cases: Callable[[np.dtype[Any]], Sequence[ExponentialFamily]] | None = None
    fd_steps: Callable[[ExponentialFamily], NDArray[np.float64]] | None = None
    rtol_eps: float = 64.0
    inverse_rtol_eps: float = 64.0
    f32_rtol_eps: float = 64.0
    fd_step: float = 1e-3
    fd_rtol: float = 1e-7
    quadrature_rtol: float = 1e-10
    scipy_rtol: float = 1e-10
    sample_size: int = 20000
    max_examples: int | None = None

    @property
    def id(self) -> str:
        """Test id of the case."""
        return self.name or self.family.__name__

    def other(self, rng: np.random.Generator, dist: ExponentialFamily) -> ExponentialFamily:
        """A second instance comparable with `dist` (``make_other`` or ``make``)."""
        if self.make_other is not None:
            return self.make_other(rng, dist)
        return self.make(rng, dist.batch_shape, dist.dtype)

    def fit_arguments(self, dist: ExponentialFamily) -> dict[str, Any]:
        """Keyword arguments for ``family.fit`` (``fit_kwargs`` or ``dist._fixed()``)."""
        if self.fit_kwargs is not None:
            return self.fit_kwargs(dist)
        return dist._fixed()

    def steps(self, dist: ExponentialFamily) -> NDArray[np.float64]:
        """Finite-difference steps (``fd_steps`` or ``fd_step * max(1, |eta|)``)."""
        if self.fd_steps is not None:
            return np.asarray(self.fd_steps(dist), dtype=np.float64)
        eta = np.asarray(dist.natural_params, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return self.fd_step * np.where(np.isfinite(eta), np.maximum(1.0, np.abs(eta)), 1.0)


# ---------------------------------------------------------------------- categorical


def categorical_logits(
    rng: np.random.Generator, batch_shape: tuple[int, ...], K: int, dtype: Any
) -> NDArray[Any]:
    """Random logits in several regimes: moderate, spread, confident, masked, shifted."""
    shape = (*batch_shape, K)
    regime = rng.integers(0, 5)
    if regime == 0:  # moderate
        u = rng.normal(size=shape)
    elif regime == 1:  # wide spread
        u = rng.normal(scale=30.0, size=shape)
    elif regime == 2:  # confident: one dominant logit per row
        u = rng.normal(size=shape) - 40.0
        top = rng.integers(0, K, size=batch_shape)
        np.put_along_axis(u, top[..., None], 0.0, axis=-1)
    elif regime == 3:  # masked categories (at least one finite logit per row)
        u = rng.normal(scale=3.0, size=shape)
        mask = rng.random(shape) < 0.4
        keep = rng.integers(0, K, size=batch_shape)
        np.put_along_axis(mask, keep[..., None], values=False, axis=-1)
        u[mask] = -np.inf
    else:  # a large common shift (shift invariance)
        u = rng.normal(size=shape) + rng.choice([-1e4, 1e4])
    return u.astype(dtype)


def make_categorical(
    rng: np.random.Generator, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> Categorical:
    """A random batch of categoricals with K in [1, 6]."""
    K = int(rng.integers(1, 7))
    return Categorical(logits=categorical_logits(rng, batch_shape, K, dtype))


def make_other_categorical(rng: np.random.Generator, dist: ExponentialFamily) -> Categorical:
    """Another batch with the same K, batch shape and dtype."""
    return Categorical(
        logits=categorical_logits(rng, dist.batch_shape, dist.param_shape[-1], dist.dtype)
    )


def categorical_quadrature(dist: ExponentialFamily) -> tuple[NDArray[Any], NDArray[Any]]:
    """The support ``0..K-1`` with unit weights."""
    K = dist.param_shape[-1]
    x = np.arange(K).reshape((K,) + (1,) * len(dist.batch_shape))
    return x, np.ones(x.shape)


def categorical_scipy_log_prob(dist: ExponentialFamily, x: NDArray[Any]) -> NDArray[Any]:
    """``scipy.stats.multinomial(n=1, p).logpmf(one_hot(x))``."""
    from scipy import stats

    K = dist.param_shape[-1]
    onehot = np.eye(K)[np.asarray(x)]
    p = np.broadcast_to(np.asarray(dist.mean_params, dtype=np.float64), onehot.shape)
    with np.errstate(divide="ignore"):
        return np.asarray(stats.multinomial.logpmf(onehot, 1, p), dtype=np.float64)


def categorical_scipy_entropy(dist: ExponentialFamily) -> NDArray[Any]:
    """``scipy.stats.multinomial(n=1, p).entropy()``."""
    from scipy import stats

    p = np.asarray(dist.mean_params, dtype=np.float64)
    return np.asarray(stats.multinomial.entropy(1, p), dtype=np.float64)


def categorical_edge_cases(dtype: np.dtype[Any]) -> list[ExponentialFamily]:
    """Masked categories, one category, confident rows, spreads up to 1e300 and a large shift."""
    inf = np.inf
    rows = [
        [[0.0]],
        [[0.0, -inf, -inf]],
        [[1.0, -inf, 2.0, -inf]],
        [[0.0, -40.0, -45.0], [0.0, -700.0, -800.0]],
        [[1e4, 1e4 - 1.0, 1e4 + 2.0]],
        [[0.0, 0.0, 0.0, 0.0]],
    ]
    out: list[ExponentialFamily] = [Categorical(logits=np.array(r, dtype=dtype)) for r in rows]
    big = 1e300 if np.dtype(dtype) == np.float64 else 1e30
    out.append(Categorical(logits=np.array([[0.0, -big, -3.0]], dtype=dtype)))
    return out


CATEGORICAL_CASE = FamilyCase(
    family=Categorical,
    make=make_categorical,
    make_other=make_other_categorical,
    quadrature=categorical_quadrature,
    fit_kwargs=lambda dist: {"num_categories": dist.param_shape[-1]},
    scipy_log_prob=categorical_scipy_log_prob,
    scipy_entropy=categorical_scipy_entropy,
    edge_cases=categorical_edge_cases,
    # shift invariance: the curvature scale of A is 1 whatever the size of the logits
    fd_steps=lambda dist: np.full(dist.natural_params.shape, 1e-3),
)

# ---------------------------------------------------------------------- the registry


def _other_cases() -> list[FamilyCase]:
    try:
        module = importlib.import_module("tests.family_cases")
    except ModuleNotFoundError as exc:
        if exc.name != "tests.family_cases":
            raise
        return []
    cases: list[FamilyCase] = list(module.CASES)
    return cases


@functools.cache
def get_registry() -> tuple[FamilyCase, ...]:
    """All registered cases: the categorical case(s) and ``tests.family_cases.CASES``.

    Built lazily (on first use), so that ``tests/family_cases.py`` can import
    :class:`FamilyCase` from this module without a circular import.
    """
    cases = (CATEGORICAL_CASE, *_other_cases())
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        msg = f"duplicate FamilyCase ids {sorted(dup)}; give each case a distinct `name`"
        raise ValueError(msg)
    return cases


def exported_families() -> list[type[ExponentialFamily]]:
    """Concrete :class:`~expfam.ExponentialFamily` subclasses exported from :mod:`expfam`."""
    out = []
    for name in expfam.__all__:
        obj = getattr(expfam, name)
        if (
            isinstance(obj, type)
            and issubclass(obj, ExponentialFamily)
            and obj is not ExponentialFamily
            and not getattr(obj, "__abstractmethods__", None)
        ):
            out.append(obj)
    return out


def __getattr__(name: str) -> tuple[FamilyCase, ...]:
    # ``REGISTRY`` is computed on first access (see `get_registry`).
    if name == "REGISTRY":
        return get_registry()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
