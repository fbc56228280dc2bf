"""Test configuration: BLAS threads, hypothesis profiles, and a Dask cluster.

BLAS runs on one thread (unless the environment says otherwise): the tests multiply
small matrices, for which OpenBLAS's threads only contend with each other and with
other processes (on a 2-core machine ``tests/test_glm_softmax.py`` took 14 s with
OpenBLAS's default of two threads, 6 s with one; more on a loaded one). OpenBLAS reads
the variables once, when numpy loads it, so they are set here, before anything
imports numpy; pytest loads this file before collecting the tests, and its plugins
(hypothesis) do not import numpy. Dask workers inherit the environment.

``ci`` (chosen when ``CI`` is set) is thorough and derandomized: the same examples on
every run, so a submission's result is reproducible and a red run can be replayed.
``dev`` is quick and random, so that local runs keep exploring new examples; what they
find is pinned as an explicit regression test.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings  # none of these imports loads numpy

#: Whether numpy was loaded before the variables below were set (then they came too late).
NUMPY_LOADED_FIRST = "numpy" in sys.modules
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A real ``dask.distributed`` cluster: two worker processes of one thread each.

    Started once per session and shut down at its end. The workers import expfam from
    this checkout: its root is put on their ``PYTHONPATH``.
    """
    distributed = pytest.importorskip("distributed")
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    with warnings.catch_warnings():
        # the scheduler and workers may warn about the host (memory limits, ports)
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"PYTHONPATH": path},
        )
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            cluster.close()


@pytest.fixture(scope="session")
def numpy_loaded_before_conftest() -> bool:
    """Whether numpy was imported before this file pinned the BLAS threads."""
    return NUMPY_LOADED_FIRST
