"""Behaviour of :class:`expfam.Categorical` beyond the generic laws of ``test_laws.py``.

Construction and its errors, shift invariance, masked categories, the seed identity
``Categorical(probs=p).cross_entropy(Categorical(logits=u)) = cross_entropy_with_logits(p, u)
= KL(p||S(u)) + H(p)`` with gradient ``S(u) - p``, broadcasting, sampling (chi-square), fitting
and temperature. Accuracy against mpmath is in ``test_categorical_accuracy.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray
from scipy import stats

from expfam import (
    Bernoulli,
    Categorical,
    Dirichlet,
    ExponentialFamily,
    Poisson,
    cross_entropy_with_logits,
    entropy,
    kl_divergence,
    log_softmax,
    logsumexp,
    softmax,
)
from tests.helpers import assert_close, eps_of

inf = np.inf
F = NDArray[np.floating[Any]]
DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))

# ---------------------------------------------------------------------- strategies

dtypes = st.sampled_from(DTYPES)
batch_shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)


@st.composite
def logits(
    draw: st.DrawFn,
    dtype: np.dtype[Any] | None = None,
    shape: tuple[int, ...] | None = None,
    *,
    masked: bool = True,
    grid: bool = False,
) -> F:
    """Logits in [-60, 60] (on a grid of 2**-8 if `grid`), some -inf, each row one finite."""
    dt: np.dtype[Any] = draw(dtypes) if dtype is None else dtype
    if shape is None:
        shape = (*draw(batch_shapes), draw(st.integers(1, 6)))
    if grid:
        elements: st.SearchStrategy[float] = st.integers(-60 * 256, 60 * 256).map(
            lambda i: i / 256
        )
    else:
        elements = st.floats(-60, 60, width=32 if dt == np.float32 else 64)
    u: F = draw(hnp.arrays(dt, shape, elements=elements))
    if masked:
        mask = draw(hnp.arrays(np.bool_, shape))
        keep = draw(hnp.arrays(np.intp, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
        np.put_along_axis(mask, keep[..., None], values=False, axis=-1)
        u[mask] = -inf
    return u


@st.composite
def simplex(draw: st.DrawFn, dtype: np.dtype[Any], shape: tuple[int, ...]) -> F:
    """Probability vectors with exact zeros, normalised in float64 then rounded."""
    w = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    w[..., 0] += 1e-3  # a row is never all zero
    p: F = (w / w.sum(axis=-1, keepdims=True)).astype(dtype)
    return p


def f64(x: Any) -> NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------------- construction


def test_construct_from_logits_and_probs() -> None:
    d = Categorical(logits=[1.0, 2.0, -inf])
    assert d.num_categories == 3
    assert d.batch_shape == ()
    assert d.param_shape == (3,)
    assert d.logits is d.natural_params
    np.testing.assert_array_equal(d.probs, d.mean_params)
    assert_close(d.probs, softmax([1.0, 2.0, -inf]), dtype=np.float64, shape=(3,), rtol_eps=2)
    assert_close(d.log_probs, log_softmax([1.0, 2.0, -inf]), dtype=np.float64, rtol_eps=2)
    p = Categorical(probs=[[0.25, 0.75, 0.0]])
    np.testing.assert_array_equal(p.logits[0, :2], np.log([0.25, 0.75]))
    np.testing.assert_array_equal(p.probs, [[0.25, 0.75, 0.0]])
    assert p.logits[0, 2] == -inf
    assert p.batch_shape == (1,)
    # integers become float64
    assert Categorical(logits=[0, 1]).dtype == np.float64
    assert Categorical(probs=[0, 1]).dtype == np.float64
    assert Categorical(logits=np.zeros(2, np.float16)).dtype == np.float32
    assert "num_categories=3" in repr(d)


def test_parameters_are_read_only() -> None:
    u = np.array([0.0, 1.0])
    d = Categorical(logits=u)
    u[0] = 5.0  # a copy was taken
    assert d.logits[0] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        d.logits[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        Categorical(probs=[0.5, 0.5]).probs[0] = 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, TypeError, "exactly one of `logits` and `probs`; got neither"),
        ({"logits": [0.0], "probs": [1.0]}, TypeError, "got both"),
        ({"logits": [0.0, np.nan]}, ValueError, r"`logits` must not contain nan.*index \(1,\)"),
        ({"logits": [[0.0, inf]]}, ValueError, r"`logits` must not contain \+inf.*\(0, 1\)"),
        ({"logits": [[0.0, 1.0], [-inf, -inf]]}, ValueError, r"row \(1,\) of `logits`.*all -inf"),
        ({"logits": 1.0}, ValueError, r"`logits` must have shape.*got \(\)"),
        ({"logits": np.zeros((2, 0))}, ValueError, r"`logits` must have shape.*\(2, 0\)"),
        ({"logits": [1j, 0]}, TypeError, "`logits` must be real"),
        ({"logits": ["a"]}, TypeError, "`logits`"),
        ({"probs": [0.5, -0.5, 1.0]}, ValueError, r"`probs` must be non-negative; found -0.5"),
        ({"probs": [0.5, np.nan]}, ValueError, r"`probs` must be finite; found .*nan"),
        ({"probs": [0.5, inf]}, ValueError, r"`probs` must be finite; found .*inf"),
        ({"probs": [[0.5, 0.5], [0.5, 0.6]]}, ValueError, r"sum to 1.*row \(1,\) sums to 1.1"),
        ({"probs": [0.0, 0.0]}, ValueError, r"sums to 0.0"),
        ({"probs": 1.0}, ValueError, r"`probs` must have shape.*got \(\)"),
        ({"probs": [[0.5, 0.5], [1.0]]}, ValueError, "`probs` could not be converted"),
    ],
)
def test_construction_errors_name_the_argument(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Categorical(**kwargs)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_probs_sum_tolerance_scales_with_dtype(dtype: np.dtype[Any]) -> None:
    eps = eps_of(dtype)
    K = 4
    ok = np.full(K, 0.25, dtype=dtype)
    ok[0] += dtype.type(2 * eps)
    Categorical(probs=ok)
    bad = np.full(K, 0.25, dtype=dtype)
    bad[0] += dtype.type(64 * eps)
    with pytest.raises(ValueError, match="sum to 1"):
        Categorical(probs=bad)
    # a probability vector normalised in its own dtype is always accepted
    rng = np.random.default_rng(0)
    for _ in range(50):
        w = rng.random(int(rng.integers(1, 200))).astype(dtype)
        Categorical(probs=w / w.sum())


def test_from_natural_and_mean_params() -> None:
    d = Categorical.from_natural_params([0.0, 1.0])
    assert isinstance(d, Categorical)
    assert_close(d.probs, softmax([0.0, 1.0]), rtol_eps=2)
    m = Categorical.from_mean_params([0.2, 0.8], num_categories=2)
    np.testing.assert_array_equal(m.probs, [0.2, 0.8])
    with pytest.raises(ValueError, match=r"`num_categories`=3 does not match"):
        Categorical.from_mean_params([0.2, 0.8], num_categories=3)
    with pytest.raises(TypeError, match="only `num_categories`"):
        Categorical.from_natural_params([0.0, 1.0], n=3)
    with pytest.raises(ValueError, match="nan"):
        Categorical.from_natural_params([0.0, np.nan])
    with pytest.raises(ValueError, match="`mean_params` must be non-negative"):
        Categorical.from_mean_params([-0.2, 1.2])


# ---------------------------------------------------------------------- shift invariance


@given(u=logits(grid=True), shift=st.integers(-(2**20), 2**20))
def test_shift_invariance(u: F, shift: int) -> None:
    # on a grid of 2**-8 with |u| <= 60 and |shift| <= 2**20 every sum below is exact
    c = u.dtype.type(shift) if u.dtype == np.float64 else u.dtype.type(shift % 1024)
    d, e = Categorical(logits=u), Categorical(logits=u + c)
    np.testing.assert_array_equal(d.probs, e.probs)
    np.testing.assert_array_equal(d.log_probs, e.log_probs)
    np.testing.assert_array_equal(d.entropy(), e.entropy())
    np.testing.assert_array_equal(d.fisher_information(), e.fisher_information())
    np.testing.assert_array_equal(d.kl_divergence(e), np.zeros(d.batch_shape))
    np.testing.assert_array_equal(d.cross_entropy(e), d.entropy())
    x = d.sample(4, rng=0)
    np.testing.assert_array_equal(x, e.sample(4, rng=0))
    np.testing.assert_array_equal(d.log_prob(x), e.log_prob(x))
    assert_close(
        e.log_partition(),
        f64(d.log_partition()) + float(c),
        dtype=u.dtype,
        scale=np.abs(f64(d.log_partition())) + abs(float(c)),
        rtol_eps=2,
    )


# ---------------------------------------------------------------------- masked categories


@given(data=st.data(), dtype=dtypes)
def test_masked_categories_equal_the_subset(data: st.DataObject, dtype: np.dtype[Any]) -> None:
    K = data.draw(st.integers(2, 6))
    u = data.draw(logits(dtype, (K,), masked=False))
    v = data.draw(logits(dtype, (K,), masked=False))
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=K, max_size=K)))
    keep[data.draw(st.integers(0, K - 1))] = True
    um, vm = np.where(keep, u, -inf), np.where(keep, v, -inf)
    full_p, full_q = Categorical(logits=um), Categorical(logits=vm)
    sub_p, sub_q = Categorical(logits=u[keep]), Categorical(logits=v[keep])
    # mask equals subset
    assert_close(full_p.entropy(), f64(sub_p.entropy()), dtype=dtype, rtol_eps=4)
    assert_close(full_p.kl_divergence(full_q), f64(sub_p.kl_divergence(sub_q)), rtol_eps=4)
    assert_close(full_p.cross_entropy(full_q), f64(sub_p.cross_entropy(sub_q)), rtol_eps=4)
    assert_close(full_p.log_partition(), f64(sub_p.log_partition()), rtol_eps=4)
    assert np.all(full_p.probs[~keep] == 0)
    assert np.all(full_p.log_probs[~keep] == -inf)
    assert np.all(full_p.fisher_information()[~keep] == 0)
    assert np.all(full_p.fisher_information()[:, ~keep] == 0)
    assert not np.any(np.signbit(full_p.fisher_information()[~keep]))  # 0, not -0
    assert np.all(np.isin(full_p.sample(200, rng=1), np.flatnonzero(keep)))
    labels = np.arange(K)
    assert np.all(full_p.log_prob(labels)[~keep] == -inf)
    assert_close(full_p.log_prob(labels)[keep], f64(sub_p.log_probs), rtol_eps=4)


def test_masked_divergence_conventions() -> None:
    p = Categorical(logits=[0.0, 1.0, -inf])
    both = Categorical(logits=[2.0, 0.0, -inf])
    q_masks = Categorical(logits=[0.0, -inf, 3.0])
    p_masks = Categorical(logits=[0.0, 1.0, 5.0])
    assert np.isfinite(p.kl_divergence(both))
    assert p.kl_divergence(q_masks) == inf
    assert p.cross_entropy(q_masks) == inf
    assert np.isfinite(p.kl_divergence(p_masks))
    assert np.isfinite(p.entropy())
    # q = 0 < p even where p underflows to 0 in floating point: still +inf
    tiny = Categorical(logits=[0.0, -800.0])
    assert tiny.probs[1] == 0
    assert tiny.kl_divergence(Categorical(logits=[0.0, -inf])) == inf
    assert tiny.cross_entropy(Categorical(logits=[0.0, -inf])) == inf
    # and from probabilities: exact zeros are masks
    pp = Categorical(probs=[0.5, 0.5, 0.0])
    assert pp.kl_divergence(Categorical(probs=[1.0, 0.0, 0.0])) == inf
    assert pp.kl_divergence(Categorical(probs=[0.5, 0.5, 0.0])) == 0
    assert np.isfinite(pp.kl_divergence(Categorical(probs=[0.25, 0.25, 0.5])))
    with np.errstate(all="raise"):  # no floating-point warning escapes
        pp.kl_divergence(Categorical(probs=[1.0, 0.0, 0.0]))
        tiny.entropy()


def test_kernels_agree_with_methods() -> None:
    p = np.array([[0.2, 0.3, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0]])
    q = np.array([[0.1, 0.1, 0.4, 0.4], [0.25, 0.25, 0.25, 0.25]])
    P, Q = Categorical(probs=p), Categorical(probs=q)
    assert_close(P.entropy(), entropy(p), rtol_eps=4)
    assert_close(P.kl_divergence(Q), kl_divergence(p, q), rtol_eps=8)
    assert_close(P.log_partition(), logsumexp(np.log(p, where=p > 0, out=np.full_like(p, -inf))))


# ---------------------------------------------------------------------- the seed identity


@given(data=st.data(), dtype=dtypes)
@example(data=None, dtype=np.dtype(np.float64))
def test_seed_identity(data: st.DataObject | None, dtype: np.dtype[Any]) -> None:
    if data is None:  # an explicit extreme: a confident model against a spread target
        p = np.array([0.0, 0.5, 0.5], dtype=dtype)
        u = np.array([0.0, -40.0, -inf], dtype=dtype)
    else:
        shape = (*data.draw(batch_shapes), data.draw(st.integers(1, 6)))
        p = data.draw(simplex(dtype, shape))
        u = data.draw(logits(dtype, shape))
    ce = Categorical(probs=p).cross_entropy(Categorical(logits=u))
    value, grad = cross_entropy_with_logits(p, u, return_grad=True)
    kl = Categorical(probs=p).kl_divergence(Categorical(logits=u))
    h = Categorical(probs=p).entropy()
    assert ce.dtype == dtype
    assert_close(ce, f64(value), dtype=dtype, rtol_eps=8)
    with np.errstate(invalid="ignore"):
        assert_close(ce, f64(kl) + f64(h), rtol_eps=8, scale=np.abs(f64(kl)) + np.abs(f64(h)))
    # gradient in u: S(u) - p, and numerically
    assert_close(grad, f64(softmax(u)) - f64(p), rtol_eps=8, atol_eps=8)
    if dtype == np.float64 and np.all(np.isfinite(ce)):
        u64 = f64(u)
        h_ = 1e-4
        for j in np.ndindex(u64.shape):
            if not np.isfinite(u64[j]):
                continue
            e = np.zeros_like(u64)
            e[j] = h_

            def ce_at(t: float, e: Any = e) -> Any:
                return f64(Categorical(probs=p).cross_entropy(Categorical(logits=u64 + t * e)))

            num = (-ce_at(2) + 8 * ce_at(1) - 8 * ce_at(-1) + ce_at(-2)) / (12 * h_)
            expected = f64(softmax(u64))[j] - f64(p)[j]
            np.testing.assert_allclose(num[j[:-1]], expected, atol=1e-8)


# ---------------------------------------------------------------------- broadcasting


def test_methods_broadcast_batch_shapes() -> None:
    rng = np.random.default_rng(0)
    p = Categorical(logits=rng.normal(size=(3, 1, 4)))
    q = Categorical(logits=rng.normal(size=(2, 4)))
    for value in (p.kl_divergence(q), p.cross_entropy(q), q.kl_divergence(p)):
        assert value.shape == (3, 2)
    expected = kl_divergence(p.probs, q.probs)
    assert_close(p.kl_divergence(q), expected, rtol_eps=64, atol_eps=4)
    # generic formulas broadcast too
    assert ExponentialFamily.kl_divergence(p, q).shape == (3, 2)


def test_pairwise_errors() -> None:
    p = Categorical(logits=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"`other` has 3 categories.*this distribution has 4"):
        p.kl_divergence(Categorical(logits=np.zeros(3)))
    with pytest.raises(ValueError, match=r"batch shapes \(3,\) and \(2,\)"):
        p.cross_entropy(Categorical(logits=np.zeros((2, 4))))

    class Other(Categorical):
        pass

    with pytest.raises(TypeError, match="`other` must be a Categorical; got Other"):
        p.kl_divergence(Other(logits=np.zeros(4)))
    with pytest.raises(TypeError, match="`other` must be a Categorical; got ndarray"):
        p.kl_divergence(np.zeros(4))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- log_prob


def test_log_prob_labels_and_shapes() -> None:
    d = Categorical(probs=[[0.25, 0.75, 0.0], [0.5, 0.25, 0.25]])
    assert_close(d.log_prob([1, 0]), np.log([0.75, 0.5]), shape=(2,), rtol_eps=2)
    assert d.log_prob([[2, 2]])[0, 0] == -inf
    assert d.log_prob(np.zeros((5, 2), dtype=np.uint8)).shape == (5, 2)
    assert d.log_prob(1).shape == (2,)
    assert d.log_prob([1.0, 2.0]).shape == (2,)  # integral floats are labels
    with pytest.raises(ValueError, match=r"label 3 outside \[0, 3\)"):
        d.log_prob([0, 3])
    with pytest.raises(ValueError, match=r"label -1 outside"):
        d.log_prob([-1, 0])
    with pytest.raises(ValueError, match=r"integer labels; found 0.5"):
        d.log_prob([0.5, 1])
    with pytest.raises(TypeError, match="integer labels; got dtype <U1"):
        d.log_prob(["a", "b"])
    with pytest.raises(ValueError, match=r"`x` with shape \(3,\) does not broadcast"):
        d.log_prob([0, 1, 2])
    assert d.sufficient_statistic([[0, 2]]).shape == (1, 2, 3)
    assert d.log_base_measure([0, 2]).shape == (2,)


# ---------------------------------------------------------------------- sampling


@pytest.mark.parametrize("K", [6, 50], ids=["compare", "searchsorted"])
def test_sample_frequencies_chi_square(K: int) -> None:
    # Pearson chi-square goodness of fit at a fixed seed. The threshold is the 1 - 1e-4
    # quantile, so a correct sampler fails for a given seed with probability 1e-4 (this
    # seed passes; a biased sampler fails with a p-value far below it).
    rng = np.random.default_rng(42)
    u = rng.normal(size=(2, K))
    u[1, : K // 3] = -inf  # masked categories in the second row
    d = Categorical(logits=u)
    n = 60_000
    x = d.sample(n, rng=2024)
    assert x.shape == (n, 2)
    assert x.dtype == np.intp
    for row in range(2):
        p = f64(d.probs[row])
        counts = np.bincount(x[:, row], minlength=K)
        live = p > 0
        assert np.all(counts[~live] == 0)
        chi2 = ((counts[live] - n * p[live]) ** 2 / (n * p[live])).sum()
        threshold = stats.chi2.isf(1e-4, df=int(live.sum()) - 1)
        assert chi2 < threshold, (chi2, threshold)


def test_sample_is_reproducible_and_never_draws_a_zero() -> None:
    d = Categorical(probs=[0.0, 0.3, 0.0, 0.7, 0.0])
    a = d.sample((100, 3), rng=7)
    b = d.sample((100, 3), rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (100, 3)
    assert set(np.unique(a)) <= {1, 3}
    assert d.sample(rng=0).shape == ()
    assert Categorical(logits=[[0.0]]).sample(4, rng=0).tolist() == [[0]] * 4
    # the last category being masked cannot be hit by a uniform draw rounding up to 1
    edge = Categorical(logits=[0.0, -inf])
    assert np.all(edge.sample(1000, rng=3) == 0)


# ---------------------------------------------------------------------- fitting


def test_fit_from_labels() -> None:
    d = Categorical.fit([0, 0, 1, 0], 4)
    np.testing.assert_array_equal(d.probs, [0.75, 0.25, 0.0, 0.0])
    assert d.logits[2] == -inf  # never seen: probability 0
    assert d.batch_shape == ()
    w = Categorical.fit([0, 1, 2], 3, weights=[1.0, 2.0, 1.0])
    np.testing.assert_array_equal(w.probs, [0.25, 0.5, 0.25])
    s = Categorical.fit([0, 0, 1], 3, pseudocount=1.0)
    assert_close(s.probs, [0.5, 1 / 3, 1 / 6], rtol_eps=2)
    v = Categorical.fit([0, 0, 1], 3, pseudocount=[0.0, 0.0, 1.0])
    np.testing.assert_array_equal(v.probs, [0.5, 0.25, 0.25])
    assert Categorical.fit([], 2, pseudocount=0.5).probs.tolist() == [0.5, 0.5]
    assert Categorical.fit([0], 2, weights=np.ones(1, np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([0, 3], 3), {}, ValueError, r"label 3 outside \[0, 3\)"),
        (([0, -1], 3), {}, ValueError, r"label -1 outside"),
        (
            ([0, 1], 3),
            {"weights": [1.0, -1.0]},
            ValueError,
            "`weights` must be finite and non-neg",
        ),
        (([0, 1], 3), {"weights": [1.0, np.nan]}, ValueError, "`weights` must be finite"),
        (([0, 1], 3), {"weights": [1.0]}, ValueError, r"`weights` must have shape \(2,\)"),
        (([0, 1], 3), {"weights": [0.0, 0.0]}, ValueError, "nothing to fit"),
        (([], 3), {}, ValueError, r"nothing to fit: `x` \(shape \(0,\)\)"),
        (([0, 1], 3), {"pseudocount": -1.0}, ValueError, "`pseudocount` must be non-neg"),
        (([0, 1], 3), {"pseudocount": [1.0, 1.0]}, ValueError, "`pseudocount` with shape"),
        (([[0, 1]], 3), {}, ValueError, r"1-d array of labels; got shape \(1, 2\)"),
        (([0, 1], 0), {}, ValueError, "`num_categories` must be at least 1"),
        (([0, 1], 2.5), {}, TypeError, "`num_categories` must be an integer"),
        (([0, 1], True), {}, TypeError, "`num_categories` must be an integer"),
        (([0, True], 3), {}, TypeError, r"^`x` must hold integer labels; found the bool True"),
    ],
)
def test_fit_errors(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Categorical.fit(*args, **kwargs)


# bool labels: a label is a category index, and numpy reads a bool array as a mask, so
# a bool among labels is a TypeError (numpy alone would turn [0, True] into [0, 1])
BOOL_LABELS: list[Any] = [
    [0, True],
    [False, 1],
    (0.0, True),
    [0, np.True_],
    [np.ones((), dtype=bool), 0],  # a 0-d bool array in a list
    np.array([True, False]),
]
BOOL_LABEL_ERROR = r"^`x` must hold integer labels; (found the bool (True|False)|got dtype bool)"


ENTRY_POINTS: dict[str, Any] = {
    "fit": lambda x: Categorical.fit(x, 3),
    "weighted fit": lambda x: Categorical.fit(x, 3, weights=[1.0, 2.0]),
    "suffstats": lambda x: Categorical.suffstats(x, num_categories=3),
    "posterior": lambda x: Dirichlet(concentration=[1.0, 1.0, 1.0]).posterior(Categorical, x),
    "log_prob": lambda x: Categorical(probs=[0.2, 0.3, 0.5]).log_prob(x),
    "sufficient_statistic": lambda x: Categorical(logits=[0.0, 0.0, 0.0]).sufficient_statistic(x),
    "log_base_measure": lambda x: Categorical(logits=[0.0, 0.0, 0.0]).log_base_measure(x),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("x", BOOL_LABELS, ids=repr)
def test_bool_labels_raise_in_every_entry_point(x: Any, entry: str) -> None:
    with pytest.raises(TypeError, match=BOOL_LABEL_ERROR):
        ENTRY_POINTS[entry](x)


@pytest.mark.parametrize("x", [True, np.False_, [[0, 1], [2, False]]], ids=repr)
def test_bool_labels_raise_for_scalars_and_nested_lists(x: Any) -> None:
    d = Categorical(probs=[0.2, 0.3, 0.5])
    with pytest.raises(TypeError, match=BOOL_LABEL_ERROR):
        d.log_prob(x)


def test_bool_labels_raise_for_dask_arrays() -> None:
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.array([True, False, True]), chunks=2)
    with pytest.raises(TypeError, match=BOOL_LABEL_ERROR):
        Categorical.suffstats(x, num_categories=3)


@given(
    labels=st.lists(st.integers(0, 3), min_size=1, max_size=30),
    where=st.integers(0, 30),
    flag=st.booleans(),
)
def test_a_bool_anywhere_among_labels_raises(labels: list[int], where: int, flag: bool) -> None:
    # the same labels as integers fit; with one bool put in anywhere they raise
    counts = np.bincount(labels, minlength=4)
    np.testing.assert_array_equal(Categorical.fit(labels, 4).probs, counts / len(labels))
    with_bool: list[Any] = [*labels]
    with_bool.insert(where % (len(labels) + 1), flag)
    with pytest.raises(TypeError, match=f"found the bool {flag}"):
        Categorical.fit(with_bool, 4)


def test_bools_stay_numbers_where_they_are_counts_or_weights() -> None:
    # the dtype policy: bool input is 0/1 (counts, weights, Bernoulli-like outcomes)
    onehot = np.array([[True, False, False], [False, False, True]])
    np.testing.assert_array_equal(
        Categorical.fit_counts(onehot).probs, Categorical.fit_counts(onehot.astype(int)).probs
    )
    weighted = Categorical.fit([0, 1, 2], 3, weights=[True, False, True])
    np.testing.assert_array_equal(weighted.probs, [0.5, 0.0, 0.5])
    assert float(Poisson.fit([True, False, True, True]).rate) == 0.75
    assert float(Bernoulli.fit(np.array([True, False, True, True])).probs) == 0.75


def test_fit_counts() -> None:
    d = Categorical.fit_counts([[3, 1, 0], [0, 0, 2]])
    np.testing.assert_array_equal(d.probs, [[0.75, 0.25, 0.0], [0.0, 0.0, 1.0]])
    assert d.batch_shape == (2,)
    s = Categorical.fit_counts([3, 1, 0], pseudocount=1)
    assert_close(s.probs, [4 / 7, 2 / 7, 1 / 7], rtol_eps=2)
    assert Categorical.fit_counts(np.array([1, 2], np.float32)).dtype == np.float32
    huge = Categorical.fit_counts([1e308, 1e308, 0.0])  # the total overflows
    np.testing.assert_array_equal(huge.probs, [0.5, 0.5, 0.0])
    with pytest.raises(ValueError, match=r"row \(1,\) of `counts`.*sums to 0"):
        Categorical.fit_counts([[1, 0], [0, 0]])
    with pytest.raises(ValueError, match=r"^`counts` \(plus `pseudocount`\) sums to 0"):
        Categorical.fit_counts([0, 0])
    with pytest.raises(ValueError, match="`counts` must be non-negative"):
        Categorical.fit_counts([1, -1])
    with pytest.raises(ValueError, match="`counts` must be finite"):
        Categorical.fit_counts([1, inf])
    with pytest.raises(ValueError, match=r"`counts` must have shape.*\(\)"):
        Categorical.fit_counts(3)


def test_fit_recovers_probs_on_a_large_sample() -> None:
    truth = Categorical(probs=[0.5, 0.3, 0.15, 0.05, 0.0])
    n = 100_000
    x = truth.sample(n, rng=5)
    fitted = Categorical.fit(x, 5)
    p = f64(truth.probs)
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(f64(fitted.probs) - p) <= 5 * se)
    assert fitted.probs[4] == 0


def test_fit_agrees_with_generic_moment_matching() -> None:
    x = np.array([0, 2, 2, 1, 2])
    w = np.array([0.5, 1.0, 2.0, 0.25, 1.0])
    generic = ExponentialFamily.__dict__["fit"].__func__
    expected = generic(Categorical, x, weights=w, num_categories=4)
    got = Categorical.fit(x, 4, weights=w)
    assert_close(got.probs, f64(expected.probs), rtol_eps=4)
    assert got.logits[3] == expected.logits[3] == -inf


# ---------------------------------------------------------------------- temperature


def test_temperature() -> None:
    u = np.array([2.0, 2.0, 0.0, -inf])
    d = Categorical(logits=u)
    np.testing.assert_array_equal(d.with_temperature(1.0).logits, u)
    np.testing.assert_array_equal(d.with_temperature(0.5).logits, u / 0.5)
    np.testing.assert_array_equal(d.with_temperature(0).probs, [0.5, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(d.with_temperature(inf).probs, [1 / 3, 1 / 3, 1 / 3, 0.0])
    # the limits are continuous
    assert_close(d.with_temperature(1e-3).probs, [0.5, 0.5, 0.0, 0.0], atol_eps=1)
    assert_close(d.with_temperature(1e12).probs, [1 / 3, 1 / 3, 1 / 3, 0], rtol_eps=1e5)
    # batch of temperatures broadcasts against the batch
    b = d.with_temperature([[0.0], [1.0], [inf]])
    assert b.batch_shape == (3, 1)
    # a tiny temperature whose logits / T overflow falls back to shifted logits
    big = Categorical(logits=[1e10, 1e10 - 1, -inf]).with_temperature(1e-300)
    np.testing.assert_array_equal(big.probs, [1.0, 0.0, 0.0])
    assert_close(big.logits, [0.0, -1e300, -inf], rtol_eps=1)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_temperature_keeps_dtype(dtype: np.dtype[Any]) -> None:
    d = Categorical(logits=np.array([3.0, 1.0, -inf], dtype=dtype))
    for t in (0.0, 1e-30, 0.5, 2.0, 1e30, inf):
        out = d.with_temperature(t)
        assert out.dtype == dtype
        assert not np.any(np.isnan(out.probs))


@pytest.mark.parametrize("t", [-1.0, np.nan, [1.0, -0.5]])
def test_temperature_errors(t: Any) -> None:
    with pytest.raises(ValueError, match="`temperature` must be non-negative"):
        Categorical(logits=[0.0, 1.0]).with_temperature(t)
    with pytest.raises(ValueError, match="`temperature` with shape"):
        Categorical(logits=np.zeros((2, 3))).with_temperature([1.0, 2.0, 3.0])


# ---------------------------------------------------------------------- scipy.stats


def test_agrees_with_scipy_rv_discrete() -> None:
    rng = np.random.default_rng(3)
    for _ in range(10):
        K = int(rng.integers(1, 7))
        u = rng.normal(scale=3, size=K)
        d = Categorical(logits=u)
        p = f64(d.probs)
        ref = stats.rv_discrete(values=(np.arange(K), p / p.sum()))
        assert_close(d.entropy(), ref.entropy(), rtol_eps=64, atol_eps=64)
        labels = np.arange(K)
        assert_close(d.log_prob(labels), ref.logpmf(labels), rtol_eps=64, atol_eps=64)
        onehot = np.eye(K)
        multi = stats.multinomial.logpmf(onehot, 1, p / p.sum())
        assert_close(d.log_prob(labels), multi, rtol_eps=64, atol_eps=64)


# ---------------------------------------------------------------------- dtypes


@given(u=logits(dtype=np.dtype(np.float32)))
def test_float32_in_float32_out(u: F) -> None:
    d = Categorical(logits=u)
    q = Categorical(logits=u[..., ::-1].copy())
    x = d.sample(2, rng=0)
    for value in (
        d.logits,
        d.probs,
        d.log_probs,
        d.log_partition(),
        d.fisher_information(),
        d.entropy(),
        d.cross_entropy(q),
        d.kl_divergence(q),
        d.log_prob(x),
        d.sufficient_statistic(x),
        d.log_base_measure(x),
        d.with_temperature(2.0).logits,
    ):
        assert value.dtype == np.float32
    assert Categorical(probs=np.array([0.5, 0.5], np.float32)).probs.dtype == np.float32
    # float32 with float64: float64
    assert d.kl_divergence(Categorical(logits=f64(q.logits))).dtype == np.float64


def test_fisher_null_space_is_the_all_ones_direction() -> None:
    # documented: a common shift of the logits does not change the distribution
    rng = np.random.default_rng(8)
    u = rng.normal(scale=5, size=(4, 5))
    u[0, 0] = -inf
    F_ = Categorical(logits=u).fisher_information()
    assert_close(F_ @ np.ones(5), np.zeros((4, 5)), atol_eps=4)
    eig = np.linalg.eigvalsh(F_)
    assert np.all(np.sum(eig <= 1e-15, axis=-1) == [2, 1, 1, 1])  # + the masked direction
    # confident rows keep the diagonal p_i (1 - p_i) accurate (no 1 - 1 cancellation)
    d = Categorical(logits=[0.0, -40.0, -41.0])
    p = f64(d.probs)
    complement = np.array([p[1] + p[2], 1 - p[1], 1 - p[2]])  # 1 - p_i without cancellation
    assert_close(np.diagonal(d.fisher_information()), p * complement, rtol_eps=8)


def test_probs_and_logits_are_keyword_only() -> None:
    # Categorical([0.3, 0.7]) once silently read probabilities as logits
    with pytest.raises(TypeError):
        Categorical([0.3, 0.7])  # type: ignore[call-arg]


def test_sample_size_accepts_a_list_and_rejects_negative_sizes() -> None:
    d = Categorical(probs=[0.2, 0.8])
    assert d.sample([2, 3], rng=0).shape == (2, 3)
    np.testing.assert_array_equal(d.sample([2, 3], rng=0), d.sample((2, 3), rng=0))
    with pytest.raises(ValueError, match="`size`"):
        d.sample(-1, rng=0)
    with pytest.raises(TypeError, match="`size`"):
        d.sample(2.5, rng=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_and_variance_of_the_one_hot_outcome(dtype: Any) -> None:
    logits = np.array([[0.0, -40.0, -np.inf], [1.0, 2.0, 3.0]], dtype=dtype)
    d = Categorical(logits=logits)
    mean, var = d.mean(), d.variance()
    assert mean.dtype == var.dtype == np.dtype(dtype)
    assert mean.shape == var.shape == (2, 3)
    np.testing.assert_array_equal(mean, d.mean_params)
    np.testing.assert_array_equal(var, np.diagonal(d.fisher_information(), axis1=-2, axis2=-1))
    # a confident row keeps its digits: p(1 - p) with 1 - p of the top summed from the rest
    s = np.exp(-40.0)
    assert_close(var[0, :2], [s / (1 + s) ** 2] * 2, dtype=dtype, rtol_eps=4)
    assert var[0, 2] == 0.0
    labels = d.sample(200_000, rng=11)
    onehot = labels[..., None] == np.arange(3)
    assert np.all(np.abs(onehot.var(axis=0) - var) < 5 * np.sqrt(2 * var / 200_000) + 1e-12)
