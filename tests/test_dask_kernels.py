"""The kernels on Dask arrays: lazy, the in-memory answers over any chunking, the same edges.

Each kernel's Dask result is compared with its in-memory result: both are within the
documented bound of the exact value, so they are within twice that bound of each other
(8 eps where the docs promise 4). The long rows split into hundreds of chunks and the
cancelling log-sum-exp rows are also checked against mpmath directly.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from typing import Any

import dask
import dask.array
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

import expfam
from tests import strategies as strat
from tests.helpers import eps_of
from tests.mpmath_refs import error_in_eps, logsumexp_ref, softmax_ref
from tests.test_edge_policy import ERRSTATE_CATALOGUE, LSE_ROWS, UNDEFINED_ROWS

da: Any = dask.array  # Dask is only partly annotated
dk: Any = dask
xf: Any = expfam  # the kernels return Dask arrays for Dask input
inf, nan = np.inf, np.nan
F64 = NDArray[np.float64]


# --------------------------------------------------------------------------------------
# Chunkings and comparisons
# --------------------------------------------------------------------------------------


@st.composite
def chunk_sizes(draw: st.DrawFn, n: int) -> tuple[int, ...]:
    """A random split of a length-`n` axis into chunks (single elements included)."""
    if n == 0:
        return (0,)
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    edges = [0, *cuts, n]
    return tuple(b - a for a, b in itertools.pairwise(edges))


@st.composite
def chunked(draw: st.DrawFn, x: NDArray[Any]) -> Any:
    """`x` as a Dask array with a random chunking of every axis."""
    return da.from_array(x, chunks=tuple(draw(chunk_sizes(n)) for n in x.shape))


def assert_within(actual: Any, expected: Any, bound: Any, dtype: Any) -> None:
    """nan and inf patterns equal; finite values within `bound` (absolute, elementwise)."""
    a = np.asarray(actual)
    e = np.asarray(expected)
    assert a.dtype == np.dtype(dtype), (a.dtype, dtype)
    assert a.shape == e.shape, (a.shape, e.shape)
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(a64), np.isnan(e64), err_msg="nan pattern")
    inf_ = np.isinf(a64) | np.isinf(e64)
    np.testing.assert_array_equal(a64[inf_], e64[inf_], err_msg="infinities")
    fin = ~(inf_ | np.isnan(e64))
    err = np.abs(a64[fin] - e64[fin])
    b = np.broadcast_to(bound, a.shape)[fin]
    assert np.all(err <= b), f"worst {np.max(err / np.maximum(b, 1e-300)):.3g} x the bound"


def _sub(dtype: Any) -> float:
    return float(np.finfo(dtype).smallest_subnormal)


def _row_max(x: NDArray[Any], axis: int) -> F64:
    with np.errstate(invalid="ignore"):
        m: F64 = np.max(x.astype(np.float64), axis=axis, keepdims=True)
    return m


def check_logits_kernels(x: NDArray[Any], d: Any, axis: int) -> None:
    """The Dask log-sum-exp, softmax and log-softmax of `d` (holding `x`) against memory."""
    dt = x.dtype
    eps, eps64 = eps_of(dt), eps_of(np.float64)
    lse_d, sm_d, lsm_d = (
        getattr(expfam, f)(d, axis) for f in ("logsumexp", "softmax", "log_softmax")
    )
    for r in (lse_d, sm_d, lsm_d):
        assert isinstance(r, da.Array)
        assert r.dtype == dt
    lse, sm, lsm = (getattr(expfam, f)(x, axis) for f in ("logsumexp", "softmax", "log_softmax"))
    assert_within(lse_d.compute(), lse, 8 * eps * np.abs(lse) + 2.0**-99, dt)
    with np.errstate(invalid="ignore"):
        spread = np.abs(x.astype(np.float64) - _row_max(x, axis))
    spread[~np.isfinite(spread)] = 0.0  # masked entries: exactly 0 on both sides
    assert_within(sm_d.compute(), sm, (8 * eps + 2 * eps64 * spread) * sm + _sub(dt), dt)
    assert_within(lsm_d.compute(), lsm, 8 * eps * np.abs(lsm) + _sub(dt), dt)


# --------------------------------------------------------------------------------------
# Equality with memory over random chunkings
# --------------------------------------------------------------------------------------


@given(data=st.data())
def test_logits_kernels_equal_in_memory_over_random_chunkings(data: st.DataObject) -> None:
    x = data.draw(
        st.one_of(
            strat.masked_logits(max_k=12, bound=1e3),
            strat.bounded_logits(max_k=12, bound=60.0),
            strat.simplex_points(max_k=12, zeros=False).map(
                lambda p: np.log(p.astype(np.float64))
            ),
        )
    )
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_logits_kernels(x, data.draw(chunked(x)), axis)


def _scales(p: F64, q: F64) -> dict[str, F64]:
    """Sums of the magnitudes of the terms (the scale of each kernel's error bound)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
        lq = np.where(p > 0, np.log(np.where(q > 0, q, 1.0)), 0.0)
    return {
        "entropy": np.abs(p * lp),
        "kl_divergence": np.abs(p * (lp - lq)) + np.abs(p * lp) + np.abs(p * lq),
        "cross_entropy": np.abs(p * lq),
    }


@given(data=st.data())
def test_probability_kernels_equal_in_memory_over_random_chunkings(data: st.DataObject) -> None:
    p, q = data.draw(strat.simplex_pairs(max_k=12))
    axis = data.draw(st.integers(-p.ndim, p.ndim - 1))
    dp, dq = data.draw(chunked(p)), data.draw(chunked(q))  # chunkings differ: Dask unifies
    eps = eps_of(p.dtype)
    scales = _scales(p.astype(np.float64), q.astype(np.float64))
    for name in ("entropy", "kl_divergence", "cross_entropy"):
        args = (p,) if name == "entropy" else (p, q)
        dargs = (dp,) if name == "entropy" else (dp, dq)
        r = getattr(expfam, name)(*dargs, axis)
        assert isinstance(r, da.Array)
        expected = getattr(expfam, name)(*args, axis)
        scale = np.sum(scales[name], axis=axis)
        assert_within(r.compute(), expected, 8 * eps * scale + 2 * _sub(p.dtype), p.dtype)


@given(data=st.data())
def test_cross_entropy_with_logits_equals_in_memory_over_random_chunkings(
    data: st.DataObject,
) -> None:
    u = data.draw(strat.masked_logits(max_k=12, bound=100.0))
    p = data.draw(strat.nonnegative_weights(u.dtype, u.shape[:-1], u.shape[-1]))
    p[np.isneginf(u)] = 0.0  # the value is finite; masked categories with weight: below
    axis = data.draw(st.integers(-u.ndim, u.ndim - 1))
    dp, du = data.draw(chunked(p)), data.draw(chunked(u))
    eps = eps_of(u.dtype)
    v_d, g_d = xf.cross_entropy_with_logits(dp, du, axis, return_grad=True)
    v, g = xf.cross_entropy_with_logits(p, u, axis, return_grad=True)
    assert_within(v_d.compute(), v, 8 * eps * np.abs(v) + _sub(u.dtype), u.dtype)
    total = np.sum(p.astype(np.float64), axis=axis, keepdims=True)
    scale = total * xf.softmax(u.astype(np.float64), axis) + p
    assert_within(g_d.compute(), g, 8 * eps * scale + _sub(u.dtype), u.dtype)


@pytest.mark.parametrize(("shape", "chunks"), [((3, 0), (2, 0)), ((0, 4), (0, 2)), ((0,), (0,))])
@pytest.mark.parametrize("axis", [0, -1])
def test_empty_arrays(shape: tuple[int, ...], chunks: tuple[int, ...], axis: int) -> None:
    x = np.zeros(shape)
    d = da.from_array(x, chunks=chunks)
    for name in ("logsumexp", "softmax", "log_softmax", "entropy"):
        r = getattr(expfam, name)(d, axis).compute()
        np.testing.assert_array_equal(r, getattr(expfam, name)(x, axis))
    for name in ("kl_divergence", "cross_entropy", "cross_entropy_with_logits"):
        r = getattr(expfam, name)(d, d, axis).compute()
        np.testing.assert_array_equal(r, getattr(expfam, name)(x, x, axis))
    h, g = xf.cross_entropy_with_logits(d, d, axis, return_grad=True)
    assert g.compute().shape == shape
    np.testing.assert_array_equal(h.compute(), xf.cross_entropy_with_logits(x, x, axis))


def test_keepdims_and_float32() -> None:
    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
    d = da.from_array(x, chunks=(2, 2, 3))
    for axis in (0, 1, 2):
        r = xf.logsumexp(d, axis, keepdims=True)
        assert r.shape == xf.logsumexp(x, axis, keepdims=True).shape
        assert r.compute().dtype == np.float32
        e = xf.entropy(d - d.min() + 1, axis, keepdims=True)
        assert e.shape == r.shape
        assert e.compute().dtype == np.float32


# --------------------------------------------------------------------------------------
# An axis split over many chunks; rows whose log-sum-exp cancels
# --------------------------------------------------------------------------------------


def test_long_axis_split_over_hundreds_of_chunks() -> None:
    rng = np.random.default_rng(7)
    k = 200_001
    x = np.stack([rng.normal(size=k) * 30, np.log(rng.dirichlet(np.ones(k))), rng.normal(size=k)])
    check_logits_kernels(x, da.from_array(x, chunks=(1, 997)), -1)  # 201 chunks per row
    check_logits_kernels(x.T.copy(), da.from_array(x.T.copy(), chunks=(1500, 3)), 0)


@pytest.mark.parametrize("chunk", [1, 7, 64])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cancelling_logsumexp_against_mpmath(chunk: int, dtype: Any) -> None:
    # log-probabilities: the log-sum-exp is a few ulps from 0, and the in-memory kernel
    # recomputes it in double-double; chunk by chunk the same accuracy must hold
    rng = np.random.default_rng(chunk)
    for k in (2, 3, 40, 500):
        x = np.log(rng.dirichlet(np.full(k, 0.5))).astype(dtype)
        r = xf.logsumexp(da.from_array(x, chunks=chunk)).compute()
        assert error_in_eps(r, logsumexp_ref(x.astype(float)), dtype, atol=2.0**-100) <= 4
    x = np.log([0.5, 0.5]).astype(dtype)  # the docstring's example: 2.3e-17, not 0
    r = xf.logsumexp(da.from_array(x, chunks=1)).compute()
    assert error_in_eps(r, logsumexp_ref(x.astype(float)), dtype, atol=2.0**-100) <= 4


@pytest.mark.parametrize("chunk", [1, 3])
def test_softmax_against_mpmath_on_chunks(chunk: int) -> None:
    x = np.array([0.0, -40.0, -745.0, -1e-300, 700.0, 699.0, -inf])
    s = xf.softmax(da.from_array(x, chunks=chunk)).compute()
    for a, ref, v in zip(s, softmax_ref(x), x, strict=True):
        assert error_in_eps(a, ref, np.float64) <= 4 + abs(v - 700.0) if np.isfinite(v) else a == 0


# --------------------------------------------------------------------------------------
# The edge policy on chunks
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 3])
@pytest.mark.parametrize(("row", "expected"), LSE_ROWS)
def test_logsumexp_special_rows_on_chunks(row: list[float], expected: float, chunk: int) -> None:
    r = xf.logsumexp(da.from_array(np.array(row), chunks=chunk)).compute()
    np.testing.assert_array_equal(r, expected)


@pytest.mark.parametrize("chunk", [1, 2, 3])
@pytest.mark.parametrize("row", UNDEFINED_ROWS)
def test_undefined_rows_are_nan_on_chunks(row: list[float], chunk: int) -> None:
    d = da.from_array(np.array(row), chunks=chunk)
    for name in ("softmax", "log_softmax"):
        assert np.all(np.isnan(getattr(expfam, name)(d).compute()))
    h, g = xf.cross_entropy_with_logits(
        da.from_array(np.array([0.2, 0.3, 0.5]), chunks=chunk), d, return_grad=True
    )
    assert np.isnan(h.compute())
    assert np.all(np.isnan(g.compute()))


@pytest.mark.parametrize("chunk", [1, 2])
def test_masked_and_zero_weight_policy_on_chunks(chunk: int) -> None:
    def c(v: list[float]) -> Any:
        return da.from_array(np.array(v), chunks=chunk)

    np.testing.assert_array_equal(xf.softmax(c([0.0, -inf, 0.0])).compute(), [0.5, 0, 0.5])
    assert xf.cross_entropy_with_logits(c([0.5, 0.5, 0.0]), c([0.0, -inf, 0.0])).compute() == inf
    assert xf.cross_entropy_with_logits(c([1.0, 0.0]), c([0.0, -inf])).compute() == 0
    assert xf.kl_divergence(c([0.5, 0.5]), c([1.0, 0.0])).compute() == inf
    assert xf.kl_divergence(c([1.0, 0.0]), c([1.0, -0.0])).compute() == 0
    assert xf.kl_divergence(c([1.0]), c([-0.0])).compute() == inf
    assert xf.entropy(c([1.0, 0.0, 0.0])).compute() == 0
    assert np.isnan(xf.entropy(c([0.5, nan])).compute())
    # logits spanning more than the float range: u_j - max overflows, the value does not
    assert xf.cross_entropy_with_logits(c([0.5, 0.5]), c([1e308, -1e308])).compute() == 1e308


def test_bad_weights_raise_when_computed() -> None:
    d = xf.entropy(da.from_array(np.array([0.5, -0.1, 0.6]), chunks=1))  # lazy: no error
    with pytest.raises(ValueError, match="`p` must be non-negative"):
        d.compute()
    with pytest.raises(ValueError, match="`p` must be non-negative"):
        xf.cross_entropy_with_logits(da.from_array(np.array([0.5, -0.1])), da.zeros(2)).compute()


def test_bad_kinds_raise_at_once() -> None:
    with pytest.raises(TypeError, match="`x` must be real"):
        xf.logsumexp(da.zeros(3, dtype=complex))
    with pytest.raises(ValueError, match="at least one dimension"):
        xf.softmax(da.zeros(()))
    with pytest.raises(ValueError, match="do not broadcast"):
        xf.kl_divergence(da.ones(3), da.ones(4))


# --------------------------------------------------------------------------------------
# Laziness, schedulers and the caller's error state
# --------------------------------------------------------------------------------------


def _refuse(*_: Any, **__: Any) -> Any:
    raise AssertionError("a kernel computed while building its graph")


def test_kernels_are_lazy() -> None:
    x = da.random.default_rng(0).normal(size=(4, 1000), chunks=(2, 100))
    p = da.ones((4, 1000), chunks=(4, 300)) / 1000
    with dk.config.set(scheduler=_refuse):
        results = [
            xf.logsumexp(x),
            xf.softmax(x, axis=0),
            xf.log_softmax(x),
            xf.entropy(p),
            xf.kl_divergence(p, p),
            xf.cross_entropy(p, p),
            *xf.cross_entropy_with_logits(p, x, return_grad=True),
        ]
    assert all(isinstance(r, da.Array) for r in results)


def test_threaded_scheduler_under_the_callers_error_state() -> None:
    # the catalogue of edge rows, chunk by chunk, on the threaded scheduler, with the
    # caller raising on every floating-point event and turning warnings into errors
    for name, args in ERRSTATE_CATALOGUE:
        expected = getattr(expfam, name)(*args)
        dargs = [da.from_array(np.asarray(a, dtype=float), chunks=1) for a in args]
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            actual = dk.compute(getattr(expfam, name)(*dargs), scheduler="threads")[0]
        e = np.asarray(expected)
        assert_within(actual, e, 8 * eps_of(np.float64) * np.abs(e) + 1e-300, np.float64)


def test_no_dask_gives_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Lazy:  # a Dask-like collection: it has a task graph
        def __dask_graph__(self) -> dict[str, Any]:
            return {"k": 1}

    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    monkeypatch.delitem(sys.modules, "xf._dask_kernels", raising=False)
    with pytest.raises(ImportError, match=r'pip install "expfam\[dask\]"'):
        xf.logsumexp(Lazy())


def test_numpy_backed_collections_stay_in_memory() -> None:
    class Eager(np.ndarray):  # e.g. an xarray object without Dask: no task graph
        def __dask_graph__(self) -> None:
            return None

    x = np.array([0.0, 1.0]).view(Eager)
    assert type(xf.logsumexp(x)) is not da.Array


# --------------------------------------------------------------------------------------
# A real cluster
# --------------------------------------------------------------------------------------


def test_kernels_on_a_local_cluster(dask_client: Any) -> None:
    rng = np.random.default_rng(3)
    u = rng.normal(size=(4, 3000)) * 5
    p = rng.dirichlet(np.ones(3000), size=4)
    du, dp = da.from_array(u, chunks=(2, 700)), da.from_array(p, chunks=(4, 1000))
    graphs = (
        xf.logsumexp(du),
        xf.softmax(du),
        *xf.cross_entropy_with_logits(dp, du, return_grad=True),
        xf.kl_divergence(dp, xf.softmax(du)),
    )
    on_cluster = dask_client.compute(graphs, sync=True)
    local = dk.compute(*graphs, scheduler="sync")
    for a, b in zip(on_cluster, local, strict=True):
        np.testing.assert_array_equal(a, b)  # the same graph: the same numbers
    check_logits_kernels(u, du, -1)


def test_merging_chunks_compensates_the_rounding_of_the_max_difference() -> None:
    # a row just above 0 whose value comes from far chunks: rescaling their sums by
    # exp(m' - m) with m' - m rounded was 8.7 eps off; compensated, 0.3 eps
    x = np.array(
        [6.838529329848633e-13, -16.279185554769022, -16.268892867105894, -16.283030500044188]
    )
    r = xf.logsumexp(da.from_array(x, chunks=1)).compute()
    assert error_in_eps(r, logsumexp_ref(x), np.float64) <= 2


def test_chunks_longer_than_a_block_are_processed_in_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # chunks wider than _BLOCK along the axis take the in-memory long-row helpers
    from expfam import _kernels

    monkeypatch.setattr(_kernels, "_BLOCK", 4)
    rng = np.random.default_rng(5)
    x = np.stack([rng.normal(size=50) * 20, np.log(rng.dirichlet(np.ones(50))), np.full(50, -inf)])
    x[0, 7] = -inf
    for chunks in ((3, 50), (2, 13), (1, 5)):
        check_logits_kernels(x, da.from_array(x, chunks=chunks), -1)
    r = xf.logsumexp(da.from_array(x[1], chunks=17)).compute()
    assert error_in_eps(r, logsumexp_ref(x[1]), np.float64, atol=2.0**-100) <= 4


def test_bad_weights_raise_when_only_the_gradient_is_computed() -> None:
    _, g = xf.cross_entropy_with_logits(
        da.from_array(np.array([0.5, -0.1]), chunks=1), da.zeros(2), return_grad=True
    )
    with pytest.raises(ValueError, match="`p` must be non-negative"):
        g.compute()


def test_dtype_policy_on_dask_arrays() -> None:
    ints = da.arange(6, chunks=2).reshape(2, 3)
    assert xf.logsumexp(ints).dtype == np.float64
    np.testing.assert_array_equal(
        xf.logsumexp(ints).compute(), xf.logsumexp(np.arange(6).reshape(2, 3))
    )
    assert xf.softmax(ints.astype(np.float16)).compute().dtype == np.float32
    mixed = xf.kl_divergence(da.ones(3, dtype=np.float32) / 3, np.full(3, 1 / 3))
    assert mixed.compute().dtype == np.float64  # numpy's promotion, as in memory


def test_unknown_chunk_sizes_that_cannot_be_matched_are_named() -> None:
    # two arrays filtered by one mask: Dask cannot tell that their lengths agree
    x = da.from_array(np.random.default_rng(0).normal(size=(50, 3)), chunks=(7, 3))
    keep = da.from_array(np.arange(50) % 3 != 0, chunks=7)
    p = xf.softmax(x[keep])
    q = xf.softmax(x[keep] * 0.5)
    assert np.isnan(p.shape[0])
    hint = r"unknown chunk sizes .*compute_chunk_sizes"
    with pytest.raises(ValueError, match=f"^`p` and `q` with shapes .*{hint}"):
        xf.kl_divergence(p, q)
    with pytest.raises(ValueError, match=f"^`p` and `logits` with shapes .*{hint}"):
        xf.cross_entropy_with_logits(p, x[keep])
    # a single array of unknown length reduces along the known axis as usual
    pc = p.compute()
    np.testing.assert_allclose(xf.entropy(p).compute(), expfam.entropy(pc), rtol=1e-15)
