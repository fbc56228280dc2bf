"""Import-level checks: the public API is what ``__all__`` says and is typed."""

from __future__ import annotations

import importlib.resources

import expfam


def test_all_names_importable() -> None:
    for name in expfam.__all__:
        assert hasattr(expfam, name), name


def test_py_typed_shipped() -> None:
    assert importlib.resources.files("expfam").joinpath("py.typed").is_file()


def test_helpers_importable() -> None:
    from tests.helpers import assert_close

    assert_close(expfam.logsumexp([0.0, 0.0]), 0.6931471805599453, dtype="float64", shape=())
