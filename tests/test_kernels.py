"""Laws, dtype/shape/axis behaviour, bad input and code paths of the kernels.

Accuracy against mpmath is in ``test_kernels_accuracy.py``; the edge policy row by row
in ``test_edge_policy.py``.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import special

import expfam
from expfam import _kernels
from tests import strategies as fst
from tests.helpers import assert_close, eps_of

LOGIT_KERNELS = ["logsumexp", "softmax", "log_softmax"]
ALL_KERNELS = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "entropy",
    "kl_divergence",
    "cross_entropy",
    "cross_entropy_with_logits",
]


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(expfam, name)(*args, **kwargs)


def _args(name: str, x: Any) -> tuple[Any, ...]:
    """Arguments of kernel `name` built from one array `x` (logits or probabilities)."""
    if name in LOGIT_KERNELS:
        return (x,)
    a = np.abs(np.where(np.isfinite(x), x, 0))
    p = a / np.maximum(a.sum(axis=-1, keepdims=True), 1)
    if name == "entropy":
        return (p,)
    if name == "cross_entropy_with_logits":
        return (p, x)
    return (p, np.flip(p, axis=-1) + 0.1)


# --------------------------------------------------------------------------------------
# Laws, checked with hypothesis
# --------------------------------------------------------------------------------------


@given(fst.grid_logits(), st.integers(-(2**12), 2**12))
def test_softmax_and_log_softmax_are_shift_invariant(x: Any, c: int) -> None:
    # x + c and max + c are exact, so x_j - max is the same number: log_softmax (always
    # shifted) gives identical results; softmax may take its unshifted path on one side,
    # so it agrees to its error bound (and to a subnormal unit where it underflows)
    y = x + x.dtype.type(c)
    assert np.array_equal(y - x.dtype.type(c), x)
    np.testing.assert_array_equal(expfam.log_softmax(y), expfam.log_softmax(x))
    d = np.abs(x - x.max(axis=-1, keepdims=True)).astype(np.float64)
    s, sy = expfam.softmax(x), expfam.softmax(y)
    tiny = float(np.finfo(x.dtype).smallest_subnormal)
    assert np.all(np.abs(sy - s) <= eps_of(x.dtype) * (8 + 2 * d) * s + 2 * tiny)


@given(fst.masked_logits(bound=30.0), st.floats(-30, 30))
def test_shift_by_any_real_within_conditioning(x: Any, c: float) -> None:
    # a rounded shift perturbs each logit by at most eps/2 |x_j + c|: the results move by
    # at most that much times the (small) condition number
    y = x + x.dtype.type(c)
    eps = eps_of(x.dtype)
    big = 2 * np.max(np.abs(np.where(np.isfinite(y), y, 0))) + 2 * abs(c)
    s, sy = expfam.softmax(x), expfam.softmax(y)
    np.testing.assert_allclose(sy, s, rtol=(8 + 2 * big) * eps, atol=1e-300)
    lse, lsey = expfam.logsumexp(x), expfam.logsumexp(y)
    np.testing.assert_allclose(lsey - x.dtype.type(c), lse, rtol=0, atol=(8 + 2 * big) * eps)


@given(fst.masked_logits(bound=1e6))
@example(np.array([0.0, -np.inf, -np.inf]))
@example(np.array([5.0, 5.0, 5.0, 5.0], dtype=np.float32))
@example(np.array([-2.0] * 7))  # m + log k cancels: the bound's own rounding is eps * |m|
def test_logsumexp_between_max_and_max_plus_log_k(x: Any) -> None:
    lse = expfam.logsumexp(x)
    m = x.max(axis=-1)
    k = np.isfinite(x).sum(axis=-1)
    assert np.all(lse >= m)
    upper = m.astype(np.float64) + np.log(k)
    # the rounding of the sum m + log k is relative to its terms, not to the sum
    scale = np.abs(m.astype(np.float64)) + np.log(k)
    assert np.all(lse <= upper + 4 * eps_of(x.dtype) * scale)


@settings(max_examples=50)
@given(fst.masked_logits(np.float64, bound=20.0))
def test_gradient_of_logsumexp_is_softmax(x: Any) -> None:
    h = 1e-5
    s = expfam.softmax(x)
    fin = np.isfinite(x)
    for j in range(x.shape[-1]):
        e = np.zeros(x.shape[-1])
        e[j] = h
        fd = (expfam.logsumexp(x + e) - expfam.logsumexp(x - e)) / (2 * h)
        ok = fin[..., j]
        np.testing.assert_allclose(fd[ok], s[..., j][ok], rtol=1e-8, atol=1e-9)
        assert np.all(s[..., j][~ok] == 0)


@given(fst.simplex_pairs())
def test_kl_is_nonnegative(pq: tuple[Any, Any]) -> None:
    p, q = pq
    kl = expfam.kl_divergence(p, q)
    eps = eps_of(p.dtype)
    # Gibbs: KL >= sum p - sum q, which is 0 up to the rounding of the normalisation
    slack = 4 * eps * (np.abs(p).sum(-1) + np.abs(q).sum(-1) + p.shape[-1])
    assert np.all((kl >= -slack) | np.isinf(kl))


@given(fst.nonnegative_weights(np.float64), st.data())
def test_kl_of_unnormalised_weights_obeys_gibbs(p: Any, data: Any) -> None:
    q = data.draw(fst.nonnegative_weights(p.dtype, p.shape[:-1], p.shape[-1], zeros=False))
    kl = expfam.kl_divergence(p, q)
    gap = p.sum(-1) - q.sum(-1)
    scale = np.abs(p * (np.log(np.where(p > 0, p, 1)) - np.log(q))).sum(-1) + p.sum(-1)
    assert np.all(kl >= gap - 8 * eps_of(p.dtype) * (scale + q.sum(-1)))


@given(fst.simplex_points())
def test_kl_of_p_with_itself_is_zero(p: Any) -> None:
    assert np.all(expfam.kl_divergence(p, p) == 0)


@given(fst.simplex_points(np.float64, max_k=6), st.data())
@example(np.array([1.0, 0.0]), None)
def test_cross_entropy_with_logits_is_kl_plus_entropy(p: Any, data: Any) -> None:
    # logits: bounded, -inf only where p is 0 (else both sides are +inf)
    if data is None:
        u = np.array([0.0, -np.inf])
    else:
        u = data.draw(fst.bounded_logits(p.dtype, p.shape[:-1], p.shape[-1], bound=30.0))
        mask = data.draw(st.lists(st.booleans(), min_size=p.shape[-1], max_size=p.shape[-1]))
        u = np.where(np.array(mask) & (p == 0) & (np.arange(p.shape[-1]) > 0), -np.inf, u)
    s = expfam.softmax(u)
    lhs = expfam.cross_entropy_with_logits(p, u)
    rhs = expfam.kl_divergence(p, s) + expfam.entropy(p)
    # the right side goes through the rounded softmax: eps (4 + |u_j - max|) per term
    d = np.where(np.isfinite(u), np.abs(u - u.max(-1, keepdims=True)), 0)
    tol = eps_of(p.dtype) * (8 * np.abs(lhs) + (p * (8 + 2 * d)).sum(-1) + 8)
    assert np.all(np.abs(lhs - rhs) <= tol)


@given(fst.simplex_pairs(np.float64, zeros_q=False))
def test_cross_entropy_is_entropy_plus_kl(pq: tuple[Any, Any]) -> None:
    p, q = pq
    lhs = expfam.cross_entropy(p, q)
    rhs = expfam.entropy(p) + expfam.kl_divergence(p, q)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-13, atol=1e-14)


@settings(max_examples=50)
@given(fst.nonnegative_weights(np.float64, max_value=10.0), st.data())
def test_gradient_of_cross_entropy_with_logits(p: Any, data: Any) -> None:
    u = data.draw(fst.bounded_logits(p.dtype, p.shape[:-1], p.shape[-1], bound=20.0))
    value, grad = expfam.cross_entropy_with_logits(p, u, return_grad=True)
    assert_close(value, expfam.cross_entropy_with_logits(p, u), rtol_eps=0)
    expected = p.sum(-1, keepdims=True) * expfam.softmax(u) - p
    np.testing.assert_allclose(grad, expected, rtol=1e-13, atol=1e-13 * (1 + p.sum()))
    h = 1e-6
    for j in range(u.shape[-1]):
        e = np.zeros(u.shape[-1])
        e[j] = h
        fd = (
            expfam.cross_entropy_with_logits(p, u + e) - expfam.cross_entropy_with_logits(p, u - e)
        ) / (2 * h)
        np.testing.assert_allclose(fd, grad[..., j], rtol=1e-6, atol=1e-7 * (1 + p.sum()))


@given(fst.nonnegative_weights(), st.data())
def test_cross_entropy_with_logits_of_counts_is_the_nll(p: Any, data: Any) -> None:
    u = data.draw(fst.bounded_logits(p.dtype, p.shape[:-1], p.shape[-1]))
    nll = -(p.astype(np.float64) * expfam.log_softmax(u.astype(np.float64))).sum(-1)
    lhs = expfam.cross_entropy_with_logits(p, u)
    # (a result below the dtype's normal range is rounded to its subnormal grid: e.g.
    # float32 3.0144e-40, whose spacing 1.4e-45 is 5e-6 of it; hypothesis found it)
    tiny = float(np.finfo(p.dtype).smallest_subnormal)
    np.testing.assert_allclose(lhs, nll, rtol=8 * eps_of(p.dtype), atol=max(1e-300, tiny))


@given(fst.bounded_logits(bound=100.0))
def test_logsumexp_softmax_log_softmax_agree_with_scipy(x: Any) -> None:
    tol = 8 * eps_of(x.dtype)
    np.testing.assert_allclose(
        expfam.logsumexp(x), special.logsumexp(x.astype(np.float64), axis=-1), rtol=tol, atol=tol
    )
    tiny = float(np.finfo(x.dtype).smallest_subnormal)
    np.testing.assert_allclose(
        expfam.softmax(x),
        special.softmax(x.astype(np.float64), axis=-1),
        rtol=tol * 200,
        atol=tiny,
    )
    np.testing.assert_allclose(
        np.exp(expfam.log_softmax(x)), expfam.softmax(x), rtol=tol * 200, atol=tiny
    )


@given(fst.simplex_points(np.float64))
def test_entropy_agrees_with_scipy_stats(p: Any) -> None:
    from scipy import stats

    # scipy renormalises p (which sums to 1 within a few eps): allow for that
    expected = stats.entropy(p, axis=-1)
    np.testing.assert_allclose(expfam.entropy(p), expected, rtol=1e-14, atol=1e-14)


# --------------------------------------------------------------------------------------
# dtype, shape, axis, keepdims, broadcasting
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_KERNELS)
@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float16, np.float32),
        (np.int64, np.float64),
        (np.int8, np.float64),
        (np.uint16, np.float64),
        (np.bool_, np.float64),
    ],
)
def test_result_dtype(name: str, dtype: Any, expected: Any) -> None:
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    out = call(name, *_args(name, x))
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        assert o.dtype == expected, (name, dtype, o.dtype)


def test_float32_stays_float32_with_every_kernel_and_return_grad() -> None:
    p = np.full((2, 3), 1 / 3, dtype=np.float32)
    u = np.zeros((2, 3), dtype=np.float32)
    h, g = expfam.cross_entropy_with_logits(p, u, return_grad=True)
    assert h.dtype == g.dtype == np.float32
    # mixed float32 / float64 gives float64
    h64 = expfam.cross_entropy_with_logits(p, u.astype(np.float64))
    assert h64.dtype == np.float64
    assert expfam.kl_divergence(p, p.astype(np.float64)).dtype == np.float64


def test_python_lists_and_scalars_inside() -> None:
    assert expfam.logsumexp([1, 2, 3]).dtype == np.float64
    assert_close(expfam.logsumexp([1, 2, 3]), np.log(np.exp([1.0, 2.0, 3.0]).sum()), rtol_eps=4)
    assert expfam.softmax([True, False]).dtype == np.float64


@pytest.mark.parametrize("name", ALL_KERNELS)
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_complex_input_raises_type_error(name: str, dtype: Any) -> None:
    x = np.full((2, 3), 0.25, dtype=dtype)
    args = (x,) if name in LOGIT_KERNELS or name == "entropy" else (x, x)
    with pytest.raises(TypeError, match="complex"):
        call(name, *args)


@pytest.mark.parametrize("name", ALL_KERNELS)
def test_object_and_string_input_raise_type_error(name: str) -> None:
    for bad in (np.array([["a", "b"]]), np.array([[1, None]], dtype=object)):
        args = (bad,) if name in LOGIT_KERNELS or name == "entropy" else (bad, bad)
        with pytest.raises(TypeError, match="`"):
            call(name, *args)


def test_complex_logits_name_the_argument() -> None:
    with pytest.raises(TypeError, match="`logits`"):
        expfam.cross_entropy_with_logits([0.5, 0.5], [1j, 0])
    with pytest.raises(TypeError, match="`q`"):
        expfam.kl_divergence([0.5, 0.5], [0.5 + 0j, 0.5])


@pytest.mark.parametrize("name", ALL_KERNELS)
def test_zero_dimensional_input_raises(name: str) -> None:
    args = (1.0,) if name in LOGIT_KERNELS or name == "entropy" else (1.0, 1.0)
    with pytest.raises(ValueError, match="at least one dimension"):
        call(name, *args)


@pytest.mark.parametrize("name", ALL_KERNELS)
def test_bad_axis(name: str) -> None:
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="`axis`=2 is out of range"):
        call(name, *_args(name, x), axis=2)
    with pytest.raises(ValueError, match="`axis`=-3 is out of range"):
        call(name, *_args(name, x), axis=-3)
    with pytest.raises(TypeError, match="`axis` must be an integer"):
        call(name, *_args(name, x), axis=1.0)
    for flag in (True, np.True_):  # a bool is not an axis (e.g. a misplaced return_grad)
        with pytest.raises(TypeError, match="`axis` must be an integer; got True"):
            call(name, *_args(name, x), axis=flag)


@pytest.mark.parametrize("name", ALL_KERNELS)
def test_masked_arrays_are_refused_not_silently_unmasked(name: str) -> None:
    x = np.ma.masked_array(np.full((2, 3), 0.25), mask=[[False, False, True], [False] * 3])
    args = tuple(x if i == 0 else a for i, a in enumerate(_args(name, np.full((2, 3), 0.25))))
    with pytest.raises(TypeError, match=r"is a masked array; .*filled\(-np.inf\)"):
        call(name, *args)


def test_bad_values_are_shown_as_plain_numbers() -> None:
    with pytest.raises(ValueError, match=r"found -0\.1$"):
        expfam.entropy(np.array([0.5, -0.1]))
    with pytest.raises(ValueError, match=r"`energies` must be finite; found inf$"):
        expfam.boltzmann([1.0, np.inf], mean_energy=0.5)


@pytest.mark.parametrize("name", ["kl_divergence", "cross_entropy", "cross_entropy_with_logits"])
def test_shape_mismatch_names_both_arguments(name: str) -> None:
    other = "`logits`" if name == "cross_entropy_with_logits" else "`q`"
    with pytest.raises(
        ValueError, match=rf"`p` with shape \(2, 3\) and {other} with shape \(2, 4\)"
    ):
        call(name, np.full((2, 3), 0.3), np.full((2, 4), 0.3))


def test_ragged_input_raises_value_error() -> None:
    with pytest.raises(ValueError, match="`x` could not be converted"):
        expfam.logsumexp([[1.0, 2.0], [1.0]])


@pytest.mark.parametrize("name", ALL_KERNELS)
@given(data=st.data())
def test_axis_k_equals_moveaxis(name: str, data: Any) -> None:
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple))
    x = data.draw(fst.bounded_logits(np.float64, shape[:-1], shape[-1], bound=10.0))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    moved = call(name, *_args(name, x))  # along the last axis
    direct = call(name, *[np.moveaxis(a, -1, axis) for a in _args(name, x)], axis=axis)
    for m, d in zip(
        moved if isinstance(moved, tuple) else (moved,),
        direct if isinstance(direct, tuple) else (direct,),
        strict=True,
    ):
        back = np.moveaxis(d, axis, -1) if d.ndim == x.ndim else d  # full-shaped output
        assert_close(back, m, rtol_eps=1)


REDUCTIONS = ["entropy", "kl_divergence", "cross_entropy", "cross_entropy_with_logits"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [0, 1, -1, -3])
def test_reductions_keepdims(name: str, axis: int) -> None:
    x = np.random.default_rng(3).normal(size=(3, 4, 5)).astype(np.float32)
    args = _args(name, x)
    kept = call(name, *args, axis=axis, keepdims=True)
    plain = call(name, *args, axis=axis)
    assert kept.shape == tuple(1 if i == axis % 3 else n for i, n in enumerate(x.shape))
    assert kept.dtype == np.float32
    np.testing.assert_array_equal(np.squeeze(kept, axis=axis), plain)
    if name == "cross_entropy_with_logits":  # the gradient keeps the full shape
        value, grad = call(name, *args, axis=axis, keepdims=True, return_grad=True)
        np.testing.assert_array_equal(value, kept)
        assert grad.shape == x.shape


@given(x=fst.bounded_logits(), axis=st.integers(-1, 0))
def test_logsumexp_keepdims(x: Any, axis: int) -> None:
    kept = expfam.logsumexp(x, axis=axis, keepdims=True)
    assert kept.shape == tuple(1 if i == axis % x.ndim else n for i, n in enumerate(x.shape))
    np.testing.assert_array_equal(
        np.squeeze(kept, axis=axis), expfam.logsumexp(x, axis=axis, keepdims=False)
    )
    assert kept.dtype == x.dtype


@pytest.mark.parametrize("name", ["kl_divergence", "cross_entropy", "cross_entropy_with_logits"])
def test_broadcasting_p_against_q(name: str) -> None:
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5))  # (5,)
    q = rng.dirichlet(np.ones(5), size=(2, 3))  # (2, 3, 5)
    out = call(name, p, q)
    full = call(name, np.broadcast_to(p, q.shape).copy(), q)
    outs = out if isinstance(out, tuple) else (out,)
    fulls = full if isinstance(full, tuple) else (full,)
    for o, f in zip(outs, fulls, strict=True):
        assert o.shape == (2, 3)
        assert_close(o, f, rtol_eps=0)
    # and along an axis where p has length 1: p (2, 1, 5) against q (2, 3, 5), axis 1
    p3 = rng.uniform(size=(2, 1, 5))
    v = call(name, p3, q, axis=1)
    v_full = call(name, np.broadcast_to(p3, q.shape).copy(), q, axis=1)
    assert v.shape == (2, 5)
    assert_close(v, v_full, rtol_eps=0)


def test_gradient_has_the_broadcast_shape() -> None:
    h, g = expfam.cross_entropy_with_logits(np.full(4, 0.25), np.zeros((3, 4)), return_grad=True)
    assert h.shape == (3,)
    assert g.shape == (3, 4)
    h, g = expfam.cross_entropy_with_logits(
        np.full((3, 1), 1.0), np.zeros((3, 4)), axis=0, return_grad=True
    )
    assert h.shape == (4,)
    assert g.shape == (3, 4)


# --------------------------------------------------------------------------------------
# Code paths: lean / blocked / long rows / non-contiguous / non-collapsible strides
# --------------------------------------------------------------------------------------


def _layouts(x: Any) -> dict[str, tuple[Any, int]]:
    """The same (rows, K) data laid out in several ways, with the axis to reduce."""
    r, k = x.shape
    t = np.ascontiguousarray(x.T)  # (K, rows): reduce over axis 0, stride r
    big = np.zeros((r, 3, 2 * k), dtype=x.dtype)
    big[:, 1, ::2] = x  # strided along the axis, lead dims not collapsible
    n3 = np.zeros((2, r, k + 1), dtype=x.dtype)[:, :, :k]
    n3[...] = x
    return {
        "contiguous": (x, -1),
        "transposed": (t, 0),
        "f_order": (np.asfortranarray(x), -1),
        "strided": (big[:, 1, ::2], -1),
        "not_collapsible": (n3, -1),
    }


@pytest.mark.parametrize("block", [None, 3, 64])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ALL_KERNELS)
def test_every_layout_and_block_size_gives_the_same_result(
    name: str, dtype: str, block: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 4, (7, 40)).astype(dtype)
    x[2, 3] = -np.inf
    x[4, :] = np.float32(0.25)
    expected = call(name, *_args(name, x))
    if block is not None:  # block=3: every row is "long" (chunked along the axis)
        monkeypatch.setattr(_kernels, "_BLOCK", block)
    for label, (arr, axis) in _layouts(x).items():
        args = _args(name, np.moveaxis(arr, axis, -1))
        args = tuple(np.moveaxis(a, -1, axis) for a in args)
        got = call(name, *args, axis=axis)
        gots = got if isinstance(got, tuple) else (got,)
        exps = expected if isinstance(expected, tuple) else (expected,)
        for g, e in zip(gots, exps, strict=True):
            back = np.moveaxis(g, axis, -1) if g.ndim == arr.ndim else g
            if label == "not_collapsible":
                back = back[1]
            assert back.dtype == np.dtype(dtype), label
            assert_close(back, e, rtol_eps=4, atol_eps=4 * (name in ("kl_divergence", "entropy")))


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(1, 10), (10,), (1, 1, 10), (10, 1)])
def test_single_row_lean_path_equals_blocked_path(name: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(0, 5, shape)
    axis = int(np.argmax(shape))
    lean = call(name, x, axis=axis)
    batched = call(name, np.stack([np.moveaxis(x, axis, -1).ravel()] * 2), axis=-1)[0]
    if name == "logsumexp":
        assert lean.shape == tuple(np.delete(shape, axis))
        np.testing.assert_array_equal(lean.ravel()[0], batched)
    else:
        assert lean.shape == x.shape
        np.testing.assert_array_equal(lean.ravel(), batched)


def test_huge_logits_take_the_blocked_path_in_a_single_row() -> None:
    # |max| >= 2**969: x - max could overflow, so the lean path hands over
    x = np.array([1.7e308, -1.7e308, 1.7e308])
    assert_close(expfam.logsumexp(x), 1.7e308, rtol_eps=1)
    assert_close(expfam.softmax(x), [0.5, 0.0, 0.5], rtol_eps=1)
    assert_close(expfam.log_softmax(x), [-np.log(2), -np.inf, -np.log(2)], rtol_eps=2)


def test_no_full_size_temporaries() -> None:
    x = np.random.default_rng(2).normal(size=(2000, 500))  # 8 MB
    p = np.full_like(x, 1 / 500)
    q = x * x
    cases: list[tuple[Callable[[], Any], int]] = [
        (lambda: expfam.logsumexp(x), x.nbytes // 500),
        (lambda: expfam.softmax(x), x.nbytes),
        (lambda: expfam.log_softmax(x), x.nbytes),
        (lambda: expfam.cross_entropy_with_logits(p, x, return_grad=True), x.nbytes),
        (lambda: expfam.kl_divergence(p, q), x.nbytes // 500),
        (lambda: expfam.entropy(p), x.nbytes // 500),
    ]
    for fn, out_bytes in cases:
        fn()
        tracing = tracemalloc.is_tracing()
        if not tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        if not tracing:
            tracemalloc.stop()
        # the result plus a few block-sized work buffers, far from another copy of x
        buffers = 6 * _kernels._BLOCK * 8
        assert buffers < x.nbytes // 2
        assert peak - base < out_bytes + buffers, (peak - base, out_bytes)


def test_long_rows_single_huge_row_matches_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(0, 3, (2, 1000))
    p = rng.dirichlet(np.ones(1000), 2)
    ref = [expfam.logsumexp(x), expfam.softmax(x), expfam.log_softmax(x)]
    ref_ce = expfam.cross_entropy_with_logits(p, x, return_grad=True)
    monkeypatch.setattr(_kernels, "_BLOCK", 64)
    for r, got in zip(
        ref, [expfam.logsumexp(x), expfam.softmax(x), expfam.log_softmax(x)], strict=True
    ):
        assert_close(got, r, rtol_eps=4)
    for r, got in zip(
        ref_ce, expfam.cross_entropy_with_logits(p, x, return_grad=True), strict=True
    ):
        assert_close(got, r, rtol_eps=4, atol_eps=4)


# --------------------------------------------------------------------------------------
# The family helper
# --------------------------------------------------------------------------------------


def test_mul0() -> None:
    w = np.array([0.0, 0.0, 2.0, 0.5])
    x = np.array([np.inf, -np.inf, 3.0, -np.inf])
    np.testing.assert_array_equal(_kernels.mul0(w, x), [0.0, 0.0, 6.0, -np.inf])
    assert _kernels.mul0(np.zeros((2, 1)), np.ones(3)).shape == (2, 3)
