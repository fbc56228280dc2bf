"""Detection of Dask arrays without importing Dask (a minimal private helper).

The kernels branch adds ``expfam/_dask.py`` with the package's shared Dask helpers;
this check is meant to be merged into it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_dask_array"]


def is_dask_array(x: Any) -> bool:
    """Whether `x` is a Dask collection such as ``dask.array.Array``."""
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "__dask_graph__")
