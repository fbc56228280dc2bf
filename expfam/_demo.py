r"""``expfam demo``: the library's story, end to end, on built-in data.

Four short acts, each printed with the numbers it computes:

1. the kernels at the edges, beside the naive formulas that fail there;
2. the identity :math:`h(u) = -\langle p, u\rangle + \operatorname{LSE}(u)
   = \mathrm{KL}(p\|S(u)) + H(p)` and its gradient :math:`S(u) - p`;
3. a maximum-likelihood categorical fitted to sixty rolls of a die;
4. Jaynes' dice: the maximum-entropy die with the same mean, via
   :func:`expfam.boltzmann`, and the Pythagorean identity that links it to the fit.

Runs in well under a second after import. Parts whose API is missing from this
build of expfam are skipped with a note instead of failing.
"""

from __future__ import annotations

import math
from typing import Any, TextIO

import numpy as np

import expfam

__all__ = ["DIE_ROLLS", "run_demo"]

#: Sixty rolls of a loaded die (faces 1 to 6); their mean is exactly 4.5.
DIE_ROLLS = (
    "3 6 1 6 4 4 4 6 5 6 6 6 6 6 5 3 2 5 6 5 4 1 2 4 4 6 6 6 6 6 "
    "5 4 6 3 3 5 5 6 5 6 5 5 5 3 5 4 5 6 5 2 4 4 6 6 3 2 3 5 1 3"
)


def _vec(x: Any, fmt: str = ".4g") -> str:
    """Format a 1-D array compactly: ``[0.7, 0.3, 0]``."""
    return "[" + ", ".join(format(float(v), fmt) for v in np.ravel(x)) + "]"


def _act_kernels(out: TextIO) -> None:
    print("1. Kernels at the edges, beside the textbook formulas", file=out)
    x = np.array([1000.0, 1000.0])
    y = np.array([0.0, -40.0])
    p = np.array([0.5, 0.5, 0.0])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rows = [
            (
                "logsumexp([1000, 1000])",
                float(np.log(np.sum(np.exp(x)))),
                float(expfam.logsumexp(x)),
                "naive exp overflows",
            ),
            (
                "log_softmax([0, -40])[0]",
                float(y[0] - np.log(np.sum(np.exp(y)))),
                float(expfam.log_softmax(y)[0]),
                "exact: -log1p(e**-40)",
            ),
            (
                "entropy([0.5, 0.5, 0])",
                float(-np.sum(p * np.log(p))),
                float(expfam.entropy(p)),
                "log 2, as 0 log 0 = 0",
            ),
        ]
    print(f"   {'':26}{'naive formula':>16}{'expfam':>25}", file=out)
    for name, naive, ours, note in rows:
        print(f"   {name:26}{naive!r:>16}{ours!r:>25}   {note}", file=out)
    u = np.array([2.0, 0.5, -np.inf])
    print(
        f"   softmax([2, 0.5, -inf]) = {_vec(expfam.softmax(u))}: -inf masks a category",
        file=out,
    )


def _act_identity(out: TextIO) -> None:
    print(
        "\n2. Cross-entropy with logits: h(u) = -<p,u> + LSE(u) = KL(p || S(u)) + H(p)", file=out
    )
    p = np.array([0.7, 0.3, 0.0])
    u = np.array([2.0, 0.5, -np.inf])
    h, grad = expfam.cross_entropy_with_logits(p, u, return_grad=True)
    s = expfam.softmax(u)
    kl_plus_h = float(expfam.kl_divergence(p, s) + expfam.entropy(p))
    print(f"   p = {_vec(p)},  u = {_vec(u)}", file=out)
    print(
        f"   h(u) = {float(h):.12f}   KL(p || S(u)) + H(p) = {kl_plus_h:.12f}",
        file=out,
    )
    # central differences along the two finite logits
    step = 1e-6
    fd = []
    for j in range(2):
        e = np.zeros(3)
        e[j] = step
        hp = float(expfam.cross_entropy_with_logits(p, u + e))
        hm = float(expfam.cross_entropy_with_logits(p, u - e))
        fd.append((hp - hm) / (2 * step))
    print(
        f"   gradient S(u) - p = {_vec(grad, '.6f')};"
        f"  finite differences: {_vec(fd, '.6f')} (finite logits)",
        file=out,
    )


def _fit_die(labels: np.ndarray[Any, Any], pseudocount: float) -> Any:
    fit = getattr(expfam.Categorical, "fit", None)
    try:
        return fit(labels, 6, pseudocount=pseudocount) if fit is not None else None
    except (TypeError, NotImplementedError):  # an older Categorical without this contract
        return None


def _act_fit(out: TextIO) -> Any:
    print("\n3. Maximum likelihood: a categorical fitted to 60 rolls of a die", file=out)
    faces = np.array(DIE_ROLLS.split(), dtype=np.intp)
    counts = np.bincount(faces - 1, minlength=6)
    print(f"   counts of faces 1..6: {counts.tolist()}   mean roll {faces.mean():.4g}", file=out)
    dist = _fit_die(faces - 1, 0.0)
    if dist is None:
        print("   (skipped: this build of expfam has no Categorical.fit)", file=out)
        return None
    smooth = _fit_die(faces - 1, 1.0)
    loglik = float(np.sum(dist.log_prob(faces - 1)))
    print(f"   MLE probabilities:          {_vec(dist.probs, '.4f')}", file=out)
    if smooth is not None:
        print(f"   with pseudocount 1 (Laplace): {_vec(smooth.probs, '.4f')}", file=out)
    h = float(dist.entropy())
    print(
        f"   entropy {h:.4f} nats = {h / math.log(2):.4f} bits;  log-likelihood {loglik:.4f}",
        file=out,
    )
    return dist


def _act_jaynes(out: TextIO, fitted: Any) -> None:
    print("\n4. Jaynes' dice: told only that the mean roll is 4.5, which die is it?", file=out)
    boltzmann = getattr(expfam, "boltzmann", None)
    if boltzmann is None:
        print("   (skipped: this build of expfam has no boltzmann)", file=out)
        return
    faces = np.arange(1.0, 7.0)
    res = boltzmann(faces, 4.5)
    q = res.distribution.probs
    print(
        f"   maximum entropy: p_k ~ exp(-beta k) with beta = {res.beta:.6f}"
        " (negative: high faces favoured)",
        file=out,
    )
    print(f"   probabilities: {_vec(q, '.4f')}", file=out)
    print(
        f"   entropy {res.entropy:.4f} nats, log Z {res.log_partition:.4f},"
        f" free energy {res.free_energy:.4f}",
        file=out,
    )
    if fitted is not None:
        kl = float(expfam.kl_divergence(fitted.probs, q))
        gap = float(res.entropy - fitted.entropy())
        print(
            "   The fitted die has the same mean, so it has less entropy, and the gap is a KL:",
            file=out,
        )
        print(
            f"   H(maxent) - H(fit) = {gap:.6f} = KL(fit || maxent) = {kl:.6f}",
            file=out,
        )


def run_demo(out: TextIO) -> None:
    """Print the demonstration to `out`.

    Parameters
    ----------
    out : file-like
        Where to write the narrated printout.
    """
    print(f"expfam {expfam.__version__}: exponential families on numpy and scipy\n", file=out)
    _act_kernels(out)
    _act_identity(out)
    fitted = _act_fit(out)
    _act_jaynes(out, fitted)
    print("\nNext: `expfam --help` lists the commands; the docs live in docs/.", file=out)
