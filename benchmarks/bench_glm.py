"""Benchmark of ``expfam.glm`` against scikit-learn, statsmodels and glum.

The peers are benchmark-only (never dependencies of expfam). Install them in a
separate environment and run expfam from the repository root::

    python3 -m venv /tmp/venv-bench
    /tmp/venv-bench/bin/pip install numpy scipy scikit-learn statsmodels glum
    PYTHONPATH=. /tmp/venv-bench/bin/python benchmarks/bench_glm.py            # full sizes
    PYTHONPATH=. /tmp/venv-bench/bin/python benchmarks/bench_glm.py --scale 0.1

Three problems (the sizes of issue 11; ``--scale`` multiplies the number of rows):

1. softmax regression, ``make_classification(n_samples=200_000, n_features=50,
   n_informative=30, n_redundant=0, n_classes=10, random_state=0)``, unpenalised:
   scikit-learn ``LogisticRegression`` (lbfgs and newton-cholesky), statsmodels
   ``MNLogit`` (glum has no multinomial);
2. Poisson with a log-exposure offset, 600 000 rows x 98 columns (three one-hot
   factors of 30, 25 and 20 levels, 25 numeric columns; generated deterministically):
   statsmodels ``GLM``, scikit-learn ``PoissonRegressor(solver="newton-cholesky")`` on
   the equivalent weighted problem (rate ``y / exposure``, weights ``exposure``), glum
   (with the offset);
3. logistic regression, 10**6 x 20: scikit-learn, statsmodels ``GLM``, glum.

Every contender runs once per round (``--repeat``), in turn, single-threaded
(``OPENBLAS_NUM_THREADS=1`` etc. are set before numpy is imported); the table shows
the best time, the ratio to expfam's, and the relative gap of the contender's
objective (the negative log-likelihood, evaluated here from its coefficients) to
the best one found: each must be within 1e-10 to count as the same answer. Peers are
run at tight tolerances so that they can reach it; a gap above 1e-10 is flagged.
The CPU model is printed with every table.
"""

# ruff: noqa: E402 - the thread limits must be set before numpy is imported
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _host import cpu_model  # benchmarks/_host.py, beside this script
from scipy import special

import expfam
import expfam._glm as glm_core

GAP = 1e-10


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_round(contenders: dict[str, Callable[[], Any]], repeat: int) -> dict[str, Any]:
    """Best time and last result of each contender, run in turn `repeat` times."""
    best: dict[str, Any] = dict.fromkeys(contenders, (math.inf, None))
    for _ in range(repeat):
        for name, fn in contenders.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t, out = timed(fn)
            except Exception as exc:  # noqa: BLE001 - a peer failing is a result to report
                best[name] = (math.nan, exc)
                continue
            if t < best[name][0]:
                best[name] = (t, out)
    return best


def report(title: str, best: dict[str, Any], nll: Callable[[Any], float]) -> None:
    print(f"\n{title}\nCPU: {cpu_model()}; one thread")
    vals = {}
    for name, (_, out) in best.items():
        vals[name] = math.nan if out is None or isinstance(out, Exception) else nll(out)
    fin = [v for v in vals.values() if math.isfinite(v)]
    ref = min(fin) if fin else math.nan
    t_exp = best["expfam"][0]
    print(f"{'contender':<34} {'time (s)':>9} {'/ expfam':>9} {'objective gap':>14}")
    for name, (t, out) in best.items():
        if isinstance(out, Exception):
            print(f"{name:<34} {'failed':>9} {'':>9} {type(out).__name__}: {str(out)[:40]}")
            continue
        gap = (vals[name] - ref) / abs(ref)
        flag = "" if gap <= GAP else "  > 1e-10: not the same answer"
        print(f"{name:<34} {t:>9.2f} {t / t_exp:>9.2f} {gap:>14.2e}{flag}")


def report_passes(fit: Callable[[], Any], n: int) -> None:
    """Run `fit` once more (untimed), counting the solver's passes over the rows.

    A pass is one call of the sums over all `n` rows (a Newton step with the Hessian,
    or a value-only step of the line search); the fit of the start on a subsample of
    rows is counted apart, in passes' worth of rows.
    """
    inner = glm_core.sums
    orders: list[int] = []
    sub_rows = 0

    def counted(prob: Any, theta: Any, order: int) -> Any:
        nonlocal sub_rows
        if prob.X.shape[0] == n:
            orders.append(order)
        else:
            sub_rows += prob.X.shape[0]
        return inner(prob, theta, order)

    setattr(glm_core, "sums", counted)  # noqa: B010 - a module attribute, patched here
    try:
        fit()
    finally:
        setattr(glm_core, "sums", inner)  # noqa: B010
    print(
        f"expfam: {len(orders)} passes over all rows ({orders.count(0)} value-only), "
        f"plus {sub_rows / n:.2f} passes' worth of rows for the start's subsample fit"
    )


# ---------------------------------------------------------------------------------- softmax
def softmax_problem(scale: float, repeat: int) -> None:
    from sklearn.datasets import make_classification  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from statsmodels.discrete.discrete_model import MNLogit  # type: ignore[import-untyped, import-not-found, unused-ignore]

    n = int(200_000 * scale)
    X, y = make_classification(
        n_samples=n, n_features=50, n_informative=30, n_redundant=0, n_classes=10, random_state=0
    )
    Xd = np.column_stack([np.ones(n), X])

    def nll_of_logits(U: Any) -> float:
        return float(np.sum(special.logsumexp(U, axis=1) - U[np.arange(n), y]))

    def sk(solver: str) -> Callable[[], Any]:
        def fit() -> Any:
            m = LogisticRegression(C=np.inf, solver=solver, tol=1e-12, max_iter=10_000).fit(X, y)
            return np.vstack([m.intercept_, m.coef_.T])

        return fit

    def sm_fit() -> Any:
        r = MNLogit(y, Xd).fit(method="newton", maxiter=100, disp=0)
        return np.column_stack([np.zeros(Xd.shape[1]), np.asarray(r.params)])

    def with_inference() -> Any:
        res = expfam.glm(expfam.Categorical, X, y)
        _ = res.stderr  # the full Hessian, formed on first access
        return res.coef

    contenders = {
        "expfam": lambda: expfam.glm(expfam.Categorical, X, y).coef,
        "expfam, stderr accessed": with_inference,
        "scikit-learn lbfgs": sk("lbfgs"),
        "scikit-learn newton-cholesky": sk("newton-cholesky"),
        "statsmodels MNLogit (newton)": sm_fit,
    }
    best = run_round(contenders, repeat)
    report(
        f"softmax regression, n = {n}, 50 features, 10 classes (glum: no multinomial)",
        best,
        lambda B: nll_of_logits(Xd @ B),
    )


# ---------------------------------------------------------------------------------- Poisson
def poisson_data(n: int) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(20251205)
    blocks = []
    for levels in (30, 25, 20):
        codes = rng.integers(0, levels, size=n)
        onehot = np.zeros((n, levels - 1))
        rows = codes > 0
        onehot[np.flatnonzero(rows), codes[rows] - 1] = 1.0
        blocks.append(onehot)
    blocks.append(rng.standard_normal((n, 25)))
    X = np.hstack(blocks)
    beta = rng.normal(scale=0.1, size=X.shape[1])
    exposure = rng.uniform(0.5, 2.0, size=n)
    y = rng.poisson(exposure * np.exp(-0.5 + X @ beta)).astype(float)
    return X, y, exposure


def poisson_problem(scale: float, repeat: int) -> None:
    import glum  # type: ignore[import-untyped, import-not-found, unused-ignore]
    import statsmodels.api as sm  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.linear_model import PoissonRegressor  # type: ignore[import-untyped, import-not-found, unused-ignore]

    n = int(600_000 * scale)
    X, y, exposure = poisson_data(n)
    off = np.log(exposure)
    Xd = np.column_stack([np.ones(n), X])

    def nll(beta: Any) -> float:
        eta = Xd @ beta + off
        return float(np.sum(np.exp(eta) - y * eta))

    def sk() -> Any:
        m = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=1000)
        m.fit(X, y / exposure, sample_weight=exposure)
        return np.r_[m.intercept_, m.coef_]

    def gl() -> Any:
        m = glum.GeneralizedLinearRegressor(
            family="poisson", alpha=0.0, gradient_tol=1e-12, max_iter=1000
        )
        m.fit(X, y, offset=off)
        return np.r_[m.intercept_, m.coef_]

    def smf() -> Any:
        r = sm.GLM(y, Xd, family=sm.families.Poisson(), offset=off).fit(tol=1e-12, maxiter=200)
        return np.asarray(r.params)

    contenders = {
        "expfam": lambda: expfam.glm(expfam.Poisson, X, y, offset=off).coef,
        "statsmodels GLM (IRLS)": smf,
        "scikit-learn newton-cholesky (wtd)": sk,
        "glum": gl,
    }
    report(
        f"Poisson with log-exposure offset, n = {n}, {X.shape[1]} columns",
        run_round(contenders, repeat),
        nll,
    )
    report_passes(contenders["expfam"], n)


# ---------------------------------------------------------------------------------- logistic
def logistic_problem(scale: float, repeat: int) -> None:
    import glum  # type: ignore[import-untyped, import-not-found, unused-ignore]
    import statsmodels.api as sm  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped, import-not-found, unused-ignore]

    n = int(1_000_000 * scale)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, 20))
    beta = rng.normal(scale=0.3, size=20)
    y = (rng.uniform(size=n) < special.expit(0.2 + X @ beta)).astype(float)
    Xd = np.column_stack([np.ones(n), X])

    def nll(b: Any) -> float:
        eta = Xd @ b
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta))

    def sk(solver: str) -> Callable[[], Any]:
        def fit() -> Any:
            m = LogisticRegression(C=np.inf, solver=solver, tol=1e-12, max_iter=10_000).fit(X, y)
            return np.r_[m.intercept_, m.coef_[0]]

        return fit

    def gl() -> Any:
        m = glum.GeneralizedLinearRegressor(
            family="binomial", alpha=0.0, gradient_tol=1e-12, max_iter=1000
        )
        m.fit(X, y)
        return np.r_[m.intercept_, m.coef_]

    def smf() -> Any:
        r = sm.GLM(y, Xd, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=200)
        return np.asarray(r.params)

    contenders = {
        "expfam": lambda: expfam.glm(expfam.Bernoulli, X, y).coef,
        "statsmodels GLM (IRLS)": smf,
        "scikit-learn lbfgs": sk("lbfgs"),
        "scikit-learn newton-cholesky": sk("newton-cholesky"),
        "glum": gl,
    }
    report(f"logistic regression, n = {n}, 20 columns", run_round(contenders, repeat), nll)
    report_passes(contenders["expfam"], n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the rows")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (best time kept)")
    parser.add_argument(
        "--only", choices=("softmax", "poisson", "logistic"), action="append", help="problems"
    )
    args = parser.parse_args()
    only = args.only or ["softmax", "poisson", "logistic"]
    print(f"expfam {expfam.__version__}, numpy {np.__version__}; rows x {args.scale:g}")
    if "logistic" in only:
        logistic_problem(args.scale, args.repeat)
    if "poisson" in only:
        poisson_problem(args.scale, args.repeat)
    if "softmax" in only:
        softmax_problem(args.scale, args.repeat)


if __name__ == "__main__":
    main()
