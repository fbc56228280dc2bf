r"""
Softmax regression, and the limit model of separated data
=========================================================

:func:`expfam.glm` with :class:`expfam.Categorical` fits multinomial (softmax)
logistic regression with all :math:`K` logit columns: the negative log-likelihood
of a row is the cross-entropy with logits
:math:`h(u) = -\langle p, u\rangle + \operatorname{LSE}(u)` at :math:`u = B^\top x`.

The data: three species of flowers measured by two petal sizes, generated
deterministically here (three Gaussian clusters shaped like the petal
measurements of Fisher's iris data, so the example needs no download).
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

import expfam

rng = np.random.default_rng(2)
centres = np.array([[1.46, 0.25], [4.26, 1.33], [5.55, 2.03]])
spread = np.array([[0.17, 0.10], [0.47, 0.20], [0.55, 0.27]])
X = np.vstack([c + s * rng.standard_normal((50, 2)) for c, s in zip(centres, spread, strict=True)])
species = np.repeat([0, 1, 2], 50)
names = ["setosa", "versicolor", "virginica"]

res = expfam.glm(expfam.Categorical, X, species)
print(res.mle_exists, res.recession.shape)  # setosa is separable from the others

# %%
# Setosa is separated from the other two species by a line, so the MLE does not
# exist: every maximiser runs off to infinity. ``glm`` returns the MLE in the
# closure instead. Rows of setosa get probability exactly 1 for their class (and
# the other rows exactly 0 for setosa); versicolor against virginica, which
# overlap, is fitted as usual.
#
# The decision regions of the fitted model, and its probabilities on a grid:

g0, g1 = np.meshgrid(np.linspace(0.5, 7.5, 200), np.linspace(-0.8, 3.5, 200))
grid = np.column_stack([g0.ravel(), g1.ravel()])
probs = res.predict(grid).mean_params
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.contourf(
    g0,
    g1,
    probs.argmax(axis=1).reshape(g0.shape),
    levels=[-0.5, 0.5, 1.5, 2.5],
    colors=["#cfe2f3", "#fce5cd", "#d9ead3"],
)
ax.contour(
    g0, g1, probs.max(axis=1).reshape(g0.shape), levels=[0.6, 0.9], colors="grey", linewidths=0.8
)
for k, marker in enumerate("o^s"):
    ax.scatter(X[species == k, 0], X[species == k, 1], marker=marker, s=18, label=names[k])
ax.set_xlabel("petal length")
ax.set_ylabel("petal width")
ax.legend(loc="upper left")
ax.set_title("softmax regression: decision regions (lines: max probability 0.6, 0.9)")
fig.tight_layout()

# %%
# Coefficients with 95% confidence intervals, on the two overlapping species only
# (there the MLE exists and every coefficient has a two-sided interval). The
# columns sum to zero across the classes: the gauge that replaces a pivot class.

two = species > 0
res2 = expfam.glm(expfam.Categorical, X[two], species[two] - 1)
print(res2.summary())
ci = res2.conf_int()
fig, ax = plt.subplots(figsize=(6, 3))
for k in range(2):
    offs = np.arange(3) + 0.15 * (2 * k - 1)
    ax.errorbar(
        res2.coef[:, k],
        offs,
        xerr=np.abs(ci[:, k].T - res2.coef[:, k]),
        fmt="o",
        capsize=3,
        label=names[k + 1],
    )
ax.set_yticks(range(3), res2.names)
ax.axvline(0.0, color="grey", linewidth=0.8)
ax.legend()
ax.set_title("per-class coefficients with 95% CIs")
fig.tight_layout()

# %%
# Separated logistic data: a plain Newton solve against the limit model
# ----------------------------------------------------------------------
#
# Eight points, the classes overlapping only at :math:`x = 0`. Newton's method on
# the log-likelihood makes progress forever: the slope grows by about one unit per
# iteration while the log-likelihood creeps towards its supremum, and a stopping
# rule on the change in deviance ends it at some arbitrary large slope. ``glm``
# decides by a linear program that the MLE does not exist, and fits the limit
# model: probability exactly 0 or 1 on the separated rows, the MLE of the face
# (here the two rows at :math:`x = 0`) on the others.

x = np.array([-3.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0, 3.0])
y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
Xd = np.column_stack([np.ones_like(x), x])
beta = np.zeros(2)
path = []
for _ in range(25):
    mu = 1 / (1 + np.exp(-(Xd @ beta)))
    H = Xd.T @ (Xd * (mu * (1 - mu))[:, None])
    beta = beta + np.linalg.solve(H, Xd.T @ (y - mu))
    path.append(beta[1])
lim = expfam.glm(expfam.Bernoulli, x[:, None], y)
print(lim.mle_exists, lim.predict().mean_params[:, 0])

xs = np.linspace(-3.5, 3.5, 400)
fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 3.4))
a0.plot(range(1, 26), path, "o-", ms=3)
a0.set_xlabel("Newton iteration")
a0.set_ylabel("slope")
a0.set_title("plain Newton: the slope diverges")
a1.scatter(x, y, color="k", zorder=3)
a1.plot(xs, 1 / (1 + np.exp(-(beta[0] + beta[1] * xs))), label="Newton, 25 iterations")
a1.step(xs, lim.predict(xs[:, None]).mean_params[:, 0], where="mid", label="limit model (expfam)")
a1.set_xlabel("x")
a1.set_ylabel("P(y = 1)")
a1.legend(loc="upper left")
a1.set_title("the MLE in the closure")
fig.tight_layout()

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("glm_softmax.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
