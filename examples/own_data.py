r"""
Your own data: an untidy CSV, pandas, preprocessing, the scikit-learn estimators
================================================================================

Real files are not the notes' clean matrix X: they have an id column, a `;` delimiter, a
byte-order mark, empty cells, text columns and text labels. reseau reads CSV, Parquet and Feather
(through pyarrow), or takes a pandas / polars / Arrow table, and fits a per-column plan on the
training part — numbers scaled (min-max by default), text one-hot encoded, missing cells imputed
with the training median (or most frequent category) — kept in the model, so prediction applies
the same plan to new data, matched by column name.

Below, the bundled breast-cancer data written out as such a file.
"""

import tempfile
import warnings
from pathlib import Path

import numpy as np

import reseau
from reseau import datasets

X, y = datasets.load("breast_cancer")
rng = np.random.default_rng(0)
rows = []
for i, (x, label) in enumerate(zip(X, y)):
    cells = [f"{v:.6g}" for v in x[:10]]
    for j in rng.choice(10, size=rng.integers(0, 2), replace=False):
        cells[j] = ""  # an empty cell here and there
    size = "large" if x[3] > 700 else "small"  # a text column derived from the area
    rows.append(";".join([f"p{i:04d}", *cells, size, "benign" if label else "malignant"]))
header = ";".join(["id", *[f"f{j}" for j in range(10)], "size", "diagnosis"])
path = Path(tempfile.mkdtemp()) / "patients.csv"
path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")  # with a byte-order mark
print(path.read_text(encoding="utf-8-sig").splitlines()[1][:80], "...")

# %%
# Reading it with pandas, as most people do: the id and the target are set aside, the rest is the
# table of features. ``reseau.MLP([None, 16, None])`` sizes its input and output layers from the
# data; the first ``fit`` fits the column plan on the training rows and says what it imputed.
import pandas as pd  # noqa: E402

frame = pd.read_csv(path, sep=";", encoding="utf-8-sig")
features, labels = frame.drop(columns=["id", "diagnosis"]), frame["diagnosis"]
train, test = features.index < 400, features.index >= 400
model = reseau.MLP([None, 16, None], seed=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model.fit(features[train], labels[train], epochs=60, batch_size=32, optimizer="adam", lr=3e-3)
for w in caught:
    print("note:", w.message)
print(model.summary())
warnings.simplefilter("ignore", reseau.DataWarning)  # the test rows have empty cells too
predicted = model.predict(features[test])
print(
    f"test accuracy {(predicted == labels[test].to_numpy()).mean():.3f}; the predictions are the labels "
    f"as written: {sorted(map(str, set(predicted)))}"
)

# %%
# reseau's own reader does the same without pandas: the delimiter, the header and the byte-order
# mark are detected, ``drop`` leaves out the id.
data = datasets.load_file(path, target="diagnosis", drop=["id"])
print(data.description)

# %%
# The scikit-learn estimators take the same tables (here through pandas) with scikit-learn's
# parameters, so they go into pipelines and cross-validation.
from sklearn.model_selection import cross_val_score  # noqa: E402

from reseau.sklearn import MLPClassifier  # noqa: E402

clf = MLPClassifier(
    hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0, normalize="standard", impute="median"
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    scores = cross_val_score(clf, features, labels, cv=5)
print(
    f"5-fold cross-validated accuracy of reseau.sklearn.MLPClassifier: {scores.mean():.3f} "
    f"(from {scores.min():.3f} to {scores.max():.3f})"
)
