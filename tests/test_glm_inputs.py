"""Bad input to expfam.glm, row by row: a clear error naming the argument."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import expfam

X = np.array([[0.1, 1.0], [0.5, -1.0], [1.5, 0.3], [2.0, 0.7], [-0.4, 0.2]])
Y = np.array([1, 0, 2, 3, 1])

BAD: list[tuple[str, Any, Any, dict[str, Any], type[Exception], str]] = [
    ("family not a family", "poisson", Y, {}, TypeError, "`family` must be one of"),
    ("family not supported", expfam.Beta, Y, {}, TypeError, "`family` must be one of"),
    ("X 1-d", X[:, 0], Y, {}, ValueError, "`X` must be 2-d"),
    ("X nan", np.where(X == 0.5, np.nan, X), Y, {}, ValueError, "`X` must be finite"),
    ("X complex", X + 1j, Y, {}, TypeError, "`X` must be real"),
    ("y short", X, Y[:3], {}, ValueError, "`y` must have 5 rows"),
    ("y nan", X, np.r_[Y[:4], np.nan], {}, ValueError, "`y` must be finite"),
    ("y negative Poisson", X, np.r_[Y[:4], -1], {}, ValueError, "`y` must hold non-negative"),
    ("y fractional Poisson", X, np.r_[Y[:4], 0.5], {}, ValueError, "`y` must hold non-negative"),
    ("weights shape", X, Y, {"weights": [1.0, 2.0]}, ValueError, "`weights` must have shape"),
    ("weights negative", X, Y, {"weights": [1, 1, 1, 1, -1]}, ValueError, "`weights` must be"),
    ("weights inf", X, Y, {"weights": [1, 1, 1, 1, np.inf]}, ValueError, "`weights` must be"),
    ("weights zero", X, Y, {"weights": np.zeros(5)}, ValueError, "`weights` must not all"),
    ("offset shape", X, Y, {"offset": np.zeros(4)}, ValueError, "`offset` must have shape"),
    ("offset nan", X, Y, {"offset": [0, 0, 0, 0, np.nan]}, ValueError, "`offset` must be"),
    ("l2 negative", X, Y, {"l2": -1.0}, ValueError, "`l2` must be finite and >= 0"),
    ("l2 nan", X, Y, {"l2": np.nan}, ValueError, "`l2` must be finite and >= 0"),
    ("l2 text", X, Y, {"l2": "big"}, TypeError, "`l2` must be a real number"),
    ("link", X, Y, {"link": "probit"}, ValueError, "`link` must be one of"),
    ("cov_type", X, Y, {"cov_type": "HC3"}, ValueError, "`cov_type` must be"),
    ("intercept None", None, Y, {"intercept": False}, ValueError, "`intercept` must be True"),
    ("fixed", X, Y, {"n": 3}, TypeError, "takes no fixed parameters"),
    ("no rows", np.zeros((0, 2)), np.zeros(0), {}, ValueError, "at least one observation"),
]


@pytest.mark.parametrize(
    ("X_", "y", "kw", "exc", "match"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_input(X_: Any, y: Any, kw: dict[str, Any], exc: type[Exception], match: str) -> None:
    family = kw.pop("family", None)
    fam: Any = expfam.Poisson
    if isinstance(X_, str) or X_ is expfam.Beta:
        fam, X_ = X_, X
    with pytest.raises(exc, match=match):
        expfam.glm(family or fam, X_, y, **kw)


def test_rank_deficient_design_names_the_columns() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "a_twice": 2 * X[:, 0]})
    with pytest.raises(ValueError, match=r"rank deficient.*'a'.*'a_twice'"):
        expfam.glm(expfam.Poisson, df, Y)
    res = expfam.glm(expfam.Poisson, df, Y, l2=0.1)  # a ridge makes it well posed
    assert res.converged


@pytest.mark.parametrize(
    ("family", "y", "fixed", "match"),
    [
        (expfam.Bernoulli, [0, 1, 2, 0, 1], {}, "0 or 1"),
        (expfam.Binomial, [0, 1, 6, 0, 1], {"n": 5}, r"\{0, ..., n\}"),
        (expfam.Binomial, [0, 1, 2, 0, 1], {}, "needs exactly the fixed parameter `n`"),
        (expfam.Binomial, [0, 1, 2, 0, 1], {"n": 0}, "`n` must hold positive integers"),
        (expfam.Geometric, [0, 1, 2, 3, 1], {}, "integers >= 1"),
        (expfam.Gamma, [0.0, 1.0, 2.0, 3.0, 1.0], {}, "positive numbers"),
        (expfam.Exponential, [-1.0, 1.0, 2.0, 3.0, 1.0], {}, "positive numbers"),
        (expfam.Categorical, [0, 1, -1, 0, 1], {}, "integer labels"),
        (expfam.Categorical, [0, 1, 3, 0, 1], {"num_categories": 3}, "label >= `num_categories`"),
        (expfam.Categorical, np.zeros((5, 3)), {}, "sums to 0"),
        (expfam.Categorical, -np.ones((5, 3)), {}, "non-negative"),
    ],
)
def test_response_outside_support(family: Any, y: Any, fixed: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        expfam.glm(family, X, y, **fixed)


def test_categorical_offset_shape() -> None:
    with pytest.raises(ValueError, match=r"`offset` must have shape \(5, 3\)"):
        expfam.glm(expfam.Categorical, X, [0, 1, 2, 0, 1], offset=np.zeros(5))


def test_gamma_without_a_feasible_start() -> None:
    # no intercept and a row of zeros: eta = 0 is outside Gamma's domain eta < 0
    Xz = np.array([[0.0], [1.0], [2.0]])
    with pytest.raises(ValueError, match="natural domain"):
        expfam.glm(expfam.Gamma, Xz, [1.0, 2.0, 3.0], intercept=False)


def test_predict_checks() -> None:
    res = expfam.glm(expfam.Poisson, X, Y)
    with pytest.raises(ValueError, match=r"`X` must have shape \(m, 2\)"):
        res.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`offset` must have shape"):
        res.predict(X, offset=np.zeros(3))
    with pytest.raises(ValueError, match="`level` must be in"):
        res.conf_int(1.5)
    b = expfam.glm(expfam.Binomial, X, [0, 1, 2, 1, 1], n=3)
    with pytest.raises(TypeError, match="needs `n=`"):
        b.predict(X)
