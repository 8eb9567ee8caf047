"""Arrow dictionary columns (pandas ``category``, polars ``Categorical``) are categories in every
path — the API from pandas, Arrow and polars, the CLI from Parquet and Feather — with integer and
text dictionaries, one-hot encoded, saved and predicted the same way.

The data make the difference measurable: 12 integer codes, each with its own random class, so the
target is a lookup of the code; one-hot learns it exactly, a code read as a number cannot (a
class that flips at random between neighbouring values)."""

import re

import numpy as np
import pytest

import reseau
from reseau.cli import main

pd = pytest.importorskip("pandas", reason="pandas is not installed (reseau[test])")
pa = pytest.importorskip("pyarrow", reason="pyarrow is a dependency of reseau")

CODES = np.array([3, 7, 11, 20, 21, 22, 40, 41, 55, 60, 61, 99])


def _frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    label_of = rng.permutation([0, 1] * 6)  # each code's class, at random
    k = rng.integers(0, len(CODES), n)
    return pd.DataFrame(
        {
            "code": pd.Categorical(CODES[k]),  # an integer dictionary
            "colour": pd.Categorical(np.array(list("rgbcmykwpoas"))[k[::-1]]),  # a text dictionary
            "noise": rng.normal(size=n),
            "y": label_of[k],
        }
    )


def _categories(model):
    return dict(zip(model.contract.columns.names, model.contract.columns.categories))


def test_an_integer_dictionary_is_one_hot_encoded_in_every_api_path(tmp_path):
    df = _frame()
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    pl = pytest.importorskip("polars", reason="polars is not installed (reseau[test])")
    tables = {
        "pandas": X,
        "arrow": pa.Table.from_pandas(X, preserve_index=False),
        # polars has no integer categories: its Categorical of the codes' text (the same cells)
        "polars": pl.from_pandas(X.astype({"code": str})).with_columns(pl.col("code").cast(pl.Categorical)),
    }
    assert pa.types.is_dictionary(tables["arrow"].schema.field("code").type)
    probabilities = {}
    for name, table in tables.items():
        model = reseau.MLP([None, 16, None], seed=0)
        model.fit(table, y, epochs=60)
        assert model.sizes[0] == 12 + 12 + 1, name  # code one-hot, colour one-hot, noise
        assert _categories(model)["code"] == sorted(str(c) for c in CODES), name
        assert model.evaluate(table, y)["accuracy"] == 1.0, name
        probabilities[name] = model.predict_proba(table)
        model.save(tmp_path / f"{name}.reseau")
        again = reseau.load(tmp_path / f"{name}.reseau")
        np.testing.assert_array_equal(again.predict_proba(table), probabilities[name])
        plain = X.astype({"code": int, "colour": str})  # the same cells, no dictionary: predicted the same
        np.testing.assert_array_equal(again.predict_proba(plain), probabilities[name])
    np.testing.assert_array_equal(probabilities["arrow"], probabilities["pandas"])
    np.testing.assert_array_equal(probabilities["polars"], probabilities["pandas"])


def test_parquet_keeps_pandas_integer_categories_as_categories():
    """Parquet stores an integer category as plain integers and records in pandas' metadata that it
    was one (pandas.read_parquet reads it back so); reseau reads that record too."""
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow has no Parquet support here")
    import io

    buffer = io.BytesIO()
    _frame().to_parquet(buffer)
    table = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert pa.types.is_integer(table.schema.field("code").type)  # what the reader hands over
    from reseau.core.tables import to_table

    assert to_table(table).categorical == {"code", "colour"}


@pytest.mark.parametrize("suffix", [".parquet", ".feather"])
def test_cli_reads_dictionary_columns_from_parquet_and_feather_as_categories(suffix, tmp_path, capsys):
    df = _frame()
    path = tmp_path / f"coded{suffix}"
    df.to_parquet(path) if suffix == ".parquet" else df.to_feather(path)
    model_file = tmp_path / "m.reseau"
    assert main(["train", "--data", str(path), "--target", "y", "--quiet", "--save", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "2 one-hot (code: 12, colour: 12)" in out
    assert float(re.search(r"test accuracy (\d\.\d+)", out).group(1)) == 1.0
    df.drop(columns="y").astype({"code": int, "colour": str}).to_csv(tmp_path / "plain.csv", index=False)
    assert main(["predict", str(model_file), str(tmp_path / "plain.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    predicted = pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy()
    np.testing.assert_array_equal(predicted, df["y"].to_numpy())
