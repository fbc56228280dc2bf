"""Import-level checks: the public API is what ``__all__`` says and is typed."""

from __future__ import annotations

import importlib.resources
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import expfam


def test_all_names_importable() -> None:
    for name in expfam.__all__:
        assert hasattr(expfam, name), name


def test_py_typed_shipped() -> None:
    assert importlib.resources.files("expfam").joinpath("py.typed").is_file()


def test_helpers_importable() -> None:
    from tests.helpers import assert_close

    assert_close(expfam.logsumexp([0.0, 0.0]), 0.6931471805599453, dtype="float64", shape=())


# each costs a noticeable share of `import expfam`; loaded on first use (scipy.optimize
# pulls in scipy.sparse and scipy.spatial: ~0.12 s together)
LAZY = ("scipy.stats", "scipy.optimize", "scipy.sparse", "scipy.spatial")


def test_import_does_not_load_heavy_scipy_submodules() -> None:
    # a fresh interpreter: this test session has long since imported scipy.stats itself
    code = "import sys, expfam; print(*sorted(m for m in sys.argv[1:] if m in sys.modules))"
    r = subprocess.run(  # noqa: S603 - our own interpreter and package
        [sys.executable, "-c", code, *LAZY],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [], f"`import expfam` loaded {r.stdout.strip()}"


def test_lazily_imported_paths_still_work() -> None:
    # each caller that imports scipy.stats on first use, run once
    prior = expfam.Beta(a=2.0, b=3.0)
    assert prior.posterior_predictive(expfam.Binomial, n=4).pmf(1) > 0
    assert prior.posterior_predictive(expfam.Geometric).pmf(1) > 0
    assert prior.posterior_predictive(expfam.NegativeBinomial, r=2).pmf(1) > 0
    gamma = expfam.Gamma(shape=2.0, rate=3.0)
    assert gamma.posterior_predictive(expfam.Poisson).pmf(1) > 0
    assert gamma.posterior_predictive(expfam.Exponential).pdf(1.0) > 0
    assert np.isfinite(expfam.NegativeBinomial(r=3, probs=0.25).entropy())
    x, y = np.arange(6.0)[:, None], np.array([0.0, 1, 1, 3, 2, 5])
    for family in (expfam.Poisson, expfam.Normal):  # normal reference, then Student t
        p = expfam.glm(family, x, y).p_values
        assert np.all((p > 0) & (p < 1)), p
    # each GLM path that imports scipy.optimize or scipy.sparse on first use, run once:
    # the existence program with a separated row (find_face, its recession direction)
    sep = expfam.glm(expfam.Bernoulli, x, [0, 0, 0, 1, 1, 1])
    assert not sep.mle_exists
    assert np.array_equal(sep.predict().mean_params[:, 0], [0, 0, 0, 1, 1, 1])
    cat = expfam.glm(expfam.Categorical, x, [0, 0, 1, 1, 2, 2])  # its sparse constraint rows
    assert not cat.mle_exists
    # Gamma without an intercept: R's start is outside eta < 0, a linear program finds one
    gam = expfam.glm(
        expfam.Gamma, np.array([[1.0], [2.0], [3.0]]), [3.0, 2.0, 1.0], intercept=False
    )
    assert gam.converged
    assert gam.coef[0] < 0
    # L-BFGS before Newton: at least LBFGS_MIN unknowns
    rng = np.random.default_rng(0)
    Xw = rng.normal(size=(400, 200)) / 20
    wide = expfam.glm(expfam.Poisson, Xw, rng.poisson(1.0, size=400), l2=1.0)
    assert wide.converged


def test_blas_threads_pinned_before_numpy_loaded(numpy_loaded_before_conftest: bool) -> None:
    # conftest sets the BLAS thread variables; OpenBLAS reads them only when numpy loads
    # it, so a pytest plugin that imports numpy first would make the pin ineffective
    assert not numpy_loaded_before_conftest
    assert os.environ["OPENBLAS_NUM_THREADS"]
    assert os.environ["OMP_NUM_THREADS"]
