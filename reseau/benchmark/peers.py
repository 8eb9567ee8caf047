"""The methods ``reseau bench`` times: the GEMM floor, a plain NumPy step, reseau on each backend,
and the peers (PyTorch, JAX + optax, scikit-learn), each from the same weights and batch."""

from __future__ import annotations

import importlib.util

from .. import backends, optim
from ..backends.host import np
from .spec import Method, Unsupported


def gemm_floor(spec, xp=np, table_rows=None):
    """Just the matrix products of a step (X@W per layer, A_prevᵀdZ per layer, dZ Wᵀ per layer
    but the first) into preallocated outputs; ``xp`` numpy or cupy. ``table_rows``: each step's
    first input is the next batch of a table of that many rows (a view, in order), so the floor
    reads its data once an epoch as training does; None: one batch, reused."""
    sizes, n, dt = spec.sizes, spec.n, spec.dtype
    rng = np.random.default_rng(0)
    Ws = [xp.asarray(rng.standard_normal(s).astype(dt)) for s in zip(sizes[:-1], sizes[1:])]
    As = [xp.asarray(rng.standard_normal((n, s)).astype(dt)) for s in sizes]
    table = None if table_rows is None else xp.asarray(rng.standard_normal((table_rows, sizes[0])).astype(dt))
    dAs = [xp.empty((n, s), dt) for s in sizes]
    dWs = [xp.empty_like(W) for W in Ws]

    def products():
        for l, W in enumerate(Ws):
            xp.matmul(As[l], W, out=As[l + 1])
        for l in reversed(range(len(Ws))):
            xp.matmul(As[l].T, As[l + 1], out=dWs[l])
            if l > 0:
                xp.matmul(As[l + 1], Ws[l].T, out=dAs[l])

    def run(k):  # the plain floor's loop carries nothing but the products
        for _ in range(k):
            products()
        if xp is not np:
            xp.cuda.get_current_stream().synchronize()

    def over_table(k):
        for step in range(k):
            start = step * n % (table_rows - n + 1)
            As[0] = table[start : start + n]
            products()
        if xp is not np:
            xp.cuda.get_current_stream().synchronize()

    run = run if table is None else over_table
    return Method(lambda: run(1), run=run)


def plain_numpy(spec):
    """The notes' step written plainly with NumPy: new arrays everywhere, Adam per array."""
    if spec.optimizer != "adam":
        raise Unsupported("the plain NumPy step implements Adam only")
    dt = np.dtype(spec.dtype)
    params = [(W.astype(dt), b.astype(dt)) for W, b in spec.weights]
    m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    X, n, lr = spec.X, spec.n, spec.lr
    Y = spec.y.reshape(-1, 1).astype(dt) if spec.output == "sigmoid" else np.eye(spec.sizes[-1], dtype=dt)[spec.y]
    g = np.tanh if spec.hidden == "tanh" else (lambda z: np.maximum(z, 0))
    t = [0]

    def forward():
        As = [X]
        for W, b in params[:-1]:
            As.append(g(As[-1] @ W + b))
        Z = As[-1] @ params[-1][0] + params[-1][1]
        if spec.output == "sigmoid":
            A = 1 / (1 + np.exp(-Z))
            loss = np.mean(np.maximum(Z, 0) - Y * Z + np.log1p(np.exp(-np.abs(Z))))
        else:
            E = np.exp(Z - Z.max(1, keepdims=True))
            A = E / E.sum(1, keepdims=True)
            loss = -np.mean(np.log(A[np.arange(n), spec.y]))
        return As, A, loss

    def step():
        t[0] += 1
        As, A, _ = forward()
        dZ = (A - Y) / n
        for l in reversed(range(len(params))):
            W, b = params[l]
            dW, db = As[l].T @ dZ, dZ.sum(0)
            if l > 0:
                dA = dZ @ W.T
                dZ = dA * (1 - As[l] ** 2) if spec.hidden == "tanh" else dA * (As[l] > 0)
            new = []
            for p, gr, mm, vv in zip((W, b), (dW, db), m[l], v[l]):
                mm[...] = 0.9 * mm + 0.1 * gr
                vv[...] = 0.999 * vv + 0.001 * gr * gr
                new.append(p - lr / (1 - 0.9 ** t[0]) * mm / (np.sqrt(vv) / np.sqrt(1 - 0.999 ** t[0]) + 1e-8))
            params[l] = tuple(new)

    return Method(step, float(forward()[2]))


def reseau_method(backend, kernels=None, cuda_graph=False, precision="fp32"):
    def make(spec):
        model = spec.model(backend, kernels=kernels, precision=precision)
        model.set_weights(spec.weights)
        first = model.evaluate(spec.X, spec.y)["loss"]
        step, p, s = model.training_step(optim.OPTIMIZERS[spec.optimizer](lr=spec.lr), cuda_graph=cuda_graph)
        model.kern.prepare()
        bk = model.backend
        Xd, Yd = bk.asarray(spec.X, dtype=model.dtype), bk.asarray(model.encode_targets(spec.y))
        st = {"p": p, "s": s, "t": 0}

        def run(k):
            for _ in range(k):
                st["p"], st["s"], loss = step(st["p"], st["s"], Xd, Yd, st["t"])
                st["t"] += 1
            bk.sync(loss)

        return Method(lambda: run(1), first, run)

    return make


def torch_method(device, precision="fp32"):
    """PyTorch with its fused Adam; precision "tf32" allows TF32 matmuls, "bf16" runs forward and
    loss under ``torch.autocast(bfloat16)`` (PyTorch's mixed precision: float32 master weights)."""

    def make(spec):
        import contextlib

        import torch

        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        amp = (lambda: torch.autocast(device, dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext
        tdt = torch.float32 if spec.dtype == "float32" else torch.float64
        layers = []
        for i, (W, b) in enumerate(spec.weights):
            lin = torch.nn.Linear(*W.shape).to(device=device, dtype=tdt)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(spec.weights) - 1:
                layers.append(torch.nn.Tanh() if spec.hidden == "tanh" else torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)
        kinds = {
            "adam": torch.optim.Adam,
            "adamw": torch.optim.AdamW,
            "sgd": torch.optim.SGD,
            "rmsprop": torch.optim.RMSprop,
            "adagrad": torch.optim.Adagrad,
        }
        if spec.optimizer not in kinds:
            raise Unsupported(f"no PyTorch counterpart set up for {spec.optimizer}")
        fused = {"fused": True} if spec.optimizer in ("adam", "adamw", "sgd") else {}
        opt = kinds[spec.optimizer](net.parameters(), lr=spec.lr, **fused)
        X = torch.from_numpy(spec.X).to(device=device, dtype=tdt)
        if spec.output == "sigmoid":
            target = torch.from_numpy(spec.y).to(device=device, dtype=tdt).reshape(-1, 1)
            loss_fn = torch.nn.BCEWithLogitsLoss()
        else:
            target, loss_fn = torch.from_numpy(spec.y).to(device), torch.nn.CrossEntropyLoss()
        with torch.no_grad():
            first = float(loss_fn(net(X), target))

        def run(k):
            for _ in range(k):
                opt.zero_grad(set_to_none=True)
                with amp():
                    loss = loss_fn(net(X), target)
                loss.backward()
                opt.step()
            if device == "cuda":
                torch.cuda.synchronize()

        return Method(lambda: run(1), first, run)

    return make


def optax_method(spec):
    import jax
    import jax.numpy as jnp
    import optax

    backends.get("jax").float_dtype(spec.dtype)
    kinds = {
        "adam": optax.adam,
        "adamw": optax.adamw,
        "sgd": optax.sgd,
        "rmsprop": optax.rmsprop,
        "adagrad": optax.adagrad,
    }
    if spec.optimizer not in kinds:
        raise Unsupported(f"no optax counterpart set up for {spec.optimizer}")
    dt = jnp.dtype(spec.dtype)
    params = [(jnp.asarray(W, dt), jnp.asarray(b, dt)) for W, b in spec.weights]
    tx = kinds[spec.optimizer](spec.lr)
    X, y = jnp.asarray(spec.X), jnp.asarray(spec.y)
    act = jnp.tanh if spec.hidden == "tanh" else jax.nn.relu

    def loss_fn(params):
        with jax.default_matmul_precision("highest"):
            A = X
            for W, b in params[:-1]:
                A = act(A @ W + b)
            Z = A @ params[-1][0] + params[-1][1]
        if spec.output == "sigmoid":
            return optax.sigmoid_binary_cross_entropy(Z[:, 0], y.astype(dt)).mean()
        return optax.softmax_cross_entropy_with_integer_labels(Z, y).mean()

    @jax.jit
    def update(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    st = {"p": params, "s": tx.init(params)}

    def run(k):
        for _ in range(k):
            st["p"], st["s"], loss = update(st["p"], st["s"])
        loss.block_until_ready()

    return Method(lambda: run(1), float(loss_fn(params)), run)


def sklearn_method(spec):
    import warnings

    from sklearn.neural_network import MLPClassifier

    if spec.optimizer not in ("adam", "sgd"):
        raise Unsupported(f"scikit-learn has no {spec.optimizer}")
    clf = MLPClassifier(
        hidden_layer_sizes=spec.sizes[1:-1],
        activation=spec.hidden,
        solver=spec.optimizer,
        alpha=0.0,
        batch_size=spec.n,
        learning_rate_init=spec.lr,
        shuffle=False,
        momentum=0.0,
        random_state=0,
    )
    classes = np.arange(2 if spec.output == "sigmoid" else spec.sizes[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(spec.X, spec.y, classes=classes)  # builds its layers (and takes one step)
    dt = np.dtype(spec.dtype)
    clf.coefs_ = [W.astype(dt) for W, _ in spec.weights]
    clf.intercepts_ = [b.astype(dt) for _, b in spec.weights]
    if hasattr(clf, "_optimizer"):
        del clf._optimizer  # a fresh optimiser state for the shared starting point
    P = np.clip(clf.predict_proba(spec.X), 1e-300, 1.0)
    first = float(-np.mean(np.log(P[np.arange(spec.n), spec.y])))

    def step():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(spec.X, spec.y)

    return Method(step, first)


#: the peers timed where installed, and the extra (or package) that installs them
PEERS = {
    "numba": ("reseau numpy+numba", 'pip install "reseau[cpu]"'),
    "torch": ("PyTorch CPU", "pip install torch"),
    "optax": ("JAX+optax", "pip install optax (with reseau[jax])"),
    "sklearn": ("scikit-learn", 'pip install "reseau[sklearn]"'),
}


def missing():
    """[(method, how to install it)] for the peers not installed here (the report says so)."""
    import importlib.util

    return [PEERS[m] for m in PEERS if importlib.util.find_spec(m) is None]


def methods():
    """{name: (library to import first, maker)} for everything that runs here, found without
    importing the peers (so a fresh process can build one method with only its library loaded)."""
    have = {m: importlib.util.find_spec(m) is not None for m in ("numba", "torch", "optax", "sklearn")}
    found = {"GEMM floor": ("numpy", gemm_floor), "plain NumPy": ("numpy", plain_numpy)}
    if have["numba"]:
        found["reseau numpy+numba"] = ("numba", reseau_method("numpy", "numba"))
    found["reseau numpy"] = ("numpy", reseau_method("numpy", "numpy"))
    status = backends.available()
    gpu = status["cupy"] == "ok"
    if status["jax"] == "ok":
        import jax

        found[f"reseau jax {jax.default_backend()}"] = ("jax", reseau_method("jax"))
        gpu = gpu or jax.default_backend() == "gpu"
    if status["cupy"] == "ok":
        found["reseau cupy"] = ("cupy", reseau_method("cupy"))
        found["reseau cupy + CUDA graph"] = ("cupy", reseau_method("cupy", cuda_graph=True))
        found["cuBLAS GEMM floor"] = ("cupy", lambda spec: gemm_floor(spec, __import__("cupy")))
    if have["torch"]:
        found["PyTorch CPU"] = ("torch", torch_method("cpu"))
        if gpu and __import__("torch").cuda.is_available():
            found["PyTorch CUDA"] = ("torch", torch_method("cuda"))
    if have["optax"] and status["jax"] == "ok":
        found["JAX+optax"] = ("optax", optax_method)
    if have["sklearn"]:
        found["scikit-learn"] = ("sklearn", sklearn_method)
    return found
