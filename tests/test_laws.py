"""Generic laws that every exponential family in expfam must satisfy.

Parametrised over the registry (``tests/registry.py``, whose docstring states the hooks a
family's case provides); hypothesis draws the seed of the case's ``make``, the batch shape
and the dtype. The generic formulas of :class:`~expfam.ExponentialFamily`, called as
``ExponentialFamily.entropy(dist)`` and so on, are the oracles for a family's overrides.

Known degeneracy: the categorical's Fisher information is singular along the all-ones
direction (a common shift of the logits does not change the distribution) and along every
masked coordinate; the PSD law allows zero eigenvalues.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from expfam import Categorical, ExponentialFamily
from tests.helpers import assert_close, eps_of
from tests.registry import FamilyCase, exported_families, get_registry

CASES = get_registry()
per_case = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])

DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))
seeds = st.integers(0, 2**32 - 1)
batch_shapes = st.sampled_from([(), (1,), (3,), (2, 3), (4, 1)])
dtypes = st.sampled_from(DTYPES)

# the derivative, inverse, quadrature and scipy laws evaluate a family many times per example
FEW = 60

F64 = NDArray[np.float64]
Z = 5.0  # Monte Carlo laws: 5 standard errors, a two-sided false-alarm rate of 5.7e-7 per check


# ---------------------------------------------------------------------- helpers


def as64(dist: ExponentialFamily) -> ExponentialFamily:
    """The same distribution with float64 parameters."""
    eta = np.asarray(dist.natural_params, dtype=np.float64)
    return type(dist).from_natural_params(eta, **dist._fixed())


def subnormal_floor_eps(dtype: Any) -> float:
    """Four subnormal spacings of `dtype`, in units of its eps (for ``atol_eps``)."""
    fi = np.finfo(dtype)
    return 4 * float(fi.smallest_subnormal) / float(fi.eps)


def eps_rtol(rtol: float) -> float:
    """A float64 relative tolerance in units of eps, for ``assert_close``."""
    return rtol / eps_of(np.float64)


def absdot(mu: Any, eta: Any) -> F64:
    """``sum |mu * eta|`` over the parameter axis, with ``0 * inf = 0``."""
    a, b = np.abs(np.asarray(mu, np.float64)), np.abs(np.asarray(eta, np.float64))
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    np.multiply(a, b, out=out, where=a != 0)
    return np.asarray(out.sum(axis=-1))


def f64(x: Any) -> F64:
    return np.asarray(x, dtype=np.float64)


def entropy_scale(p: ExponentialFamily) -> F64:
    """Magnitude of the terms of the generic entropy formula."""
    return np.asarray(
        np.abs(f64(p.log_partition()))
        + absdot(p.mean_params, p.natural_params)
        + np.abs(f64(p._expected_log_base_measure()))
    )


def cross_scale(p: ExponentialFamily, q: ExponentialFamily) -> F64:
    """Magnitude of the terms of the generic cross-entropy and KL formulas."""
    return np.asarray(
        np.abs(f64(q.log_partition()))
        + np.abs(f64(p.log_partition()))
        + absdot(p.mean_params, q.natural_params)
        + absdot(p.mean_params, p.natural_params)
        + np.abs(f64(p._expected_log_base_measure()))
    )


def numerical_jacobian(fn: Callable[[F64], F64], eta: F64, steps: F64, out_ndim: int) -> F64:
    """5-point central differences of `fn` (batch + S) in each finite coordinate of `eta`.

    Returns shape ``batch + S + (d,)``; the derivative in a non-finite coordinate is 0.
    """
    cols = []
    for j in range(eta.shape[-1]):
        fin = np.isfinite(eta[..., j])
        h = np.where(fin, steps[..., j], 0.0)

        def at(k: int, j: int = j, h: F64 = h) -> F64:
            e = eta.copy()
            with np.errstate(invalid="ignore"):  # -inf + 0
                e[..., j] = eta[..., j] + k * h
            return f64(fn(e))

        diff = (-at(2) + 8 * at(1) - 8 * at(-1) + at(-2)) / 12
        hb = h.reshape(h.shape + (1,) * out_ndim)
        finb = fin.reshape(fin.shape + (1,) * out_ndim)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols.append(np.where(finb, diff / np.where(finb, hb, 1.0), 0.0))
    return np.stack(cols, axis=-1)


def rebuild(dist: ExponentialFamily) -> Callable[[F64], ExponentialFamily]:
    fixed = dist._fixed()
    return lambda eta: type(dist).from_natural_params(eta, **fixed)


def overridden(family: type[ExponentialFamily], name: str) -> bool:
    return getattr(family, name) is not getattr(ExponentialFamily, name)


def generic_fit(family: type[ExponentialFamily]) -> Callable[..., ExponentialFamily]:
    fit: Callable[..., ExponentialFamily] = ExponentialFamily.__dict__["fit"].__func__
    return lambda *args, **kwargs: fit(family, *args, **kwargs)


def draw(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> tuple[ExponentialFamily, np.random.Generator]:
    rng = np.random.default_rng(seed)
    dist = case.make(rng, batch_shape, dtype)
    assert type(dist) is case.family
    assert dist.batch_shape == batch_shape, "`make` must honour the batch shape"
    assert dist.dtype == dtype, "`make` must honour the dtype"
    return dist, rng


def run_law(
    case: FamilyCase,
    law: Callable[..., None],
    *,
    limit: int | None = None,
    with_dtype: bool = True,
) -> None:
    """Run ``law(case, seed=..., batch_shape=..., dtype=...)`` under hypothesis.

    At most the profile's ``max_examples``, `limit` and ``case.max_examples`` examples.
    """
    caps = [settings().max_examples, limit, case.max_examples]
    n = min(c for c in caps if c is not None)

    if with_dtype:

        @settings(max_examples=n)
        @given(seed=seeds, batch_shape=batch_shapes, dtype=dtypes)
        def run(seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
            law(case, seed=seed, batch_shape=batch_shape, dtype=dtype)

    else:

        @settings(max_examples=n)
        @given(seed=seeds, batch_shape=batch_shapes)
        def run(seed: int, batch_shape: tuple[int, ...]) -> None:
            law(case, seed=seed, batch_shape=batch_shape)

    run()


# ---------------------------------------------------------------------- coverage


def test_every_exported_family_is_registered() -> None:
    registered = {case.family for case in CASES}
    missing = [f.__name__ for f in exported_families() if f not in registered]
    assert not missing, (
        f"exported families without a FamilyCase in tests/registry.py or "
        f"tests/family_cases.py: {missing}"
    )


def test_registry_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------- derivatives


def _mean_map_is_gradient_of_log_partition(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> None:
    dist, _ = draw(case, seed, batch_shape, dtype)
    d64 = as64(dist)
    eta = f64(d64.natural_params)
    make = rebuild(d64)
    grad = numerical_jacobian(lambda e: f64(make(e).log_partition()), eta, case.steps(d64), 0)
    mu = f64(d64.mean_params)
    assert np.all(mu[~np.isfinite(eta)] == 0), "a non-finite natural parameter has mean 0"
    scale = 1 + np.abs(f64(d64.log_partition())) + np.abs(mu).max(axis=-1)
    assert np.all(np.abs(grad - mu) <= case.fd_rtol * scale[..., None]), (grad, mu)


@per_case
def test_mean_map_is_gradient_of_log_partition(case: FamilyCase) -> None:
    run_law(case, _mean_map_is_gradient_of_log_partition, limit=FEW)


def _fisher_is_symmetric_psd_jacobian_of_mean_map(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> None:
    dist, _ = draw(case, seed, batch_shape, dtype)
    d = dist.param_shape[-1]
    fisher = dist.fisher_information()
    assert fisher.dtype == dtype
    assert fisher.shape == (*batch_shape, d, d)
    F = f64(fisher)
    top = np.abs(F).max(axis=(-2, -1), keepdims=True)
    tol = case.rtol_eps * eps_of(dtype) * top
    assert np.all(np.abs(F - np.swapaxes(F, -1, -2)) <= tol), "Fisher is not symmetric"
    eig = np.linalg.eigvalsh((F + np.swapaxes(F, -1, -2)) / 2)
    assert np.all(eig >= -d * tol[..., 0]), f"Fisher is not PSD: eigenvalues {eig}"

    d64 = as64(dist)
    eta = f64(d64.natural_params)
    make = rebuild(d64)
    jac = numerical_jacobian(lambda e: f64(make(e).mean_params), eta, case.steps(d64), 1)
    F64_ = f64(d64.fisher_information())
    fin = np.isfinite(eta)
    assert np.all(F64_[~fin] == 0), "a non-finite natural parameter has a zero Fisher row"
    scale = 1 + np.abs(f64(d64.mean_params)).max(axis=-1) + np.abs(F64_).max(axis=(-2, -1))
    assert np.all(np.abs(jac - F64_) <= case.fd_rtol * scale[..., None, None]), (jac, F64_)


@per_case
def test_fisher_is_symmetric_psd_jacobian_of_mean_map(case: FamilyCase) -> None:
    run_law(case, _fisher_is_symmetric_psd_jacobian_of_mean_map, limit=FEW)


# ---------------------------------------------------------------------- inverse mean map


def check_inverse(case: FamilyCase, dist: ExponentialFamily) -> None:
    mu = dist.mean_params
    back = case.family.from_mean_params(mu, **dist._fixed())
    assert type(back) is case.family
    scale = np.broadcast_to(np.abs(f64(mu)).max(axis=-1, keepdims=True), mu.shape)
    assert_close(
        back.mean_params,
        mu,
        dtype=dist.dtype,
        shape=mu.shape,
        rtol_eps=case.inverse_rtol_eps,
        scale=scale,
    )


def _inverse_mean_map_inverts_mean_map(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> None:
    dist, _ = draw(case, seed, batch_shape, dtype)
    check_inverse(case, dist)


@per_case
def test_inverse_mean_map_inverts_mean_map(case: FamilyCase) -> None:
    run_law(case, _inverse_mean_map_inverts_mean_map, limit=FEW)


# ---------------------------------------------------------------------- divergences


def check_self_divergence(case: FamilyCase, p: ExponentialFamily) -> None:
    kl = p.kl_divergence(p)
    scale = np.abs(f64(p.entropy())) + entropy_scale(p)
    assert_close(kl, np.zeros(p.batch_shape), dtype=p.dtype, rtol_eps=case.rtol_eps, scale=scale)
    assert_close(
        p.cross_entropy(p), f64(p.entropy()), dtype=p.dtype, rtol_eps=case.rtol_eps, scale=scale
    )


def _kl_is_a_divergence_and_equals_cross_entropy_minus_entropy(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> None:
    p, rng = draw(case, seed, batch_shape, dtype)
    q = case.other(rng, p)
    check_self_divergence(case, p)
    kl, ce, h = p.kl_divergence(q), p.cross_entropy(q), p.entropy()
    assert not np.any(np.isnan(kl)), "KL is never nan"
    scale = np.abs(f64(ce)) + np.abs(f64(h)) + cross_scale(p, q)
    tol = case.rtol_eps * eps_of(dtype) * scale
    assert np.all(f64(kl) >= -tol), f"KL < 0: {kl}"
    with np.errstate(invalid="ignore"):
        expected = np.where(np.isinf(ce), np.inf, f64(ce) - f64(h))
    assert_close(kl, expected, dtype=dtype, shape=batch_shape, rtol_eps=case.rtol_eps, scale=scale)


@per_case
def test_kl_is_a_divergence_and_equals_cross_entropy_minus_entropy(case: FamilyCase) -> None:
    run_law(case, _kl_is_a_divergence_and_equals_cross_entropy_minus_entropy, limit=None)


# ---------------------------------------------------------------------- overrides vs generic


def check_overrides(
    case: FamilyCase, p: ExponentialFamily, q: ExponentialFamily | None, x: Any
) -> None:
    family = case.family
    kw: dict[str, Any] = {
        "dtype": p.dtype,
        "rtol_eps": case.rtol_eps,
        "atol_eps": subnormal_floor_eps(p.dtype),
    }
    # The oracle is the generic formula on the same parameters in float64: in float32 a
    # probability can underflow to 0 although its logit is finite, and the generic
    # formula evaluated on it then misses an infinite KL that the override keeps.
    po = as64(p) if p.dtype == np.float32 else p
    qo = None if q is None else (as64(q) if q.dtype == np.float32 else q)
    if overridden(family, "entropy"):
        scale = entropy_scale(po)
        assert_close(p.entropy(), ExponentialFamily.entropy(po), scale=scale, **kw)
    # every family: the base's log_prob runs the family's own formula
    t = f64(po.sufficient_statistic(x))
    scale = (
        absdot(t, po.natural_params)
        + np.abs(f64(po.log_partition()))
        + np.abs(f64(po.log_base_measure(x)))
    )
    assert_close(p.log_prob(x), ExponentialFamily._generic_log_prob(po, x), scale=scale, **kw)
    if q is not None and qo is not None:  # every family: the base computes H + KL
        scale = cross_scale(po, qo)
        expected = ExponentialFamily._generic_cross_entropy(po, qo)
        assert_close(p.cross_entropy(q), expected, scale=scale, **kw)
    if q is not None and qo is not None and overridden(family, "kl_divergence"):
        scale = cross_scale(po, qo)
        expected = ExponentialFamily.kl_divergence(po, qo)
        assert_close(p.kl_divergence(q), expected, scale=scale, **kw)


def _overrides_agree_with_generic_formulas(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> None:
    p, rng = draw(case, seed, batch_shape, dtype)
    q = case.other(rng, p)
    check_overrides(case, p, q, p.sample((3,), rng=rng))


@per_case
def test_overrides_agree_with_generic_formulas(case: FamilyCase) -> None:
    run_law(case, _overrides_agree_with_generic_formulas, limit=None)


@per_case
def test_fit_override_agrees_with_generic_fit(case: FamilyCase) -> None:
    if not case.fits:
        pytest.skip("case.fits is False")
    if not overridden(case.family, "fit"):
        pytest.skip(f"{case.family.__name__} uses the generic fit")
    rng = np.random.default_rng(11)
    p = case.make(rng, (), np.dtype(np.float64))
    x = p.sample((300,), rng=rng)
    w = rng.random(300)
    kwargs = case.fit_arguments(p)
    got = case.family.fit(x, weights=w, **kwargs)
    try:
        expected = generic_fit(case.family)(x, weights=w, **kwargs)
    except NotImplementedError:
        pytest.fail(
            f"{case.family.__name__} overrides `fit` but defines no `_fit_probe`, so the "
            "generic moment-matching fit cannot serve as its oracle"
        )
    mu = f64(expected.mean_params)
    assert_close(
        got.mean_params,
        mu,
        shape=mu.shape,
        rtol_eps=case.inverse_rtol_eps,
        scale=np.broadcast_to(np.abs(mu).max(), mu.shape),
    )


# ---------------------------------------------------------------------- quadrature


def check_quadrature(case: FamilyCase, dist: ExponentialFamily) -> None:
    assert case.quadrature is not None
    d = as64(dist)
    x, w = case.quadrature(d)
    x, w = np.asarray(x), f64(w)
    lp = f64(d.log_prob(x))  # (n,) + batch
    shape = lp.shape
    w = np.broadcast_to(w, shape)
    pdf = np.exp(lp)
    rtol = case.quadrature_rtol

    def close(total: F64, expected: Any, scale: Any) -> None:
        expected = f64(expected)
        err = np.abs(total - expected)
        assert np.all(err <= rtol * (f64(scale) + np.finfo(np.float64).tiny)), (total, expected)

    close((w * pdf).sum(axis=0), np.ones(d.batch_shape), (w * pdf).sum(axis=0))
    t = np.broadcast_to(f64(d.sufficient_statistic(x)), (*shape, *d.param_shape))
    wp = (w * pdf)[..., None]
    close((wp * t).sum(axis=0), d.mean_params, np.abs(wp * t).sum(axis=0))
    terms = -absdot(pdf[..., None], lp[..., None]) * np.sign(lp)
    close((w * terms).sum(axis=0), d.entropy(), (w * np.abs(terms)).sum(axis=0))
    logh = np.broadcast_to(f64(d.log_base_measure(x)), shape)
    close(
        (w * pdf * logh).sum(axis=0),
        d._expected_log_base_measure(),
        (w * pdf * np.abs(logh)).sum(axis=0),
    )


def _log_prob_sums_to_one_and_moments_over_the_support(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...]
) -> None:
    dist, _ = draw(case, seed, batch_shape, np.dtype(np.float64))
    check_quadrature(case, dist)


@per_case
def test_log_prob_sums_to_one_and_moments_over_the_support(case: FamilyCase) -> None:
    if case.quadrature is None:
        pytest.skip("case.quadrature is None")
    run_law(case, _log_prob_sums_to_one_and_moments_over_the_support, limit=FEW, with_dtype=False)


# ---------------------------------------------------------------------- scipy.stats


def _agrees_with_scipy_stats(case: FamilyCase, seed: int, batch_shape: tuple[int, ...]) -> None:
    dist, rng = draw(case, seed, batch_shape, np.dtype(np.float64))
    rtol_eps = eps_rtol(case.scipy_rtol)
    if case.scipy_log_prob is not None:
        x = dist.sample((5,), rng=rng)
        expected = f64(case.scipy_log_prob(dist, x))
        assert_close(dist.log_prob(x), expected, rtol_eps=rtol_eps, scale=1 + np.abs(expected))
    if case.scipy_entropy is not None:
        expected = f64(case.scipy_entropy(dist))
        assert_close(dist.entropy(), expected, rtol_eps=rtol_eps, scale=1 + np.abs(expected))


@per_case
def test_agrees_with_scipy_stats(case: FamilyCase) -> None:
    if case.scipy_log_prob is None and case.scipy_entropy is None:
        pytest.skip("case.scipy_log_prob and case.scipy_entropy are None")
    run_law(case, _agrees_with_scipy_stats, limit=FEW, with_dtype=False)


# ---------------------------------------------------------------------- Monte Carlo


def check_sample_mean(dist: ExponentialFamily, x: Any, n: int) -> None:
    """The sample mean of T(x) is within Z standard errors sqrt(F_ii / n) of the mean."""
    d = as64(dist)
    t = f64(d.sufficient_statistic(x)).mean(axis=0)
    mu = f64(d.mean_params)
    var = np.diagonal(f64(d.fisher_information()), axis1=-2, axis2=-1)
    tol = Z * np.sqrt(np.maximum(var, 0) / n) + 64 * eps_of(np.float64) * (1 + np.abs(mu))
    assert np.all(np.abs(t - mu) <= tol), (t, mu, tol)


@per_case
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_sample_moments_match_mean_params(case: FamilyCase, dtype: np.dtype[Any]) -> None:
    rng = np.random.default_rng(20240601)
    dist = case.make(rng, (3,), dtype)
    n = case.sample_size
    x = dist.sample((n,), rng=rng)
    event = np.shape(x)[1 + len(dist.batch_shape) :]
    assert np.shape(x) == (n, *dist.batch_shape, *event)
    assert len(event) == dist.event_ndim
    check_sample_mean(dist, x, n)


@per_case
def test_sample_is_reproducible_and_shaped(case: FamilyCase) -> None:
    dist = case.make(np.random.default_rng(5), (2, 1), np.dtype(np.float64))
    a = np.asarray(dist.sample((4, 3), rng=123))
    b = np.asarray(dist.sample((4, 3), rng=np.random.default_rng(123)))
    np.testing.assert_array_equal(a, b)
    assert a.shape[:4] == (4, 3, 2, 1)
    assert np.asarray(dist.sample(rng=1)).shape[:2] == (2, 1)
    assert np.asarray(dist.sample(5, rng=1)).shape[:3] == (5, 2, 1)


@per_case
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_fit_recovers_mean_params(case: FamilyCase, dtype: np.dtype[Any]) -> None:
    if not case.fits:
        pytest.skip("case.fits is False")
    rng = np.random.default_rng(777)
    dist = case.make(rng, (), dtype)
    n = case.sample_size
    x = dist.sample((n,), rng=rng)
    fitted = case.family.fit(x, **case.fit_arguments(dist))
    assert type(fitted) is case.family
    assert fitted.batch_shape == ()
    # moment matching: the fit's mean parameters are the sample mean of T(x) ...
    t = f64(as64(dist).sufficient_statistic(x)).mean(axis=0)
    scale = np.broadcast_to(np.abs(t).max(), t.shape)
    rtol = max(case.inverse_rtol_eps, 64) * eps_of(fitted.dtype) / eps_of(np.float64)
    assert_close(fitted.mean_params, t, rtol_eps=rtol, scale=scale)
    # ... which are within Z standard errors of the truth
    check_sample_mean(dist, x, n)


@per_case
def test_weighted_fit_equals_fit_on_repeated_data(case: FamilyCase) -> None:
    if not case.fits:
        pytest.skip("case.fits is False")
    rng = np.random.default_rng(99)
    dist = case.make(rng, (), np.dtype(np.float64))
    x = np.asarray(dist.sample((200,), rng=rng))
    w = rng.integers(0, 4, size=200)
    w[0] = 1
    kwargs = case.fit_arguments(dist)
    weighted = case.family.fit(x, weights=w.astype(np.float64), **kwargs)
    repeated = case.family.fit(np.repeat(x, w, axis=0), **kwargs)
    mu = f64(repeated.mean_params)
    scale = np.broadcast_to(np.abs(mu).max(), mu.shape)
    assert_close(weighted.mean_params, mu, rtol_eps=case.inverse_rtol_eps, scale=scale)
    with pytest.raises(ValueError, match="weights"):
        case.family.fit(x, weights=-w.astype(np.float64) - 1, **kwargs)


# ---------------------------------------------------------------------- dtype and shape


def _output_dtype_and_shape(
    case: FamilyCase, seed: int, batch_shape: tuple[int, ...], dtype: np.dtype[Any]
) -> None:
    p, rng = draw(case, seed, batch_shape, dtype)
    q = case.other(rng, p)
    x = p.sample((2,), rng=rng)
    d = p.param_shape[-1]
    outputs = {
        "natural_params": (p.natural_params, (*batch_shape, d)),
        "mean_params": (p.mean_params, (*batch_shape, d)),
        "log_partition": (p.log_partition(), batch_shape),
        "fisher_information": (p.fisher_information(), (*batch_shape, d, d)),
        "entropy": (p.entropy(), batch_shape),
        "cross_entropy": (p.cross_entropy(q), batch_shape),
        "kl_divergence": (p.kl_divergence(q), batch_shape),
        "log_prob": (p.log_prob(x), (2, *batch_shape)),
        "sufficient_statistic": (p.sufficient_statistic(x), (2, *batch_shape, d)),
        "_expected_log_base_measure": (p._expected_log_base_measure(), batch_shape),
    }
    for name, (value, shape) in outputs.items():
        assert isinstance(value, np.ndarray), name
        assert value.dtype == dtype, f"{name}: dtype {value.dtype} != {dtype}"
        assert value.shape == shape, f"{name}: shape {value.shape} != {shape}"
    assert p.batch_shape == batch_shape
    assert p.param_shape == (d,)
    if dtype == np.float32:
        check_float32_matches_float64(case, p, q, x, outputs)


@per_case
def test_output_dtype_and_shape(case: FamilyCase) -> None:
    run_law(case, _output_dtype_and_shape, limit=None)


def check_float32_matches_float64(
    case: FamilyCase,
    p: ExponentialFamily,
    q: ExponentialFamily,
    x: Any,
    outputs: dict[str, tuple[Any, tuple[int, ...]]],
) -> None:
    """float32 results agree with the float64 ones for the same parameters.

    To ``f32_rtol_eps`` float32 eps relative to the magnitude of the terms of the generic
    formula for the quantity (as for the override-vs-generic law).
    """
    p64, q64 = as64(p), as64(q)
    mu = f64(p64.mean_params)
    fisher = f64(p64.fisher_information())
    t = f64(p64.sufficient_statistic(x))
    expected = {
        "mean_params": (mu, np.abs(mu).max(axis=-1, keepdims=True)),
        "log_partition": (p64.log_partition(), np.abs(f64(p64.log_partition()))),
        "fisher_information": (fisher, np.abs(fisher).max(axis=(-2, -1), keepdims=True)),
        "entropy": (p64.entropy(), entropy_scale(p64)),
        "cross_entropy": (p64.cross_entropy(q64), cross_scale(p64, q64)),
        "kl_divergence": (p64.kl_divergence(q64), cross_scale(p64, q64)),
        "log_prob": (
            p64.log_prob(x),
            absdot(t, p64.natural_params)
            + np.abs(f64(p64.log_partition()))
            + np.abs(f64(p64.log_base_measure(x))),
        ),
    }
    for name, (exp, scale) in expected.items():
        v32, v64 = f64(outputs[name][0]), f64(exp)
        with np.errstate(invalid="ignore"):
            err = np.where(v32 == v64, 0.0, np.abs(v32 - v64))
        tol = case.f32_rtol_eps * eps_of(np.float32) * (np.abs(v64) + scale)
        # float32 subnormals (below 1.2e-38) are spaced 1.4e-45 apart whatever their
        # size: e.g. the Fisher information of a category with p ~ 1e-44
        tol = tol + 4 * float(np.finfo(np.float32).smallest_subnormal)
        assert np.all(err <= tol), f"{name}: float32 {v32} vs float64 {v64}"


# ---------------------------------------------------------------------- edge cases


def edge_params() -> list[Any]:
    out: list[Any] = []
    for case in CASES:
        for dtype in DTYPES:
            n = len(case.edge_cases(dtype)) if case.edge_cases is not None else 0
            out.extend(pytest.param(case, dtype, i, id=f"{case.id}-{dtype}-{i}") for i in range(n))
    return out


@pytest.mark.parametrize(("case", "dtype", "index"), edge_params())
def test_laws_on_edge_cases(case: FamilyCase, dtype: np.dtype[Any], index: int) -> None:
    assert case.edge_cases is not None
    dist = case.edge_cases(dtype)[index]
    assert dist.dtype == dtype
    check_self_divergence(case, dist)
    check_inverse(case, dist)
    x = dist.sample((3,), rng=0)
    check_overrides(case, dist, dist, x)
    if case.quadrature is not None:
        check_quadrature(case, dist)
    for value in (dist.entropy(), dist.log_partition(), dist.log_prob(x), dist.mean_params):
        assert value.dtype == dtype
        assert not np.any(np.isnan(value))


# ---------------------------------------------------------------------- the base class itself


class _Tagged(Categorical):
    """A categorical with a (dummy) known parameter, to exercise the base-class checks."""

    tag: int = 0

    def _init_fixed(self, **fixed: Any) -> None:
        self.tag = int(fixed.pop("tag", 0))
        super()._init_fixed(**fixed)

    def _fixed(self) -> dict[str, Any]:
        return {"tag": self.tag}


def test_base_class_checks_pairs() -> None:
    p = Categorical(logits=np.zeros((2, 3)))
    with pytest.raises(TypeError, match="`other` must be a Categorical; got _Tagged"):
        ExponentialFamily.kl_divergence(p, _Tagged(logits=np.zeros(3)))
    with pytest.raises(ValueError, match=r"batch shapes \(2,\) and \(3,\) \(`other`\)"):
        ExponentialFamily.cross_entropy(p, Categorical(logits=np.zeros((3, 3))))
    a = _Tagged.from_natural_params(np.zeros(3), tag=1)
    b = _Tagged.from_natural_params(np.zeros(3), tag=2)
    with pytest.raises(ValueError, match="`other` has tag=2, but this distribution has tag=1"):
        ExponentialFamily.kl_divergence(a, b)
    assert ExponentialFamily.kl_divergence(a, a) == 0


def test_base_class_construction_and_fit_errors() -> None:
    with pytest.raises(ValueError, match="trailing parameter axis"):
        Categorical.from_natural_params(1.0)
    with pytest.raises(TypeError, match="`natural_params` must be real"):
        Categorical.from_natural_params([1j])
    fit = generic_fit(Categorical)
    with pytest.raises(ValueError, match="at least one observation"):
        fit(np.zeros(0, dtype=int), num_categories=2)
    with pytest.raises(ValueError, match=r"`weights` must have shape \(2,\)"):
        fit([0, 1], weights=[1.0], num_categories=2)
    with pytest.raises(
        ValueError, match=r"`weights` must be finite and non-negative; found -1\.0"
    ):
        fit([0, 1], weights=[1.0, -1.0], num_categories=2)
    with pytest.raises(ValueError, match="`weights` must not all be zero"):
        fit([0, 1], weights=[0.0, 0.0], num_categories=2)
    with pytest.raises(NotImplementedError, match="does not define a generic fit"):
        ExponentialFamily.__dict__["_fit_probe"].__func__(ExponentialFamily)
    assert "batch_shape=(2,)" in repr(Categorical(logits=np.zeros((2, 3))))


@pytest.mark.parametrize("case", get_registry(), ids=lambda c: c.id)
def test_repr_shows_the_usual_parameters(case: FamilyCase) -> None:
    rng = np.random.default_rng(17)
    names = case.family._repr_params
    assert names, f"{case.family.__name__} declares no parameters for repr"
    for batch, dtype in [((), np.float64), ((3,), np.float32)]:
        dist = case.make(rng, batch, np.dtype(dtype))
        text = repr(dist)
        assert text.startswith(f"{case.family.__name__}("), text
        for name in names:
            value = np.asarray(getattr(dist, name))
            first = value.ravel()[0]
            shown = f"{first:.6g}" if value.dtype.kind == "f" else str(first)
            assert f"{name}={'[' * value.ndim}{shown}" in text, (name, text)
        assert ("batch_shape=" in text) == bool(batch), text
        assert ("dtype=float32" in text) == (dtype == np.float32), text
    huge = Categorical(logits=np.zeros((20, 1000)))  # parameters left out, shapes kept
    assert repr(huge) == "Categorical(batch_shape=(20,), param_shape=(1000,))"


@pytest.mark.parametrize("case", get_registry(), ids=lambda c: c.id)
def test_one_parameter_families_take_scalars_in_the_alternate_constructors(
    case: FamilyCase,
) -> None:
    dist = case.make(np.random.default_rng(23), (), np.dtype(np.float64))
    one = case.family._one_parameter
    if case.family is not Categorical:  # K categories: K = 1 is no one-parameter family
        assert one == (dist.param_shape == (1,))
    fixed = dist._fixed()
    if not one:
        with pytest.raises(ValueError, match="`mean_params`"):
            case.family.from_mean_params(1.0, **fixed)
        return
    mu, eta = float(dist.mean_params[0]), float(dist.natural_params[0])
    for build, value in [
        (case.family.from_mean_params, mu),
        (case.family.from_natural_params, eta),
    ]:
        scalar, vector = build(value, **fixed), build([value], **fixed)
        assert scalar.batch_shape == ()
        np.testing.assert_array_equal(scalar.natural_params, vector.natural_params)


def test_float32_underflow_counterexamples_found_in_ci() -> None:
    # Found by the `ci` hypothesis profile: float32 Categoricals with logits ~ +-50,
    # where probabilities underflow to subnormals or to 0 although the logits are
    # finite. The override's KL = +inf (q masks a category p keeps) is right; the
    # oracle must be evaluated in float64, and subnormal results compared absolutely.
    case = next(c for c in get_registry() if c.family is Categorical)
    f32 = np.dtype(np.float32)
    _overrides_agree_with_generic_formulas(case, seed=5295, batch_shape=(4, 1), dtype=f32)
    _output_dtype_and_shape(case, seed=5295, batch_shape=(3,), dtype=f32)
