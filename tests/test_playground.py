"""`reseau playground`: the server and its page, tested through a real server and, where Debian's
chromium is installed (.ci/run installs it), a real browser driven by Playwright."""

import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed (reseau[playground])")
pytest.importorskip("uvicorn", reason="the playground extra is not installed (reseau[playground])")

from reseau import MLP, datasets  # noqa: E402
from reseau.playground import serve  # noqa: E402

SETTINGS = {"data": "moons", "n": 200, "noise": 0.2, "seed": 3, "layers": [6, 6], "activation": "tanh,relu",
            "optimizer": "adam", "lr": 0.02, "epochs": 12, "batch": 16}  # fmt: skip


@pytest.fixture
def server():
    """(base URL with its token, the URL without) of a playground served in a thread."""
    started, box = threading.Event(), {}

    def ready(url, stop):
        box["url"], box["stop"] = url, stop
        started.set()

    thread = threading.Thread(target=serve, kwargs=dict(port=0, open_browser=False, ready=ready), daemon=True)
    thread.start()
    assert started.wait(30), "the playground did not start"
    yield box["url"]
    box["stop"]()
    thread.join(10)


def _call(url, path, body=None):
    base, token = url.split("/?token=")
    request = urllib.request.Request(
        f"{base}{path}?token={token}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def _start(url, settings, play=True):
    """POST /api/start with ``settings`` (paused where not ``play``); the first frame."""
    base, token = url.split("/?token=")
    request = urllib.request.Request(
        f"{base}/api/start?token={token}&play={int(play)}", data=json.dumps(settings).encode(), method="POST",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def _wait_done(url):
    for _ in range(600):
        frame = _call(url, "/api/frame")
        if frame["state"] in ("done", "error"):
            return frame
        threading.Event().wait(0.05)
    raise AssertionError("training did not end")


def _python_run(settings):
    """The same run written with reseau's public API, as a student would."""
    X, y = datasets.moons(n=settings["n"], noise=settings["noise"], seed=settings["seed"])
    X_tr, X_val, y_tr, y_val = datasets.train_test_split(X, y, 0.3, seed=settings["seed"])
    model = MLP(
        [2, *settings["layers"], None],
        hidden=settings["activation"].split(","),
        normalize="minmax",
        seed=settings["seed"],
    )
    h = model.fit(
        X_tr, y_tr, epochs=settings["epochs"], batch_size=settings["batch"], optimizer=settings["optimizer"],
        lr=settings["lr"], schedule=None, validation_data=(X_val, y_val), track_gradients=True,
    )  # fmt: skip
    return model, h


def test_without_the_token_every_route_is_refused(server):
    base = server.split("/?token=")[0]
    for path in ("/", "/app.js", "/api/frame", "/api/choices"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path, timeout=10)
        assert refused.value.code == 403
    assert base.startswith("http://127.0.0.1:")


def test_play_pause_step_and_the_same_weights_as_python(server):
    base, token = server.split("/?token=")
    first = _start(server, SETTINGS, play=False)
    assert first["state"] == "paused" and first["epoch"] == 0 and len(first["grid"]) == 48 * 48
    _call(server, "/api/step", {})
    for _ in range(200):
        frame = _call(server, "/api/frame")
        if frame["epoch"] == 1 and frame["state"] == "paused":
            break
        threading.Event().wait(0.05)
    assert frame["epoch"] == 1 and frame["state"] == "paused" and len(frame["grad_norms"]) == 3
    _call(server, "/api/play", {})
    frame = _wait_done(server)
    model, h = _python_run(SETTINGS)
    assert frame["epoch"] == SETTINGS["epochs"] and frame["loss"] == pytest.approx(h["loss"][-1], rel=1e-12)
    for (W, b), (W0, b0) in zip(_call(server, "/api/weights"), model.get_weights()):
        np.testing.assert_array_equal(np.asarray(W, dtype=W0.dtype), W0)
        np.testing.assert_array_equal(np.asarray(b, dtype=b0.dtype), b0)
    bad = urllib.request.Request(
        f"{base}/api/start?token={token}", data=b'{"layers": [4], "bogus": 1}', method="POST",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad, timeout=10)
    assert refused.value.code == 400 and "unknown settings ['bogus']" in refused.value.read().decode()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (.ci/run installs Debian's)")
def test_the_page_trains_in_a_real_browser(server, tmp_path):
    """Load the page, change settings, train, read the loss off the page: the Python run's."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (reseau[test])")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(server)
        page.wait_for_function("document.body.dataset.runs === '1'")  # the page's first run, its defaults
        for name in ("n", "noise", "seed", "lr", "epochs", "batch"):
            page.fill(f"#set-{name}", str(SETTINGS[name]))
        page.fill("#set-layers", ",".join(map(str, SETTINGS["layers"])))
        page.fill("#set-activation", SETTINGS["activation"])
        page.select_option("#set-optimizer", SETTINGS["optimizer"])
        page.click("#apply")
        page.wait_for_function("document.body.dataset.runs === '2'")  # the run with these settings, paused
        page.click("#play")
        page.wait_for_function("document.getElementById('state').textContent === 'done'", timeout=60_000)

        page.wait_for_function(f"document.getElementById('epoch').textContent === '{SETTINGS['epochs']}'")
        shown = float(page.text_content("#loss"))
        assert "optimizer=adam" in page.url and "layers=6%2C6" in page.url  # the whole state in the URL
        again = browser.new_page()  # a link to the page reopens these settings
        again.goto(page.url)
        again.wait_for_function("document.body.dataset.runs === '1'")
        assert again.input_value("#set-lr") == str(SETTINGS["lr"]) and again.input_value("#set-layers") == "6,6"
        page.fill("#set-epochs", "100000")  # the default network training: how often the page redraws
        page.fill("#set-layers", "8,8")
        page.fill("#set-activation", "tanh")
        page.click("#apply")
        page.wait_for_function("document.body.dataset.runs === '3'")
        page.click("#play")
        page.wait_for_timeout(500)
        before = int(page.evaluate("document.body.dataset.redraws"))
        page.wait_for_timeout(2000)
        rate = (int(page.evaluate("document.body.dataset.redraws")) - before) / 2.0
        page.click("#pause")
        print(f"playground: {rate:.1f} redraws a second while training")  # pytest -s shows it
        assert rate >= 20, f"{rate} redraws a second"
        page.click("#units")  # inside the network (the 8-8 run above): 8 + 8 unit maps, 3 weight matrices
        page.wait_for_function("document.querySelectorAll('.unit-layer canvas').length === 16")
        assert page.locator(".weights canvas").count() == 3
        page.fill("#set-epochs", "15")  # the race: sgd, momentum and adam ticked by default
        page.click("#race")
        page.wait_for_function("document.getElementById('race-state').textContent === 'done'", timeout=60_000)
        assert page.locator("#race-views canvas").count() == 3
        assert all(name in page.text_content("#race-legend") for name in ("sgd", "momentum", "adam"))
        own = tmp_path / "own.csv"  # the user's own file, through the page's upload
        own.write_text("a,b,label\n" + "".join(f"{i % 7},{i % 5},{'x' if i % 3 else 'y'}\n" for i in range(60)))
        page.set_input_files("#csv", str(own))
        page.fill("#csv-target", "label")
        page.click("#upload")
        page.wait_for_function("document.getElementById('upload-state').textContent.includes('60 rows')")
        page.wait_for_function("document.body.dataset.runs === '4'")
        assert page.input_value("#set-data") == "file"
        shot = Path(os.environ.get("RESEAU_ARTIFACTS", tmp_path)) / "playground.png"  # kept where CI asks
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    _, h = _python_run(SETTINGS)
    assert shown == pytest.approx(h["loss"][-1], rel=1e-5)  # the page shows 6 significant digits
    assert shot.read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_stops_the_command_cleanly():
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "reseau", "playground", "--no-browser", "--settings", "data=circles&layers=4,4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("reseau playground: http://127.0.0.1:") and "token=" in line
    url = line.split()[2]
    assert url.endswith("#data=circles&layers=4,4")  # the page opens with these settings
    base, token = url.split("#")[0].split("/?token=")
    body = json.dumps({"epochs": 100000}).encode()
    start = urllib.request.Request(f"{base}/api/start?token={token}", data=body, method="POST")
    start.add_header("content-type", "application/json")
    urllib.request.urlopen(start, timeout=30).read()  # training runs while we stop it
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in err, err


def test_the_run_exports_a_model_file_and_a_script_that_reproduces_it(server, tmp_path):
    """The script the page offers, run on its own, trains the page's weights; the model file
    downloaded loads with them."""
    import subprocess
    import sys

    from reseau import load

    base, token = server.split("/?token=")
    settings = {**SETTINGS, "dropout": 0.1, "l2": 1e-3, "batch": "full", "optimizer": "rmsprop", "epochs": 8}
    _start(server, settings)
    _wait_done(server)
    page_weights = _call(server, "/api/weights")
    with urllib.request.urlopen(f"{base}/api/script?token={token}", timeout=30) as r:
        (tmp_path / "run.py").write_bytes(r.read())
    with urllib.request.urlopen(f"{base}/api/model?token={token}", timeout=30) as r:
        (tmp_path / "page.reseau").write_bytes(r.read())
    out = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for path in (tmp_path / "playground.reseau", tmp_path / "page.reseau"):
        for (W, b), (W0, b0) in zip(load(path).get_weights(), page_weights):
            np.testing.assert_array_equal(W, np.asarray(W0, dtype=W.dtype))
            np.testing.assert_array_equal(b, np.asarray(b0, dtype=b.dtype))


def test_the_optimiser_race_starts_every_optimiser_from_the_same_weights(server):
    """Each optimiser of the race trains the same data from the same initial weights at its own
    default rate: its weights are those of the same run in Python with that optimiser."""
    from reseau.core import optim

    names = ["sgd", "momentum", "adam"]
    settings = {**SETTINGS, "epochs": 6}
    _call(server, "/api/race", {"settings": settings, "optimizers": names})
    for _ in range(600):
        frames = _call(server, "/api/race/frames")
        if all(f["state"] == "done" for f in frames.values()):
            break
        threading.Event().wait(0.05)
    assert list(frames) == names and all(f["epoch"] == 6 for f in frames.values())
    raced = _call(server, "/api/race/weights")
    for name in names:
        model, _ = _python_run({**settings, "optimizer": name, "lr": optim.OPTIMIZERS[name]().lr})
        for (W, b), (W0, b0) in zip(raced[name], model.get_weights()):
            np.testing.assert_array_equal(np.asarray(W, dtype=W0.dtype), W0)


def test_each_hidden_units_map_and_the_weights(server):
    """/api/units: one map per hidden unit (its activation over the lattice, in [0, 1]) and each
    layer's W, those of the model trained."""
    settings = {**SETTINGS, "epochs": 3}
    _start(server, settings)
    _wait_done(server)
    u = _call(server, "/api/units")
    assert [len(layer) for layer in u["maps"]] == SETTINGS["layers"]
    assert all(len(m) == 48 * 48 and 0 <= min(m) and max(m) <= 1 for layer in u["maps"] for m in layer)
    model, _ = _python_run(settings)
    for W, (W0, _) in zip(u["weights"], model.get_weights()):
        np.testing.assert_allclose(np.asarray(W), W0, atol=1e-4)  # sent to 4 decimals


def test_unknown_settings_are_refused_before_serving(capsys):
    from reseau.cli import main

    assert main(["playground", "--no-browser", "--settings", "data=moons&bogus=1"]) == 2
    assert "--settings 'data=moons&bogus=1': unknown ['bogus']" in capsys.readouterr().err


def test_the_docs_settings_open_valid_runs():
    """Every `--settings` of the playground page and of the guide's chapters names settings the page
    has and builds a run."""
    import re
    from urllib.parse import parse_qsl

    from reseau.playground import start_state
    from reseau.playground.session import build

    root = Path(__file__).resolve().parents[1]
    pages = [root / "docs" / "topics" / "playground.md", *sorted((root / "examples").glob("*.py"))]
    queries = [q for page in pages for q in re.findall(r'--settings "([^"]+)"', page.read_text())]
    assert len(queries) >= 10  # the playground page's table and the guide chapters' links
    for query in queries:
        assert start_state(query).startswith("#")
        settings = {k: v.split(",") if k == "layers" else v for k, v in parse_qsl(query)}
        build(settings)  # the model and data the page would make


def _upload(url, raw, **query):
    from urllib.parse import urlencode

    base, token = url.split("/?token=")
    request = urllib.request.Request(f"{base}/api/data?{urlencode({'token': token, **query})}", data=raw, method="POST")
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.loads(r.read())


def test_the_users_own_csv_trains_on_every_column_and_is_drawn_on_two(server, tmp_path):
    """An uploaded CSV is read as `reseau train` reads files: the model trains on all its columns
    (text one-hot encoded), the page draws two; the weights are the same run's in Python."""
    import csv

    rng = np.random.default_rng(7)
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["height", "weight", "colour", "kind"])
        for _ in range(150):
            h, m, c = rng.normal(170, 10), rng.normal(70, 12), rng.choice(["red", "blue"])
            w.writerow([f"{h:.1f}", f"{m:.1f}", c, "big" if h + m + 8 * (c == "red") > 242 else "small"])
    answer = _upload(server, path.read_bytes(), name="mine.csv", target="kind")
    assert answer == {"columns": ["height", "weight", "colour"], "view": ["height", "weight"], "rows": 150, "notes": []}
    settings = {**SETTINGS, "data": "file", "epochs": 5}
    base, token = server.split("/?token=")
    _start(server, settings)
    frame = _wait_done(server)
    assert frame["state"] == "done" and len(frame["points"]) == 150 and len(frame["grid"]) == 48 * 48
    d = datasets.load_file(path, target="kind")
    X_tr, X_val, y_tr, y_val = datasets.train_test_split(d.table, d.labels, 0.3, seed=settings["seed"])
    model = MLP([None, 6, 6, None], hidden=["tanh", "relu"], normalize="minmax", seed=settings["seed"])
    model.fit(X_tr, y_tr, epochs=5, batch_size=16, optimizer="adam", lr=0.02, schedule=None,
              validation_data=(X_val, y_val), track_gradients=True)  # fmt: skip
    page = _call(server, "/api/weights")
    assert len(page[0][0]) == 4  # height, weight and colour's two categories: every column
    import subprocess
    import sys

    with urllib.request.urlopen(f"{base}/api/script?token={token}", timeout=30) as r:
        (tmp_path / "run.py").write_bytes(r.read())  # beside mine.csv: the script reads it by name
    out = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    from reseau import load

    for (W, _), (W0, _) in zip(load(tmp_path / "playground.reseau").get_weights(), page):
        np.testing.assert_array_equal(W, np.asarray(W0, dtype=W.dtype))
    for (W, b), (W0, _) in zip(page, model.get_weights()):
        np.testing.assert_array_equal(np.asarray(W, dtype=W0.dtype), W0)


def test_uploads_are_bounded_and_read_with_the_clis_rules(server):
    base, token = server.split("/?token=")
    big = urllib.request.Request(f"{base}/api/data?token={token}&name=big.csv", data=b"x,y\n1,2\n", method="POST")
    big.add_header("Content-Length", str(21 << 20))  # refused on its declared size, before any is read
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(big, timeout=30)
    assert refused.value.code == 413 and "20 MiB" in refused.value.read().decode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        _upload(server, b"PAR1" + b"\0" * 100, name="fake.csv")
    assert refused.value.code == 400 and "Parquet" in refused.value.read().decode()
    exported = b"rownames,a,b,label\n" + b"".join(b"%d,%d,%d,%s\n" % (i + 1, i % 7, i % 5, b"xy"[i % 2 : i % 2 + 1])
                                                   for i in range(40))  # fmt: skip
    answer = _upload(server, exported, name="export.csv", target="label")
    assert answer["columns"] == ["a", "b"] and answer["notes"] == [
        "dropped column 'rownames', a row number (1..40); rename it to keep it as a feature"
    ]  # the reader's notes reach the page


def test_a_paused_start_trains_nothing_until_play_or_step():
    """start(play=False) used to train the first epoch at once (the pause came after an epoch):
    under load the page's first frame said epoch 1. Now the run waits before its first epoch."""
    from reseau.playground.session import Session

    session = Session()
    session.start(dict(SETTINGS), play=False)
    threading.Event().wait(1.0)
    assert session.frame()["epoch"] == 0 and session.model.epoch == 0
    session.step()
    for _ in range(200):
        if session.frame()["epoch"] == 1 and session.frame()["state"] == "paused":
            break
        threading.Event().wait(0.05)
    assert session.frame()["epoch"] == 1 and session.model.epoch == 1
    session.reset()
    assert session.thread is None
