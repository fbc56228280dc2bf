r"""
Conjugate updating: a coin and a count
======================================

A conjugate prior turns Bayesian updating into arithmetic on parameters. For a
coin with unknown probability :math:`p` of heads and a
:math:`\mathrm{Beta}(a, b)` prior, observing :math:`h` heads in :math:`n` flips
gives the posterior :math:`\mathrm{Beta}(a + h,\ b + n - h)`; for counts with
unknown Poisson rate :math:`\lambda` and a :math:`\mathrm{Gamma}(\alpha, \beta)`
prior, counts :math:`x_1, \dots, x_n` give
:math:`\mathrm{Gamma}(\alpha + \sum x_i,\ \beta + n)`.

In expfam the prior does the update, given the likelihood *class*:
``Beta(a, b).posterior(Bernoulli, flips)``, and
``posterior_predictive(Likelihood)`` gives the distribution of the next
observation with the parameter integrated out. Here we watch a posterior
concentrate, and compare predictive distributions with the plug-in ones that
ignore the uncertainty of the estimate.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

import expfam

rng = np.random.default_rng(3)

# %%
# A coin, flip by flip
# --------------------
# The prior is uniform, :math:`\mathrm{Beta}(1, 1)`. Updating on all the flips at
# once or in batches gives the same posterior: the sufficient statistics add.
true_p = 0.3
flips = expfam.Bernoulli(probs=true_p).sample(1000, rng=rng)
prior = expfam.Beta(a=1.0, b=1.0)
checkpoints = [0, 1, 5, 20, 100, 1000]
posteriors = [prior.posterior(expfam.Bernoulli, flips[:n]) for n in checkpoints]

in_batches = prior
for chunk in np.array_split(flips, 7):
    in_batches = in_batches.posterior(expfam.Bernoulli, chunk)
print(f"all at once: Beta({float(posteriors[-1].a):g}, {float(posteriors[-1].b):g})")
print(f"in 7 batches: Beta({float(in_batches.a):g}, {float(in_batches.b):g})")

# %%
# Predicting the next 20 flips
# ----------------------------
# After 10 flips, the predictive number of heads in the next 20 is beta-binomial
# (a ``scipy.stats`` distribution, returned by ``posterior_predictive``); the
# plug-in binomial at the maximum-likelihood :math:`\hat p` is narrower, because it
# treats :math:`\hat p` as exact.
few = prior.posterior(expfam.Bernoulli, flips[:10])
predictive = few.posterior_predictive(expfam.Binomial, n=20)
p_hat = float(expfam.Bernoulli.fit(flips[:10]).probs)
plug_in = expfam.Binomial(n=20, probs=p_hat)
k = np.arange(21)
print(f"after 10 flips: {int(flips[:10].sum())} heads, p_hat = {p_hat:.2f}")
print(f"predictive sd {predictive.std():.2f} vs plug-in sd {np.sqrt(plug_in.variance()):.2f}")

# %%
# Counts: the Gamma-Poisson pair
# ------------------------------
# Ten days of counts from a Poisson with rate 4. The predictive count for the next
# day is negative binomial, overdispersed compared with the plug-in Poisson.
counts = expfam.Poisson(rate=4.0).sample(10, rng=rng)
rate_post = expfam.Gamma(shape=1.0, rate=0.1).posterior(expfam.Poisson, counts)
count_pred = rate_post.posterior_predictive(expfam.Poisson)
plug_rate = expfam.Poisson.fit(counts)
print(f"counts {counts}, posterior mean rate {float(rate_post.mean()):.2f}")
print(f"predictive variance {count_pred.var():.2f} vs plug-in {float(plug_rate.variance()):.2f}")

# %%
# The figure: the coin's posterior densities as the flips arrive; the predictive
# and plug-in distributions of the heads in the next 20 flips; the same for the
# next day's count.
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
ax = axes[0]
grid = np.linspace(0.001, 0.999, 999)
for n, post in zip(checkpoints, posteriors, strict=True):
    ax.plot(grid, np.exp(post.log_prob(grid)), label=f"n = {n}")
ax.axvline(true_p, color="k", ls=":", label="true p")
ax.set(xlabel="p", ylabel="posterior density", title="Beta posterior of a coin", ylim=(0, 30))
ax.legend(fontsize=8)

ax = axes[1]
w = 0.4
ax.bar(k - w / 2, predictive.pmf(k), w, label="predictive (beta-binomial)")
ax.bar(k + w / 2, np.exp(plug_in.log_prob(k)), w, label=f"plug-in Binomial(20, {p_hat:.2f})")
ax.set(xlabel="heads in the next 20 flips", ylabel="probability", title="after 10 flips")
ax.legend(fontsize=8)

ax = axes[2]
c = np.arange(16)
ax.bar(c - w / 2, count_pred.pmf(c), w, label="predictive (negative binomial)")
ax.bar(c + w / 2, np.exp(plug_rate.log_prob(c)), w, label="plug-in Poisson")
ax.set(xlabel="next day's count", ylabel="probability", title="after 10 days of counts")
ax.legend(fontsize=8)

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("conjugate_updating.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
