"""Passes over the data per solve, counted through a counting ndarray (not a timer).

Issue 12: ``boltzmann`` and ``max_entropy`` at large ``K`` as few passes; the count is
host-independent. ``benchmarks/bench_maxent.py`` prints the same counts beside the
timings. See :mod:`tests.passcount` for what a pass is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import expfam
from expfam import _kernels, _maxent, _onedim
from expfam._validation import as_float_array
from tests.passcount import PassLog, counting

K = 100_000  # above the float32 threshold (16384): the large-problem path


@pytest.fixture
def energies_log(monkeypatch: pytest.MonkeyPatch) -> PassLog:
    """Wrap the energies where the solver converts them, so every pass is seen."""
    log = PassLog(K)
    real = as_float_array

    def wrap(x: Any, name: str) -> Any:
        return counting(real(x, name), log)

    monkeypatch.setattr(_onedim, "as_float_array", wrap)
    return log


def test_the_counter_counts_sweeps() -> None:
    n = 1 << 20
    log = PassLog(n)
    x = counting(np.linspace(0.0, 1.0, n), log)
    np.exp(x)
    assert log.passes == 1
    log.reset()
    y = np.empty_like(x)
    for i in range(0, n, 1 << 15):  # several operations per block: one sweep
        b = slice(i, i + (1 << 15))
        np.multiply(x[b], 2.0, out=y[b])
        y[b] += 1.0
        float(y[b].sum())
    assert log.passes == 1
    log.reset()
    float(x.min())
    float(x.max())
    assert log.passes == 2  # two whole-array reductions: two sweeps
    log.reset()
    x.astype(np.float32)
    assert log.passes == 1


@pytest.mark.parametrize("U", [-1.0, 0.3, 2.5])
def test_boltzmann_passes_per_solve(energies_log: PassLog, U: float) -> None:
    """Validation 1; scaling with a float32 Halley step 1; a float64 Halley step 1;
    the final pass 1; the polish (when the residual is above an ulp) 1; a second
    float64 step where the subsample's start is poor (far in the tail, U = 2.5); the
    strided subsample of the start is 1/3 of a pass at this K (1/30 at K = 1e6)."""
    E = np.random.default_rng(0).normal(size=K)
    r = expfam.boltzmann(E, U)
    assert r.residual is not None
    assert r.residual <= 8 * np.spacing(abs(U))
    assert 4 <= energies_log.passes <= 6.5, energies_log.passes


def test_boltzmann_at_given_beta_passes(energies_log: PassLog) -> None:
    E = np.random.default_rng(1).normal(size=K)
    expfam.boltzmann(E, beta=0.7)
    assert energies_log.passes <= 12, energies_log.passes


def test_max_entropy_passes_per_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """m = 5 features: at most 6 passes over the K x 5 features (30 K-vectors).

    The pinning pass (transposed, with the Gram matrix of a float32 copy of each
    cached block: the Newton phase starts from the gradient and Hessian at zero
    multipliers without a pass), two fused Newton passes (value, gradient and
    Hessian; the second also gives the polish its float64 gradient), and the polish's
    gradient pass that also writes q and log q (no final pass of its own). It was 12
    passes, then 7.2, then 6.2; now 5.2.
    """
    m = 5
    rng = np.random.default_rng(2)
    F = rng.normal(size=(K, m))
    z = F @ (rng.normal(size=m) * 0.5)
    w = np.exp(z - z.max())
    mu = (w / w.sum()) @ F
    log = PassLog(K)  # in K-vectors: one pass over the features is m of them
    real = as_float_array

    def wrap(x: Any, name: str) -> Any:
        a = real(x, name)
        return counting(a, log) if name == "features" else a

    monkeypatch.setattr(_maxent, "as_float_array", wrap)
    r = expfam.max_entropy(F, mu)
    assert r.residual <= 1e-12 * float(np.max(np.abs(F)))
    assert log.passes / m <= 6, log.passes / m


def test_logsumexp_is_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The yardstick of the benchmark: one expfam.logsumexp over a K-vector."""
    log = PassLog(K)
    real = as_float_array
    monkeypatch.setattr(_kernels, "as_float_array", lambda x, name: counting(real(x, name), log))
    expfam.logsumexp(np.random.default_rng(3).normal(size=K))
    assert log.passes <= 2
