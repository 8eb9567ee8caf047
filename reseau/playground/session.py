"""One playground run: the settings the page sends turned into a data set, an ``MLP`` and its
``fit`` arguments (``build``: the page never restates the math), trained in a worker thread that
publishes a frame after every epoch and waits while paused.

A frame: epoch, training and validation loss (and accuracy or R²), each layer's ‖dW⁽ˡ⁾‖ (the
vanishing gradient, ``track_gradients``), and the model's output on a GRID × GRID lattice over the
points (the decision boundary), with the points themselves.
"""

from __future__ import annotations

import json
import threading
import time
import warnings

from ..backends.host import np
from ..core.callbacks import Callback
from ..core.columns import DataWarning
from ..core.model import MLP
from ..datasets import GENERATORS, train_test_split

GRID = 48
#: seconds the training thread gives up after each epoch: a short epoch holds the interpreter's lock
#: almost all the time, and the page's requests queued behind it (16 redraws a second, not 20+)
YIELD_S = 0.003
#: what the page may set, with the defaults it starts from (the notes' two-layer network on moons)
DEFAULTS = {
    "data": "moons",
    "n": 300,
    "noise": 0.2,
    "train_share": 0.7,
    "seed": 0,
    "layers": [8, 8],
    "activation": "tanh",
    "output": "auto",
    "init": "auto",
    "normalize": "minmax",
    "dropout": 0.0,
    "l1": 0.0,
    "l2": 0.0,
    "batch": 16,
    "optimizer": "sgd",
    "lr": 0.1,
    "schedule": "none",
    "epochs": 200,
    "backend": "numpy",
}
NOISY = ("moons", "circles", "spirals", "xor")


def settings_of(given: dict) -> dict:
    """The defaults with the page's choices over them; an unknown key or kind is a ValueError."""
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; expected some of {sorted(DEFAULTS)}")
    s = {**DEFAULTS, **given}
    if s["data"] not in GENERATORS and s["data"] != "file":
        raise ValueError(f"data={s['data']!r}; expected one of {sorted(GENERATORS)} or 'file'")
    for key in ("n", "seed", "epochs"):
        s[key] = int(s[key])
    for key in ("noise", "train_share", "dropout", "l1", "l2", "lr"):
        s[key] = float(s[key])
    s["layers"] = [int(u) for u in s["layers"]]
    return s


def build(settings: dict, upload=None):
    """(model, X_train, y_train, X_val, y_val, fit keyword arguments) from the settings, with
    reseau's public API only: the same calls reproduce a page's run in Python. ``upload``: the
    user's own table ``Upload`` (data "file"), trained on all its columns."""
    s = settings_of(settings)
    if s["data"] == "file":
        if upload is None:
            raise ValueError("data='file': upload a CSV first")
        X, y = upload.table, upload.y
    else:
        kwargs = {"n": s["n"], "seed": s["seed"], **({"noise": s["noise"]} if s["data"] in NOISY else {})}
        X, y = GENERATORS[s["data"]](**kwargs)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, 1.0 - s["train_share"], seed=s["seed"])
    hidden = [a.strip() for a in s["activation"].split(",")] if "," in s["activation"] else s["activation"]
    model = MLP(
        [None, *s["layers"], None],
        hidden=hidden,  # one name, or one per hidden layer ("tanh,relu")
        output=None if s["output"] == "auto" else s["output"],
        init=None if s["init"] == "auto" else s["init"],
        normalize=None if s["normalize"] == "none" else s["normalize"],
        dropout=s["dropout"],
        l1=s["l1"],
        l2=s["l2"],
        seed=s["seed"],
        backend=s["backend"],
    )
    batch = None if s["batch"] in ("full", None) else int(s["batch"])
    fit = dict(
        epochs=s["epochs"],
        batch_size=batch,
        optimizer=s["optimizer"],
        lr=s["lr"],
        schedule=None if s["schedule"] == "none" else s["schedule"],
        validation_data=(X_val, y_val),
        track_gradients=True,
    )
    return model, X_tr, y_tr, X_val, y_val, fit


#: the largest file the page may upload (the CLI's reader and its hostile-input rules read it)
MAX_UPLOAD = 20 << 20


class Upload:
    """The user's own CSV: written in a temporary folder (gone with the run), read by the same
    reader as ``reseau train``; ``view`` the two numeric columns the page draws (the model trains
    on every column; the others are held at their training median, or most frequent value, for the
    boundary)."""

    def __init__(self, raw: bytes, name: str, target: str, view):
        import tempfile
        from pathlib import Path

        from .. import datasets

        if len(raw) > MAX_UPLOAD:
            raise ValueError(f"the file is {len(raw) >> 20} MiB; the playground takes {MAX_UPLOAD >> 20} MiB at most")
        self.folder = tempfile.TemporaryDirectory(prefix="reseau-playground-")
        self.name, self.target = Path(name).name or "data.csv", target
        path = Path(self.folder.name) / self.name
        path.write_bytes(raw)
        with warnings.catch_warnings(record=True) as caught:  # the reader's notes go to the page
            warnings.simplefilter("always", DataWarning)
            d = datasets.load_file(path, target=target or -1)
        self.notes = [str(w.message).replace(f"{path}: ", "") for w in caught if issubclass(w.category, DataWarning)]
        if d.y is None:
            raise ValueError(f"{name}: no target column; name it")
        self.table, self.y = d.table, d.labels
        import pyarrow as pa

        names = list(self.table.column_names)
        numeric = [n for n in names if pa.types.is_integer(self.table.schema.field(n).type)
                   or pa.types.is_floating(self.table.schema.field(n).type)]  # fmt: skip
        view = [v for v in view if v] or numeric[:2]
        if len(view) != 2 or any(v not in numeric for v in view):
            raise ValueError(
                f"{self.name}: the page draws the plane of two numeric columns; asked for {view!r}, and its "
                f"numeric columns are {numeric}: name two of them, or use a file with two"
            )
        self.view = view
        self.fill = {n: _typical(self.table.column(n)) for n in names if n not in view}  # once, not per frame

    def points(self, table=None):
        """The view columns of ``table`` (default: the whole upload) as an (n, 2) array."""
        table = self.table if table is None else table
        return np.c_[[np.asarray(table.column(v).to_numpy(zero_copy_only=False), dtype=float) for v in self.view]].T

    def grid_table(self, grid):
        """A table for the lattice ``grid`` over the view columns, the others held at their
        median (numbers) or most frequent value (text)."""
        import pyarrow as pa

        columns = {
            name: grid[:, self.view.index(name)] if name in self.view else [self.fill[name]] * len(grid)
            for name in self.table.column_names
        }
        return pa.table(columns)


def _typical(column):
    """A column's median (numbers) or most frequent value (text), its missing cells left out."""
    values = column.drop_null().to_numpy(zero_copy_only=False)
    if values.dtype.kind in "iuf":
        return np.median(values)
    kinds, counts = np.unique(values.astype(str), return_counts=True)
    return kinds[np.argmax(counts)]


def script(settings: dict, upload=None) -> str:
    """A Python script that reproduces the page's run with reseau's public API: the same data (the
    uploaded file by its name, read from the folder the script runs in), the same model, the same
    ``fit``, so the same weights (it saves them to playground.reseau)."""
    s = settings_of(settings)
    data = {"n": s["n"], "seed": s["seed"], **({"noise": s["noise"]} if s["data"] in NOISY else {})}
    load = f"X, y = datasets.{s['data']}({', '.join(f'{k}={v!r}' for k, v in data.items())})"
    if s["data"] == "file":
        d = f"datasets.load_file({upload.name!r}, target={upload.target or -1!r})"
        load = f"d = {d}  # your file, beside this script\nX, y = d.table, d.labels"
    hidden = [a.strip() for a in s["activation"].split(",")] if "," in s["activation"] else s["activation"]
    model = {
        "hidden": hidden,
        "output": None if s["output"] == "auto" else s["output"],
        "init": None if s["init"] == "auto" else s["init"],
        "normalize": None if s["normalize"] == "none" else s["normalize"],
        "dropout": s["dropout"],
        "l1": s["l1"],
        "l2": s["l2"],
        "seed": s["seed"],
        "backend": s["backend"],
    }
    fit = {
        "epochs": s["epochs"],
        "batch_size": None if s["batch"] in ("full", None) else int(s["batch"]),
        "optimizer": s["optimizer"],
        "lr": s["lr"],
        "schedule": None if s["schedule"] == "none" else s["schedule"],
    }
    args = ", ".join(f"{k}={v!r}" for k, v in model.items())
    fits = ", ".join(f"{k}={v!r}" for k, v in fit.items())
    return f"""# the playground's run, with reseau's public API (the same weights as the page's)
import reseau
from reseau import datasets

{load}
X_train, X_val, y_train, y_val = datasets.train_test_split(X, y, {1.0 - s["train_share"]!r}, seed={s["seed"]!r})
model = reseau.MLP([None, *{s["layers"]!r}, None], {args})
history = model.fit(X_train, y_train, {fits}, validation_data=(X_val, y_val), track_gradients=True)
print(f"epoch {{model.epoch}}: loss {{history['loss'][-1]:.6g}}, validation loss {{history['val_loss'][-1]:.6g}}")
model.save("playground.reseau")
"""


class Session:
    """The run the page drives: ``start`` (new settings), ``pause``, ``play``, ``step`` (one
    epoch), ``reset``; ``frame()`` the latest picture. Training happens in a worker thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = threading.Event()  # set: train on; clear: wait after the epoch
        self.thread = None
        self.stop = False
        self.steps_left = None  # one step: train this many epochs, then pause
        self.latest = {"epoch": 0, "state": "idle"}
        self.model = self.points = self.settings = self.upload = self.view = None
        self.error = None
        self._json = None  # (the frame, its JSON)

    def start(self, settings: dict, play=True):
        """A new run from ``settings`` (replacing any run), paused unless ``play``."""
        upload = self.upload if settings.get("data") == "file" else None
        model, X_tr, y_tr, X_val, y_val, fit = build(settings, upload)  # bad settings raise here, before anything stops
        self.reset()
        self.settings = settings_of(settings)
        self.model, self.stop, self.error, self.view = model, False, None, upload
        if upload is None:
            self.points = (np.concatenate([X_tr, X_val]), np.concatenate([y_tr, y_val]), len(y_tr))
        else:  # the view columns of the training rows, then of the validation rows
            codes = {str(c): k for k, c in enumerate(np.unique(np.asarray(upload.y).astype(str)))}
            y_codes = [codes[str(v)] for v in np.concatenate([y_tr, y_val])]  # colours of the points
            XY = np.concatenate([upload.points(X_tr), upload.points(X_val)])
            self.points = (XY, np.asarray(y_codes), len(y_tr))
        (self.running.set if play else self.running.clear)()
        self.latest = {"epoch": 0, "state": "playing" if play else "paused", **self._picture()}
        self.thread = threading.Thread(target=self._train, args=(X_tr, y_tr, fit), daemon=True)
        self.thread.start()

    def _train(self, X, y, fit):
        try:
            self.model.fit(X, y, callbacks=[_Frames(self)], **fit)
            self.latest = {**self.latest, "state": "done"}
        except Exception as exc:  # shown on the page, the server stays up
            self.error = f"{type(exc).__name__}: {exc}"
            self.latest = {**self.latest, "state": "error", "error": self.error}

    def play(self):
        self.steps_left = None
        self.running.set()

    def pause(self):
        self.running.clear()

    def step(self):
        """One more epoch, then pause."""
        self.steps_left = 1
        self.running.set()

    def reset(self):
        """Stop the run (its thread ends after the epoch in progress)."""
        self.stop = True
        self.running.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        self.thread = None
        self.latest = {"epoch": 0, "state": "idle"}

    def frame(self) -> dict:
        with self.lock:
            return dict(self.latest)

    def frame_json(self) -> bytes:
        """The latest frame as JSON, serialised once per frame however often the page asks."""
        with self.lock:
            if self._json is None or self._json[0] is not self.latest:
                self._json = (self.latest, json.dumps(self.latest).encode())
            return self._json[1]

    def units(self) -> dict:
        """Each hidden unit's own map (its activation over the GRID × GRID lattice, scaled to [0, 1]
        per unit) and each layer's weights, for drawing by sign and size."""
        if self.model is None or self.model.layout is None:
            return {"maps": [], "weights": []}
        X, _, _ = self.points
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        u, v = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
        maps, grid = [], np.c_[u.ravel(), v.ravel()]
        for A in self.model.hidden_outputs(grid if self.view is None else self.view.grid_table(grid)):
            low, span = A.min(axis=0), np.ptp(A, axis=0)
            scaled = (A - low) / np.where(span > 0, span, 1.0)
            maps.append([scaled[:, j].round(3).tolist() for j in range(A.shape[1])])
        return {"maps": maps, "weights": [W.round(4).tolist() for W, _ in self.model.get_weights()]}

    def model_file(self) -> bytes:
        """The model as it stands, as a reseau model file (written in a temporary folder, read back)."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "playground.reseau"
            self.model.save(path)
            return path.read_bytes()

    def weights(self):
        return [] if self.model is None or self.model.layout is None else [
            (W.tolist(), b.tolist()) for W, b in self.model.get_weights()
        ]  # fmt: skip

    def publish(self, record):
        """The frame after an epoch (from the worker thread)."""
        picture = self._picture()
        with self.lock:
            self.latest = {"state": "playing" if self.running.is_set() else "paused", **record, **picture}

    def _picture(self) -> dict:
        """The points and the model's output over the GRID × GRID lattice around them."""
        X, y, n_train = self.points
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        u, v = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
        grid = np.c_[u.ravel(), v.ravel()]
        if self.view is not None:
            grid = self.view.grid_table(grid)  # the user's table: the other columns held fixed
        if self.model.layout is None:
            out = np.full(len(grid), 0.5)
        elif self.model.output == "softmax":
            P = self.model.predict_proba(grid)
            out = P.argmax(axis=1) / max(1, P.shape[1] - 1) * 0.98 + 0.01 * P.max(axis=1)
        else:
            out = self.model.predict_proba(grid) if self.model.output == "sigmoid" else self.model.predict(grid)
        return {
            "grid": np.asarray(out, dtype=float).reshape(-1).round(4).tolist(),
            "extent": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
            "points": X.round(4).tolist(),
            "labels": np.asarray(y).tolist(),
            "n_train": n_train,
            "classes": int(len(np.unique(y))),
        }


class _Frames(Callback):
    """Publishes each epoch's frame, then waits while the page has paused (or ends the run)."""

    def __init__(self, session):
        self.session = session

    def on_train_begin(self, trainer):
        """A run started paused waits before its first epoch too (it trained one epoch at once,
        showing epoch 1 where the page had asked for a paused start)."""
        self.session.running.wait()
        if self.session.stop:
            trainer.stop_training = True

    def on_epoch_end(self, trainer, record):
        s = self.session
        shown = {k: v for k, v in record.items() if k in ("epoch", "loss", "val_loss", "accuracy", "val_accuracy")}
        shown["grad_norms"] = record.get("grad_norms", [])
        s.publish(shown)
        if s.steps_left is not None:
            s.steps_left -= 1
            if s.steps_left <= 0:
                s.steps_left = None
                s.running.clear()
                s.publish(shown)
        s.running.wait()
        time.sleep(YIELD_S)  # let the server's thread have the interpreter: the page stays fluid
        if s.stop:
            trainer.stop_training = True


class Race:
    """The optimiser race: the same data and the same initial weights (the same seed) trained by
    several optimisers side by side, each at its own default learning rate, one Session each."""

    def __init__(self):
        self.sessions = {}

    def start(self, settings: dict, names, upload=None) -> None:
        from ..core import optim

        unknown = [n for n in names if n not in optim.OPTIMIZERS]
        if not names or unknown:
            raise ValueError(f"optimizers {list(names)!r}; expected one or more of {sorted(optim.OPTIMIZERS)}")
        self.reset()
        for name in names:
            session = Session()
            session.upload = upload
            session.start({**settings, "optimizer": name, "lr": optim.OPTIMIZERS[name]().lr})
            self.sessions[name] = session

    def frames(self) -> dict:
        """{optimiser: its latest frame without the points (the first one carries them)}."""
        out = {}
        for k, (name, session) in enumerate(self.sessions.items()):
            frame = session.frame()
            out[name] = frame if k == 0 else {key: v for key, v in frame.items() if key not in ("points", "labels")}
        return out

    def reset(self):
        for session in self.sessions.values():
            session.reset()
        self.sessions = {}
