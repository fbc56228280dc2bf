r"""
Accuracy on confident rows: expfam, scipy and the textbook formula
==================================================================

A *confident* row of logits has one entry far above the others, say
:math:`u = (0, -t)` with :math:`t` between 20 and 700. Its softmax is
:math:`(1 - \varepsilon, \varepsilon)` with :math:`\varepsilon \approx e^{-t}`, and the
quantities of interest are tiny:

.. math::

    \log S(u)_1 = -\log(1 + e^{-t}) \approx -e^{-t}, \qquad
    H(S(u)) = \log(1 + e^{-t}) + \frac{t\,e^{-t}}{1 + e^{-t}} \approx (1 + t)\,e^{-t}.

Formulas that first form :math:`1 + e^{-t}` (or :math:`1 - \varepsilon`) in floating
point round it to 1 once :math:`e^{-t}` is below eps (:math:`t > 37`): they lose
:math:`\log S(u)_1` completely and the :math:`\log(1 + e^{-t})` part of the entropy
(a relative error of about :math:`1/(1 + t)`). expfam computes
:math:`\operatorname{log1p}` of the sum of the non-maximal terms instead
(Blanchard, Higham & Higham, 2021), and the categorical entropy from the logits
as :math:`A(u) - \langle u, S(u) \rangle`, a sum of positive terms.

We measure the relative error in units of the float64 machine epsilon against
references computed to 50 significant digits with Python's :mod:`decimal`.
"""

import sys
from decimal import Decimal, localcontext
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from scipy import special, stats

import expfam

eps = np.finfo(np.float64).eps
ts = np.linspace(20.0, 700.0, 69)


def reference(t: float) -> tuple[float, float]:
    """Exact log S(u)_1 and H(S(u)) for u = (0, -t), to 50 digits, rounded to float64."""
    with localcontext() as ctx:
        ctx.prec = 50 + int(t / 2.3)  # enough digits that 1 + e**-t keeps 50 of e**-t
        e = Decimal(-t).exp()
        log1p_e = (1 + e).ln()
        return float(-log1p_e), float(log1p_e + Decimal(t) * e / (1 + e))


ref_log_softmax, ref_entropy = np.array([reference(t) for t in ts]).T


def in_eps(computed: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Relative error in units of eps, floored at 0.01 so that exact results show on a log axis."""
    return np.asarray(np.maximum(np.abs(computed - exact) / np.abs(exact) / eps, 1e-2))


# %%
# Every row at once: the logits have shape ``(69, 2)``.
U = np.stack([np.zeros_like(ts), -ts], axis=-1)

with np.errstate(divide="ignore", invalid="ignore"):
    naive_ls = (U - np.log(np.sum(np.exp(U), axis=-1, keepdims=True)))[:, 0]
    p_naive = np.exp(U) / np.sum(np.exp(U), axis=-1, keepdims=True)
    naive_h = -np.sum(p_naive * np.log(p_naive), axis=-1)
log_softmax = {
    "naive $u - \\log\\sum e^u$": naive_ls,
    "scipy.special.log_softmax": special.log_softmax(U, axis=-1)[:, 0],
    "expfam.log_softmax": expfam.log_softmax(U)[:, 0],
}
entropy = {
    "naive $-\\sum p\\log p$": naive_h,
    "scipy.stats.entropy(softmax)": stats.entropy(special.softmax(U, axis=-1), axis=-1),
    "expfam.Categorical(logits).entropy()": expfam.Categorical(logits=U).entropy(),
}

print(
    f"{'t':>5}  {'quantity':<12}{'exact':>12}"
    + "".join(f"{k[:28]:>30}" for k in ("naive", "scipy", "expfam"))
)
for i in (0, 8, 68):
    for name, ref, values in (
        ("log S(u)_1", ref_log_softmax, log_softmax),
        ("H(S(u))", ref_entropy, entropy),
    ):
        cells = "".join(f"{float(v[i]):>30.6e}" for v in values.values())
        print(f"{ts[i]:>5.0f}  {name:<12}{ref[i]:>12.4e}{cells}")

# %%
# The relative errors. A relative error of :math:`1/\varepsilon \approx 4.5 \times
# 10^{15}` ulps means that no digit is right (the result is 0 or lost entirely).
fig, axes = plt.subplots(1, 2, figsize=(12, 4.3), layout="constrained", sharey=True)
styles: list[dict[str, Any]] = [
    {"lw": 6, "alpha": 0.35},  # naive and scipy coincide: a wide pale band under a dashed line
    {"ls": "--", "lw": 1.5},
    {"ls": "none", "marker": "o", "ms": 4},
]
panels = [
    ("log-softmax, first entry, of $(0, -t)$", ref_log_softmax, log_softmax),
    ("entropy of softmax$(0, -t)$", ref_entropy, entropy),
]
for ax, (title, ref, results) in zip(axes, panels, strict=True):
    for (label, values), style in zip(results.items(), styles, strict=True):
        ax.semilogy(ts, in_eps(values, ref), label=label, **style)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.text(700, 1.3, "1 eps", ha="right", va="bottom", color="gray", fontsize=8)
    ax.set(xlabel="$t$", title=title)
    ax.legend(fontsize=8, loc="center right")
axes[0].set_ylabel("relative error [units of eps = 2.2e-16]")
axes[0].set_ylim(5e-3, 1e17)
fig.text(0.99, 0.01, "errors below 0.01 eps are drawn at 0.01", ha="right", fontsize=8)

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("accuracy.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
