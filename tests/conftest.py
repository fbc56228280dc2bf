"""Test configuration: hypothesis profiles, and a Dask cluster for the tests that use it.

``ci`` (chosen when ``CI`` is set) is thorough and derandomized: the same examples on
every run, so a submission's result is reproducible and a red run can be replayed.
``dev`` is quick and random, so that local runs keep exploring new examples; what they
find is pinned as an explicit regression test.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

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
