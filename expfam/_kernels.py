"""The log-sum-exp family of kernels.

All reduce over ``axis=-1`` by default, accept any axis, broadcast like numpy, keep
float32 and float64, turn integer and boolean input into float64 and reject complex
input with ``TypeError``. The edge policy (``±inf``, ``nan``, zeros, empty axes) is
documented once, in the module docstring of :mod:`expfam` and in the docs'
*Conventions* page, and every kernel follows it.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from expfam._validation import (
    FloatArray,
    as_float_array,
    check_axis,
    check_nonnegative,
    result_float_dtype,
)

__all__ = [
    "cross_entropy",
    "cross_entropy_with_logits",
    "entropy",
    "kl_divergence",
    "log_softmax",
    "logsumexp",
    "mul0",
    "softmax",
]


def mul0(w: FloatArray, x: FloatArray) -> FloatArray:
    """Elementwise ``w * x`` with ``0 * (±inf) = 0``: a zero weight contributes zero.

    This is the one place where the convention ``0 · log 0 = 0`` (and its relatives,
    such as a masked category with zero target mass) is implemented.
    """
    out = np.zeros(np.broadcast_shapes(w.shape, x.shape), dtype=np.result_type(w, x))
    np.multiply(w, x, out=out, where=(w != 0))
    return out


def _shift(a: FloatArray) -> tuple[NDArray[np.intp], FloatArray, NDArray[np.bool_]]:
    """Arg-max, max and "max is finite" of `a` along its last axis (length >= 1)."""
    idx = np.argmax(a, axis=-1)  # the first nan if there is one
    m = np.take_along_axis(a, idx[..., None], axis=-1)[..., 0]
    return idx, m, np.isfinite(m)


def _lse_parts(
    a: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
    """Shifted logits ``d = a - max`` (<= 0), ``s = sum_{j != argmax} exp(d_j)``, max, ok.

    ``log-sum-exp = max + log1p(s)``; rows whose max is not finite have ``ok`` False
    and arbitrary ``d``/``s``.
    """
    idx, m, ok = _shift(a)
    ms = np.where(ok, m, 0)
    with np.errstate(invalid="ignore", over="ignore"):
        d = a - ms[..., None]
        e = np.exp(d)
    np.put_along_axis(e, idx[..., None], 0, axis=-1)
    s = e.sum(axis=-1)
    return d, s, m, ok


def _moved(x: ArrayLike, name: str, axis: Any) -> tuple[FloatArray, int]:
    a = as_float_array(x, name)
    if a.ndim == 0:
        raise ValueError(f"`{name}` must have at least one dimension to reduce over")
    ax = check_axis(axis, a.ndim)
    return np.moveaxis(a, ax, -1), ax


def logsumexp(x: ArrayLike, axis: int = -1, keepdims: bool = False) -> FloatArray:
    r"""Log of the sum of exponentials, :math:`\log \sum_j e^{x_j}`, without overflow.

    The log-partition function :math:`A(u)` of the categorical family.

    Parameters
    ----------
    x : array_like
        Real input (logits).
    axis : int, optional
        Axis to reduce over. Default ``-1``.
    keepdims : bool, optional
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray
        ``log(sum(exp(x), axis))``, float32 for float32 input, else float64.

    Notes
    -----
    With :math:`m = \max_j x_j` attained at :math:`j^*`, the result is computed as
    :math:`m + \operatorname{log1p}(\sum_{j \ne j^*} e^{x_j - m})`, which is accurate
    to a few units of roundoff even when the sum is tiny compared with 1 [1]_.
    Empty axis or all ``-inf`` gives ``-inf``; any ``+inf`` (and no ``nan``) gives
    ``+inf``; any ``nan`` gives ``nan``.

    References
    ----------
    .. [1] P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing the
       log-sum-exp and softmax functions", IMA J. Numer. Anal. 41 (2021).

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import logsumexp
    >>> x = np.array([1000.0, 1000.0])
    >>> float(logsumexp(x))  # the naive np.log(np.exp(x).sum()) overflows to inf
    1000.6931471805599
    >>> float(logsumexp([0.0, -40.0]))  # log1p keeps the tiny e**-40 contribution
    4.248354255291589e-18
    """
    a, ax = _moved(x, "x", axis)
    if a.shape[-1] == 0:
        out = np.full(a.shape[:-1], -np.inf, dtype=a.dtype)
    else:
        _, s, m, ok = _lse_parts(a)
        out = np.where(ok, m + np.log1p(s), m).astype(a.dtype, copy=False)
    return np.expand_dims(out, ax) if keepdims else out


def softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Softmax :math:`S(x)_j = e^{x_j} / \sum_k e^{x_k}`, the gradient of log-sum-exp.

    The mean map of the categorical family: logits to probabilities.

    Parameters
    ----------
    x : array_like
        Real input (logits); ``-inf`` marks a masked category (probability 0).
    axis : int, optional
        Axis along which the probabilities sum to one. Default ``-1``.

    Returns
    -------
    ndarray
        Same shape as `x`. A row whose maximum is ``+inf``, that is all ``-inf`` or
        that holds a ``nan`` is ``nan`` throughout (undefined); other rows are unaffected.

    See Also
    --------
    log_softmax, logsumexp

    Examples
    --------
    >>> from expfam import softmax
    >>> softmax([0.0, 0.0, -float("inf")])
    array([0.5, 0.5, 0. ])
    """
    a, ax = _moved(x, "x", axis)
    if a.shape[-1] == 0:
        return np.moveaxis(a.copy(), -1, ax)
    _, m, ok = _shift(a)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(a - np.where(ok, m, 0)[..., None])
        e /= e.sum(axis=-1, keepdims=True)
    e[~ok] = np.nan
    return np.moveaxis(e, -1, ax)


def log_softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Log of the softmax, :math:`x_j - \operatorname{LSE}(x)`, accurate for every entry.

    Parameters
    ----------
    x : array_like
        Real input (logits); ``-inf`` entries stay ``-inf``.
    axis : int, optional
        Axis of the categories. Default ``-1``.

    Returns
    -------
    ndarray
        Same shape as `x`; undefined rows (see :func:`softmax`) are ``nan``.

    Notes
    -----
    Computed as :math:`(x_j - m) - \operatorname{log1p}(s)` so that the dominant
    entry keeps its digits: for ``x = [0, -40]`` the first entry is ``-4.25e-18``,
    not ``0``.

    See Also
    --------
    softmax, logsumexp

    Examples
    --------
    >>> from expfam import log_softmax
    >>> log_softmax([0.0, -40.0])
    array([-4.24835426e-18, -4.00000000e+01])
    """
    a, ax = _moved(x, "x", axis)
    if a.shape[-1] == 0:
        return np.moveaxis(a.copy(), -1, ax)
    d, s, _, ok = _lse_parts(a)
    out = d - np.log1p(s)[..., None]
    out[~ok] = np.nan
    return np.moveaxis(out.astype(a.dtype, copy=False), -1, ax)


def _prob_pair(
    p: ArrayLike, q: ArrayLike, axis: Any, qname: str = "q"
) -> tuple[FloatArray, FloatArray]:
    pa = as_float_array(p, "p")
    qa = as_float_array(q, qname)
    check_nonnegative(pa, "p")
    ndim = max(pa.ndim, qa.ndim)
    if ndim == 0:
        raise ValueError("`p` and `q` must have at least one dimension to reduce over")
    try:
        pb, qb = np.broadcast_arrays(pa, qa)
    except ValueError:
        raise ValueError(
            f"`p` with shape {pa.shape} and `{qname}` with shape {qa.shape} do not broadcast"
        ) from None
    ax = check_axis(axis, ndim)
    dt = result_float_dtype(pa, qa)
    return np.moveaxis(pb, ax, -1).astype(dt, copy=False), np.moveaxis(qb, ax, -1).astype(
        dt, copy=False
    )


def entropy(p: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Shannon entropy :math:`H(p) = -\sum_j p_j \log p_j` in nats, with :math:`0 \log 0 = 0`.

    Parameters
    ----------
    p : array_like
        Non-negative weights (a probability vector, or any non-negative vector: no
        renormalisation is done).
    axis : int, optional
        Axis to reduce over. Default ``-1``.

    Returns
    -------
    ndarray
        The entropy; an empty axis gives ``0``.

    Raises
    ------
    ValueError
        If `p` has a negative entry.

    See Also
    --------
    cross_entropy, kl_divergence

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import entropy
    >>> bool(entropy([0.5, 0.5, 0.0]) == np.log(2))
    True
    """
    a, _ = _moved(p, "p", axis)
    check_nonnegative(a, "p")
    return np.asarray(special.entr(a).sum(axis=-1))


def kl_divergence(p: ArrayLike, q: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p\|q) = \sum_j p_j \log(p_j/q_j)`.

    Parameters
    ----------
    p, q : array_like
        Non-negative weights, broadcast against each other. No renormalisation.
    axis : int, optional
        Axis to reduce over. Default ``-1``.

    Returns
    -------
    ndarray
        ``+inf`` where some ``q_j = 0 < p_j``; terms with ``p_j = 0`` are ``0``.

    Raises
    ------
    ValueError
        If `p` or `q` has a negative entry, or the shapes do not broadcast.

    See Also
    --------
    entropy, cross_entropy

    Examples
    --------
    >>> from expfam import kl_divergence
    >>> float(kl_divergence([0.5, 0.5], [0.5, 0.5]))
    0.0
    >>> float(kl_divergence([0.5, 0.5], [1.0, 0.0]))
    inf
    """
    pa, qa = _prob_pair(p, q, axis)
    check_nonnegative(qa, "q")
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        ratio = pa / qa
        terms = special.rel_entr(pa, qa)
        # p/q overflowed or underflowed although both are positive: use the log difference
        bad = (pa > 0) & (qa > 0) & ((ratio == 0) | np.isinf(ratio))
        if np.any(bad):
            terms[bad] = pa[bad] * (np.log(pa[bad]) - np.log(qa[bad]))
    return np.asarray(terms.sum(axis=-1))


def cross_entropy(p: ArrayLike, q: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Cross-entropy :math:`\ell(p, q) = -\sum_j p_j \log q_j`, with :math:`0 \log 0 = 0`.

    Parameters
    ----------
    p, q : array_like
        Non-negative weights, broadcast against each other. No renormalisation.
    axis : int, optional
        Axis to reduce over. Default ``-1``.

    Returns
    -------
    ndarray
        ``+inf`` where some ``q_j = 0 < p_j``.

    Raises
    ------
    ValueError
        If `p` or `q` has a negative entry, or the shapes do not broadcast.

    See Also
    --------
    cross_entropy_with_logits, entropy, kl_divergence

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import cross_entropy, entropy, kl_divergence
    >>> p, q = np.array([0.25, 0.75]), np.array([0.5, 0.5])
    >>> bool(np.isclose(cross_entropy(p, q), entropy(p) + kl_divergence(p, q)))
    True
    """
    pa, qa = _prob_pair(p, q, axis)
    check_nonnegative(qa, "q")
    with np.errstate(divide="ignore"):
        return np.asarray(-special.xlogy(pa, qa).sum(axis=-1))


@overload
def cross_entropy_with_logits(
    p: ArrayLike, logits: ArrayLike, axis: int = -1, *, return_grad: Literal[False] = False
) -> FloatArray: ...
@overload
def cross_entropy_with_logits(
    p: ArrayLike, logits: ArrayLike, axis: int = -1, *, return_grad: Literal[True]
) -> tuple[FloatArray, FloatArray]: ...
def cross_entropy_with_logits(
    p: ArrayLike, logits: ArrayLike, axis: int = -1, *, return_grad: bool = False
) -> FloatArray | tuple[FloatArray, FloatArray]:
    r"""Cross-entropy of `p` against ``softmax(logits)``, and optionally its gradient.

    .. math::

        h(u) = -\sum_j p_j \log S(u)_j = (\textstyle\sum_j p_j)\,\operatorname{LSE}(u)
               - \langle p, u\rangle,
        \qquad \nabla_u h = (\textstyle\sum_j p_j)\, S(u) - p .

    For a probability vector `p` this is :math:`-\langle p,u\rangle + \operatorname{LSE}(u)
    = \mathrm{KL}(p\|S(u)) + H(p)` with gradient :math:`S(u) - p`; for counts it is the
    negative log-likelihood.

    Parameters
    ----------
    p : array_like
        Non-negative target weights (probabilities or counts).
    logits : array_like
        Real logits `u`, broadcast against `p`; ``-inf`` marks a masked category.
    axis : int, optional
        Axis of the categories. Default ``-1``.
    return_grad : bool, optional
        Also return the gradient with respect to `logits`, computed in the same pass.

    Returns
    -------
    value : ndarray
        The cross-entropy; ``+inf`` where a masked category has ``p_j > 0``; ``nan``
        for a row of `logits` whose softmax is undefined (see :func:`softmax`).
    grad : ndarray
        Only with ``return_grad=True``: the gradient, shaped like the broadcast input.

    Notes
    -----
    Evaluated as :math:`\sum_j p_j\,(\operatorname{log1p}(s) + (m - u_j))`, a sum of
    non-negative terms, so it is accurate to a few units of roundoff.

    See Also
    --------
    cross_entropy, softmax, logsumexp

    Examples
    --------
    >>> import numpy as np
    >>> from expfam import cross_entropy_with_logits, entropy, kl_divergence, softmax
    >>> p, u = np.array([0.7, 0.3, 0.0]), np.array([2.0, 0.5, -np.inf])
    >>> h, g = cross_entropy_with_logits(p, u, return_grad=True)
    >>> bool(np.isclose(h, kl_divergence(p, softmax(u)) + entropy(p)))
    True
    >>> bool(np.allclose(g, softmax(u) - p))
    True
    """
    pa, ua = _prob_pair(p, logits, axis, qname="logits")
    ax = check_axis(axis, pa.ndim)
    if pa.shape[-1] == 0:
        value = np.zeros(pa.shape[:-1], dtype=pa.dtype)
        grad = np.moveaxis(pa.copy(), -1, ax)
        return (value, grad) if return_grad else value
    d, s, _, ok = _lse_parts(ua)
    l1p = np.log1p(s)
    value = np.where(ok, mul0(pa, l1p[..., None] - d).sum(axis=-1), np.nan)
    if not return_grad:
        return value
    total = pa.sum(axis=-1)
    with np.errstate(under="ignore"):
        sm = np.exp(d - l1p[..., None])
    grad = sm * total[..., None] - pa
    grad[~ok] = np.nan
    return value, np.moveaxis(grad, -1, ax)
