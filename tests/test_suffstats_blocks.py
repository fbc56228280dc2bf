"""The streaming pass of ``suffstats``: its blocks, lean paths and combine, against oracles.

``suffstats`` reads the data in blocks, takes a lean path for unweighted blocks
(support checked by the block's minimum and maximum, exact int64 sums for integer
data) and combines the blocks' parts once. Forcing tiny blocks runs every combine on
small samples: the statistics must agree with those of one block (and the gamma's
log-moment gap with mpmath) as closely as merged chunks do.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any
from unittest import mock

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import expfam._families.gamma as gamma_module
import expfam._family
from expfam import Bernoulli, Beta, Categorical, Dirichlet, Exponential, Gamma, Normal, Poisson
from expfam._special import _BERNOULLI_2K, _log_sum_fixed, _log_table, _phi_terms
from expfam._suffstats import exact_block_sum
from tests.helpers import assert_same_fit
from tests.registry import FamilyCase, get_registry
from tests.test_suffstats import FIT_ULPS, _sample

FITTING = [c for c in get_registry() if c.fits and c.family is not Categorical]


@pytest.mark.parametrize("case", FITTING, ids=lambda c: c.id)
@pytest.mark.parametrize("block", [1, 7, 64])
@pytest.mark.parametrize("weighted", [False, True])
def test_tiny_blocks_give_the_statistics_of_one_block(
    case: FamilyCase, block: int, weighted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist, x = _sample(case, 11, 700)
    fixed = case.fit_arguments(dist)
    w = np.random.default_rng(12).uniform(0, 2, size=700) if weighted else None
    one = case.family.suffstats(x, weights=w, **fixed)
    monkeypatch.setattr(expfam._family, "_BLOCK", block)
    blocked = case.family.suffstats(x, weights=w, **fixed)
    assert blocked.count == one.count
    assert blocked.total_weight == pytest.approx(one.total_weight, rel=1e-16)
    eps = float(np.finfo(np.float64).eps)
    scale = np.maximum(
        np.abs(one.mean_params), np.abs(one.mean_params).max(axis=-1, keepdims=True)
    )
    assert np.all(np.abs(blocked.mean_params - one.mean_params) <= 4 * eps * scale)
    try:
        whole = one.fit()
    except expfam.InfeasibleError:
        with pytest.raises(expfam.InfeasibleError):
            blocked.fit()
        return
    assert_same_fit(blocked.fit(), whole, FIT_ULPS.get(case.family, 4.0))


def _gap_reference(x: Any) -> float:
    """``log mean(x) - mean(log x)`` to 50 digits."""
    with mpmath.workdps(50):
        xs = [mpmath.mpf(float(v)) for v in x]
        m = mpmath.fsum(xs) / len(xs)
        return float(mpmath.log(m) - mpmath.fsum(mpmath.log(v) for v in xs) / len(xs))


def _gamma_samples() -> list[tuple[str, Any]]:
    rng = np.random.default_rng(5)
    return [
        ("shape 0.3", rng.gamma(0.3, 2.0, 3000)),
        ("shape 2", rng.gamma(2.0, 3.0, 3000)),
        ("shape 50", rng.gamma(50.0, 1.0, 3000)),
        ("spread 1e-4", 7.0 * (1 + 1e-4 * rng.standard_normal(3000))),
        ("spread 1e-9", 7.0 * (1 + 1e-9 * rng.standard_normal(3000))),
        ("huge", 1e250 * rng.gamma(3.0, 1.0, 3000)),
        ("tiny", 1e-250 * rng.gamma(3.0, 1.0, 3000)),
        ("far below the mean", np.concatenate([rng.gamma(2.0, 1.0, 2990), [1e-12] * 10])),
    ]


@pytest.mark.parametrize(("label", "x"), _gamma_samples(), ids=[s[0] for s in _gamma_samples()])
@pytest.mark.parametrize("block", [None, 50, 1024])
def test_gamma_gap_against_mpmath(
    label: str, x: Any, block: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every form of the terms (series on a whole narrow block, log1p with the series on
    # a subset, log(x/m) far below the mean) and the blocks' re-centring
    del label
    if block is not None:
        monkeypatch.setattr(expfam._family, "_BLOCK", block)
    s = Gamma.suffstats(x)
    gap = float(s._parts["g"]) / s.total_weight
    ref = _gap_reference(x)
    eps = float(np.finfo(np.float64).eps)
    assert abs(gap - ref) <= 8 * eps * ref, (gap, ref, abs(gap - ref) / (eps * ref))
    # the weighted (block) path computes the same terms
    sw = Gamma.suffstats(x, weights=np.ones(x.size))
    assert abs(float(sw._parts["g"]) / sw.total_weight - ref) <= 8 * eps * ref


def test_integer_sums_are_exact_beyond_float_precision() -> None:
    x = np.full(100, 2**55 + 1, dtype=np.int64)
    s = Poisson.suffstats(x)
    hi, lo = float(s._parts["t"][0]), float(s._parts["t_lo"][0])
    assert int(hi) + int(lo) == 100 * (2**55 + 1)
    big = np.array([2**62, 2**62, 1], dtype=np.int64)  # an int64 sum would overflow
    assert float(Poisson.suffstats(big).mean_params[0]) == pytest.approx(2**63 / 3, rel=1e-15)
    huge = np.array([2**63 + 6, 2], dtype=np.uint64)
    assert float(Poisson.suffstats(huge).mean_params[0]) == pytest.approx(2**62 + 4, rel=1e-15)


def test_lean_paths_raise_the_errors_of_the_checks() -> None:
    with pytest.raises(ValueError, match=r"integers in the support \{0, 1, 2, ...\}"):
        Poisson.suffstats(np.array([3, -1, 4], dtype=np.int64))
    with pytest.raises(ValueError, match=r"integers in the support \{0, 1, 2, ...\}"):
        Poisson.suffstats(np.array([3.0, 1.5]))
    with pytest.raises(ValueError, match=r"\{0, 1\}"):
        Bernoulli.suffstats(np.array([0, 2, 1], dtype=np.int8))
    with pytest.raises(ValueError, match="support"):
        Gamma.suffstats(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="finite"):
        Normal.suffstats(np.array([1.0, np.inf]))
    assert float(Bernoulli.fit(np.array([True, False, True, True])).probs) == 0.75
    assert float(Poisson.fit(np.array([3.0, 1.0, 2.0])).rate) == 2.0


def test_gamma_gap_terms_against_mpmath() -> None:
    # phi(x/m - 1) for one block, every form: the series (Taylor and the fitted
    # polynomial), log1p, and log(x/m) far below the mean; per term within the bound
    # of their docstring (13.4 u for a log accurate to an ulp, here 8 eps)
    m = 3.0
    small = np.geomspace(1e-9, 0.499, 100)
    r_grid = np.concatenate(
        [
            -1 + np.geomspace(1e-12, 0.6, 200),
            np.linspace(-0.8, 0.8, 400),  # no 0: the term is 0 there
            small,
            -small,
            np.geomspace(0.5, 1e6, 100),
        ]
    )
    x = m * (1 + r_grid)
    r = (x - m) / m
    work = np.empty((3, x.size))
    terms = _phi_terms(x, m, r.copy(), r_min=float(r.min()), r_max=float(r.max()), work=work)
    with mpmath.workdps(50):
        ref = np.array([float(mpmath.mpf(v) / m - 1 - mpmath.log(mpmath.mpf(v) / m)) for v in x])
    eps = float(np.finfo(np.float64).eps)
    rel = np.abs(terms - ref) / (eps * ref)
    assert np.all(rel <= 8), (x[np.argmax(rel)], float(rel.max()))
    # a narrow block takes the series on the whole block
    xn = m * (1 + 1e-3 * np.linspace(-1, 1, 101))
    rn = (xn - m) / m
    wn = np.empty((3, xn.size))
    tn = _phi_terms(xn, m, rn.copy(), r_min=float(rn.min()), r_max=float(rn.max()), work=wn)
    with mpmath.workdps(50):
        refn = np.array([float(mpmath.mpf(v) / m - 1 - mpmath.log(mpmath.mpf(v) / m)) for v in xn])
    ok = refn > 0
    assert np.all(np.abs(tn[ok] - refn[ok]) <= 8 * eps * refn[ok])


@pytest.mark.parametrize("family", [Exponential, Normal, Gamma, Beta], ids=lambda f: f.__name__)
def test_float32_blocks_are_summed_in_float64(family: Any) -> None:
    # a float32 block's lean sums must not run in float32 (numpy's choice for a
    # float32 array and a Python float, even into a float64 output)
    x = np.random.default_rng(3).gamma(2.0, 3.0, 5000).astype(np.float32)
    if family is Beta:
        x = (x / (x.max() + 1)).astype(np.float32)
    s32, s64 = family.suffstats(x), family.suffstats(x.astype(np.float64))
    assert s32.dtype == np.float32
    np.testing.assert_array_equal(s32.mean_params, s64.mean_params)
    assert family.fit(x).dtype == np.float32


def test_categorical_counts_of_integer_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(9).integers(0, 4, 1000)
    lean = Categorical.suffstats(x, num_categories=5)  # np.bincount per block
    checked = Categorical.suffstats(x, weights=np.ones(1000), num_categories=5)  # one-hot
    np.testing.assert_array_equal(lean.mean_params, checked.mean_params)
    np.testing.assert_array_equal(lean.mean_params[:4] * 1000, np.bincount(x))
    monkeypatch.setattr(expfam._family, "_BLOCK", 7)
    np.testing.assert_array_equal(
        Categorical.suffstats(x.astype(np.uint64), num_categories=5).mean_params,
        lean.mean_params,
    )
    with pytest.raises(ValueError, match="outside"):
        Categorical.suffstats(np.array([0, 5, 1]), num_categories=5)


def test_gamma_shape_solve_is_correctly_rounded() -> None:
    # the shape solving log(a) - psi(a) = s for a given gap s: within an ulp of the
    # mpmath root, and gaps one ulp apart give shapes at most 2 ulp apart (the double
    # solve alone stopped anywhere in a few-ulp interval: 4.5 ulp across chunkings)
    gaps = np.array([5.0, 1.2, 0.5, 0.27036941255071456, 0.07, 0.012, 4e-3, 1e-5, 3e-12])
    fitted = []
    for s in (gaps, np.nextafter(gaps, np.inf)):
        stats = Gamma.suffstats(np.array([1.0, 2.0]))  # replaced parts: the gap s, mean 1
        stats._parts.update(s=np.ones(s.shape), s_lo=np.zeros(s.shape), g=s)
        stats._weight = (1.0, 0.0)
        stats._shape = s.shape
        d = stats.fit()
        assert isinstance(d, Gamma)
        fitted.append(np.asarray(d.shape))
    ulp = np.spacing(fitted[0])
    assert np.all(np.abs(fitted[1] - fitted[0]) <= 2 * ulp), (fitted[1] - fitted[0]) / ulp
    with mpmath.workdps(50):
        for s, a in zip(gaps, fitted[0], strict=True):
            root = mpmath.findroot(
                lambda t, s=s: mpmath.log(t) - mpmath.digamma(t) - mpmath.mpf(float(s)),
                float(a),
            )
            assert abs(float(a) - root) <= np.spacing(float(a)), (s, float(a), root)


def test_bernoulli_numbers_of_the_exact_gamma_solve() -> None:
    for k, (num, den) in enumerate(_BERNOULLI_2K, start=1):
        assert mpmath.mpf(num) / den == mpmath.bernoulli(2 * k)


def test_log_table_is_correctly_rounded() -> None:
    _, table, ln2 = _log_table()
    with mpmath.workdps(50):
        for j in (*range(0, 1024, 37), 1023):
            assert abs(table[j] - mpmath.log(1 + mpmath.mpf(j) / 1024) * 2**100) <= 0.5
        assert abs(ln2 - mpmath.log(2) * 2**100) <= 0.5


@pytest.mark.parametrize(("label", "x"), _gamma_samples()[:3] + _gamma_samples()[5:7])
def test_exact_log_sums_against_mpmath(label: str, x: Any) -> None:
    # sum log x as an integer in units of 2**-100: exact but for the float sum t of the
    # log1p(d) < 2**-10 (error within (2 + L + log2 n + 16) u t) and the table's units
    del label
    logs, t, csum, dsum = _log_sum_fixed(x, np.empty((2, x.size)))
    eps = float(np.finfo(np.float64).eps)
    with mpmath.workdps(50):
        ref = mpmath.fsum(mpmath.log(mpmath.mpf(float(v))) for v in x)
        err = abs(mpmath.mpf(logs) / 2**100 - ref)
        assert err <= 40 * eps / 2 * t + x.size * 2.0**-99, float(err)
        assert mpmath.mpf(csum) + dsum == pytest.approx(mpmath.fsum(x), rel=2**-60)


@pytest.mark.parametrize("shape", [0.3, 2.0, 50.0])
def test_gamma_fit_of_a_large_sample_against_mpmath(shape: float) -> None:
    # blocks of 2**16 from exact log sums, combined as exact pairs, the shape polished
    # to 36 digits: the fitted shape is the MLE of the data correctly rounded (an ulp)
    x = np.random.default_rng(13).gamma(shape, 2.0, 70_000)
    d = Gamma.fit(x)
    with mpmath.workdps(40):
        xs = [mpmath.mpf(float(v)) for v in x]
        m = mpmath.fsum(xs) / len(xs)
        s = mpmath.log(m) - mpmath.fsum(mpmath.log(v) for v in xs) / len(xs)
        a = mpmath.findroot(lambda t: mpmath.log(t) - mpmath.digamma(t) - s, float(d.shape))
        assert abs(float(d.shape) - a) <= np.spacing(float(d.shape))
        assert abs(float(d.rate) - a / m) <= 2 * np.spacing(float(d.rate))


def test_gamma_blocks_take_the_exact_log_sums_where_their_bound_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the table form when its error bound is within 4 u of the gap (wide data), the
    # series of phi terms otherwise (narrow data); both within an ulp of mpmath
    taken: list[bool] = []
    table_gap = gamma_module._table_gap

    def counting(*args: Any, **kwargs: Any) -> Any:
        out = table_gap(*args, **kwargs)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(gamma_module, "_table_gap", counting)
    rng = np.random.default_rng(17)
    eps = float(np.finfo(np.float64).eps)
    for shape, table in ((2.0, True), (150.0, False)):
        x = rng.gamma(shape, 1.0, 4000)
        taken.clear()
        s = Gamma.suffstats(x)
        assert taken == [table]
        gap = (float(s._parts["g"]) + float(s._parts["g_lo"])) / s.total_weight
        ref = _gap_reference(x)
        assert abs(gap - ref) <= eps * ref, (shape, abs(gap - ref) / (eps * ref))


# ---------------------------------------------------------------------- Dirichlet lean path
def _dirichlet_stats(x: Any, block: int, *, lean: bool) -> tuple[Any, list[bool]]:
    """Dirichlet statistics of `x` in blocks of `block` elements, by the lean path or not.

    Also returns, per block, whether the lean path took it.
    """
    taken: list[bool] = []
    fast = Dirichlet._stats_fast.__func__  # type: ignore[attr-defined]

    def spy(cls: Any, *args: Any) -> Any:
        out = fast(cls, *args) if lean else None
        taken.append(out is not None)
        return out

    with (
        mock.patch.object(expfam._family, "_BLOCK", block),
        mock.patch.object(Dirichlet, "_stats_fast", classmethod(spy)),
    ):
        return Dirichlet.suffstats(x), taken


def _assert_same_statistics(a: Any, b: Any) -> None:
    assert (a.count, a._weight, a.batch_shape) == (b.count, b._weight, b.batch_shape)
    assert a.dtype == b.dtype
    assert set(a._parts) == set(b._parts)
    for key in a._parts:
        np.testing.assert_array_equal(a._parts[key], b._parts[key], err_msg=key)


@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 9),
    n=st.integers(1, 400),
    log_scale=st.floats(-2.5, 3.5),
    block=st.sampled_from([1, 7, 64, 1000, 1 << 16]),
)
@example(seed=0, k=3, n=50, log_scale=-2.5, block=1 << 16)  # exact zeros: the checked path
@example(seed=1, k=2, n=1, log_scale=0.0, block=1 << 16)  # one observation: no spread
def test_dirichlet_lean_statistics_equal_the_checked_ones(
    seed: int, k: int, n: int, log_scale: float, block: int
) -> None:
    # bit for bit, over random data, concentrations from 3e-3 to 3e3 and chunkings
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(10.0**log_scale * rng.uniform(0.2, 5.0, k), size=n)
    lean, taken = _dirichlet_stats(x, block, lean=True)
    checked, _ = _dirichlet_stats(x, block, lean=False)
    _assert_same_statistics(lean, checked)
    if np.all(x > 0) and block >= k:  # positive rows: every block takes the lean path
        assert all(taken), taken


def test_dirichlet_lean_path_where_the_splitter_needs_the_logs() -> None:
    # min x_0 = exp(-2), so -log(min x_0) is within rounding of a power of two: the
    # branch that takes the splitter's exponent from the logs themselves
    x = np.random.default_rng(4).dirichlet([20.0, 3.0, 4.0], size=500)
    x[x[:, 0] < 0.25] = [0.5, 0.25, 0.25]
    x[17] = [np.exp(-2.0), 0.5, 0.5 - np.exp(-2.0)]
    assert abs(-np.log(x[:, 0].min()) - 2.0) < 1e-15
    for data in (x, np.tile(x[17], (20, 1))):  # and rows all equal (no spread)
        lean, taken = _dirichlet_stats(data, 1 << 16, lean=True)
        assert taken == [True]
        _assert_same_statistics(lean, _dirichlet_stats(data, 1 << 16, lean=False)[0])


def test_dirichlet_lean_path_leaves_batches_and_float32_to_the_checked_path() -> None:
    x = np.random.default_rng(5).dirichlet([2.0, 3.0, 4.0], size=600)
    _, taken = _dirichlet_stats(x.reshape(200, 3, 3), 1 << 16, lean=True)  # batch (3,)
    assert taken == [False]
    # float32 data are checked with float32's tolerance and their logs summed in
    # float32; also rows that sum to 1 exactly (dyadic), which pass float64's check
    a = np.random.default_rng(6).integers(1, 1000, size=(600, 2)) / 2048
    dyadic = np.column_stack([a, 1 - a.sum(axis=1)])
    for x32 in (x.astype(np.float32), dyadic.astype(np.float32)):
        lean32, taken = _dirichlet_stats(x32, 1 << 16, lean=True)
        assert taken == [False]
        _assert_same_statistics(lean32, _dirichlet_stats(x32, 1 << 16, lean=False)[0])


@pytest.mark.parametrize(
    ("row", "error", "match"),
    [
        ([0.5, 0.5 + 1e-9], ValueError, "on the simplex"),
        ([0.5, np.nan], ValueError, "non-negative"),
        ([1.5, -0.5], ValueError, "non-negative"),
        ([1e308, 1e308], ValueError, r"on the simplex .*; found inf"),  # no overflow warning
    ],
)
def test_dirichlet_lean_path_leaves_the_errors_to_the_checks(
    row: list[float], error: type[Exception], match: str
) -> None:
    x = np.random.default_rng(6).dirichlet([2.0, 3.0], size=300)
    x[123] = row
    with pytest.raises(error, match=match):
        Dirichlet.suffstats(x)


@pytest.mark.parametrize("family", [Beta, Dirichlet], ids=lambda f: f.__name__)
def test_no_spread_is_infeasible_in_every_chunking(family: Any) -> None:
    x = np.full(300, 0.25) if family is Beta else np.tile([0.25, 0.75], (300, 1))
    match = f"no spread .* the {family.__name__} MLE does not exist"
    for block in (1, 64, 1 << 16):
        with mock.patch.object(expfam._family, "_BLOCK", block):
            with pytest.raises(expfam.InfeasibleError, match=match):
                family.fit(x)
            y = x.copy()
            y[-1] = 0.5 if family is Beta else [0.5, 0.5]  # the last block differs
            assert family.fit(y).batch_shape == ()


@given(
    st.lists(
        st.floats(min_value=-1.7e308, max_value=1.7e308, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=40,
    ),
    st.floats(min_value=2.0**1000, max_value=1.7e308),
)
@example(values=[1e300, 1.7e308], big=1.7e308)
@example(values=[1.7e308, -1.6e308, 1.0], big=1.7e308)
def test_exact_block_sum_near_the_largest_float(values: list[float], big: float) -> None:
    """Values within ~4n of the largest float: the splitter 2**k >= 2n max|v| would
    overflow (the parts were nan: `Poisson.fit([1e300, 1.7e308])` named `mean_params`);
    the extraction runs on v / 2**64 and the pair is scaled back, exactly."""
    v = np.array([*values, big])
    hi, lo = exact_block_sum(v)
    exact = sum((Fraction(x) for x in v.tolist()), Fraction(0))
    if abs(exact) > Fraction(float(np.finfo(np.float64).max)):
        return  # (the sum overflows: inf is right; not checked here)
    assert np.isfinite(hi)
    assert np.isfinite(lo)
    n = v.size
    bound = Fraction(n * n, 2**104) * sum((abs(Fraction(x)) for x in v.tolist()), Fraction(0))
    assert abs(Fraction(float(hi)) + Fraction(float(lo)) - exact) <= bound


def test_poisson_fit_of_counts_near_the_largest_float() -> None:
    d = Poisson.fit([1e300, 1.7e308])
    assert float(d.rate) == pytest.approx((1e300 + 1.7e308) / 2, rel=4e-16)
