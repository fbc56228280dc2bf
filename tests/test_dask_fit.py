"""Fits, statistics and posteriors of Dask arrays: the in-memory ones, whatever the chunking."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import expfam
from expfam import Binomial, Categorical, Gamma, Normal, Poisson, SufficientStatistics
from tests.helpers import assert_same_fit
from tests.registry import FamilyCase, get_registry
from tests.test_suffstats import FIT_ULPS

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

FITTING = [c for c in get_registry() if c.fits and c.family is not Categorical]


def _chunks(n: int, cuts: list[int]) -> tuple[int, ...]:
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    sizes = tuple(b - a for a, b in itertools.pairwise(edges))
    return sizes or (0,)


@pytest.mark.parametrize("case", FITTING, ids=lambda c: c.id)
@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 200),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    weighted=st.booleans(),
)
def test_dask_fit_equals_in_memory_fit(
    case: FamilyCase, seed: int, n: int, cuts: list[int], weighted: bool
) -> None:
    rng = np.random.default_rng(seed)
    dist = case.make(rng, (), np.dtype(np.float64))
    x = np.asarray(dist.sample(n, rng=rng))
    if case.family is expfam.Dirichlet:
        x = np.maximum(x, 1e-300)
        x = x / x.sum(axis=-1, keepdims=True)
    fixed = case.fit_arguments(dist)
    w = rng.uniform(0.1, 2, size=n) if weighted else None
    try:
        whole = case.family.fit(x, weights=w, **fixed)
    except (expfam.InfeasibleError, ValueError):
        return
    chunks = _chunks(n, cuts)
    dx = da.from_array(x, chunks=(chunks, *x.shape[1:]))
    dw = None if w is None else da.from_array(w, chunks=(chunks,))
    with dask.config.set(scheduler="threads"):
        fitted = case.family.fit(dx, weights=dw, **fixed)
    assert_same_fit(fitted, whole, FIT_ULPS.get(case.family, 4.0))


def test_chunks_of_one_and_empty_chunks() -> None:
    x = np.random.default_rng(1).gamma(3.0, 2.0, size=50)
    dx = da.concatenate([da.from_array(x[:20], chunks=1), da.zeros(0), da.from_array(x[20:])])
    assert_same_fit(Gamma.fit(dx), Gamma.fit(x), FIT_ULPS[Gamma])
    s = Gamma.suffstats(dx)
    assert isinstance(s, SufficientStatistics)
    assert s.count == 50


def test_batches_weights_and_posteriors() -> None:
    rng = np.random.default_rng(2)
    k = rng.poisson(4.0, size=(1000, 3))
    w = rng.uniform(size=1000)
    dk = da.from_array(k, chunks=(137, 1))
    dw = da.from_array(w, chunks=300)  # rechunked to the rows of dk
    assert_same_fit(Poisson.fit(dk, weights=dw), Poisson.fit(k, weights=w))
    prior = expfam.Beta(a=1.0, b=2.0)
    post = prior.posterior(Binomial, dk, n=20)
    ref = prior.posterior(Binomial, k, n=20)
    np.testing.assert_allclose(post.natural_params, ref.natural_params, rtol=1e-15)


@pytest.mark.parametrize("shape", [0.2, 2.0, 30.0])
def test_gamma_fit_is_the_same_whatever_the_chunking(shape: float) -> None:
    # chunks of 2048 values and more: the gap from exact sums of logarithms, merged as
    # exact pairs, and the shape solved with its left side to 36 digits: the fits agree
    # to an ulp (issue 12 asks for 4 across chunks of 1e5, 1e6 and 1e7)
    x = np.random.default_rng(9).gamma(shape, 3.0, size=300_000)
    fits = [Gamma.fit(da.from_array(x, chunks=c)) for c in (2048, 10_000, 65_537, 300_000)]
    for d in fits[1:]:
        assert_same_fit(d, fits[0], 1.0)
    assert_same_fit(Gamma.fit(x), fits[0], 1.0)


def test_errors_surface_on_dask_input() -> None:
    with pytest.raises(ValueError, match="support"):
        Poisson.fit(da.from_array(np.array([1.0, -1.0]), chunks=1))
    with pytest.raises(ValueError, match=r"`weights` must have shape \(3,\)"):
        Normal.fit(da.ones(3, chunks=2), weights=da.ones(2))
    with pytest.raises(ValueError, match="`weights` must be finite and non-negative"):
        Normal.fit(da.ones(3, chunks=2), weights=np.array([1.0, -1.0, 1.0]))


def test_large_offset_normal_on_dask() -> None:
    x = 1e9 + np.random.default_rng(3).normal(size=10_000)
    assert_same_fit(Normal.fit(da.from_array(x, chunks=999)), Normal.fit(x), 16.0)


def test_fits_on_a_local_cluster(dask_client: Any) -> None:
    x = da.random.default_rng(4).gamma(2.0, 3.0, size=200_000, chunks=20_000)
    on_cluster = Gamma.fit(x)
    local = Gamma.fit(x.compute())
    assert_same_fit(on_cluster, local, 1.0)  # chunks of 2e4: exact log sums
    k = da.random.default_rng(5).poisson(2.5, size=100_000, chunks=10_000)
    assert_same_fit(Poisson.fit(k), Poisson.fit(k.compute()))


def test_solvers_on_a_local_cluster(dask_client: Any) -> None:
    energies = np.random.default_rng(6).uniform(0.0, 2.0, size=50_000)
    e = da.from_array(energies, chunks=7_000)
    on_cluster = expfam.boltzmann(e, mean_energy=0.7)
    local = expfam.boltzmann(energies, mean_energy=0.7)
    assert abs(float(on_cluster.beta) - float(local.beta)) <= 1e-12 * abs(float(local.beta))
    q = on_cluster.probs.compute()  # the probabilities come back lazily
    np.testing.assert_allclose(q, local.probs, rtol=1e-12, atol=1e-300)
    features = np.stack([energies, energies**2], axis=-1)
    f = da.from_array(features, chunks=(7_000, 2))
    me = expfam.max_entropy(f, [0.9, 1.1])
    ref = expfam.max_entropy(features, [0.9, 1.1])
    np.testing.assert_allclose(me.multipliers, ref.multipliers, rtol=1e-9)


def test_weights_with_unknown_chunk_sizes_are_named() -> None:
    x = da.from_array(np.random.default_rng(0).normal(size=100), chunks=7)
    keep = x > -10
    hint = r"unknown chunk sizes .*compute_chunk_sizes"
    with pytest.raises(ValueError, match=f"^`x` and `weights` with shapes .*{hint}"):
        Normal.fit(x[keep], weights=da.ones(100, chunks=7)[keep])
    with pytest.raises(ValueError, match=f"^`weights` with shapes .*{hint}"):
        Normal.fit(x, weights=da.ones(100, chunks=7)[keep])
    # without weights, unknown row chunks are fine (one statistic per chunk)
    assert_same_fit(Normal.fit(x[keep]), Normal.fit(x.compute()), 16.0)
