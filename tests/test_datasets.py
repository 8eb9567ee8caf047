"""The bundled real data sets, the stratified split and min-max normalisation."""

import numpy as np
import pytest

from reseau import MinMaxScaler, datasets


def test_breast_cancer():
    d = datasets.load("breast_cancer")
    assert d.X.shape == (569, 30) and d.y.shape == (569,)
    assert np.bincount(d.y).tolist() == [212, 357]
    assert d.feature_names[0] == "mean_radius" and d.feature_names[-1] == "worst_fractal_dimension"
    assert d.target_names == ["malignant", "benign"]
    assert d.X[0, 0] == 17.99 and d.X[0, 3] == 1001.0  # the first case of the UCI file
    assert "CC BY 4.0" in d.description


def test_digits():
    X, y = datasets.load("digits")
    assert X.shape == (1797, 64) and X.min() == 0 and X.max() == 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_unknown_name():
    with pytest.raises(
        ValueError, match="name='mnist' is not a bundled data set; expected one of breast_cancer, digits"
    ):
        datasets.load("mnist")


def test_stratified_split_keeps_class_shares():
    X, y = datasets.load("breast_cancer")
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, 0.2, seed=0)
    assert len(y_te) == round(0.2 * 212) + round(0.2 * 357) and len(y_tr) + len(y_te) == 569
    assert np.bincount(y_te).tolist() == [42, 71]
    rows = {tuple(r) for r in X_tr} | {tuple(r) for r in X_te}
    assert len(rows) == len({tuple(r) for r in X})  # a partition: nothing lost or repeated
    again = datasets.train_test_split(X, y, 0.2, seed=0)
    np.testing.assert_array_equal(again[1], X_te)
    other = datasets.train_test_split(X, y, 0.2, seed=1)
    assert not np.array_equal(other[1], X_te)


@pytest.mark.parametrize("size", [0.0, 1.0, 20, "0.2"])
def test_split_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="test_size=.*expected a fraction in \\(0, 1\\)"):
        datasets.train_test_split(np.zeros((4, 1)), np.zeros(4), size)


def test_min_max_scaler():
    X = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [2.0, 5.0, 0.0]])
    scaler = MinMaxScaler().fit(X)
    expected = np.array([[0.0, 0.0, 0.5], [1.0, 0.0, 1.0], [0.5, 0.0, 0.0]])  # zero-range column → 0
    np.testing.assert_allclose(scaler.transform(X), expected)
    np.testing.assert_allclose(scaler.transform([[5.0, 6.0, 1.0]]), [[2.0, 1.0, 0.25]])  # no clipping
    with pytest.raises(ValueError, match="X has 2 features"):
        scaler.transform(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="not fitted"):
        MinMaxScaler().transform(X)


# ---- generators -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(datasets.GENERATORS))
def test_generators_are_seeded_and_balanced(name):
    make = datasets.GENERATORS[name]
    X, y = make(seed=3)
    X2, y2 = make(seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert X.dtype == np.float64 and y.dtype == np.int64 and X.shape[0] == y.shape[0]
    counts = np.bincount(y)
    assert counts.min() >= 0.3 * counts.max()
    assert not np.array_equal(make(seed=4)[0], X)


def test_generator_geometry():
    X, y = datasets.circles(n=400, noise=0.0, factor=0.3)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.3)
    X, y = datasets.moons(n=100, noise=0.0)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    X, y = datasets.xor(n=500)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    X, y = datasets.blobs(n=90, centers=3, n_features=4, std=0.0)
    assert len(np.unique(X, axis=0)) == 3 and X.shape == (90, 4)


def test_a_network_separates_the_moons():
    from reseau import MLP

    X, y = datasets.moons(n=300, noise=0.1, seed=1)
    model = MLP([2, 16, 16, 1], hidden="tanh", seed=0)
    model.fit(X, y, epochs=300, batch_size=32, optimizer="adam", lr=0.01)
    assert model.evaluate(X, y)["accuracy"] > 0.97


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: datasets.moons(n=0), r"n=0 is invalid"),
        (lambda: datasets.circles(factor=1.5), r"factor=1.5 is invalid"),
        (lambda: datasets.spirals(noise=-1), r"noise=-1 is invalid"),
        (lambda: datasets.blobs(seed=-2), r"seed=-2 is invalid"),
    ],
)
def test_generator_arguments_are_checked(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_train_val_test_split_partitions_by_class():
    X, y = datasets.load("digits")
    Xtr, Xv, Xte, ytr, yv, yte = datasets.train_val_test_split(X, y, 0.1, 0.2, seed=0)
    assert len(ytr) + len(yv) + len(yte) == len(y)
    for part, f in ((yv, 0.1), (yte, 0.2)):
        np.testing.assert_allclose(np.bincount(part, minlength=10), np.round(f * np.bincount(y)), atol=0)
    rows = np.concatenate([Xtr, Xv, Xte])
    assert len(np.unique(rows, axis=0)) == len(np.unique(X, axis=0))
    with pytest.raises(ValueError, match="split fractions"):
        datasets.train_val_test_split(X, y, 0.5, 0.6)


# ---- files ------------------------------------------------------------------------------------


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header_and_text_labels(tmp_path):
    path = _write(tmp_path, "iris.csv", "a,b,species\n1,2,setosa\n3,4.5,virginica\n5,6,setosa\n")
    d = datasets.load_file(path, target="species")
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4.5], [5, 6]])
    np.testing.assert_array_equal(d.y, [0, 1, 0])
    assert d.feature_names == ["a", "b"] and d.target_names == ["setosa", "virginica"]


def test_csv_without_header_target_by_index_and_gzip(tmp_path):
    import gzip

    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(b"0,1.5,2\n1,2.5,3\n"))
    d = datasets.load_file(path, target=0)
    np.testing.assert_array_equal(d.X, [[1.5, 2], [2.5, 3]])
    np.testing.assert_array_equal(d.y, [0, 1])
    assert d.y.dtype == np.int64


def test_the_bundled_csv_reads_like_load(tmp_path):
    import gzip
    from importlib import resources

    raw = resources.files("reseau.datasets").joinpath("data", "breast_cancer.csv.gz").read_bytes()
    path = tmp_path / "bc.csv"
    path.write_bytes(gzip.decompress(raw))
    d, ref = datasets.load_file(path, target="target"), datasets.load("breast_cancer")
    np.testing.assert_array_equal(d.X, ref.X)
    np.testing.assert_array_equal(d.y, ref.y)


@pytest.mark.parametrize(
    "text,kwargs,message",
    [
        ("a,b,y\n1,2,0\n3,x,1\n", {"target": "y"}, r"line 3, column 'b': 'x' is not a number"),
        ("a,b,y\n1,2,0\n3,4\n", {"target": "y"}, r"line 3: 2 cells but the first row has 3"),
        ("a,b,y\n1,2,0\n3,4,NA\n", {"target": "y"}, r"line 3, column 'y': the target is missing"),
        ("a,b,y\n1,2,0\n", {"target": "label"}, r"no column named 'label'; the columns are a, b, y"),
        ("1,2,0\n", {"target": 5}, r"target=5 is not a column"),
        ("a,b,y\n", {"target": "y"}, r"a header but no data rows"),
        ("\n\n", {}, r"no data rows"),
        ("a,b,y\n1,inf,0\n", {"target": "y"}, r"line 2, column 'b': 'inf' is not a finite number"),
    ],
)
def test_csv_problems_name_the_file_line_and_column(tmp_path, text, kwargs, message):
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(ValueError, match=message) as err:
        datasets.load_file(path, **kwargs)
    assert "bad.csv" in str(err.value)


def test_missing_cells_are_kept_for_the_model_but_refused_by_the_numbers_only_reader(tmp_path):
    path = _write(tmp_path, "gaps.csv", "a,b,y\n1,2,0\n3,,1\n")
    d = datasets.load_file(path, target="y")
    assert d.table.column("b").to_pylist() == [2, None] and d.X is d.table
    with pytest.raises(ValueError, match=r"gaps\.csv, line 3, column 'b': missing value"):
        datasets.read_csv(path, target="y")


def test_unreadable_files(tmp_path):
    with pytest.raises(ValueError, match="cannot read the file"):
        datasets.load_file(tmp_path / "missing.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"line 2: not valid UTF-8 text.*encoding=.cp1252"):
        datasets.load_file(path)


def test_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 1, 0]))
    d = datasets.load_file(path)
    assert d.X.shape == (4, 3) and d.y.tolist() == [0, 1, 1, 0]
    np.savez(path, X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a readable .npz archive of plain arrays"):
        datasets.load_file(path)
    np.savez(path, data=np.zeros(3))
    with pytest.raises(ValueError, match="no array named 'X'; the archive holds data"):
        datasets.load_file(path)


def _idx(array, dtype_code):
    import struct

    header = bytes([0, 0, dtype_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_idx_images_and_labels(tmp_path):
    import gzip

    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([7, 0, 3], dtype=np.uint8)
    (tmp_path / "imgs-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images, 0x08)))
    (tmp_path / "labels-idx1-ubyte").write_bytes(_idx(labels, 0x08))
    d = datasets.load_file(tmp_path / "imgs-idx3-ubyte.gz", target=tmp_path / "labels-idx1-ubyte")
    np.testing.assert_array_equal(d.X, images.reshape(3, 20))
    np.testing.assert_array_equal(d.y, [7, 0, 3])
    floats = np.array([[1.5, -2.0]], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(_idx(floats, 0x0D))
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "f.idx"), floats)


def test_idx_problems(tmp_path):
    import struct

    good = _idx(np.zeros((2, 3), np.uint8), 0x08)
    (tmp_path / "t-ubyte").write_bytes(good[:-2])
    with pytest.raises(ValueError, match=r"header says shape \(2, 3\).*truncated or corrupted"):
        datasets.read_idx(tmp_path / "t-ubyte")
    (tmp_path / "huge-ubyte").write_bytes(bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 2**31, 2**31))
    with pytest.raises(ValueError, match="refusing more than"):
        datasets.read_idx(tmp_path / "huge-ubyte")
    (tmp_path / "junk-ubyte").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "junk-ubyte")
    (tmp_path / "imgs-ubyte").write_bytes(good)
    (tmp_path / "labs-ubyte").write_bytes(_idx(np.zeros(5, np.uint8), 0x08))
    with pytest.raises(ValueError, match="5 labels for the 2 rows"):
        datasets.load_file(tmp_path / "imgs-ubyte", target=tmp_path / "labs-ubyte")


def test_empty_arrays_are_refused(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, X=np.zeros((0, 3)), y=np.zeros(0))
    with pytest.raises(ValueError, match="empty.npz: the data array is empty"):
        datasets.load_file(path)
