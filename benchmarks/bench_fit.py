"""Maximum-likelihood fits against the plain numpy reductions they need, and scipy's fits.

Every expfam fit is one streaming pass of sufficient statistics (``suffstats``) plus
the inverse mean map on a handful of numbers. The baseline for each family is the
numpy reductions its MLE needs (``x.sum()`` and ``np.log(x).sum()`` for a gamma), the
cost floor of any fit; scipy's own fit is printed beside it. Times are the minimum
over rounds (the baseline, ``suffstats`` and ``fit`` of a family timed in turn within
each round), all measured in one run, float64, one thread. ``--memory`` also fits a
Poisson to an 800 MB memory-mapped file in a fresh process and prints its peak RSS.

Run: ``python benchmarks/bench_fit.py [--sizes 1e6 1e7] [--rounds 7] [--memory]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _host import cpu_model  # benchmarks/_host.py, beside this script
from scipy import stats

import expfam


def best(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(fns: list[Callable[[], Any]], rounds: int) -> list[float]:
    """Best of `rounds` for each of `fns`, timed in turn within every round (so that a
    slow spell of a shared machine hits them alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, ts in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [min(ts) for ts in times]


def cases(
    n: int,
) -> list[tuple[str, Any, Callable[[], Any], Callable[[], Any], Callable[[], Any]]]:
    rng = np.random.default_rng(0)
    g = rng.gamma(2.0, 3.0, size=n)
    z = rng.normal(5.0, 2.0, size=n)
    k = rng.poisson(4.0, size=n)
    b = rng.beta(2.0, 5.0, size=n)
    e = rng.exponential(2.0, size=n)
    bern = (rng.random(n) < 0.3).astype(np.int64)
    return [
        (
            "Gamma",
            g,
            lambda: expfam.Gamma.fit(g),
            lambda: (g.sum(), np.log(g).sum()),
            lambda: stats.gamma.fit(g, floc=0),
        ),
        (
            "Normal",
            z,
            lambda: expfam.Normal.fit(z),
            lambda: (z.sum(), (z * z).sum()),
            lambda: stats.norm.fit(z),
        ),
        ("Poisson", k, lambda: expfam.Poisson.fit(k), k.sum, k.mean),
        (
            "Exponential",
            e,
            lambda: expfam.Exponential.fit(e),
            e.sum,
            lambda: stats.expon.fit(e, floc=0),
        ),
        (
            "Bernoulli",
            bern,
            lambda: expfam.Bernoulli.fit(bern),
            bern.sum,
            bern.mean,
        ),
        (
            "Beta",
            b,
            lambda: expfam.Beta.fit(b),
            lambda: (np.log(b).sum(), np.log1p(-b).sum()),
            lambda: stats.beta.fit(b, floc=0, fscale=1),
        ),
    ]


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    ``VmHWM`` belongs to the process's own address space; ``ru_maxrss`` of a child
    can report its parent's peak (Linux keeps it across fork and exec).
    """
    try:
        with Path("/proc/self/status").open(encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_run(path: str, n: int) -> None:
    x = np.memmap(path, dtype=np.int64, mode="r", shape=(n,))
    d = expfam.Poisson.fit(x)
    print(f"{float(d.rate):.6f} {peak_rss_mb():.0f}")


def memory(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "counts.i8")
        x = np.memmap(path, dtype=np.int64, mode="w+", shape=(n,))
        rng = np.random.default_rng(1)
        for i in range(0, n, 1 << 22):
            x[i : i + (1 << 22)] = rng.poisson(4.0, size=min(1 << 22, n - i))
        x.flush()
        del x
        base = subprocess.run(  # noqa: S603 - this interpreter running this script
            [sys.executable, __file__, "--memory-child", path, "1"],
            capture_output=True,
            text=True,
            check=True,
        )
        out = subprocess.run(  # noqa: S603 - this interpreter running this script
            [sys.executable, __file__, "--memory-child", path, str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        rate, peak = out.stdout.split()
        base_peak = base.stdout.split()[1]
        size_mb = n * 8 / 2**20
        print(
            f"\nPoisson.fit of a {size_mb:.0f} MB int64 memmap: rate {rate}, peak RSS {peak} MB "
            f"(the same script fitting 1 observation: {base_peak} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_run(args.memory_child[0], int(args.memory_child[1]))
        return
    print(f"CPU: {cpu_model()}; numpy {np.__version__}; expfam {expfam.__version__}")
    for size in args.sizes:
        n = int(size)
        print(f"\nn = {n:.0e}: best of {args.rounds} (ms); ratios = expfam / numpy reductions")
        print(
            f"{'family':<12}{'reductions':>11}{'suffstats':>11}{'ratio':>7}"
            f"{'expfam.fit':>12}{'ratio':>7}{'scipy fit':>11}"
        )
        for name, x, fit, floor, peer in cases(n):
            family = getattr(expfam, name)
            t_floor, t_stats, t_fit = interleaved(
                [floor, partial(family.suffstats, x), fit], args.rounds
            )
            t_peer = best(peer, max(1, args.rounds // 3))
            print(
                f"{name:<12}{t_floor * 1e3:>11.2f}{t_stats * 1e3:>11.2f}"
                f"{t_stats / t_floor:>7.2f}{t_fit * 1e3:>12.2f}{t_fit / t_floor:>7.2f}"
                f"{t_peer * 1e3:>11.2f}"
            )
    if args.memory:
        memory(100_000_000)


if __name__ == "__main__":
    main()
