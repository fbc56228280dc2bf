r"""
Fitting a categorical: maximum likelihood against smoothing
===========================================================

The maximum-likelihood categorical for labels :math:`x_1, \dots, x_n` is the
vector of observed frequencies, :math:`\hat p_k = n_k / n`: the mean parameters
are the average sufficient statistic (one-hot vectors). With few samples some
categories are never seen, :math:`\hat p_k = 0`, and the fitted model calls any
future observation of them impossible: :math:`\mathrm{KL}(p \,\|\, \hat p) = \infty`.

Adding a pseudocount :math:`a` to every category,
:math:`\hat p_k = (n_k + a) / (n + K a)`, is the posterior-mean (for :math:`a = 1`,
Laplace's rule of succession) or MAP estimate under a Dirichlet prior. Here we
compare, as the sample size grows, the plain MLE with :math:`a = 1/2`
(Krichevsky-Trofimov, or Jeffreys) and :math:`a = 1` (Laplace), by the divergence
:math:`\mathrm{KL}(p\,\|\,\hat p)` from the true distribution (the excess log-loss
on future data).
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

import expfam

rng = np.random.default_rng(0)
K = 12
true = expfam.Categorical(logits=-0.45 * np.arange(K))  # a geometric-like tail
p = true.probs
print("true probabilities:", np.round(p, 4))

# %%
# One fit from labels
# -------------------
# ``Categorical.fit`` takes integer labels and the number of categories (a
# category never seen still counts); ``pseudocount`` smooths.
labels = true.sample(30, rng=rng)
mle = expfam.Categorical.fit(labels, K)
laplace = expfam.Categorical.fit(labels, K, pseudocount=1.0)
print("30 labels:", labels)
print(f"unseen categories: {np.flatnonzero(mle.probs == 0)}")
print(f"KL(true || MLE)     = {float(true.kl_divergence(mle))}")
print(f"KL(true || Laplace) = {float(true.kl_divergence(laplace)):.4f}")

# %%
# Many fits at once
# -----------------
# ``Categorical.fit_counts`` fits every row of a count matrix in one call: here
# 400 repetitions at each sample size, drawn as multinomial counts.
sizes = np.unique(np.logspace(0.7, 3.7, 16).astype(int))
reps = 400
pseudocounts = {"MLE (a = 0)": 0.0, "a = 1/2 (Jeffreys)": 0.5, "a = 1 (Laplace)": 1.0}
mean_kl: dict[str, list[float]] = {name: [] for name in pseudocounts}
p_unseen: list[float] = []
for n in sizes:
    counts = rng.multinomial(n, p, size=reps)  # shape (reps, K)
    p_unseen.append(float(np.mean(np.any(counts == 0, axis=-1))))
    for name, a in pseudocounts.items():
        fitted = expfam.Categorical.fit_counts(counts, pseudocount=a)
        kl = expfam.kl_divergence(p, fitted.probs)  # shape (reps,), inf if a category is unseen
        mean_kl[name].append(float(np.mean(kl)))

# %%
# The figure: the estimates from 30 labels; the mean divergence against sample
# size, with the classical :math:`(K-1)/(2n)` asymptote; and the chance that some
# category is unseen, which is exactly when the MLE's divergence is infinite.
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
ax = axes[0]
w = 0.28
k = np.arange(K)
ax.bar(k - w, p, w, label="true", color="k")
ax.bar(k, mle.probs, w, label="MLE")
ax.bar(k + w, laplace.probs, w, label="Laplace (a = 1)")
ax.set(xlabel="category", ylabel="probability", title="estimates from n = 30 labels")
ax.legend()

ax = axes[1]
for name, values in mean_kl.items():
    finite = np.isfinite(values)
    big = name.startswith("MLE")  # the MLE's few finite points: open squares, drawn larger
    style = {"marker": "s", "ms": 9, "mfc": "none"} if big else {"marker": "o", "ms": 4}
    ax.loglog(sizes[finite], np.asarray(values)[finite], label=name, **style)
ax.loglog(sizes, (K - 1) / (2 * sizes), "k:", label="$(K-1)/(2n)$")
ax.set(
    xlabel="sample size $n$",
    ylabel="mean KL(true $\\|$ estimate)  [nats]",
    title="excess log-loss (MLE: $\\infty$ until\nevery category is seen)",
)
ax.legend(fontsize=8)

ax = axes[2]
ax.semilogx(sizes, p_unseen, "o-", color="tab:blue", ms=4)
ax.set(
    xlabel="sample size $n$",
    ylabel="fraction of samples",
    title="some category unseen: KL(true $\\|$ MLE) $= \\infty$",
)

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("categorical_fit.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
