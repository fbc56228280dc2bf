"""``glm`` on row-chunked Dask arrays: the in-memory answer, one pass per Newton step."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import expfam
from expfam import Bernoulli, Binomial, Exponential, Gamma, Geometric, Normal, Poisson

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
dask_glm = pytest.importorskip("expfam._dask_glm")

F = np.float64


def _data(
    family: Any, link: str, rng: np.random.Generator, n: int, p: int
) -> tuple[Any, Any, dict[str, Any]]:
    """A well-posed design and response of `family` (positive covariates for eta < 0)."""
    X = rng.uniform(0.1, 1.0, size=(n, p)) if p else np.zeros((n, 0))
    s = X.sum(axis=1) / max(p, 1)
    if family is Poisson:
        return X, rng.poisson(np.exp(0.5 + s)), {}
    if family is Bernoulli:
        return X, (rng.random(n) < 0.3 + 0.4 * s).astype(F), {}
    if family is Binomial:
        return X, rng.binomial(6, 0.2 + 0.5 * s).astype(F), {"n": 6}
    if family is Geometric:
        return X, rng.geometric(0.3 + 0.4 * s).astype(F), {}
    if family is Normal:
        return X, 1.0 + 2.0 * s + rng.normal(size=n), {}
    mean = 1.0 + s
    shape = 3.0 if family is Gamma else 1.0
    del link
    return X, rng.gamma(shape, mean / shape), {}


CASES = [
    (Poisson, "canonical"),
    (Bernoulli, "canonical"),
    (Binomial, "canonical"),
    (Geometric, "canonical"),
    (Normal, "canonical"),
    (Gamma, "canonical"),
    (Gamma, "log"),
    (Exponential, "canonical"),
    (Exponential, "log"),
]


def _chunks(n: int, cuts: list[int]) -> tuple[int, ...]:
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return tuple(b - a for a, b in itertools.pairwise(edges))


def assert_same_glm(got: expfam.GLMResult, ref: expfam.GLMResult, rtol: float = 1e-10) -> None:
    """Coefficients, standard errors and every inference number within `rtol` relative."""
    assert got.mle_exists == ref.mle_exists
    np.testing.assert_allclose(got.coef, ref.coef, rtol=rtol, atol=rtol * np.abs(ref.coef).max())
    np.testing.assert_allclose(got.stderr, ref.stderr, rtol=rtol)
    np.testing.assert_allclose(got.cov, ref.cov, rtol=rtol, atol=rtol * np.abs(ref.cov).max())
    for name in ("deviance", "null_deviance", "loglik", "aic", "bic", "dispersion"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=rtol, err_msg=name)
    assert (got.nobs, got.df_resid, got.names) == (ref.nobs, ref.df_resid, ref.names)


@pytest.mark.parametrize(("family", "link"), CASES, ids=lambda c: getattr(c, "__name__", c))
@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(40, 160),
    cuts=st.lists(st.integers(0, 10**6), max_size=5),
    weighted=st.booleans(),
    offset=st.booleans(),
    l2=st.sampled_from([0.0, 0.5]),
    robust=st.booleans(),
)
def test_dask_glm_equals_in_memory(  # noqa: PLR0917 - hypothesis arguments
    family: Any,
    link: str,
    seed: int,
    n: int,
    cuts: list[int],
    weighted: bool,
    offset: bool,
    l2: float,
    robust: bool,
) -> None:
    rng = np.random.default_rng(seed)
    X, y, fixed = _data(family, link, rng, n, 2)
    w = rng.uniform(0.2, 2.0, size=n) if weighted else None
    off = rng.uniform(-0.05, 0.0, size=n) if offset else None
    kw: dict[str, Any] = {"link": link, "l2": l2, "cov_type": "robust" if robust else "model"}
    ref = expfam.glm(family, X, y, weights=w, offset=off, **kw, **fixed)
    assert ref.mle_exists
    chunks = _chunks(n, cuts)
    dX = da.from_array(X, chunks=(chunks, 1))  # columns are brought into one chunk
    dy = da.from_array(np.asarray(y), chunks=7)  # rechunked like the rows of X
    with dask.config.set(scheduler="sync"):
        got = expfam.glm(family, dX, dy, weights=w, offset=off, **kw, **fixed)
        assert_same_glm(got, ref)
        np.testing.assert_allclose(_mean(got), _mean(ref), rtol=1e-10)


def test_chunks_of_one_row_weights_and_offset_as_dask() -> None:
    rng = np.random.default_rng(3)
    X, y, _ = _data(Poisson, "canonical", rng, 60, 3)
    w = rng.uniform(0.5, 1.5, size=60)
    w[[4, 9]] = 0.0  # rows of weight zero do not count
    off = np.log(rng.uniform(1.0, 3.0, size=60))
    ref = expfam.glm(Poisson, X, y, weights=w, offset=off)
    with dask.config.set(scheduler="sync"):
        got = expfam.glm(
            Poisson,
            da.from_array(X, chunks=(1, 3)),
            da.from_array(y, chunks=1),
            weights=da.from_array(w, chunks=1),
            offset=da.from_array(off, chunks=5),
        )
    assert_same_glm(got, ref)
    assert got.nobs == 58


def test_intercept_only_and_numpy_x_with_dask_y() -> None:
    rng = np.random.default_rng(4)
    X, y, _ = _data(Gamma, "canonical", rng, 300, 2)
    dy = da.from_array(y, chunks=64)
    assert_same_glm(expfam.glm(Gamma, None, dy), expfam.glm(Gamma, None, y))
    assert_same_glm(expfam.glm(Gamma, X, dy), expfam.glm(Gamma, X, y))
    # no intercept: a column of ones in X plays its part, the null deviance as in memory
    Xo = np.hstack([np.ones((300, 1)), X])
    got = expfam.glm(Gamma, da.from_array(Xo, chunks=(50, 3)), y, intercept=False)
    assert_same_glm(got, expfam.glm(Gamma, Xo, y, intercept=False))


def test_only_x_on_dask_with_an_offset() -> None:
    rng = np.random.default_rng(11)
    X, y, _ = _data(Poisson, "canonical", rng, 500, 2)
    off = rng.uniform(-0.2, 0.2, size=500)
    got = expfam.glm(Poisson, da.from_array(X, chunks=(128, 2)), y, offset=off)
    assert_same_glm(got, expfam.glm(Poisson, X, y, offset=off))  # the null deviance refits


def test_binomial_trials_per_row_and_predict_on_dask_rows() -> None:
    rng = np.random.default_rng(5)
    X, _, _ = _data(Binomial, "canonical", rng, 400, 2)
    trials = rng.integers(1, 9, size=400)
    y = rng.binomial(trials, 0.4).astype(F)
    ref = expfam.glm(Binomial, X, y, n=trials)
    dX = da.from_array(X, chunks=(90, 2))
    got = expfam.glm(Binomial, dX, y, n=da.from_array(trials, chunks=90))
    assert_same_glm(got, ref)
    # predictions on Dask rows are computed and returned in memory
    np.testing.assert_allclose(_mean(got, dX[:5], n=3), _mean(ref, X[:5], n=3), rtol=1e-10)
    np.testing.assert_allclose(_mean(got), _mean(ref), rtol=1e-10)


def _mean(res: expfam.GLMResult, *args: Any, **kwargs: Any) -> Any:
    d: Any = res.predict(*args, **kwargs)  # every GLM family has a mean()
    return d.mean()


def _counted(
    monkeypatch: pytest.MonkeyPatch, X: Any
) -> tuple[Any, collections.Counter[Any], list[int], dict[str, int]]:
    """`X` whose block reads are counted, and counters of computes and solver passes."""
    reads: collections.Counter[Any] = collections.Counter()

    def touch(block: Any, block_info: Any = None) -> Any:
        reads[block_info[0]["chunk-location"]] += 1
        return block

    orders: list[int] = []
    inner: Callable[..., Any] = dask_glm._chunk_sums

    def chunk_sums(spec: Any, theta: Any, order: int, *blocks: Any) -> Any:
        orders.append(order)
        return inner(spec, theta, order, *blocks)

    monkeypatch.setattr(dask_glm, "_chunk_sums", chunk_sums)
    computes = {"n": 0}
    compute = dask.compute

    def counting_compute(*args: Any, **kwargs: Any) -> Any:
        computes["n"] += 1
        return compute(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", counting_compute)
    return X.map_blocks(touch, dtype=X.dtype), reads, orders, computes


def test_each_newton_step_reads_the_data_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(6)
    X, y, _ = _data(Poisson, "canonical", rng, 5000, 4)
    # the in-memory solver's passes, in order (0: value only, 2: with gradient and Hessian)
    memory: list[int] = []
    sums = expfam._glm.sums

    def counted_sums(prob: Any, theta: Any, order: int) -> Any:
        memory.append(order)
        return sums(prob, theta, order)

    with monkeypatch.context() as m:
        m.setattr(expfam._glm, "sums", counted_sums)
        ref = expfam.glm(Poisson, X, y)
    dX, reads, orders, computes = _counted(monkeypatch, da.from_array(X, chunks=(700, 4)))
    blocks = dX.numblocks[0]
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(Poisson, dX, y)
    assert_same_glm(res, ref)
    # every compute is one pass: it reads each block of X exactly once
    assert set(reads) == {(i, 0) for i in range(blocks)}
    assert set(reads.values()) == {computes["n"]}
    # the Dask solver makes the in-memory solver's passes, each over every chunk once
    # (a Newton iteration: one pass with the gradient and Hessian; a shortened step:
    # one value-only pass per halving), and no other
    assert collections.Counter(orders) == {
        k: v * blocks for k, v in collections.Counter(memory).items()
    }
    assert memory.count(2) >= res.iterations
    # plus the setup pass and one inference pass (the Newton Hessian is the Fisher)
    assert computes["n"] == len(memory) + 2


def test_offset_zero_on_some_chunks() -> None:
    # the moments of the start and of the null deviance add over chunks whose offsets
    # are all 0 as over the others (log links: the intercept-only fit in closed form)
    rng = np.random.default_rng(9)
    for family, link in ((Poisson, "canonical"), (Gamma, "log"), (Exponential, "log")):
        X, y, fixed = _data(family, link, rng, 300, 2)
        off = np.where(np.arange(300) < 150, 0.0, rng.normal(scale=0.3, size=300))
        ref = expfam.glm(family, X, y, offset=off, link=link, **fixed)
        got = expfam.glm(family, da.from_array(X, chunks=(100, 2)), y, offset=off, link=link)
        assert_same_glm(got, ref)


def test_empty_chunks() -> None:
    rng = np.random.default_rng(10)
    X, y, _ = _data(Poisson, "canonical", rng, 100, 2)
    w = np.linspace(0.5, 1.5, 100)
    ref = expfam.glm(Poisson, X, y, weights=w)
    got = expfam.glm(Poisson, da.from_array(X, chunks=((0, 50, 0, 50), (2,))), y, weights=w)
    assert_same_glm(got, ref)


def test_the_start_subsample_is_the_in_memory_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # 170 000 rows: the start is refined on every 17th row (global index), gathered in
    # the setup pass; then the same passes over all rows as in memory, and no other
    rng = np.random.default_rng(8)
    n = 170_000
    X = rng.uniform(0.1, 1.0, size=(n, 3))
    y = rng.poisson(np.exp(0.2 + X @ [0.5, -0.3, 0.8]))
    off = rng.normal(scale=0.2, size=n)
    memory: list[int] = []
    sums = expfam._glm.sums

    def counted_sums(prob: Any, theta: Any, order: int) -> Any:
        if prob.X.shape[0] == n:  # all rows, not the subsample
            memory.append(order)
        return sums(prob, theta, order)

    with monkeypatch.context() as m:
        m.setattr(expfam._glm, "sums", counted_sums)
        ref = expfam.glm(Poisson, X, y, offset=off)
    assert expfam._glm.substart_stride(ref._model, n, 4) == 17  # every 17th row
    dX, reads, orders, computes = _counted(monkeypatch, da.from_array(X, chunks=(23_456, 3)))
    blocks = dX.numblocks[0]
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(Poisson, dX, y, offset=off)
    assert_same_glm(res, ref)
    assert set(reads.values()) == {computes["n"]}
    assert collections.Counter(orders) == {
        k: v * blocks for k, v in collections.Counter(memory).items()
    }
    assert computes["n"] == len(memory) + 2
    assert len(memory) <= 4  # from the subsample's fit, not 6 or more from the intercept


def test_inference_passes_of_gamma_robust(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    X, y, _ = _data(Gamma, "log", rng, 2000, 3)
    ref = expfam.glm(Gamma, X, y, link="log", cov_type="robust")
    dX, reads, orders, computes = _counted(monkeypatch, da.from_array(X, chunks=(300, 3)))
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(Gamma, dX, y, link="log", cov_type="robust")
    assert_same_glm(res, ref)
    assert set(reads.values()) == {computes["n"]}
    newton = sum(o != 0 for o in orders) // dX.numblocks[0]
    value = sum(o == 0 for o in orders) // dX.numblocks[0]
    # setup, the solver's passes, then Fisher + sandwich + deviance, and the log-likelihood
    assert computes["n"] == 1 + newton + value + 2


def test_separation_decided_in_memory_when_small() -> None:
    x = np.linspace(-1.0, 1.0, 200)
    y = (x > 0.1).astype(F)  # completely separated
    ref = expfam.glm(Bernoulli, x[:, None], y)
    got = expfam.glm(Bernoulli, da.from_array(x[:, None], chunks=(30, 1)), y)
    assert not got.mle_exists
    np.testing.assert_array_equal(_mean(got), _mean(ref))
    np.testing.assert_allclose(got.recession, ref.recession)


def test_separation_out_of_core_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_glm, "IN_MEMORY", 100)
    rng = np.random.default_rng(8)
    X, y, _ = _data(Poisson, "canonical", rng, 40_000, 2)
    X[:, 0] = X[:, 0] < 0.3  # a group whose counts are all 0: its eta goes to -inf
    y[X[:, 0] == 1] = 0
    dX = da.from_array(X, chunks=(5000, 2))
    with pytest.raises(ValueError, match="cannot be decided out of core"):
        expfam.glm(Poisson, dX, y)
    # a design that is not separated is certified on the sample, whatever its size
    X2, y2, _ = _data(Poisson, "canonical", rng, 40_000, 2)
    res = expfam.glm(Poisson, da.from_array(X2, chunks=(5000, 2)), y2)
    assert_same_glm(res, expfam.glm(Poisson, X2, y2))


def test_bad_input_on_dask() -> None:
    X = np.random.default_rng(9).uniform(size=(50, 2))
    y = np.arange(50.0) % 3
    dX = da.from_array(X, chunks=(20, 2))
    Xn = X.copy()
    Xn[33, 1] = np.nan
    with pytest.raises(ValueError, match=r"`X` must be finite; found nan at row 33, column 1"):
        expfam.glm(Poisson, da.from_array(Xn, chunks=(20, 2)), y)
    with pytest.raises(ValueError, match="`y` must hold non-negative integers"):
        expfam.glm(Poisson, dX, y - 1)
    with pytest.raises(ValueError, match="`weights` must be non-negative"):
        expfam.glm(Poisson, dX, y, weights=-np.ones(50))
    with pytest.raises(ValueError, match="`weights` must not all be zero"):
        expfam.glm(Poisson, dX, y, weights=np.zeros(50))
    with pytest.raises(ValueError, match=r"`y` must have shape \(50,\)"):
        expfam.glm(Poisson, dX, y[:49])
    with pytest.raises(ValueError, match="rank deficient"):
        expfam.glm(Poisson, da.from_array(np.hstack([X, X[:, :1]]), chunks=(20, 3)), y)
    # Categorical is fitted on Dask arrays too (its bad input: test_softmax_bad_input_on_dask)
    assert_same_glm(
        expfam.glm(expfam.Categorical, dX, y.astype(int)),
        expfam.glm(expfam.Categorical, X, y.astype(int)),
    )


def test_glm_on_a_local_cluster(dask_client: Any) -> None:
    rng = np.random.default_rng(10)
    X, y, _ = _data(Poisson, "canonical", rng, 20_000, 3)
    dX = da.from_array(X, chunks=(4000, 3)).persist()
    dy = da.from_array(y, chunks=4000).persist()
    got = expfam.glm(Poisson, dX, dy, cov_type="robust")
    assert_same_glm(got, expfam.glm(Poisson, X, y, cov_type="robust"))
    Xg, yg, _ = _data(Gamma, "canonical", rng, 5000, 2)
    got = expfam.glm(Gamma, da.from_array(Xg, chunks=(1000, 2)), da.from_array(yg, chunks=1000))
    assert_same_glm(got, expfam.glm(Gamma, Xg, yg))


# ---------------------------------------------------------------------------------- softmax
def _softmax_data(
    rng: np.random.Generator, n: int, p: int, K: int, *, soft: bool = False
) -> tuple[Any, Any]:
    """A design and labels (or rows of probabilities) of a softmax regression."""
    X = rng.uniform(-1.0, 1.0, size=(n, p))
    B = rng.uniform(-0.7, 0.7, size=(p, K))
    P = np.exp(X @ B)
    P /= P.sum(axis=1, keepdims=True)
    if soft:  # soft targets near the model's probabilities, every one positive
        return X, (P + rng.uniform(0.0, 0.3, size=(n, K))) / (1 + 0.15 * K)
    return X, (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)


def _chunks_with_empty(n: int, cuts: list[int]) -> tuple[int, ...]:
    """Row chunks at `cuts` (mod n + 1), kept with repeats: repeated cuts give empty chunks."""
    edges = [0, *sorted(c % (n + 1) for c in cuts), n]
    return tuple(b - a for a, b in itertools.pairwise(edges))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(60, 200),
    K=st.integers(2, 4),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    soft=st.booleans(),
    weighted=st.booleans(),
    offset=st.booleans(),
    l2=st.sampled_from([0.0, 0.5]),
    robust=st.booleans(),
)
@example(  # empty chunks and chunks of one row
    seed=1,
    n=60,
    K=3,
    cuts=[0, 0, 5, 6, 6, 59],
    soft=False,
    weighted=True,
    offset=True,
    l2=0.0,
    robust=True,
)
@example(
    seed=2,
    n=61,
    K=4,
    cuts=[1, 1, 2, 3, 60, 61],
    soft=True,
    weighted=True,
    offset=False,
    l2=0.5,
    robust=False,
)
def test_dask_softmax_equals_in_memory(  # noqa: PLR0917 - hypothesis arguments
    seed: int,
    n: int,
    K: int,
    cuts: list[int],
    soft: bool,
    weighted: bool,
    offset: bool,
    l2: float,
    robust: bool,
) -> None:
    rng = np.random.default_rng(seed)
    X, y = _softmax_data(rng, n, 2, K, soft=soft)
    w = rng.uniform(0.2, 2.0, size=n) if weighted else None
    off = rng.uniform(-0.3, 0.3, size=(n, K)) if offset else None
    kw: dict[str, Any] = {"l2": l2, "cov_type": "robust" if robust else "model"}
    if not soft:
        kw["num_categories"] = K  # a class absent from the labels is still a class
    ref = expfam.glm(expfam.Categorical, X, y, weights=w, offset=off, **kw)
    chunks = _chunks_with_empty(n, cuts)
    dX = da.from_array(X, chunks=(chunks, 1))  # columns are brought into one chunk
    dy = da.from_array(y, chunks=(7, *y.shape[1:]))  # rechunked like the rows of X
    dw = None if w is None else da.from_array(w, chunks=13)
    do = None if off is None else da.from_array(off, chunks=(11, 1))
    with dask.config.set(scheduler="sync"):
        got = expfam.glm(expfam.Categorical, dX, dy, weights=dw, offset=do, **kw)
        assert_same_glm(got, ref)
        np.testing.assert_allclose(_mean(got), _mean(ref), rtol=1e-10, atol=1e-15)


def test_softmax_chunks_of_one_row_weights_and_offset_as_dask() -> None:
    rng = np.random.default_rng(21)
    X, y = _softmax_data(rng, 80, 3, 3)
    w = rng.uniform(0.5, 1.5, size=80)
    w[[2, 17]] = 0.0  # rows of weight zero do not count
    off = rng.normal(scale=0.2, size=(80, 3))
    ref = expfam.glm(expfam.Categorical, X, y, weights=w, offset=off)
    with dask.config.set(scheduler="sync"):
        got = expfam.glm(
            expfam.Categorical,
            da.from_array(X, chunks=(1, 3)),
            da.from_array(y, chunks=1),
            weights=da.from_array(w, chunks=1),
            offset=da.from_array(off, chunks=(5, 3)),
        )
    assert_same_glm(got, ref)  # the null deviance refits the intercepts with the offset
    assert got.nobs == 78
    assert got.coef.shape == (4, 3)


def test_softmax_soft_targets_intercept_only_and_numpy_x() -> None:
    rng = np.random.default_rng(22)
    X, P = _softmax_data(rng, 500, 2, 4, soft=True)
    dP = da.from_array(P, chunks=(128, 4))
    assert_same_glm(
        expfam.glm(expfam.Categorical, None, dP), expfam.glm(expfam.Categorical, None, P)
    )
    assert_same_glm(expfam.glm(expfam.Categorical, X, dP), expfam.glm(expfam.Categorical, X, P))
    # no intercept: a column of ones in X plays its part, the null deviance as in memory
    Xo = np.hstack([np.ones((500, 1)), X])
    got = expfam.glm(expfam.Categorical, da.from_array(Xo, chunks=(90, 3)), P, intercept=False)
    assert_same_glm(got, expfam.glm(expfam.Categorical, Xo, P, intercept=False))


def test_softmax_solver_pass_reads_the_data_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(23)
    X, y = _softmax_data(rng, 6000, 4, 5)
    ref = expfam.glm(expfam.Categorical, X, y)
    dX, reads, orders, computes = _counted(monkeypatch, da.from_array(X, chunks=(800, 4)))
    blocks = dX.numblocks[0]
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(expfam.Categorical, dX, y)
    assert_same_glm(res, ref)
    # every compute is one pass: it reads each block of X exactly once
    assert set(reads) == {(i, 0) for i in range(blocks)}
    assert set(reads.values()) == {computes["n"]}
    # each evaluation of the solver's sums is one pass over every chunk
    assert len(orders) % blocks == 0
    counts = collections.Counter(orders)
    assert all(v % blocks == 0 for v in counts.values())
    assert counts[2] // blocks >= res.iterations
    # the setup pass, the solver's passes and one inference pass (the Newton Hessian
    # is the Fisher information), and no other
    assert computes["n"] == 1 + len(orders) // blocks + 1


def test_softmax_robust_with_lbfgs_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # q K - q >= 200 unknowns: L-BFGS (gradient passes) before Newton, as in memory
    rng = np.random.default_rng(24)
    X, y = _softmax_data(rng, 8000, 20, 11)
    kw: dict[str, Any] = {"cov_type": "robust", "num_categories": 11}
    ref = expfam.glm(expfam.Categorical, X, y, **kw)
    dX, reads, orders, computes = _counted(monkeypatch, da.from_array(X, chunks=(2000, 20)))
    with dask.config.set(scheduler="sync"):  # the counters live in this process
        res = expfam.glm(expfam.Categorical, dX, y, **kw)
    assert_same_glm(res, ref)
    assert 1 in orders  # gradient-only passes of L-BFGS
    assert set(reads.values()) == {computes["n"]}
    # setup, the solver's passes, then one pass for Fisher, sandwich and deviances
    assert computes["n"] == 1 + len(orders) // dX.numblocks[0] + 1


def test_softmax_many_labels_draw_a_larger_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # labels without `num_categories`: the setup pass finds K = 12, and the sample drawn
    # for K = 2 is too small for q (K - 1) = 121 unknowns: one more pass draws a larger one
    rng = np.random.default_rng(28)
    X, y = _softmax_data(rng, 20_000, 10, 12)
    ref = expfam.glm(expfam.Categorical, X, y)
    sizes: list[int] = []
    inner = dask_glm._sample_exists

    def sample_exists(sub: Any, unpen: Any) -> bool:
        sizes.append(sub.X.shape[0])
        return bool(inner(sub, unpen))

    monkeypatch.setattr(dask_glm, "_sample_exists", sample_exists)
    dX, _, orders, computes = _counted(monkeypatch, da.from_array(X, chunks=(4000, 10)))
    with dask.config.set(scheduler="sync"):
        res = expfam.glm(expfam.Categorical, dX, y)
    assert_same_glm(res, ref)
    assert len(sizes) == 1
    assert 2 * 1210 * 0.9 < sizes[0] < 2 * 1210 * 1.1  # about 2 x 10 q (K - 1) rows
    # two setup passes, the solver's passes (none in memory) and one inference pass
    assert orders
    assert computes["n"] == 2 + len(orders) // dX.numblocks[0] + 1


def test_softmax_separation_decided_in_memory_when_small() -> None:
    x = np.linspace(-1.0, 1.0, 300)
    y = np.arange(300) % 2  # classes 0 and 1 mixed below 0.3 (a finite part) ...
    y[x >= 0.3] = 2  # ... and class 2 separated from them
    ref = expfam.glm(expfam.Categorical, x[:, None], y)
    assert not ref.mle_exists
    got = expfam.glm(expfam.Categorical, da.from_array(x[:, None], chunks=(40, 1)), y)
    assert not got.mle_exists
    np.testing.assert_array_equal(_mean(got), _mean(ref))
    np.testing.assert_allclose(got.coef, ref.coef, rtol=1e-10)
    np.testing.assert_allclose(got.recession, ref.recession)


def test_softmax_separation_out_of_core_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_glm, "IN_MEMORY", 100)
    rng = np.random.default_rng(25)
    X, y = _softmax_data(rng, 40_000, 2, 3)
    y[X[:, 0] > 0.5] = 2  # class 2 separates the rows with x0 > 0.5
    y[(X[:, 0] <= 0.5) & (y == 2)] = 0
    dX = da.from_array(X, chunks=(5000, 2))
    with pytest.raises(ValueError, match="cannot be decided out of core"):
        expfam.glm(expfam.Categorical, dX, y)
    # data that are not separated are certified on the sample, whatever their size;
    # with l2 > 0 by the existence program on the sample's unpenalised column
    X2, y2 = _softmax_data(rng, 40_000, 2, 3)
    dX2 = da.from_array(X2, chunks=(5000, 2))
    for l2 in (0.0, 2.0):
        res = expfam.glm(expfam.Categorical, dX2, y2, l2=l2)
        assert_same_glm(res, expfam.glm(expfam.Categorical, X2, y2, l2=l2))


def test_softmax_bad_input_on_dask() -> None:
    rng = np.random.default_rng(26)
    X, y = _softmax_data(rng, 50, 2, 3)
    dX = da.from_array(X, chunks=(20, 2))
    Cat = expfam.Categorical
    Xn = X.copy()
    Xn[33, 1] = np.inf
    with pytest.raises(ValueError, match=r"`X` must be finite; found inf at row 33, column 1"):
        expfam.glm(Cat, da.from_array(Xn, chunks=(20, 2)), y)
    with pytest.raises(ValueError, match=r"non-negative integers"):
        expfam.glm(Cat, dX, y - 1)
    with pytest.raises(ValueError, match=r"non-negative integers"):
        expfam.glm(Cat, dX, y + 0.5)
    with pytest.raises(ValueError, match="a label >= `num_categories` = 2"):
        expfam.glm(Cat, dX, y, num_categories=2)
    with pytest.raises(TypeError, match="only `num_categories`"):
        expfam.glm(Cat, dX, y, n=3)
    with pytest.raises(ValueError, match=r"`offset` must have shape \(50, 3\)"):
        expfam.glm(Cat, dX, y, offset=np.zeros((50, 4)))
    with pytest.raises(ValueError, match="`offset` must be finite"):
        expfam.glm(Cat, dX, y, offset=np.full((50, 3), np.nan))
    with pytest.raises(ValueError, match="`weights` must not all be zero"):
        expfam.glm(Cat, dX, y, weights=np.zeros(50))
    C = np.eye(3)[y]
    C[41] = 0.0
    with pytest.raises(ValueError, match="`y` row 41 sums to 0"):
        expfam.glm(Cat, dX, da.from_array(C, chunks=(7, 3)))
    with pytest.raises(ValueError, match="`y` has 3 columns but `num_categories` = 4"):
        expfam.glm(Cat, dX, C, num_categories=4)
    with pytest.raises(ValueError, match=r"`y` must have shape \(50,\) \(labels\)"):
        expfam.glm(Cat, dX, y[:49])
    with pytest.raises(ValueError, match="rank deficient"):
        expfam.glm(Cat, da.from_array(np.hstack([X, X[:, :1]]), chunks=(20, 3)), y)
    with pytest.raises(ValueError, match="`link` must be 'canonical'"):
        expfam.glm(Cat, dX, y, link="log")


def test_softmax_bool_labels_on_dask_raise_type_error_naming_y() -> None:
    # as in memory (and Categorical.fit): a label is a category index, not a bool; the
    # check sees the dtype before the labels are converted to float64
    rng = np.random.default_rng(28)
    X, y = _softmax_data(rng, 50, 2, 2)
    dX = da.from_array(X, chunks=(20, 2))
    yb = y.astype(bool)
    dyb = da.from_array(yb, chunks=20)
    Cat = expfam.Categorical
    for X_, y_ in [(dX, yb), (X, dyb), (dX, dyb)]:
        with pytest.raises(TypeError, match=r"^`y` must hold integer labels; got dtype bool"):
            expfam.glm(Cat, X_, y_)
    with pytest.raises(TypeError, match=r"^`y` must hold integer labels; found the bool True"):
        expfam.glm(Cat, dX, [int(v) for v in y[:-1]] + [True])
    # rows of counts may be bool (0/1): the in-memory fit of the same counts
    C = np.eye(2, dtype=bool)[y]
    got = expfam.glm(Cat, dX, da.from_array(C, chunks=(20, 2)))
    assert_same_glm(got, expfam.glm(Cat, X, C.astype(F)))


def test_softmax_on_a_local_cluster(dask_client: Any) -> None:
    rng = np.random.default_rng(27)
    X, y = _softmax_data(rng, 12_000, 3, 4)
    dX = da.from_array(X, chunks=(3000, 3)).persist()
    dy = da.from_array(y, chunks=3000).persist()
    got = expfam.glm(expfam.Categorical, dX, dy, cov_type="robust")
    assert_same_glm(got, expfam.glm(expfam.Categorical, X, y, cov_type="robust"))
    Xs, P = _softmax_data(rng, 3000, 2, 3, soft=True)
    w = rng.uniform(0.5, 2.0, size=3000)
    got = expfam.glm(
        expfam.Categorical,
        da.from_array(Xs, chunks=(700, 2)),
        da.from_array(P, chunks=(700, 3)),
        weights=da.from_array(w, chunks=700),
    )
    assert_same_glm(got, expfam.glm(expfam.Categorical, Xs, P, weights=w))


def test_object_dtype_response_beside_dask_x_raises_type_error_naming_y() -> None:
    """A numpy object array next to a Dask `X` raised dask's NotImplementedError (it
    cannot chunk object data); now the TypeError of every other non-numeric input."""
    rng = np.random.default_rng(29)
    dX = da.from_array(rng.normal(size=(40, 2)), chunks=(20, 2))
    y = np.array([1, 2] * 20, dtype=object)
    with pytest.raises(TypeError, match=r"^`y` must be a real numeric array; got dtype object"):
        expfam.glm(expfam.Poisson, dX, y)
