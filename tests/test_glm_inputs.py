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


# Categorical labels: a label is a category index, so bool labels are a TypeError naming
# `y`, as in Categorical.fit (numpy would read [0, True] as [0, 1] and fit silently)
LABELS = np.array([0, 1, 1, 0, 1])
BOOL_LABELS: list[tuple[str, Any, str]] = [
    ("bool array", LABELS.astype(bool), "got dtype bool"),
    ("list with True", [0, True, 1, 0, 1], "found the bool True"),
    ("list with np.False_", [np.False_, 1, 1, 0, 1], "found the bool False"),
    ("tuple of bools", (False, True, True, False, True), "found the bool False"),
    ("0-d bool arrays", [np.array(b) for b in LABELS.astype(bool)], "found the bool False"),
]


@pytest.mark.parametrize(
    ("y", "match"), [c[1:] for c in BOOL_LABELS], ids=[c[0] for c in BOOL_LABELS]
)
def test_categorical_bool_labels_raise_type_error_naming_y(y: Any, match: str) -> None:
    with pytest.raises(TypeError, match=rf"^`y` must hold integer labels; {match}"):
        expfam.glm(expfam.Categorical, X, y, l2=1.0)
    with pytest.raises(TypeError, match="`x` must hold integer labels"):  # the same rule
        expfam.Categorical.fit(y, 2)


def test_categorical_bool_series_labels_raise() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="`y` must hold integer labels; got dtype bool"):
        expfam.glm(expfam.Categorical, X, pd.Series(LABELS.astype(bool)), l2=1.0)


@pytest.mark.parametrize("y", [np.array(list("abaab")), list("abaab"), LABELS.astype(object)])
def test_categorical_labels_that_are_not_numbers_raise_type_error(y: Any) -> None:
    with pytest.raises(TypeError, match=r"`y` must hold integer labels 0, ..., K - 1; got dtype"):
        expfam.glm(expfam.Categorical, X, y, l2=1.0)


def test_bool_counts_and_outcomes_stay_zero_one() -> None:
    # rows of counts (2-d) and a Bernoulli outcome may be bool: 0/1, as the dtype rules say
    onehot = np.eye(3)[[0, 1, 2, 0, 1]]
    got = expfam.glm(expfam.Categorical, X, onehot.astype(bool), l2=1.0)
    want = expfam.glm(expfam.Categorical, X, [0, 1, 2, 0, 1], l2=1.0)
    np.testing.assert_allclose(got.coef, want.coef, rtol=1e-12, atol=1e-14)
    got_b = expfam.glm(expfam.Bernoulli, X, LABELS.astype(bool), l2=1.0)
    want_b = expfam.glm(expfam.Bernoulli, X, LABELS, l2=1.0)
    np.testing.assert_array_equal(got_b.coef, want_b.coef)
