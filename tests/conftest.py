"""Test configuration: hypothesis profiles.

``ci`` (chosen when ``CI`` is set) is thorough and derandomized: the same examples on
every run, so a submission's result is reproducible and a red run can be replayed.
``dev`` is quick and random, so that local runs keep exploring new examples; what they
find is pinned as an explicit regression test.
"""

from __future__ import annotations

import os

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
