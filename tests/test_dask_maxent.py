"""``boltzmann`` on Dask arrays of energies: the in-memory answers, lazily returned q.

Run on Dask's threaded scheduler. Each dual iteration is one Dask pass (one
``dask.compute`` of a few reductions), counted through the solver's pass counter.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import expfam
from expfam import _boltzmann_dask

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

EPS = float(np.finfo(np.float64).eps)


@pytest.fixture(autouse=True)
def _threads() -> Any:
    with dask.config.set(scheduler="threads"):
        yield


def chunked(x: np.ndarray[Any, Any], sizes: list[int]) -> Any:
    """`x` as a Dask array with the given chunk sizes (the last one takes the rest)."""
    out, start = [], 0
    for s in sizes:
        if start >= x.size:
            break
        out.append(min(s, x.size - start))
        start += out[-1]
    if start < x.size:
        out.append(x.size - start)
    return da.from_array(x, chunks=(tuple(out),))


@given(
    seed=st.integers(0, 2**16),
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=5),
    frac=st.floats(0.01, 0.99),
)
def test_dask_equals_in_memory_whatever_the_chunking(
    seed: int, sizes: list[int], frac: float
) -> None:
    E = np.random.default_rng(seed).normal(size=5000)
    U = float(np.quantile(E, frac))
    s = expfam.boltzmann(E, U)
    r = expfam.boltzmann(chunked(E, sizes), U)
    assert isinstance(r.probs, da.Array)
    assert r.beta == pytest.approx(s.beta, rel=1e-11, abs=1e-13)
    assert r.entropy == pytest.approx(s.entropy, rel=1e-12)
    assert r.log_partition == pytest.approx(s.log_partition, rel=1e-12, abs=1e-13)
    assert r.variance == pytest.approx(s.variance, rel=1e-11)
    assert r.mean_energy == pytest.approx(U, rel=0, abs=64 * EPS * max(1.0, abs(U)) * 10)
    assert r.residual is not None
    assert r.residual <= 64 * EPS * float(s.probs @ np.abs(E))
    np.testing.assert_allclose(r.probs.compute(), s.probs, rtol=1e-10, atol=1e-300)
    assert r.distribution.probs.shape == (E.size,)


@pytest.mark.parametrize("beta", [0.0, 0.7, -2.0, math.inf, -math.inf])
def test_dask_at_given_beta(beta: float) -> None:
    E = np.random.default_rng(1).uniform(-3, 5, 4000)
    s = expfam.boltzmann(E, beta=beta)
    r = expfam.boltzmann(da.from_array(E, chunks=333), beta=beta)
    for name in ("entropy", "log_partition", "free_energy", "mean_energy", "variance"):
        a, b = getattr(r, name), getattr(s, name)
        assert a == b or a == pytest.approx(b, rel=1e-12), name
    assert r.heat_capacity == pytest.approx(s.heat_capacity, rel=1e-11)
    assert r.residual is None
    np.testing.assert_allclose(r.probs.compute(), s.probs, rtol=1e-11, atol=1e-300)


def test_dask_exact_edges() -> None:
    E = np.array([0.0, 0.0, 1.0, 2.0])
    Ed = da.from_array(E, chunks=3)
    r = expfam.boltzmann(Ed, 0.0)
    assert r.beta == math.inf
    assert r.temperature == 0.0
    np.testing.assert_array_equal(r.probs.compute(), [0.5, 0.5, 0.0, 0.0])
    assert r.residual == 0.0
    assert expfam.boltzmann(Ed, 2.0).beta == -math.inf
    assert expfam.boltzmann(Ed, float(E.mean())).beta == 0.0


def test_dask_bad_input() -> None:
    with pytest.raises(ValueError, match="`energies` must be finite"):
        expfam.boltzmann(da.from_array(np.array([0.0, np.nan, 1.0]), chunks=2), 0.5)
    with pytest.raises(expfam.InfeasibleError):
        expfam.boltzmann(da.from_array(np.array([0.0, 1.0]), chunks=1), 2.0)
    with pytest.raises(ValueError, match="sweep"):
        expfam.boltzmann(da.from_array(np.array([0.0, 1.0]), chunks=1), np.array([0.2, 0.4]))
    with pytest.raises(ValueError, match="1-D"):
        expfam.boltzmann(da.zeros((2, 2), chunks=1), 0.0)


def test_each_dual_iteration_is_one_dask_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: one ``dask.compute`` per Halley iteration, plus four for the setup."""
    calls: list[int] = []
    real = _boltzmann_dask.Moments.compute

    def counted(self: Any, *sums: Any) -> list[float]:
        calls.append(len(sums))
        return real(self, *sums)

    monkeypatch.setattr(_boltzmann_dask.Moments, "compute", counted)
    E = da.random.default_rng(5).normal(size=200_000, chunks=25_000)
    r = expfam.boltzmann(E, -1.5)
    # range and mean, bracket, the iterations, final moments, centred variance
    assert len(calls) == r.iterations + 4
    assert r.iterations <= 8
    assert r.residual is not None
    assert r.residual <= 1e-13


def exact_residual_ulp(q: Any, E: Any, U: float) -> float:
    """``|sum_j q_j E_j - U|`` in exact rational arithmetic, in ulps of `U`."""
    pairs = zip(q.tolist(), E.tolist(), strict=True)
    total = sum((Fraction(a) * Fraction(b) for a, b in pairs), Fraction())
    return abs(float(total - Fraction(U))) / math.ulp(U)


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e300, 1e-271, 1e-300])
@pytest.mark.parametrize("seed", [0, 1])
def test_dask_residual_is_scale_free(scale: float, seed: int) -> None:
    # regression: log u = log(gap) - log(span) lost ~ulp(log span) absolutely, and the
    # residual was 150-4000 ulp of U at energies near 1e+-300 (1-40 ulp at scale 1)
    E = np.random.default_rng(seed).normal(size=3000) * scale
    U = 0.4 * scale
    r = expfam.boltzmann(da.from_array(E, chunks=97), U)
    assert exact_residual_ulp(r.probs.compute(), E, U) <= 64


def test_dask_energies_whose_span_overflows() -> None:
    # E - ref overflowed to inf (and unit * span in the multiplier: beta was 0)
    E = np.array([-1e308, 1e308])
    s = expfam.boltzmann(E, 1e307)
    r = expfam.boltzmann(da.from_array(E, chunks=1), 1e307)
    assert r.beta == pytest.approx(s.beta, rel=1e-12)
    np.testing.assert_allclose(r.probs.compute(), s.probs, rtol=1e-12)
    assert r.heat_capacity == pytest.approx(s.heat_capacity, rel=1e-12)


# --------------------------------------------------------------------------- max_entropy
def _problem(seed: int, k: int, m: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(k, m))
    z = F @ (rng.normal(size=m) * 0.5)
    w = np.exp(z - z.max())
    return F, (w / w.sum()) @ F


@given(seed=st.integers(0, 2**16), rows=st.integers(250, 4000), m=st.integers(1, 4))
def test_dask_max_entropy_equals_in_memory(seed: int, rows: int, m: int) -> None:
    F, mu = _problem(seed, 3000, m)
    s = expfam.max_entropy(F, mu)
    r = expfam.max_entropy(da.from_array(F, chunks=(rows, m)), mu)
    np.testing.assert_allclose(r.multipliers, s.multipliers, rtol=1e-9, atol=1e-12)
    assert r.entropy == pytest.approx(s.entropy, rel=1e-12)
    assert r.residual <= 1e-12 * float(np.max(np.abs(F)))
    q = r.probs.compute()
    np.testing.assert_allclose(q, s.probs, rtol=1e-9, atol=1e-300)
    got = np.array([math.fsum((q * F[:, i]).tolist()) for i in range(m)])
    assert np.all(np.abs(got - mu) <= 1e-12 * np.max(np.abs(F), axis=0))


def test_dask_max_entropy_faces_and_errors() -> None:
    f = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.5]])
    r = expfam.max_entropy(da.from_array(f, chunks=2), [0.5, 1.0])
    np.testing.assert_array_equal(r.probs.compute(), [0.0, 0.0, 0.5, 0.5, 0.0])
    np.testing.assert_array_equal(r.support.compute(), [False, False, True, True, False])
    assert r.multipliers[1] == math.inf
    x = np.arange(1.0, 7.0)
    assert expfam.max_entropy(da.from_array(x, chunks=4), 4.5).multipliers[0] == pytest.approx(
        0.37104894, rel=1e-7
    )
    with pytest.raises(expfam.InfeasibleError):
        expfam.max_entropy(da.from_array(x, chunks=4), 7.0)
    with pytest.raises(ValueError, match="`prior` is not supported"):
        expfam.max_entropy(da.from_array(x, chunks=4), 3.0, prior=np.ones(6))
    with pytest.raises(ValueError, match="`features` must be finite"):
        expfam.max_entropy(
            da.from_array(np.array([[1.0, np.nan], [0.0, 1.0]]), chunks=1), [0.5, 0.5]
        )


def test_dask_max_entropy_one_pass_per_newton_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: each dual iteration (Newton step or backtracking trial) is one Dask pass."""
    calls: list[int] = []
    real = dask.compute

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args))
        return real(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", counted)
    F, mu = _problem(7, 100_000, 5)
    r = expfam.max_entropy(da.from_array(F, chunks=(20_000, 5)), mu)
    # column ranges, whitening covariance, moments at 0, then one per iteration
    assert len(calls) == r.iterations + 3
    assert r.iterations <= 12


# ------------------------------------------------------------------ unknown chunk sizes
def filtered(n: int, m: int | None = None) -> Any:
    """A Dask array of unknown chunk sizes (shape ``(nan,)`` or ``(nan, m)``)."""
    x = da.from_array(np.random.default_rng(0).normal(size=n if m is None else (n, m)), chunks=7)
    keep = da.from_array(np.arange(n) % 3 != 0, chunks=7)
    return x[keep]


def test_unknown_chunk_sizes_are_refused_naming_the_argument() -> None:
    # regression: the error said only that a float NaN cannot become an integer
    hint = r"unknown chunk sizes .*compute_chunk_sizes"
    with pytest.raises(ValueError, match=f"^`energies` has {hint}"):
        expfam.boltzmann(filtered(100), 0.3)
    with pytest.raises(ValueError, match=f"^`energies` has {hint}"):
        expfam.boltzmann(filtered(100), beta=0.3)
    with pytest.raises(ValueError, match=f"^`features` has {hint}"):
        expfam.max_entropy(filtered(100, 2), [0.1, 0.1])
    # once computed, the same arrays are solved
    e = filtered(100).compute_chunk_sizes()
    ref = expfam.boltzmann(e.compute(), 0.3)
    assert expfam.boltzmann(e, 0.3).beta == pytest.approx(ref.beta, rel=1e-12)


def exact_residuals(q: Any, F: Any, mu: Any) -> list[float]:
    """``|sum_j q_j F_ji - mu_i|`` per feature, in exact rational arithmetic."""
    out = []
    for i in range(F.shape[1]):
        pairs = zip(q.tolist(), F[:, i].tolist(), strict=True)
        total = sum((Fraction(a) * Fraction(b) for a, b in pairs), Fraction())
        out.append(abs(float(total - Fraction(float(mu[i])))))
    return out


@pytest.mark.parametrize(
    ("seed", "m", "offset", "mu"),
    [
        (0, 1, 1e8, [1e8 + 0.7]),  # 378 ulp of max|f| before the polish
        (11, 3, 0.0, [0.3, -0.2, 0.1]),  # 91 ulp
        (22, 2, 0.0, [0.5, 0.4]),  # 441 ulp
        (21, 2, 0.0, [0.5, 0.4]),  # 120 ulp
    ],
)
def test_dask_max_entropy_residual_within_a_few_ulp(
    seed: int, m: int, offset: float, mu: list[float]
) -> None:
    F = offset + np.random.default_rng(seed).normal(size=(3000, m))
    r = expfam.max_entropy(da.from_array(F, chunks=(97, m)), mu)
    res = exact_residuals(r.probs.compute(), F, mu)
    scale = np.max(np.abs(F), axis=0)
    assert all(res[i] <= 8 * math.ulp(float(scale[i])) for i in range(m))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dask_max_entropy_on_a_face_that_is_not_axis_aligned(seed: int) -> None:
    # the documented behaviour: no linear program out of core, so the Newton steps
    # push the multipliers up until the residual meets the tolerance; the mass off
    # the face is then of the order of the tolerance, not exactly 0
    P = np.random.default_rng(seed).dirichlet([1.0, 1.0, 1.0], size=200)[:, :2]
    F = np.vstack([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], P])
    on = F.sum(axis=1) == 1.0
    assert on.sum() == 2  # (1, 0) and (0, 1): the face x + y = 1
    r = expfam.max_entropy(da.from_array(F, chunks=(7, 2)), [0.5, 0.5])
    q = r.probs.compute()
    assert r.converged
    assert bool(r.support.compute().all())
    assert 0.0 < q[~on].sum() <= 1e-10
    assert np.all(r.multipliers > 1e3)
    np.testing.assert_allclose(q, expfam.max_entropy(F, [0.5, 0.5]).probs, rtol=0, atol=1e-10)
