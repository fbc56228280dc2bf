"""Data beyond memory: fits and solvers on Dask arrays generated chunk by chunk.

Prints, with the CPU model, for ``n`` lazily generated values (never all in memory):

* ``Gamma.fit`` of a ``dask.array`` of gamma draws against
  ``da.sum(x) + da.sum(da.log(x))`` over the same array (the reductions the fit needs,
  computed in one pass), at chunk sizes 1e5, 1e6 and 1e7; the fits' agreement across
  chunkings in ulp; and the peak RSS of the process above the interpreter's.
* ``boltzmann`` over ``n`` lazily generated energies: the number of passes over the
  data (Dask computes) and the residual, against the same solve in memory at a size
  that fits.
* ``glm`` (Poisson, ``--glm-rows`` x 20 plus an intercept, default 2e6; the issue's
  figure is for 1e7) on row chunks held by a ``LocalCluster`` (2 worker processes of one
  thread) and on the threaded scheduler, against ``glm`` of the same arrays in memory:
  the largest relative difference of the coefficients and standard errors, the times
  and their ratio, and the passes over the data (Dask computes, counted; each Newton
  step is one).

Run: ``python benchmarks/bench_scale.py [--n 1e9] [--glm-rows 1e7] [--only glm]``. The
default ``n`` is 1e8 (a few minutes on 2 cores); the issue's figure is for 1e9.
"""

from __future__ import annotations

import argparse
import importlib
import resource
import time
from typing import Any

import numpy as np
from _host import cpu_model  # benchmarks/_host.py, beside this script

import expfam

dask: Any = importlib.import_module("dask")  # untyped; imported for the benchmark only
da: Any = importlib.import_module("dask.array")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gamma_draws(n: int, chunk: int) -> Any:
    """The same draws whatever `chunk`: generated in chunks of 1e5, then rechunked."""
    x = da.random.default_rng(0).gamma(2.0, 3.0, size=n, chunks=min(n, 10**5))
    return x.rechunk(chunk)


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_gamma(n: int, rounds: int) -> None:
    """Interleaved rounds: each round times, per chunk size, the reductions and the fit
    back to back (in alternating order), so a slow spell of the shared machine hits both.
    Printed: min (median) over rounds of each time, the ratio of the minima and (in
    parentheses) the median of the ratios within a round."""
    print(f"\nGamma.fit of {n:.0e} lazily generated draws (float64), {rounds} interleaved rounds")
    head = f"{'chunk':>8}{'reductions (s)':>18}{'Gamma.fit (s)':>18}{'ratio':>15}"
    print(f"{head}{'shape':>22}")
    chunks = [c for c in (10**5, 10**6, 10**7) if c <= n]
    times: dict[int, tuple[list[float], list[float]]] = {c: ([], []) for c in chunks}
    fits: dict[int, Any] = {}
    for r in range(rounds):
        for c in chunks:
            x = gamma_draws(n, c)
            red, fit = times[c]
            order = ("red", "fit") if r % 2 == 0 else ("fit", "red")
            for which in order:
                if which == "red":
                    red.append(timed(lambda x=x: dask.compute(da.sum(x), da.sum(da.log(x))))[0])
                else:
                    t, fits[c] = timed(lambda x=x: expfam.Gamma.fit(x))
                    fit.append(t)
    for c in chunks:
        red_t, fit_t = (np.array(v) for v in times[c])
        ratio = f"{fit_t.min() / red_t.min():.2f} ({float(np.median(fit_t / red_t)):.2f})"
        row = f"{c:>8.0e}{red_t.min():>9.2f} ({float(np.median(red_t)):.2f})"
        row += f"{fit_t.min():>11.2f} ({float(np.median(fit_t)):.2f}){ratio:>15}"
        print(f"{row}{float(fits[c].shape):>22.17g}")
    eps = float(np.finfo(np.float64).eps)
    shapes = [float(d.shape) for d in fits.values()]
    rates = [float(d.rate) for d in fits.values()]
    spread = max(
        abs(a - b) / (eps * abs(a)) for vals in (shapes, rates) for a in vals for b in vals
    )
    print(f"shape and rate across chunkings: within {spread:.1f} ulp; peak RSS {rss_mb():.0f} MB")


def bench_boltzmann(n: int) -> None:
    print(f"\nboltzmann over {n:.0e} lazily generated energies (mean_energy 0.3)")
    e = da.random.default_rng(1).uniform(0.0, 1.0, size=n, chunks=10**7)
    computes = 0
    original = dask.compute

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal computes
        computes += 1
        return original(*args, **kwargs)

    dask.compute = counting
    try:
        t, res = timed(lambda: expfam.boltzmann(e, mean_energy=0.3))
    finally:
        dask.compute = original
    print(f"beta {float(res.beta):.17g}, residual {res.residual!r}, {t:.1f} s,")
    print(f"{computes} Dask computes (passes over the energies)")
    small = np.random.default_rng(1).uniform(0.0, 1.0, size=10**6)
    ref = expfam.boltzmann(small, mean_energy=0.3)
    print(f"in memory at 1e6: residual {ref.residual!r}")


def _counting_computes() -> tuple[dict[str, int], Any]:
    """Count ``dask.compute`` calls (each is one pass of the GLM over its chunks)."""
    count = {"n": 0}
    original = dask.compute

    def counting(*args: Any, **kwargs: Any) -> Any:
        count["n"] += 1
        return original(*args, **kwargs)

    dask.compute = counting
    return count, original


def _glm_block(index: int, rows: int, beta: Any) -> Any:
    """Rows ``[X | y]`` of one chunk of the Poisson GLM data, from its own seed."""
    rng = np.random.default_rng([2, index])
    X = rng.normal(size=(rows, beta.size)) / np.sqrt(beta.size)
    y = rng.poisson(np.exp(0.3 + X @ beta))
    return np.column_stack([X, y])


def bench_glm(rows: int, chunk: int) -> None:
    distributed: Any = importlib.import_module("distributed")
    p = 20
    beta = np.linspace(-0.5, 0.5, p)
    print(f"\nglm, Poisson, {rows:.0e} x {p} (+ intercept), row chunks of {chunk:.2g}")
    sizes = [min(chunk, rows - s) for s in range(0, rows, chunk)]
    blocks = [
        da.from_delayed(dask.delayed(_glm_block)(i, m, beta), shape=(m, p + 1), dtype=float)
        for i, m in enumerate(sizes)
    ]
    Z = da.concatenate(blocks)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # the data are generated on the workers and stay there (as on a cluster)
        dX, dy = client.persist([Z[:, :p], Z[:, p]])
        distributed.wait([dX, dy])
        X, y = dX.compute(), dy.compute()  # the same arrays, in this process's memory
        t_mem, ref = timed(lambda: expfam.glm(expfam.Poisson, X, y))
        head = f"{'where':>34}{'time (s)':>10}{'ratio':>8}{'passes':>8}"
        print(f"{head}{'coef rel':>10}{'se rel':>10}")
        print(f"{'in memory (numpy)':>34}{t_mem:>10.2f}{1.0:>8.2f}")

        def row(label: str, ax: Any, ay: Any) -> None:
            count, original = _counting_computes()
            try:
                t, res = timed(lambda: expfam.glm(expfam.Poisson, ax, ay))
            finally:
                dask.compute = original
            dc = float(np.max(np.abs(res.coef - ref.coef) / np.abs(ref.coef)))
            ds = float(np.max(np.abs(res.stderr - ref.stderr) / ref.stderr))
            ratio = t / t_mem
            print(f"{label:>34}{t:>10.2f}{ratio:>8.2f}{count['n']:>8}{dc:>10.1e}{ds:>10.1e}")

        row("Dask, LocalCluster (2 processes)", dX, dy)
        with dask.config.set(scheduler="threads"):
            cx, cy = da.from_array(X, chunks=(chunk, p)), da.from_array(y, chunks=chunk)
            row("Dask, threads (2), in memory", cx, cy)
    print(f"Newton iterations {ref.iterations}; peak RSS {rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=float, default=1e8)
    parser.add_argument("--glm-rows", type=float, default=2e6)
    parser.add_argument("--glm-chunk", type=float, default=2.5e5)
    parser.add_argument("--only", choices=["gamma", "boltzmann", "glm"], default=None)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (gamma)")
    args = parser.parse_args()
    n = int(args.n)
    print(f"CPU: {cpu_model()}; numpy {np.__version__}; dask {dask.__version__}")
    print(f"interpreter with expfam and dask imported: peak RSS {rss_mb():.0f} MB")
    with dask.config.set(scheduler="threads"):
        if args.only in (None, "gamma"):
            bench_gamma(n, args.rounds)
        if args.only in (None, "boltzmann"):
            bench_boltzmann(n)
    if args.only in (None, "glm"):
        bench_glm(int(args.glm_rows), int(args.glm_chunk))


if __name__ == "__main__":
    main()
