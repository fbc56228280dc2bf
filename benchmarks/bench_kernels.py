"""Benchmark expfam's log-sum-exp kernels against scipy.special and a bare ``np.exp``.

Usage::

    python benchmarks/bench_kernels.py            # the full table (a few minutes)
    python benchmarks/bench_kernels.py --quick    # fewer rounds
    python benchmarks/bench_kernels.py --rounds 9 --only logsumexp

Every contender of a case runs on the same float64 array, once per round, in a
different order each round (interleaved in one process, so that a noisy neighbour
slows all of them alike); the table reports the minimum over rounds (the least
disturbed run) and the median. Ratios are computed from the minima. Run it on an
otherwise idle machine, pinned to one core if possible (``taskset -c 0 python ...``):
numpy and scipy run these operations on one thread anyway. On a shared machine,
``--clock cpu`` measures the CPU time of the process instead of the wall time.

Targets (one core, float64): ``logsumexp`` >= 3x faster than scipy and within 2.5x of
``np.exp`` over the same array at (10000, 1000) and (1, 10**7); ``softmax`` and
``log_softmax`` >= 1.5x faster than scipy; ``cross_entropy_with_logits(...,
return_grad=True)`` >= 2x faster than scipy's ``logsumexp(u) - (p*u).sum(-1)`` plus
``softmax(u) - p``; ``logsumexp`` of a (1, 10) row <= 10 us per call.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
from scipy import special

import expfam

Case = dict[str, Callable[[], Any]]


def _time_once(fn: Callable[[], Any], number: int, clock: Callable[[], float]) -> float:
    t0 = clock()
    for _ in range(number):
        fn()
    return (clock() - t0) / number


def run_case(
    contenders: Case, rounds: int, number: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, list[float]]:
    """Per-call times of each contender over `rounds` interleaved, shuffled rounds."""
    names = list(contenders)
    times: dict[str, list[float]] = {n: [] for n in names}
    for fn in contenders.values():  # warm-up: caches, lazy imports, page faults
        fn()
    rng = random.Random(0)
    for _ in range(rounds):
        rng.shuffle(names)
        for n in names:
            times[n].append(_time_once(contenders[n], number, clock))
    return times


def _scipy_ce(p: np.ndarray[Any, Any], u: np.ndarray[Any, Any]) -> Any:
    value = special.logsumexp(u, axis=-1) - (p * u).sum(axis=-1)
    grad = special.softmax(u, axis=-1) - p
    return value, grad


def large_cases(shape: tuple[int, int]) -> dict[str, tuple[Case, str, str | None]]:
    """For each kernel: contenders, the baseline name and the ``np.exp`` name."""
    rng = np.random.default_rng(0)
    u = rng.standard_normal(shape)
    p = rng.dirichlet(np.ones(shape[1]), size=shape[0])
    return {
        "logsumexp": (
            {
                "expfam": lambda: expfam.logsumexp(u),
                "scipy": lambda: special.logsumexp(u, axis=-1),
                "np.exp": lambda: np.exp(u),
            },
            "scipy",
            "np.exp",
        ),
        "softmax": (
            {
                "expfam": lambda: expfam.softmax(u),
                "scipy": lambda: special.softmax(u, axis=-1),
                "np.exp": lambda: np.exp(u),
            },
            "scipy",
            "np.exp",
        ),
        "log_softmax": (
            {
                "expfam": lambda: expfam.log_softmax(u),
                "scipy": lambda: special.log_softmax(u, axis=-1),
                "np.exp": lambda: np.exp(u),
            },
            "scipy",
            "np.exp",
        ),
        "cross_entropy_with_logits+grad": (
            {
                "expfam": lambda: expfam.cross_entropy_with_logits(p, u, return_grad=True),
                "scipy": lambda: _scipy_ce(p, u),
                "np.exp": lambda: np.exp(u),
            },
            "scipy",
            "np.exp",
        ),
    }


def small_cases() -> dict[str, tuple[Case, str, str | None]]:
    rng = np.random.default_rng(1)
    u = rng.standard_normal((1, 10))
    p = rng.dirichlet(np.ones(10), size=1)
    return {
        "logsumexp": (
            {
                "expfam": lambda: expfam.logsumexp(u),
                "scipy": lambda: special.logsumexp(u, axis=-1),
            },
            "scipy",
            None,
        ),
        "softmax": (
            {"expfam": lambda: expfam.softmax(u), "scipy": lambda: special.softmax(u, axis=-1)},
            "scipy",
            None,
        ),
        "log_softmax": (
            {
                "expfam": lambda: expfam.log_softmax(u),
                "scipy": lambda: special.log_softmax(u, axis=-1),
            },
            "scipy",
            None,
        ),
        "cross_entropy_with_logits+grad": (
            {
                "expfam": lambda: expfam.cross_entropy_with_logits(p, u, return_grad=True),
                "scipy": lambda: _scipy_ce(p, u),
            },
            "scipy",
            None,
        ),
    }


def _ratio(times: dict[str, list[float]], num: str, den: str) -> str:
    """``num / den`` as the ratio of the minima and, in parentheses, the median ratio
    within a round (the two ran moments apart, so a slow spell of the machine cancels).
    """
    paired = statistics.median(a / b for a, b in zip(times[num], times[den], strict=True))
    return f"{min(times[num]) / min(times[den]):.2f}x ({paired:.2f}x)"


def _fmt(t: float) -> str:
    if t < 1e-3:
        return f"{t * 1e6:.2f} us"
    return f"{t * 1e3:.1f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per case")
    parser.add_argument("--quick", action="store_true", help="3 rounds, fewer small calls")
    parser.add_argument("--only", default="", help="run only kernels whose name contains this")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: time.perf_counter (default); cpu: time.process_time, the CPU time of this "
        "process, steadier on a machine shared with other jobs",
    )
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    print(
        f"expfam {expfam.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}"
    )
    print(
        f"{rounds} interleaved rounds per case; {args.clock} clock; min (median) per call; "
        "float64\n"
    )
    header = (
        "| kernel | shape | expfam | scipy | np.exp | scipy / expfam | expfam / np.exp "
        "| scipy / np.exp |"
    )
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    suites: list[tuple[str, dict[str, tuple[Case, str, str | None]], int]] = [
        ("(1, 10)", small_cases(), 200 if args.quick else 2000),
        ("(10000, 1000)", large_cases((10000, 1000)), 1),
        ("(1, 10000000)", large_cases((1, 10**7)), 1),
    ]
    for shape, cases, number in suites:
        for kernel, (contenders, base, ref) in cases.items():
            if args.only and args.only not in kernel:
                continue
            times = run_case(contenders, rounds, number, clock)
            best = {n: min(t) for n, t in times.items()}
            med = {n: statistics.median(t) for n, t in times.items()}
            cell = {n: f"{_fmt(best[n])} ({_fmt(med[n])})" for n in times}
            ratio_base = _ratio(times, base, "expfam")
            ratio_exp = _ratio(times, "expfam", ref) if ref else "-"
            # the speed-up over scipy of a kernel that cost no more than one np.exp of
            # the array into a new array: a ceiling for any kernel built on numpy's exp
            # that must exponentiate every entry and return a new array
            ceiling = _ratio(times, base, ref) if ref else "-"
            print(
                f"| {kernel} | {shape} | {cell['expfam']} | {cell[base]} | "
                f"{cell.get(ref, '-') if ref else '-'} | {ratio_base} | {ratio_exp} "
                f"| {ceiling} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
