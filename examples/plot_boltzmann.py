r"""
Jaynes' dice and the Boltzmann distribution
===========================================

Among all distributions over states with energies :math:`E_i` and a given mean
energy :math:`\langle E \rangle`, the one of largest entropy is the Boltzmann
distribution

.. math::

    p_i = \frac{e^{-\beta E_i}}{Z(\beta)}, \qquad
    \log Z(\beta) = \operatorname{LSE}(-\beta E),

a categorical with logits :math:`-\beta E`. The inverse temperature
:math:`\beta = 1/T` is the Lagrange multiplier of the mean-energy constraint.
:func:`expfam.boltzmann` solves for :math:`\beta` given :math:`\langle E \rangle`,
or takes :math:`\beta` directly, and reports the thermodynamic quantities: the
free energy :math:`F = -T \log Z = \langle E \rangle - T S`, the entropy
:math:`S` and the variance of the energy, which gives the heat capacity
:math:`C = \beta^2 \operatorname{Var}(E)`.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

import expfam

# %%
# Jaynes' dice (1957)
# -------------------
# A die is rolled many times and we are told only that the mean roll was 4.5, not
# 3.5 as for a fair die. Which distribution over the faces should we assign? The
# maximum-entropy answer treats the faces as energies and solves for
# :math:`\beta`; it comes out negative, favouring the high faces.
faces = np.arange(1.0, 7.0)
jaynes = expfam.boltzmann(faces, 4.5)
print(f"beta = {jaynes.beta:.6f}, T = {jaynes.temperature:.4f}")
print("p =", np.round(jaynes.distribution.probs, 5))
print(f"entropy {jaynes.entropy:.5f} nats (a fair die has log 6 = {np.log(6):.5f})")

# %%
# The same family for every :math:`\beta`: at :math:`\beta = 0` the die is fair,
# for :math:`\beta \to +\infty` it always shows 1, for :math:`\beta \to -\infty`
# always 6.
betas = np.linspace(-1.5, 1.5, 121)
dice = expfam.boltzmann(faces, beta=betas).probs  # shape (121, 6): a sweep in beta

# %%
# A two-level system and a ladder of levels
# -----------------------------------------
# For a two-level system with gap :math:`\Delta = 1` the heat capacity has the
# famous Schottky peak near :math:`T \approx 0.42\,\Delta`: at low temperature
# the upper level is frozen out, at high temperature both levels are equally
# filled, and only in between does adding energy change the populations much.
# We compare with the closed form
# :math:`C = (\Delta/T)^2 e^{\Delta/T} / (1 + e^{\Delta/T})^2`.
temps = np.linspace(0.02, 3.0, 300)
# One call sweeps all the temperatures and returns the heat capacity
# :math:`C = \beta^2 \operatorname{Var}(E)` as an array.
two_level = expfam.boltzmann([0.0, 1.0], temperature=temps)
heat_capacity = two_level.heat_capacity
x = 1 / temps
exact = x**2 * np.exp(-x) / (1 + np.exp(-x)) ** 2
print(f"max |C - closed form| = {np.max(np.abs(heat_capacity - exact)):.1e}")
print(f"Schottky peak at T = {temps[np.argmax(heat_capacity)]:.3f}")

# Ten equally spaced levels: entropy and free energy against temperature.
ladder = np.arange(10.0)
states = expfam.boltzmann(ladder, temperature=temps)
entropy, free_energy, mean_energy = states.entropy, states.free_energy, states.mean_energy
print(
    "F = <E> - T S holds to",
    f"{np.max(np.abs(free_energy - (mean_energy - temps * entropy))):.1e}",
)

# %%
# The figure: the dice against :math:`\beta`, the thermodynamics of the ladder,
# and the Schottky peak.
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
ax = axes[0]
for k in range(6):
    ax.plot(betas, dice[:, k], label=f"face {k + 1}")
ax.axvline(jaynes.beta, color="k", ls="--", lw=1)
ax.annotate(
    "mean 4.5",
    (jaynes.beta, 0.55),
    xytext=(6, 0),
    textcoords="offset points",
    fontsize=9,
)
ax.set(xlabel="$\\beta$", ylabel="probability", title="Jaynes' dice: $p_k \\propto e^{-\\beta k}$")
ax.legend(fontsize=8, ncols=2)

ax = axes[1]
ax.plot(temps, entropy, label="entropy $S$ [nats]")
ax.plot(temps, free_energy, label="free energy $F = -T\\log Z$")
ax.plot(temps, mean_energy, label="mean energy $\\langle E\\rangle$")
ax.axhline(np.log(ladder.size), color="gray", ls=":", lw=1, label="$\\log 10$")
ax.set(xlabel="temperature $T$", title="ten levels $E_n = n$")
ax.legend(fontsize=8)

ax = axes[2]
ax.plot(temps, heat_capacity, lw=3, label="$\\beta^2\\,\\mathrm{Var}(E)$ from expfam")
ax.plot(temps, exact, "k--", label="closed form")
ax.set(xlabel="temperature $T$ (gap $\\Delta = 1$)", ylabel="heat capacity $C$")
ax.set_title("two levels: the Schottky peak")
ax.legend(fontsize=8)

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("boltzmann.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
