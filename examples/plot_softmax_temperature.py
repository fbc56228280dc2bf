r"""
Softmax as a smooth arg-max, log-sum-exp as a smooth max
========================================================

Dividing the logits by a temperature :math:`T` and letting :math:`T \to 0` turns
the two smooth functions into the hard ones they approximate:

.. math::

    \operatorname{softmax}(u / T) \to \text{one-hot}(\arg\max_j u_j),
    \qquad
    \max_j u_j \;\le\; T \operatorname{LSE}(u / T) \;\le\; \max_j u_j + T \log K .

As :math:`T \to \infty` the softmax tends to the uniform distribution instead. The
bounds come from :math:`e^{\max u / T} \le \sum_j e^{u_j / T} \le K e^{\max u / T}`.
Because expfam shifts by the maximum before exponentiating, the small-temperature
end (logits of size :math:`10^3` after division, where ``np.exp`` overflows) is
computed without overflow.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

import expfam

u = np.array([1.0, 0.8, 0.3, -0.5])  # two close competitors for the maximum
K = u.size
temperatures = np.logspace(-3, 1.5, 300)

# %%
# All temperatures at once: the logits broadcast to shape ``(300, 4)`` and the
# kernels reduce over the last axis.
scaled = u / temperatures[:, None]
probs = expfam.softmax(scaled)
smooth_max = temperatures * expfam.logsumexp(scaled)

print(f"T = {temperatures[0]:g}: softmax = {np.round(probs[0], 6)}")
print(f"T = {temperatures[-1]:g}: softmax = {np.round(probs[-1], 3)} (uniform = {1 / K})")
with np.errstate(over="ignore"):
    naive = temperatures[0] * np.log(np.sum(np.exp(scaled[0])))
print(f"T LSE(u/T) at T = 1e-3: expfam {smooth_max[0]:g}, naive formula {naive:g}")

# %%
# The categorical family offers the same operation on a distribution:
# ``Categorical.with_temperature(T)`` divides the logits by ``T``.
d = expfam.Categorical(logits=u)
cold = d.with_temperature(0.05)
print(f"with_temperature(0.05).probs = {np.round(cold.probs, 4)}")

# %%
# Left: each category's probability against temperature; the arg-max takes all
# the mass as :math:`T \to 0` even though its lead is only 0.2. Right: the smooth
# maximum is squeezed between :math:`\max_j u_j` and :math:`\max_j u_j + T\log K`.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
for j in range(K):
    ax0.semilogx(temperatures, probs[:, j], label=f"$u_{j + 1} = {u[j]:g}$")
ax0.axhline(1 / K, color="gray", lw=0.8, ls=":")
ax0.set(
    xlabel="temperature $T$",
    ylabel="probability",
    title="$\\mathrm{softmax}(u/T)$: one-hot as $T\\to 0$, uniform as $T\\to\\infty$",
)
ax0.legend()

T_lin = np.linspace(0.002, 1.5, 300)
ax1.plot(
    T_lin, T_lin * expfam.logsumexp(u / T_lin[:, None]), lw=2.5, label="$T\\,\\mathrm{LSE}(u/T)$"
)
ax1.plot(T_lin, np.full_like(T_lin, u.max()), "k--", label="$\\max_j u_j$")
ax1.plot(T_lin, u.max() + T_lin * np.log(K), "k:", label="$\\max_j u_j + T\\log K$")
ax1.set(xlabel="temperature $T$", ylabel="value", title="log-sum-exp: a smooth maximum")
ax1.legend()

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("softmax_temperature.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
