r"""
Cross-entropy with logits: h(u) = KL + H, and its gradient
===========================================================

For a probability vector :math:`p` and logits :math:`u`, the cross-entropy of
:math:`p` against :math:`S(u) = \operatorname{softmax}(u)` is

.. math::

    h(u) = -\langle p, u\rangle + \operatorname{LSE}(u)
         = \mathrm{KL}(p \,\|\, S(u)) + H(p),
    \qquad \nabla h(u) = S(u) - p .

:math:`H(p)` does not depend on :math:`u`, so minimising :math:`h` is minimising a
KL divergence, and the minimum value is the entropy :math:`H(p)`, reached where
:math:`S(u) = p`. Here we draw :math:`h` over a 2-D slice of logits for three
categories, :math:`u = (u_1, u_2, 0)` (the third logit is fixed, because adding
a constant to every logit changes nothing), with the gradient field.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

import expfam

p = np.array([0.6, 0.3, 0.1])
grid = np.linspace(-3.0, 4.0, 141)
U1, U2 = np.meshgrid(grid, grid)
U = np.stack([U1, U2, np.zeros_like(U1)], axis=-1)  # shape (141, 141, 3)

# %%
# One call evaluates :math:`h` and its gradient on the whole grid (the kernels
# reduce over the last axis and broadcast ``p`` against the logits).
h, grad = expfam.cross_entropy_with_logits(p, U, return_grad=True)

# The identity, checked on every grid point:
kl_plus_h = expfam.kl_divergence(p, expfam.softmax(U)) + expfam.entropy(p)
print(f"max |h - (KL + H)| over the grid: {np.max(np.abs(h - kl_plus_h)):.2e}")
print(f"max |grad - (S(u) - p)|:          {np.max(np.abs(grad - (expfam.softmax(U) - p))):.2e}")

# The minimiser: S(u) = p, that is u_j = log(p_j / p_3) on this slice.
u_star = np.log(p[:2] / p[2])
print(f"minimiser u* = {u_star},  h(u*) = H(p) = {float(expfam.entropy(p)):.6f} nats")

# %%
# Left: contours of :math:`h` and the descent direction :math:`-(S(u) - p)`, which
# points at the minimiser. Right: a cut along :math:`u_1` through the minimiser,
# with :math:`h`, its two parts and the gradient component :math:`S(u)_1 - p_1`.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")

cs = ax0.contourf(U1, U2, h, levels=25, cmap="viridis")
fig.colorbar(cs, ax=ax0, label="h(u)  [nats]")
s = slice(None, None, 10)
ax0.quiver(U1[s, s], U2[s, s], -grad[s, s, 0], -grad[s, s, 1], color="white", alpha=0.8)
ax0.plot(*u_star, marker="*", color="red", markersize=14, label="minimiser: S(u) = p")
ax0.set(xlabel="$u_1$", ylabel="$u_2$", title="$h(u)$ and $-\\nabla h = p - S(u)$ ($u_3 = 0$)")
ax0.legend(loc="lower left")

t = np.linspace(-3.0, 5.0, 400)
cut = np.stack([t, np.full_like(t, u_star[1]), np.zeros_like(t)], axis=-1)
h_cut, g_cut = expfam.cross_entropy_with_logits(p, cut, return_grad=True)
kl_cut = expfam.kl_divergence(p, expfam.softmax(cut))
ax1.plot(t, h_cut, lw=3, label="$h(u) = -\\langle p,u\\rangle + \\mathrm{LSE}(u)$")
ax1.plot(t, kl_cut + expfam.entropy(p), "k--", label="$\\mathrm{KL}(p\\|S(u)) + H(p)$")
ax1.axhline(float(expfam.entropy(p)), color="gray", lw=1, label="$H(p)$: the minimum")
ax1.axvline(u_star[0], color="red", lw=1)
ax1.set(xlabel="$u_1$ (with $u_2 = u_2^*$, $u_3 = 0$)", ylabel="nats", title="a cut through $u^*$")
tw = ax1.twinx()
tw.plot(t, g_cut[:, 0], color="tab:orange", label="$\\partial h/\\partial u_1 = S(u)_1 - p_1$")
tw.axhline(0.0, color="tab:orange", lw=0.5)
tw.set_ylabel("gradient", color="tab:orange")
lines = ax1.get_legend_handles_labels()
more = tw.get_legend_handles_labels()
ax1.legend(lines[0] + more[0], lines[1] + more[1], loc="upper center", fontsize=8)

# %%
# Masked categories work the same way: a logit of ``-inf`` gives probability 0,
# and as long as the target puts no mass there the value stays finite and the
# gradient there is exactly zero.
u = np.array([2.0, 0.5, -np.inf])
value, g = expfam.cross_entropy_with_logits([0.7, 0.3, 0.0], u, return_grad=True)
print(f"masked: h = {float(value):.6f}, gradient = {g}")

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("cross_entropy_identity.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
