"""Shared assertions: dtype-aware closeness and errors measured in units of eps."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def eps_of(dtype: Any) -> float:
    """Machine epsilon of a floating dtype."""
    return float(np.finfo(dtype).eps)


def assert_close(
    actual: Any,
    expected: ArrayLike,
    *,
    dtype: Any = None,
    shape: tuple[int, ...] | None = None,
    rtol_eps: float = 8.0,
    atol_eps: float = 0.0,
    scale: ArrayLike | None = None,
) -> None:
    """Assert `actual` ~= `expected` within ``rtol_eps * eps`` of the dtype.

    Also asserts the dtype and shape when given. ``scale`` replaces ``|expected|`` as the
    magnitude the error is measured against (e.g. the sum of the magnitudes of terms).
    Infinities and nans must match exactly.
    """
    a = np.asarray(actual)
    e = np.asarray(expected, dtype=np.float64)
    if dtype is not None:
        assert a.dtype == np.dtype(dtype), f"dtype {a.dtype} != {np.dtype(dtype)}"
    if shape is not None:
        assert a.shape == shape, f"shape {a.shape} != {shape}"
    eps = eps_of(a.dtype if a.dtype.kind == "f" else np.float64)
    a64 = a.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(a64), np.isnan(e), err_msg="nan pattern differs")
    inf = np.isinf(e) | np.isinf(a64)
    np.testing.assert_array_equal(a64[inf], e[inf], err_msg="infinities differ")
    fin = ~(inf | np.isnan(e))
    mag = np.abs(e) if scale is None else np.broadcast_to(np.abs(np.asarray(scale)), e.shape)
    err = np.abs(a64[fin] - e[fin])
    bound = rtol_eps * eps * mag[fin] + atol_eps * eps
    ok = err <= bound
    if not np.all(ok):
        worst = np.argmax(err - bound)
        raise AssertionError(
            f"{int((~ok).sum())} element(s) off; worst: actual {a64[fin][worst]!r}, "
            f"expected {e[fin][worst]!r}, "
            f"error {err[worst] / (eps * max(mag[fin][worst], 1e-300)):.3g} "
            f"eps relative (allowed {rtol_eps})"
        )


def _usual(dist: Any) -> dict[str, Any]:
    names = dist._repr_params or ("natural_params",)
    return {n: np.asarray(getattr(dist, n), dtype=np.float64) for n in names if n not in "nr"}


def assert_same_fit(a: Any, b: Any, ulps: float = 4.0) -> None:
    """Usual parameters within `ulps` ulp, relative (a normal's loc against its scale)."""
    assert type(a) is type(b)
    assert a.dtype == b.dtype
    eps = float(np.finfo(a.dtype).eps)
    pa, pb = _usual(a), _usual(b)
    for name, va in pa.items():
        vb = pb[name]
        mag = np.abs(va)
        if name == "loc":
            mag = np.maximum(mag, pa["scale"])
        err = np.abs(va - vb)
        ok = err <= ulps * eps * mag
        assert np.all(ok), (name, va, vb, err / (eps * mag))
