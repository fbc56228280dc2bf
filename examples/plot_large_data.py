r"""
Data larger than memory: fits and GLMs chunk by chunk
=====================================================

An exponential family reduces its data to a few sums, so a fit never needs all the
data at once. Two ways to use that:

* a plain loop that reduces each chunk (a file, a batch of a stream) to its
  :class:`~expfam.SufficientStatistics` and merges them, exactly;
* `Dask <https://docs.dask.org/>`_ arrays, which expfam takes wherever it takes
  numpy arrays: :func:`expfam.glm` on a row-chunked Dask design makes one pass over
  the chunks per Newton step, each chunk reduced where it lives to
  :math:`X^\top r` and :math:`X^\top W X`, and returns the in-memory answer.

Here the data are generated chunk by chunk and are never held in memory as a whole.
"""

# mypy: disable-error-code="no-untyped-call"
import sys
from typing import cast

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask.callbacks import Callback
from dask.delayed import delayed

import expfam

# %%
# A Gamma fit, merging statistics by hand
# ---------------------------------------
# Each chunk stands for a file of a million draws that we read, reduce and drop. The
# merged statistics fit the distribution after every chunk; the estimates settle on
# the true shape 2 and rate 1/3.
rng = np.random.default_rng(0)
stats = None
rows, shapes, rates = [], [], []
for _ in range(20):
    chunk = rng.gamma(2.0, 3.0, size=50_000)  # e.g. np.load(next_file)
    s = expfam.Gamma.suffstats(chunk)
    stats = s if stats is None else stats + s
    fit = cast("expfam.Gamma", stats.fit())  # the statistics of a Gamma fit a Gamma
    rows.append(stats.count)
    shapes.append(float(fit.shape))
    rates.append(float(fit.rate))
print(stats)
print(f"shape {shapes[-1]:.4f}, rate {rates[-1]:.5f}")

# %%
# Poisson and Gamma GLMs on lazily generated Dask arrays
# ------------------------------------------------------
# A design of 200 000 rows and 5 covariates, generated in 4 chunks by a function of
# the chunk's index (so any chunk can be regenerated on any worker). The counts
# follow a Poisson GLM, the claim sizes a Gamma GLM with the log link.
p = 5
beta_poisson = np.array([0.3, 0.5, -0.4, 0.2, 0.0, -0.1])  # intercept first
beta_gamma = np.array([1.0, -0.2, 0.3, 0.0, 0.25, 0.1])


def make_chunk(index: int, m: int) -> np.ndarray:
    """Columns X (p), counts, sizes of one chunk of rows, from its own seed."""
    g = np.random.default_rng([1, index])
    X = g.normal(size=(m, p)) / 2
    counts = g.poisson(np.exp(beta_poisson[0] + X @ beta_poisson[1:]))
    mean = np.exp(beta_gamma[0] + X @ beta_gamma[1:])
    sizes = g.gamma(3.0, mean / 3.0)
    return np.column_stack([X, counts, sizes])


sizes_of_chunks = [50_000] * 4
data = da.concatenate(
    [
        da.from_delayed(delayed(make_chunk)(i, m), shape=(m, p + 2), dtype=float)
        for i, m in enumerate(sizes_of_chunks)
    ]
)
X, counts, claim = data[:, :p], data[:, p], data[:, p + 1]  # lazy: nothing computed yet

# %%
# Each graph execution (a :func:`dask.compute`) is one pass over the chunks: a Dask
# callback counts them.


class CountPasses(Callback):
    """Count the graph executions of the local schedulers."""

    def __init__(self) -> None:
        super().__init__()
        self.passes = 0

    def _start(self, dsk: object) -> None:
        del dsk  # the graph of one pass
        self.passes += 1


with dask.config.set(scheduler="threads"):
    with CountPasses() as count_p:
        res_p = expfam.glm(expfam.Poisson, X, counts)
    with CountPasses() as count_g:
        res_g = expfam.glm(expfam.Gamma, X, claim, link="log")
print(res_p.summary())
print(f"Poisson: {res_p.iterations} Newton iterations, {count_p.passes} passes over the data")
print(f"Gamma:   {res_g.iterations} Newton iterations, {count_g.passes} passes over the data")

# %%
# The same fits in memory (the data are small enough here to check): the chunked fits
# agree to rounding.
Xm, cm, sm = (np.asarray(a) for a in (X, counts, claim))  # computed by np.asarray
mem_p = expfam.glm(expfam.Poisson, Xm, cm)
mem_g = expfam.glm(expfam.Gamma, Xm, sm, link="log")
for name, a, b in (("Poisson", res_p, mem_p), ("Gamma", res_g, mem_g)):
    dc = np.max(np.abs(a.coef - b.coef) / np.abs(b.coef))
    ds = np.max(np.abs(a.stderr - b.stderr) / b.stderr)
    print(f"{name}: coef within {dc:.1e}, stderr within {ds:.1e} (relative) of in memory")

# %%
# The figure: the running Gamma estimates as chunks are merged, and the GLM
# coefficients' errors with their 95% intervals.
fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
ax = axes[0]
ax.plot(rows, shapes, "o-", label="shape")
ax.plot(rows, np.array(rates) * 6, "s-", label="rate x 6")
ax.axhline(2.0, color="k", ls="--", lw=1, label="true (shape 2, rate 1/3)")
ax.set(xscale="log", xlabel="draws merged", title="Gamma fit, chunk by chunk")
ax.legend(fontsize=8)
for ax, res, truth, title in (
    (axes[1], res_p, beta_poisson, "Poisson GLM on Dask chunks"),
    (axes[2], res_g, beta_gamma, "Gamma GLM (log link) on Dask chunks"),
):
    ci = res.conf_int()
    j = np.arange(res.coef.size)
    err = res.coef - truth
    ax.errorbar(j, err, yerr=np.abs(ci.T - res.coef), fmt="o", capsize=4, label="95% CI")
    ax.axhline(0.0, color="k", ls="--", lw=1)
    ax.set_xticks(j, res.names, rotation=30)
    ax.set(title=title, ylabel="estimate - true coefficient")
    ax.legend(fontsize=8)

# sphinx_gallery_start_ignore
if "sphinx_gallery" not in sys.modules:  # run as a script: keep a copy of the figure
    fig.savefig("large_data.png", dpi=120)
# sphinx_gallery_end_ignore
plt.show()
