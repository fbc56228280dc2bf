"""Sufficient statistics: chunked merges fit what one pass fits, one weights policy, layering.

Every family of the registry: statistics of random chunkings of a sample, merged in a
random order, fit the same distribution as the one-pass fit within 4 ulp per usual
parameter; ``suffstats(...).fit()`` is ``fit(...)``; the weights policy row by row
for ``fit``, ``suffstats`` and ``posterior``; and the package's modules import each
other without cycles.
"""

from __future__ import annotations

import ast
import itertools
import pathlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import expfam
from expfam import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Dirichlet,
    Exponential,
    ExponentialFamily,
    Gamma,
    Geometric,
    NegativeBinomial,
    Normal,
    Poisson,
    SufficientStatistics,
)
from tests.helpers import assert_same_fit
from tests.registry import FamilyCase, get_registry

FITTING = [c for c in get_registry() if c.fits and c.family is not Categorical]

#: ulp between the fit of merged chunks and the one-pass fit (4 unless listed). The
#: statistics agree to 4 ulp for every family (asserted below), most of them to the last
#: bit; the gamma's log-moment gap of a small sample is a sum of terms phi(r) (each to a
#: few ulp) about each chunk's mean, re-centred when merged, which rounds differently
#: (measured: <= 7 ulp over 400 random samples of 2-300 values and chunkings; blocks of
#: 2048 values and more take exact log sums, and the fits of 2e7 values chunked by 1e5,
#: 1e6 and 1e7 agree to the last bit). The shape's solve adds no error of its own (one
#: Newton step with the left side to 36 digits; it added up to ~4 ulp before).
FIT_ULPS: dict[Any, float] = {Gamma: 8.0}


def _sample(case: FamilyCase, seed: int, n: int) -> tuple[ExponentialFamily, NDArray[Any]]:
    rng = np.random.default_rng(seed)
    dist = case.make(rng, (), np.dtype(np.float64))
    x = np.asarray(dist.sample(n, rng=rng))
    if case.family is Dirichlet:
        x = np.maximum(x, 1e-300)
        x = x / x.sum(axis=-1, keepdims=True)
    return dist, x


def _split(n: int, cuts: list[int]) -> list[slice]:
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return [slice(a, b) for a, b in itertools.pairwise(edges)] + [slice(n, n)]


@pytest.mark.parametrize("case", FITTING, ids=lambda c: c.id)
@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 300),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    weighted=st.booleans(),
    order=st.randoms(use_true_random=False),
)
def test_merged_chunks_fit_like_one_pass(  # noqa: PLR0917 - hypothesis draws
    case: FamilyCase, seed: int, n: int, cuts: list[int], weighted: bool, order: Any
) -> None:
    dist, x = _sample(case, seed, n)
    fixed = case.fit_arguments(dist)
    rng = np.random.default_rng(seed + 1)
    w = rng.uniform(0, 2, size=n) * (rng.uniform(size=n) > 0.2) if weighted else None
    try:
        whole = case.family.fit(x, weights=w, **fixed)
    except (expfam.InfeasibleError, ValueError):  # no spread, or all weights 0: no MLE
        return
    chunks = _split(n, cuts)
    parts = [
        case.family.suffstats(x[c], weights=None if w is None else w[c], **fixed) for c in chunks
    ]
    order.shuffle(parts)
    merged = sum(parts[1:], parts[0])
    assert merged.count == n
    one = case.family.suffstats(x, weights=w, **fixed)
    eps = float(np.finfo(np.float64).eps)
    scale = np.maximum(
        np.abs(one.mean_params), np.abs(one.mean_params).max(axis=-1, keepdims=True)
    )
    assert np.all(np.abs(merged.mean_params - one.mean_params) <= 4 * eps * scale)
    ulps = FIT_ULPS.get(case.family, 4.0)
    assert_same_fit(merged.fit(), whole, ulps)
    assert_same_fit(SufficientStatistics.merge(reversed(parts)).fit(), whole, ulps)


@pytest.mark.parametrize("case", FITTING, ids=lambda c: c.id)
def test_stats_fit_is_fit(case: FamilyCase) -> None:
    dist, x = _sample(case, 7, 500)
    fixed = case.fit_arguments(dist)
    s = case.family.suffstats(x, **fixed)
    assert isinstance(s, SufficientStatistics)
    assert s.family is case.family
    assert s.count == 500
    assert s.total_weight == 500
    assert_same_fit(s.fit(), case.family.fit(x, **fixed), ulps=0)
    np.testing.assert_allclose(
        s.mean_params, np.mean(np.asarray(dist.sufficient_statistic(x), np.float64), axis=0)
    )


def test_large_common_offset_normal() -> None:
    rng = np.random.default_rng(3)
    x = 1e9 + rng.normal(size=10_001)
    whole = Normal.fit(x)
    ref_mean = np.mean(x - 1e9) + 1e9
    assert abs(float(whole.loc) - ref_mean) <= 4 * np.spacing(1e9)
    ref_sd = np.sqrt(np.mean((x - ref_mean) ** 2))
    assert float(whole.scale) == pytest.approx(ref_sd, rel=1e-9)
    for size, ulps in ((1, 32.0), (7, 16.0), (1000, 16.0), (4096, 16.0)):
        # 10001 sequential merges of single observations round 10001 times
        parts = [Normal.suffstats(x[i : i + size]) for i in range(0, x.size, size)]
        assert_same_fit(sum(parts[1:], parts[0]).fit(), whole, ulps)


def test_small_relative_spread_gamma() -> None:
    rng = np.random.default_rng(4)
    x = 5.0 * (1 + 1e-8 * rng.normal(size=20_000))
    whole = Gamma.fit(x)
    assert 1e15 < float(whole.shape) < 1e17
    for size in (3, 100, 5000):
        parts = [Gamma.suffstats(x[i : i + size]) for i in range(0, x.size, size)]
        assert_same_fit(sum(parts[1:], parts[0]).fit(), whole, 8.0)


def test_empty_statistics_merge_as_nothing() -> None:
    x = np.array([1.0, 2.5, 4.0])
    s = Gamma.suffstats(x)
    empty = Gamma.suffstats(np.zeros(0))
    zero_weight = Gamma.suffstats([3.0, 0.0], weights=[0.0, 0.0])
    assert empty.count == 0
    assert zero_weight.total_weight == 0
    assert_same_fit((empty + s + zero_weight).fit(), s.fit(), ulps=0)
    with pytest.raises(ValueError, match="at least one observation"):
        empty.fit()
    with pytest.raises(ValueError, match="`weights` must not all be zero"):
        zero_weight.fit()


def test_merging_refuses_what_does_not_belong_together() -> None:
    with pytest.raises(TypeError, match="Gamma and Poisson"):
        _ = Gamma.suffstats([1.0]) + Poisson.suffstats([1])
    with pytest.raises(ValueError, match="different known parameters"):
        _ = Categorical.suffstats([0], num_categories=2) + Categorical.suffstats(
            [0], num_categories=3
        )
    with pytest.raises(ValueError, match="batch shapes"):
        _ = Normal.suffstats(np.ones((2, 3))) + Normal.suffstats(np.ones((2, 4)))
    with pytest.raises(ValueError, match="empty"):
        SufficientStatistics.merge([])
    # binomial statistics of different n merge (a posterior needs only the sums) ...
    s = Binomial.suffstats([3], n=10) + Binomial.suffstats([4], n=20)
    assert s.fixed["n"] is None
    post = Beta(a=1.0, b=1.0).posterior(Binomial, s)
    assert (float(post.a), float(post.b)) == (8.0, 24.0)
    # ... but no single binomial fits them
    with pytest.raises(ValueError, match="different numbers of trials"):
        s.fit()


def test_posterior_from_statistics_equals_posterior_from_data() -> None:
    rng = np.random.default_rng(5)
    x = rng.poisson(3.0, size=101)
    w = rng.uniform(size=101)
    prior = Gamma(shape=2.0, rate=0.5)
    direct = prior.posterior(Poisson, x, weights=w)
    chunked = sum(
        Poisson.suffstats(x[i : i + 10], weights=w[i : i + 10]) for i in range(0, 101, 10)
    )
    assert isinstance(chunked, SufficientStatistics)
    via = prior.posterior(Poisson, chunked)
    np.testing.assert_allclose([via.shape, via.rate], [direct.shape, direct.rate], rtol=1e-15)
    with pytest.raises(TypeError, match="statistics of Gamma"):
        prior.posterior(Poisson, Gamma.suffstats([1.0]))
    with pytest.raises(TypeError, match="raw observations"):
        prior.posterior(Poisson, chunked, weights=w)


def test_integer_data_are_not_copied_whole() -> None:
    x = np.random.default_rng(6).poisson(4.0, size=100_000).astype(np.int32)
    a = Poisson.fit(x)
    assert a.dtype == np.float64
    assert float(a.rate) == pytest.approx(x.mean(), rel=1e-15)


def test_weights_whose_total_overflows() -> None:
    # the MLE does not depend on the scale of the weights
    assert float(Poisson.fit([0, 12], weights=[1.7e308] * 2).rate) == 6.0
    assert float(Gamma.fit([1.0, 3.0], weights=[1.7e308] * 2).shape) == pytest.approx(
        float(Gamma.fit([1.0, 3.0]).shape), rel=1e-15
    )
    with pytest.raises(ValueError, match="total of `weights` overflows"):
        Poisson.suffstats([0, 12], weights=[1.7e308] * 2)


def test_normal_fit_near_the_float_range() -> None:
    d = Normal.fit([1e160, -1e160])
    assert float(d.loc) == 0.0
    assert float(d.scale) == 1e160


# ---------------------------------------------------------------------- the weights policy
def _data(family: type[ExponentialFamily]) -> tuple[Any, dict[str, Any]]:
    table: dict[Any, tuple[Any, dict[str, Any]]] = {
        Bernoulli: ([0, 1, 1], {}),
        Binomial: ([1, 2, 3], {"n": 4}),
        Poisson: ([0, 2, 5], {}),
        Geometric: ([1, 2, 5], {}),
        NegativeBinomial: ([0, 2, 5], {"r": 2.0}),
        Exponential: ([0.5, 1.0, 2.0], {}),
        Normal: ([0.5, 1.0, 2.0], {}),
        Gamma: ([0.5, 1.0, 2.0], {}),
        Beta: ([0.2, 0.5, 0.7], {}),
        Dirichlet: ([[0.2, 0.8], [0.5, 0.5], [0.6, 0.4]], {}),
        Categorical: ([0, 1, 1], {"num_categories": 2}),
    }
    return table[family]


PRIORS: dict[Any, ExponentialFamily] = {
    Bernoulli: Beta(a=1.0, b=2.0),
    Binomial: Beta(a=1.0, b=2.0),
    Geometric: Beta(a=1.0, b=2.0),
    NegativeBinomial: Beta(a=1.0, b=2.0),
    Poisson: Gamma(shape=2.0, rate=1.0),
    Exponential: Gamma(shape=2.0, rate=1.0),
    Categorical: Dirichlet(concentration=[1.0, 2.0]),
}
FAMILIES = [
    Bernoulli,
    Binomial,
    Poisson,
    Geometric,
    NegativeBinomial,
    Exponential,
    Normal,
    Gamma,
    Beta,
    Dirichlet,
    Categorical,
]


def _calls(family: type[ExponentialFamily]) -> list[Any]:
    x, fixed = _data(family)
    calls = [
        lambda w: family.suffstats(x, weights=w, **fixed),
        lambda w: (
            family.suffstats(x, weights=w, **fixed).fit()
            if family is not Categorical
            else Categorical.fit(x, fixed["num_categories"], weights=w)
        ),
    ]
    if family is not Categorical:
        calls.append(lambda w: family.fit(x, weights=w, **fixed))
    if family in PRIORS:
        prior_fixed = {} if family is Categorical else fixed
        calls.append(lambda w: PRIORS[family].posterior(family, x, weights=w, **prior_fixed))
    return calls


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([1.0, -0.5, 1.0], r"`weights` must be finite and non-negative; found -0\.5"),
        ([1.0, np.nan, 1.0], r"`weights` must be finite and non-negative; found nan"),
        ([1.0, np.inf, 1.0], r"`weights` must be finite and non-negative; found inf"),
        ([1.0, -np.inf, 1.0], r"`weights` must be finite and non-negative; found -inf"),
        ([1.0, 1.0], r"`weights` must have shape \(3,\)"),
    ],
)
def test_invalid_weights_raise_the_same_error_everywhere(
    family: type[ExponentialFamily], weights: list[float], match: str
) -> None:
    for call in _calls(family):
        with pytest.raises(ValueError, match=match):
            call(np.array(weights))


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_all_zero_weights(family: type[ExponentialFamily]) -> None:
    x, fixed = _data(family)
    zero = np.zeros(3)
    s = family.suffstats(x, weights=zero, **fixed)
    assert s.total_weight == 0
    assert s.count == 3
    with pytest.raises(ValueError, match="`weights` must not all be zero"):
        s.fit()
    if family is not Categorical:
        with pytest.raises(ValueError, match="`weights` must not all be zero"):
            family.fit(x, weights=zero, **fixed)
    if family in PRIORS:
        prior = PRIORS[family]
        prior_fixed = {} if family is Categorical else fixed
        post = prior.posterior(family, x, weights=zero, **prior_fixed)
        np.testing.assert_array_equal(post.natural_params, prior.natural_params)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_weight_zero_drops_an_observation(family: type[ExponentialFamily]) -> None:
    x, fixed = _data(family)
    kept = np.asarray(x)[[0, 2]]
    s = family.suffstats(x, weights=[1.0, 0.0, 1.0], **fixed)
    t = family.suffstats(kept, **fixed)
    np.testing.assert_allclose(s.mean_params, t.mean_params, rtol=1e-15)


# ---------------------------------------------------------------------- layering
PACKAGE = pathlib.Path(expfam.__file__).parent
SHARED = {
    "expfam._special",
    "expfam._summation",
    "expfam._validation",
    "expfam._kernels",
    "expfam._families._common",
    "expfam._families._beta_dirichlet",
    "expfam._dask",
    "expfam._onedim",
    "expfam._support",
    "expfam._suffstats",
}


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path) -> list[tuple[str, list[str], bool]]:
    """``(module, names, at_top_level)`` for every ``from expfam... import`` in `path`."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for n in ast.walk(node)}
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and id(node) not in typing_only:
            mod = node.module or ""
            if mod == "expfam" or mod.startswith("expfam."):
                out.append((mod, [a.name for a in node.names], id(node) in top))
    return out


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_no_import_cycles() -> None:
    graph = {m: {i for i, _, _ in _imports(p) if i in MODULES} for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, m, n]))
            if n not in state:
                visit(n, [*path, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_no_imports_hidden_in_functions_between_package_modules() -> None:
    hidden = [
        (m, mod)
        for m, p in MODULES.items()
        for mod, _, top in _imports(p)
        if not top and mod != "expfam._demo"  # the CLI loads its demo only for `expfam demo`
    ]
    assert not hidden, hidden


def test_private_names_cross_modules_only_from_shared_helpers() -> None:
    crossing = [
        (m, mod, name)
        for m, p in MODULES.items()
        for mod, names, _ in _imports(p)
        for name in names
        if name.startswith("_")
        and mod not in SHARED
        and mod != m
        and f"{mod}.{name}" not in MODULES  # a module, not a private name in it
    ]
    assert not crossing, crossing


def test_every_exported_family_is_in_the_registry() -> None:
    exported = {
        getattr(expfam, n)
        for n in expfam.__all__
        if isinstance(getattr(expfam, n), type)
        and issubclass(getattr(expfam, n), ExponentialFamily)
        and getattr(expfam, n) is not ExponentialFamily
    }
    assert exported <= {c.family for c in get_registry()}
    assert exported == set(FAMILIES)
