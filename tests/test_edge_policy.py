"""The edge policy of the kernels, row by row (see the docstring of :mod:`expfam`).

Every row of the policy is checked for every kernel it concerns, and in every code path
a row can take: alone as a 1-D vector (the lean path), stacked with a benign row (the
blocked path; the benign row must come out as if alone), along a non-contiguous axis
(blocks copied to a buffer), and as a "long" row processed in chunks along the axis
(forced by shrinking the block size).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import expfam
from expfam import _kernels
from tests.helpers import assert_close

inf, nan = np.inf, np.nan
LAYOUTS = ["vector", "batched", "strided", "long"]

# name -> (function of (args..., axis) returning a tuple of arrays, kinds of the args,
#          kinds of the outputs); an arg kind is "logits" or "probs", an output kind
#          "reduced" or "full"
Kernel = tuple[Callable[..., tuple[Any, ...]], tuple[str, ...], tuple[str, ...]]
KERNELS: dict[str, Kernel] = {
    "logsumexp": (lambda x, axis: (expfam.logsumexp(x, axis=axis),), ("logits",), ("reduced",)),
    "softmax": (lambda x, axis: (expfam.softmax(x, axis=axis),), ("logits",), ("full",)),
    "log_softmax": (lambda x, axis: (expfam.log_softmax(x, axis=axis),), ("logits",), ("full",)),
    "cross_entropy_with_logits": (
        lambda p, u, axis: expfam.cross_entropy_with_logits(p, u, axis=axis, return_grad=True),
        ("probs", "logits"),
        ("reduced", "full"),
    ),
    "entropy": (lambda p, axis: (expfam.entropy(p, axis=axis),), ("probs",), ("reduced",)),
    "kl_divergence": (
        lambda p, q, axis: (expfam.kl_divergence(p, q, axis=axis),),
        ("probs", "probs"),
        ("reduced",),
    ),
    "cross_entropy": (
        lambda p, q, axis: (expfam.cross_entropy(p, q, axis=axis),),
        ("probs", "probs"),
        ("reduced",),
    ),
}


def _benign(kind: str, k: int) -> Any:
    return np.linspace(-1.0, 1.0, k) if kind == "logits" else np.full(k, 1.0 / k)


def _stack(arg: Any, kind: str, axis: int) -> Any:
    a = np.asarray(arg)
    a = a if a.dtype.kind == "f" else a.astype(float)  # float32 rows stay float32
    return np.stack([a, _benign(kind, a.shape[-1]).astype(a.dtype)], axis=axis)


def evaluate(name: str, args: tuple[Any, ...], layout: str) -> tuple[Any, ...]:
    """The outputs of kernel `name` for the row(s) `args`, computed in `layout`."""
    fn, kinds, outs = KERNELS[name]
    if layout == "vector":
        return fn(*args, axis=-1)
    # batched: rows stacked as (2, K), reduced over axis 1; strided: stacked as (K, 2) and
    # reduced over axis 0, which is not contiguous
    axis = 1 if layout in ("batched", "long") else 0
    res = fn(*[_stack(a, kd, 1 - axis) for a, kd in zip(args, kinds, strict=True)], axis=axis)

    def row(r: Any, i: int, out: str) -> Any:
        return r[i] if (out == "reduced" or axis == 1) else r[:, i]

    # the benign companion row is not affected by its neighbour
    alone = fn(*[_benign(kd, np.shape(a)[-1]) for a, kd in zip(args, kinds, strict=True)], axis=-1)
    for r, expected, out in zip(res, alone, outs, strict=True):
        assert_close(row(r, 1, out), expected, rtol_eps=4)
    return tuple(row(r, 0, out) for r, out in zip(res, outs, strict=True))


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "long":  # rows of 3+ entries take the chunked long-row path
        monkeypatch.setattr(_kernels, "_BLOCK", 2)
    return str(request.param)


def _check(actual: Any, expected: Any) -> None:
    """Exact match of nan/inf/0 patterns; finite values to 4 eps."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    assert a.shape == e.shape, (a.shape, e.shape)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
    exact = np.isinf(e) | (e == 0)
    np.testing.assert_array_equal(a[exact], e[exact])
    fin = ~(exact | np.isnan(e))
    assert_close(a[fin], e[fin], rtol_eps=4)


# --------------------------------------------------------------------------------------
# -inf logits are masked categories
# --------------------------------------------------------------------------------------


def test_masked_category_has_probability_exactly_zero(layout: str) -> None:
    (s,) = evaluate("softmax", ([0.0, -inf, np.log(3.0)],), layout)
    _check(s, [0.25, 0.0, 0.75])


def test_masked_category_has_log_probability_minus_inf(layout: str) -> None:
    (ls,) = evaluate("log_softmax", ([0.0, -inf, np.log(3.0)],), layout)
    _check(ls, [np.log(0.25), -inf, np.log(0.75)])


def test_masked_category_equals_removing_it(layout: str) -> None:
    u, keep = np.array([0.3, -inf, -1.2, -inf]), [0, 2]
    (lse,) = evaluate("logsumexp", (u,), layout)
    assert_close(lse, expfam.logsumexp(u[keep]), rtol_eps=4)
    p = np.array([0.6, 0.0, 0.4, 0.0])
    h, g = evaluate("cross_entropy_with_logits", (p, u), layout)
    h_sub, g_sub = expfam.cross_entropy_with_logits(p[keep], u[keep], return_grad=True)
    assert_close(h, h_sub, rtol_eps=4)
    assert_close(g[keep], g_sub, rtol_eps=4)


def test_masked_category_with_zero_weight_contributes_exactly_zero(layout: str) -> None:
    # p = [1, 0], u = [0, -inf]: -1 log 1 - 0 log 0 = 0 exactly, and a zero gradient
    h, g = evaluate("cross_entropy_with_logits", ([1.0, 0.0], [0.0, -inf]), layout)
    _check(h, 0.0)
    _check(g, [0.0, 0.0])
    (h2,) = evaluate("cross_entropy", ([1.0, 0.0], [1.0, 0.0]), layout)
    _check(h2, 0.0)


# --------------------------------------------------------------------------------------
# 0 log 0 = 0; +inf where q = 0 < p; never a nan because of a zero
# --------------------------------------------------------------------------------------


def test_zero_log_zero_is_zero(layout: str) -> None:
    (h,) = evaluate("entropy", ([0.5, 0.0, 0.5],), layout)
    _check(h, np.log(2.0))
    (h1,) = evaluate("entropy", ([1.0, 0.0, 0.0],), layout)
    _check(h1, 0.0)
    (kl,) = evaluate("kl_divergence", ([1.0, 0.0, 0.0], [0.5, 0.0, 0.5]), layout)
    _check(kl, np.log(2.0))


@pytest.mark.parametrize("name", ["kl_divergence", "cross_entropy"])
def test_divergence_is_inf_where_q_is_zero_below_p(name: str, layout: str) -> None:
    (v,) = evaluate(name, ([0.5, 0.5, 0.0], [1.0, 0.0, 0.0]), layout)
    _check(v, inf)


def test_cross_entropy_with_logits_is_inf_where_a_masked_category_has_weight(layout: str) -> None:
    h, g = evaluate("cross_entropy_with_logits", ([0.5, 0.5], [0.0, -inf]), layout)
    _check(h, inf)
    _check(g, [0.5, -0.5])  # the gradient stays finite: S(u) - p


@pytest.mark.parametrize("name", ["kl_divergence", "cross_entropy"])
def test_zero_weight_on_zero_probability_is_zero_not_nan(name: str, layout: str) -> None:
    (v,) = evaluate(name, ([0.0, 1.0], [0.0, 1.0]), layout)
    _check(v, 0.0)


# --------------------------------------------------------------------------------------
# logsumexp of special rows
# --------------------------------------------------------------------------------------

LSE_ROWS = [
    ([-inf, -inf, -inf], -inf),
    ([inf, 1.0, -inf], inf),
    ([inf, inf, 0.0], inf),
    ([-inf, inf, -inf], inf),
    ([nan, 1.0, 2.0], nan),
    ([1.0, nan, inf], nan),
    ([inf, nan, 0.0], nan),
    ([-inf, -inf, nan], nan),
    ([0.0, -inf, -inf], 0.0),
    ([-1e308, 1e308, -inf], 1e308),
]


@pytest.mark.parametrize(("row", "expected"), LSE_ROWS)
def test_logsumexp_special_rows(row: list[float], expected: float, layout: str) -> None:
    (v,) = evaluate("logsumexp", (row,), layout)
    _check(v, expected)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 0), (2, 0, 4)])
def test_logsumexp_of_empty_axis_is_minus_inf(shape: tuple[int, ...]) -> None:
    x = np.zeros(shape)
    axis = len(shape) - 1 if len(shape) < 3 else 1
    out = expfam.logsumexp(x, axis=axis)
    assert out.shape == tuple(n for i, n in enumerate(shape) if i != axis)
    assert np.all(out == -inf)
    assert expfam.logsumexp(x, axis=axis, keepdims=True).shape == tuple(
        1 if i == axis else n for i, n in enumerate(shape)
    )


def test_logsumexp_of_zero_rows_is_empty() -> None:
    assert expfam.logsumexp(np.zeros((0, 5))).shape == (0,)
    assert expfam.softmax(np.zeros((0, 5))).shape == (0, 5)


# --------------------------------------------------------------------------------------
# softmax / log_softmax / cross-entropy of undefined rows: nan for that row only
# --------------------------------------------------------------------------------------

UNDEFINED_ROWS = [
    [inf, 0.0, -inf],  # max is +inf
    [inf, inf, 1.0],
    [-inf, -inf, -inf],  # all masked
    [0.0, nan, 1.0],  # holds a nan
    [nan, inf, -inf],
]


@pytest.mark.parametrize("row", UNDEFINED_ROWS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_undefined_row_is_nan_throughout(name: str, row: list[float], layout: str) -> None:
    (v,) = evaluate(name, (row,), layout)
    _check(v, [nan, nan, nan])


@pytest.mark.parametrize("row", UNDEFINED_ROWS)
def test_cross_entropy_with_logits_of_undefined_row_is_nan(row: list[float], layout: str) -> None:
    h, g = evaluate("cross_entropy_with_logits", ([0.2, 0.3, 0.5], row), layout)
    _check(h, nan)
    _check(g, [nan, nan, nan])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(
    ("shape", "axis"), [((0,), -1), ((3, 0), -1), ((0, 3), 0), ((2, 0, 3), 1)]
)
def test_empty_axis_gives_empty_result(name: str, shape: tuple[int, ...], axis: int) -> None:
    out = getattr(expfam, name)(np.zeros(shape), axis=axis)
    assert out.shape == shape
    assert out.dtype == np.float64


def test_empty_axis_of_probability_kernels() -> None:
    assert np.all(expfam.entropy(np.zeros((2, 0))) == 0)
    assert np.all(expfam.kl_divergence(np.zeros((2, 0)), np.zeros((2, 0))) == 0)
    h, g = expfam.cross_entropy_with_logits(np.zeros((2, 0)), np.zeros((2, 0)), return_grad=True)
    assert h.shape == (2,)
    assert np.all(h == 0)
    assert g.shape == (2, 0)


# --------------------------------------------------------------------------------------
# Negative probabilities: ValueError naming the argument; no renormalisation
# --------------------------------------------------------------------------------------

NEGATIVE_CASES = [
    ("entropy", ([0.5, -0.1, 0.6],), "`p`"),
    ("kl_divergence", ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4]), "`p`"),
    ("kl_divergence", ([0.3, 0.3, 0.4], [0.5, -0.1, 0.6]), "`q`"),
    ("cross_entropy", ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4]), "`p`"),
    ("cross_entropy", ([0.3, 0.3, 0.4], [0.5, -0.1, 0.6]), "`q`"),
    ("cross_entropy_with_logits", ([0.5, -0.1, 0.6], [0.0, 1.0, 2.0]), "`p`"),
]


@pytest.mark.parametrize(("name", "args", "argname"), NEGATIVE_CASES)
def test_negative_probability_raises_naming_the_argument(
    name: str, args: tuple[Any, ...], argname: str, layout: str
) -> None:
    with pytest.raises(ValueError, match=argname):
        evaluate(name, args, layout)


# A weight of +inf is not a probability or a count: before this was checked,
# kl_divergence([.5, .5], [inf, .5]) returned -inf and entropy([inf, .5]) -inf.
INFINITE_WEIGHT_CASES = [
    ("entropy", ([inf, 0.5],), "`p`"),
    ("kl_divergence", ([inf, 0.5], [0.5, 0.5]), "`p`"),
    ("kl_divergence", ([0.5, 0.5], [inf, 0.5]), "`q`"),
    ("cross_entropy", ([inf, 0.5], [0.5, 0.5]), "`p`"),
    ("cross_entropy", ([0.5, 0.5], [inf, 0.5]), "`q`"),
    ("cross_entropy_with_logits", ([inf, 0.5], [0.0, 1.0]), "`p`"),
]


@pytest.mark.parametrize(("name", "args", "argname"), INFINITE_WEIGHT_CASES)
def test_infinite_weight_raises_naming_the_argument(
    name: str, args: tuple[Any, ...], argname: str, layout: str
) -> None:
    with pytest.raises(ValueError, match=f"{argname} must be finite"):
        evaluate(name, args, layout)


def test_negative_logits_are_fine_and_unnormalised_weights_are_not_rescaled() -> None:
    h = expfam.cross_entropy_with_logits([2.0, 0.0], [-3.0, -5.0])  # counts: 2 * NLL
    assert_close(h, -2 * expfam.log_softmax([-3.0, -5.0])[0], rtol_eps=4)
    assert_close(expfam.entropy([2.0, 2.0]), -4 * np.log(2.0), rtol_eps=4)


def test_nan_in_probabilities_propagates() -> None:
    assert np.isnan(expfam.entropy([0.5, nan]))
    assert np.isnan(expfam.kl_divergence([0.0, 1.0], [nan, 1.0]))
    assert np.isnan(expfam.cross_entropy([0.0, 1.0], [nan, 1.0]))
    assert np.isnan(expfam.cross_entropy_with_logits([nan, 1.0], [0.0, 1.0]))


# --------------------------------------------------------------------------------------
# No floating-point warning or error escapes, whatever the caller's np.errstate
# --------------------------------------------------------------------------------------

ALL_EDGE_INPUTS: list[tuple[str, tuple[Any, ...]]] = [
    *[("logsumexp", (row,)) for row, _ in LSE_ROWS],
    *[(n, (row,)) for n in ("softmax", "log_softmax") for row in UNDEFINED_ROWS],
    *[("cross_entropy_with_logits", ([0.2, 0.3, 0.5], row)) for row in UNDEFINED_ROWS],
    ("cross_entropy_with_logits", ([1.0, 0.0], [0.0, -inf])),
    ("cross_entropy_with_logits", ([0.5, 0.5], [0.0, -inf])),
    ("cross_entropy_with_logits", ([0.5, 0.5], [1e308, -1e308])),
    ("softmax", ([1e308, -1e308, 0.0],)),
    ("log_softmax", ([-1e308, 1e308],)),
    ("logsumexp", ([-1e308, 1e308, 0.0],)),
    ("logsumexp", ([0.0, -800.0],)),
    ("logsumexp", (np.log([0.5, 0.5]),)),
    ("entropy", ([0.0, 1.0, 1e-320],)),
    ("kl_divergence", ([0.5, 0.5, 0.0], [1.0, 0.0, 0.0])),
    ("kl_divergence", ([1e-300, 1e300], [1e300, 1e-300])),
    ("kl_divergence", ([0.0, 1.0], [0.0, 1.0])),
    ("cross_entropy", ([0.5, 0.5, 0.0], [1.0, 0.0, 0.0])),
    ("cross_entropy", ([0.0, 1.0], [0.0, 1.0])),
]


@pytest.mark.parametrize(("name", "args"), ALL_EDGE_INPUTS)
def test_no_floating_point_warning_or_error(name: str, args: tuple[Any, ...], layout: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(name, args, layout)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            evaluate(name, args, layout)


def test_float32_edge_rows_behave_the_same() -> None:
    x = np.array([[0.0, -inf, 1.0], [inf, 0.0, 1.0], [-inf, -inf, -inf], [nan, 0.0, 1.0]])
    for name in ("softmax", "log_softmax"):
        r64 = getattr(expfam, name)(x)
        r32 = getattr(expfam, name)(x.astype(np.float32))
        assert r32.dtype == np.float32
        np.testing.assert_array_equal(np.isnan(r32), np.isnan(r64))
        np.testing.assert_allclose(r32, r64, rtol=1e-6)
    lse32 = expfam.logsumexp(x.astype(np.float32))
    np.testing.assert_array_equal(np.isnan(lse32), [False, False, False, True])
    assert lse32[1] == inf
    assert lse32[2] == -inf


# --------------------------------------------------------------------------------------
# Issue 13: the edges found by the adversarial catalogue, one regression test each
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(65537,), (2, 65537)])
def test_float32_softmax_of_a_row_longer_than_one_block_does_not_overflow(
    shape: tuple[int, ...],
) -> None:
    # softmax(np.full(65537, 100, np.float32)) held inf: exp(100) overflows float32,
    # and the long-row path kept the exponentials in the float32 output between passes
    x = np.full(shape, 100, np.float32)
    s = expfam.softmax(x)
    assert s.dtype == np.float32
    assert_close(s, np.full(shape, 1 / 65537), rtol_eps=1)
    ls = expfam.log_softmax(x)
    assert ls.dtype == np.float32
    assert_close(ls, np.full(shape, -np.log(65537.0)), rtol_eps=1)
    assert_close(expfam.logsumexp(x), np.full(shape[:-1], 100 + np.log(65537.0)), rtol_eps=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "cross_entropy_with_logits"])
@pytest.mark.parametrize("logits", [[100.0, 99.0, 98.0, -5.0], [-110.0, -110.0, -200.0, -90.0]])
def test_float32_long_rows_keep_their_intermediates_in_float64(
    name: str, logits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # every kernel with a long-row path, with logits whose exponentials overflow (or,
    # shifted, fall below 2**-126 in) float32; counts scale the gradient's tiny terms up
    monkeypatch.setattr(_kernels, "_BLOCK", 2)
    u64 = np.array(logits)
    p64 = np.array([3e30, 0.0, 1.0, 2.0])
    if name == "cross_entropy_with_logits":
        h, g = expfam.cross_entropy_with_logits(
            p64.astype(np.float32), u64.astype(np.float32), return_grad=True
        )
        h_ref, g_ref = expfam.cross_entropy_with_logits(p64, u64, return_grad=True)
        assert_close(h, h_ref, dtype=np.float32, rtol_eps=1)
        assert_close(g, g_ref, dtype=np.float32, rtol_eps=1, scale=np.abs(g_ref) + 1e-45)
        return
    r = getattr(expfam, name)(u64.astype(np.float32))
    ref = getattr(expfam, name)(u64)
    assert_close(r, ref, dtype=np.float32, rtol_eps=1, atol_eps=1e-45 / 2**-23)


PROB_KERNELS = ["entropy", "kl_divergence", "cross_entropy", "cross_entropy_with_logits"]


def test_kl_divergence_of_negative_zero_q_is_inf_not_nan() -> None:
    # kl_divergence([1.0], [-0.0]) was nan: 1 / -0.0 = -inf, and log(-inf) is nan
    assert expfam.kl_divergence([1.0], [-0.0]) == inf
    assert expfam.cross_entropy([1.0], [-0.0]) == inf


@pytest.mark.parametrize("name", PROB_KERNELS)
@pytest.mark.parametrize("pos", [0, 1, 2])
def test_negative_zero_weight_counts_as_zero(name: str, pos: int, layout: str) -> None:
    # a -0.0 anywhere in p (or q) gives the result of +0.0, and never a -0.0 result
    _, kinds, _ = KERNELS[name]
    base = {"probs": [0.25, 0.0, 0.75], "logits": [0.5, -inf, -1.0]}
    for which in range(len(kinds)):
        if kinds[which] != "probs":
            continue
        plus = [list(base[k]) for k in kinds]
        minus = [list(base[k]) for k in kinds]
        plus[which][pos] = 0.0
        minus[which][pos] = -0.0
        expected = evaluate(name, tuple(plus), layout)
        actual = evaluate(name, tuple(minus), layout)
        for a, e in zip(actual, expected, strict=True):
            np.testing.assert_array_equal(a, e)
            assert not np.any((np.asarray(a) == 0) & np.signbit(a)), f"-0.0 in {name}: {a}"


def test_cross_entropy_with_logits_of_logits_spanning_more_than_the_float_range(
    layout: str,
) -> None:
    # u_j - max(u) overflows to -inf although the value, 0.5 * 2e308, is finite
    h, g = evaluate("cross_entropy_with_logits", ([0.5, 0.5], [1e308, -1e308]), layout)
    _check(h, 1e308)
    _check(g, [0.5, -0.5])
    (h_masked,) = evaluate("cross_entropy_with_logits", ([0.5, 0.5], [1e308, -inf]), layout)[:1]
    _check(h_masked, inf)  # a masked category with weight stays +inf
    h32 = expfam.cross_entropy_with_logits(
        np.array([0.5, 0.5], np.float32), np.array([3e38, -3e38], np.float32)
    )
    assert h32.dtype == np.float32
    assert_close(h32, 3e38, rtol_eps=1)


def test_flags_are_keyword_only() -> None:
    # cross_entropy_with_logits(p, u, -1, True) was accepted (as keepdims=True) by a
    # caller who meant return_grad=True
    import inspect

    for name in expfam._kernels.__all__:
        if name == "mul0":
            continue
        params = list(inspect.signature(getattr(expfam, name)).parameters.values())
        axis = [p.name for p in params].index("axis")
        assert params[axis].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, name
        for p in params[axis + 1 :]:
            assert p.kind is inspect.Parameter.KEYWORD_ONLY, (name, p.name)
    flag = True
    with pytest.raises(TypeError):
        expfam.cross_entropy_with_logits([0.5, 0.5], [0.0, 1.0], -1, flag)  # type: ignore[call-overload]
    for name in ("logsumexp", "entropy"):
        with pytest.raises(TypeError):
            getattr(expfam, name)([0.5, 0.5], -1, flag)
    for name in ("kl_divergence", "cross_entropy"):
        with pytest.raises(TypeError):
            getattr(expfam, name)([0.5, 0.5], [0.5, 0.5], -1, flag)


# Every kernel over a catalogue of edge inputs, float64 and float32, in every layout:
# the same results and no warning or error under any caller's np.errstate.
ERRSTATE_CATALOGUE: list[tuple[str, tuple[Any, ...]]] = [
    *ALL_EDGE_INPUTS,
    ("logsumexp", ([0.0, -1e308],)),
    ("softmax", ([0.0, -800.0, -720.0],)),
    ("log_softmax", ([0.0, -800.0, -720.0],)),
    ("logsumexp", ([-720.0, -720.0, -745.0],)),
    ("softmax", ([-720.0, -720.0, -745.0],)),
    ("cross_entropy_with_logits", ([0.5, 0.5, 0.0], [0.0, -800.0, -inf])),
    ("cross_entropy_with_logits", ([1e-320, 1.0], [0.0, -800.0])),
    ("entropy", ([5e-324, 1.0, 1e-310],)),
    ("kl_divergence", ([5e-324, 1.0], [1.0, 5e-324])),
    ("kl_divergence", ([1e-310, 1.0], [1e300, 1e-300])),
    ("kl_divergence", ([1e300, 1e300], [1e-300, 1e-300])),
    ("cross_entropy", ([1e300, 1e-320], [1e-320, 1e300])),
    ("kl_divergence", ([1.0, -0.0], [-0.0, 1.0])),
]
ERRSTATES: list[dict[str, str]] = [
    {"all": "raise"},
    {"all": "warn"},
    {"under": "raise"},
    {"under": "warn", "over": "raise"},
    {"all": "call"},
]


def _cast(args: tuple[Any, ...], dtype: Any) -> tuple[Any, ...]:
    with np.errstate(all="ignore"):  # float32 casts of 1e300 overflow: that is the input
        return tuple(np.asarray(a, dtype=dtype) for a in args)


@pytest.mark.parametrize(
    "state", ERRSTATES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items())
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_do_not_depend_on_the_callers_error_state(
    state: dict[str, str], dtype: Any, layout: str
) -> None:
    def call(*_: Any) -> None:
        raise AssertionError("the error callback was called")

    for name, args in ERRSTATE_CATALOGUE:
        typed = _cast(args, dtype)
        try:
            expected = evaluate(name, typed, layout)
        except ValueError as exc:  # a float32 weight cast to inf: the same error, typed
            expected, error = (), str(exc)
        else:
            error = ""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            old = np.seterrcall(call)
            try:
                with np.errstate(**state):  # type: ignore[arg-type]
                    if error:
                        with pytest.raises(ValueError, match=re.escape(error)):
                            evaluate(name, typed, layout)
                        continue
                    actual = evaluate(name, typed, layout)
            finally:
                np.seterrcall(old)
        for a, e in zip(actual, expected, strict=True):
            np.testing.assert_array_equal(a, e, err_msg=f"{name}{args} under {state}")


# Subnormal and near-maximal inputs against mpmath: finite results within 4 eps of the
# reference relative to the magnitude of the terms (the subnormal spacing at worst), and
# +-inf exactly where the reference lies beyond the largest float.
TINY, HUGE = 5e-324, 1.7976931348623157e308
EXTREME_LOGITS = [
    [1e308, -1e308],
    [HUGE, HUGE],  # HUGE + log 2 rounds to HUGE
    [HUGE, np.nextafter(HUGE, 0)],
    [-HUGE, -HUGE],
    [TINY, -TINY],
    [0.0, TINY],
    [HUGE, 0.0],
    [700.0, -745.0],
    [1e-320, 0.0],
]
EXTREME_WEIGHTS = [
    [TINY, 1.0],
    [TINY, TINY],
    [2.2250738585072014e-308 / 3, 2.2250738585072014e-308],
    [HUGE / 4, HUGE / 4],
    [1.0, 1e-310],
    [0.5, 1e-309],
]


def _check_ref(actual: Any, ref: Any, scale: Any = None) -> None:
    import mpmath

    from tests.mpmath_refs import error_in_eps

    dtype = np.asarray(actual).dtype
    a = float(actual)
    fi = np.finfo(dtype)
    # values from max + ulp(max)/2 on round to +-inf (exact comparisons: no mpf rounding)
    overflow = mpmath.mpf(2) ** fi.maxexp - mpmath.mpf(2) ** (fi.maxexp - fi.nmant - 2)
    if mpmath.isfinite(ref) and (ref >= overflow or ref <= -overflow):
        assert a == (inf if ref > 0 else -inf), (a, ref)
        return
    assert error_in_eps(a, ref, dtype, scale) <= 4, (a, ref)


@pytest.mark.parametrize("row", EXTREME_LOGITS)
def test_extreme_logits_against_mpmath(row: list[float], layout: str) -> None:
    from tests import mpmath_refs as refs

    x = np.array(row)
    (lse,) = evaluate("logsumexp", (x,), layout)
    _check_ref(lse, refs.logsumexp_ref(row))
    (sm,) = evaluate("softmax", (x,), layout)
    (lsm,) = evaluate("log_softmax", (x,), layout)
    for a, b, ref_s, ref_l in zip(
        sm, lsm, refs.softmax_ref(row), refs.log_softmax_ref(row), strict=True
    ):
        _check_ref(a, ref_s)
        _check_ref(b, ref_l)
    for p in EXTREME_WEIGHTS:
        h, _ = evaluate("cross_entropy_with_logits", (np.array(p), x), layout)
        _check_ref(h, refs.ce_logits_ref(p, row))


@pytest.mark.parametrize("p", EXTREME_WEIGHTS)
def test_extreme_weights_against_mpmath(p: list[float], layout: str) -> None:
    from tests import mpmath_refs as refs

    (h,) = evaluate("entropy", (np.array(p),), layout)
    _check_ref(h, *refs.entropy_ref(p))
    for q in EXTREME_WEIGHTS:
        (kl,) = evaluate("kl_divergence", (np.array(p), np.array(q)), layout)
        _check_ref(kl, *refs.kl_ref(p, q))
        (ce,) = evaluate("cross_entropy", (np.array(p), np.array(q)), layout)
        _check_ref(ce, *refs.cross_entropy_ref(p, q))


def test_quiet_is_errstate_ignore_and_restores_the_callers_state() -> None:
    from expfam._fpstate import quiet

    with np.errstate(all="raise", under="warn"):
        outer = np.geterr()
        with quiet():
            assert set(np.geterr().values()) == {"ignore"}
        assert np.geterr() == outer
        with pytest.raises(KeyError), quiet():
            raise KeyError
        assert np.geterr() == outer


TINY32, HUGE32 = float(np.finfo(np.float32).smallest_subnormal), float(np.finfo(np.float32).max)
EXTREME_LOGITS_32 = [
    [1e38, -1e38],
    [HUGE32, HUGE32],
    [-HUGE32, -HUGE32],
    [TINY32, -TINY32],
    [80.0, -100.0],
    [100.0, 0.0],
    [1e-40, 0.0],
]
EXTREME_WEIGHTS_32 = [
    [TINY32, 1.0],
    [TINY32, TINY32],
    [HUGE32 / 4, HUGE32 / 4],
    [1.0, 1e-40],
]


@pytest.mark.parametrize("row", EXTREME_LOGITS_32)
def test_extreme_float32_inputs_against_mpmath(row: list[float], layout: str) -> None:
    # float32 is computed in float64 and rounded once: subnormal and near-maximal
    # float32 inputs are ordinary float64 numbers, and each result is rounded once
    from tests import mpmath_refs as refs

    x = np.array(row, dtype=np.float32)
    xf = x.astype(np.float64)
    (lse,) = evaluate("logsumexp", (x,), layout)
    _check_ref(np.float32(lse), refs.logsumexp_ref(xf))
    (sm,) = evaluate("softmax", (x,), layout)
    (lsm,) = evaluate("log_softmax", (x,), layout)
    for a, b, ref_s, ref_l in zip(
        sm, lsm, refs.softmax_ref(xf), refs.log_softmax_ref(xf), strict=True
    ):
        _check_ref(np.float32(a), ref_s)
        _check_ref(np.float32(b), ref_l)
    for p in EXTREME_WEIGHTS_32:
        p32 = np.array(p, dtype=np.float32)
        p64 = p32.astype(np.float64)
        h, _ = evaluate("cross_entropy_with_logits", (p32, x), layout)
        _check_ref(np.float32(h), refs.ce_logits_ref(p64, xf))
        (ent,) = evaluate("entropy", (p32,), layout)
        _check_ref(np.float32(ent), *refs.entropy_ref(p64))
        for q in EXTREME_WEIGHTS_32:
            q64 = np.array(q, dtype=np.float32).astype(np.float64)
            (kl,) = evaluate("kl_divergence", (p32, q64.astype(np.float32)), layout)
            _check_ref(np.float32(kl), *refs.kl_ref(p64, q64))
