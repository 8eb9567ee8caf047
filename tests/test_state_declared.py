"""A model's state is declared once (core/state.py) and everything else derives from it: the
constructor's starting values, pickling (what travels, what is rebuilt), the checkpoint the writer
writes and the schema that checks it."""

import copy
import pickle

import numpy as np
import pytest

from reseau import MLP
from reseau.core import checkpoint, pickling, schema, serialize
from reseau.core.network import Network
from reseau.core.state import CHECKPOINT, TRAINING, TRANSIENT

#: the input contract's parts the model names (core/contract.py: model.columns is model.contract.columns)
CONTRACT_FIELDS = ("columns", "classes", "target_scale", "target_name")

#: a value of the wrong kind for each kind of checkpoint field
WRONG = {
    "count": -1,
    "count or null": "three",
    "text": 5,
    "two counts": [1],
    "object or null": 3,
    "numbers": {"loss_sum": "x"},
    "flag": 1,
    "generator state": {"x": 1},
}


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """(tensors, description) of a real checkpoint, written mid-epoch so every field has a value."""
    path = tmp_path_factory.mktemp("ckpt")
    MLP([3, 4, 1], seed=0).fit(*_data(), epochs=2, batch_size=16, checkpoint=path, checkpoint_every=3)
    found = checkpoint.latest(path)
    assert found is not None
    return found[1], found[2]


def test_the_checkpoint_writer_writes_exactly_the_declared_fields(written):
    _, description = written
    assert set(description["checkpoint"]) == set(CHECKPOINT)


@pytest.mark.parametrize("field", list(CHECKPOINT))
def test_the_schema_checks_every_declared_field_by_its_kind(written, field):
    tensors, description = written
    specs = {name: (a.dtype.name, list(a.shape)) for name, a in tensors.items()}
    schema.check(description, specs, "ok.ckpt", checkpoint=True)  # the file as written passes
    bad = copy.deepcopy(description)
    bad["checkpoint"][field] = WRONG[CHECKPOINT[field]]
    with pytest.raises(ValueError, match=f"bad.ckpt: the description's checkpoint.{field} must be"):
        schema.check(bad, specs, "bad.ckpt", checkpoint=True)


def test_a_new_model_starts_from_the_declared_training_state():
    model = MLP([3, 4, 1])
    for name, value in TRAINING.items():
        got = getattr(model, name)
        assert (got == {} and isinstance(got, value)) if isinstance(value, type) else got == value, name
    assert MLP([3, 4, 1]).history is not model.history  # a fresh History each


def test_pickles_carry_the_training_state_and_rebuild_the_transient():
    model = MLP([3, 4, 1], seed=0)
    model.fit(*_data(), epochs=2, batch_size=16, optimizer="adam", lr=0.01)
    state = pickling.host_state(model, True)
    assert set(TRANSIENT) & set(state) == {"kern"} and isinstance(state["kern"], str)  # the kernels by name
    assert set(TRAINING) <= set(state)
    back = pickle.loads(pickle.dumps(model))
    for name in ("step_count", "epoch", "fit_epoch0", "schedule_start", "auto_schedule"):
        assert getattr(back, name) == getattr(model, name), name
    assert dict(back.history) == dict(model.history) and type(back.optimizer) is type(model.optimizer)
    assert all(getattr(back, name) is not None for name in ("kern", "steps", "forward"))  # rebuilt
    assert back.trainer is None


def test_a_pickle_from_before_a_training_field_existed_gets_its_declared_value():
    model = MLP([3, 4, 1], seed=0)
    reduced = model.__reduce_ex__(4)
    state = dict(reduced[2])
    # the parts travel as their fields by name, as every earlier version pickled them
    assert {"layout", "activations", "params", *TRAINING} <= set(state) and not {"network", "training"} & set(state)
    del state["auto_schedule"], state["fit_epoch0"]  # as an earlier version pickled it
    back = reduced[0](*reduced[1])
    back.__setstate__(state)
    assert back.auto_schedule is TRAINING["auto_schedule"] and back.fit_epoch0 == TRAINING["fit_epoch0"]
    np.testing.assert_array_equal(back.predict_proba(_data()[0]), model.predict_proba(_data()[0]))


def test_model_files_keep_no_transient_part(tmp_path):
    model = MLP([3, 4, 1], seed=0)
    model.fit(*_data(), epochs=1)
    model.save(tmp_path / "m.rsu")
    tensors, description = serialize.read(tmp_path / "m.rsu")
    assert not set(TRANSIENT) & set(description) and set(tensors) == {"W1", "b1", "W2", "b2"}


def test_the_input_contract_is_one_object_saved_and_pickled_whole(tmp_path):
    """model.columns / .classes / .target_scale are the parts of model.contract; the file holds
    the entries the contract writes, and a pickle from before the contract was one object (the
    three as attributes) comes back with them in it."""
    from reseau.core.contract import InputContract
    from reseau.core.persistence import jsonable

    X, y = _data()
    model = MLP([None, 4, None], seed=0)
    model.fit(X, np.array(["no", "yes"])[y], epochs=1)
    assert model.contract.classes == ["no", "yes"] and model.classes is model.contract.classes
    assert model.columns is model.contract.columns and model.contract.feature_names == ["x0", "x1", "x2"]
    model.save(tmp_path / "m.rsu")
    _, description = serialize.read(tmp_path / "m.rsu")
    written = model.contract.to_json(jsonable)
    assert {k: description[k] for k in written} == written
    back = InputContract.from_json(description, 3, 1)
    assert back.classes == ["no", "yes"] and back.feature_names == ["x0", "x1", "x2"]
    reduced = model.__reduce_ex__(4)
    state = dict(reduced[2])
    old = state.pop("contract")
    state.update(columns=old.columns, classes=["n", "y"], target_scale=None)  # as an earlier version pickled it
    again = reduced[0](*reduced[1])
    again.__setstate__(state)
    assert again.classes == ["n", "y"] and "classes" not in vars(again)
    assert list(again.predict(X)) == [{"no": "n", "yes": "y"}[v] for v in model.predict(X)]


def _model_field_assignments(root, fields=(*TRAINING, *Network.FIELDS, *CONTRACT_FIELDS)):
    """(file:line, attribute) of every assignment to ``<…model…>.<one of fields>`` under ``root``
    (a folder or one file): the training state's and the network's."""
    import ast
    from pathlib import Path

    found = []
    for path in [Path(root)] if Path(root).is_file() else sorted(Path(root).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for t in [e for t in targets if t is not None for e in (t.elts if isinstance(t, ast.Tuple) else [t])]:
                if not isinstance(t, ast.Attribute) or t.attr not in fields:
                    continue
                base = ast.unparse(t.value)  # a model, or the model itself in core/model.py
                if "model" in base or (base == "self" and path.name == "model.py"):
                    found.append((f"{path}:{node.lineno}", t.attr))
    return found


def test_no_module_assigns_the_training_state_the_network_or_the_contract_of_a_model():
    """The training state is the Training part's (core/state.py), the layout, activations and
    parameters the Network's (core/network.py), the column plan, classes and target scale the
    InputContract's (core/contract.py): the trainer, fit, checkpoints, files, pickles, the command
    line and the estimators change them through the parts' methods, never by assigning a field."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = [hit for part in ("core", "kernels", "backends", "reseau") for hit in _model_field_assignments(root / part)]
    assert found == []
    assert _model_field_assignments(root / "tests" / "test_state_declared.py")  # the check sees one: this file's


def _assignments(root, fields):
    """(file, base, attribute) of every assignment to ``<base>.<one of fields>`` under ``root``."""
    import ast
    from pathlib import Path

    found = []
    for path in sorted(Path(root).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for t in [e for t in targets if t is not None for e in (t.elts if isinstance(t, ast.Tuple) else [t])]:
                if isinstance(t, ast.Attribute) and t.attr in fields:
                    found.append((path.name, ast.unparse(t.value), t.attr))
    return found


def test_the_model_alone_sets_its_parts_and_the_history_its_early_stopping_marks():
    """The network, the contract, the training state, the forward passes, the regularisation and
    the head are set by the model (core/model.py; core/pickling.py as it unpickles one): core/build.py
    returns what it builds. A History's best and stopped epochs change through its ``stopping``."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    parts = ("network", "contract", "training", "forward", "regularization", "output")
    hits = [h for d in ("core", "kernels", "backends", "reseau") for h in _model_field_assignments(root / d, parts)]
    assert [h for h in hits if not h[0].split(":")[0].endswith(("core/model.py", "core/pickling.py"))] == []
    marks = [h for d in ("core", "reseau") for h in _assignments(root / d, ("best_epoch", "stopped_epoch"))]
    assert [(f, base, a) for f, base, a in marks if f != "history.py" and base != "self"] == []
    assert _assignments(root / "core", ("best_epoch",))  # the check sees them: EarlyStopping's own, History's


def test_a_training_field_is_read_through_the_model_and_not_set_on_it():
    model = MLP([3, 4, 1], seed=0)
    model.fit(*_data(), epochs=2, batch_size=16)
    assert (model.epoch, model.step_count) == (model.training.epoch, model.training.step_count) == (2, 8)
    assert model.history is model.training.history and len(model.history["loss"]) == 2
    with pytest.raises(AttributeError, match="epoch is part of the model's training state"):
        model.epoch = 0  # the one assignment the check above finds
    model.training.restart(model.optimizer, None)
    assert (model.epoch, model.step_count, dict(model.history)) == (0, 0, {})
    assert model.params is model.network.params and model.layout.sizes == [3, 4, 1]
    with pytest.raises(AttributeError, match="layout is part of the model's network"):
        model.layout = None
    model.params = model.params * 2  # user code may assign weights: the network's set_params
    assert model.network.params is model.params
    assert MLP([None, 4, 1]).params is None  # no network before the sizes are known


def test_the_network_part_runs_the_notes_forward_pass():
    """``model.network.run`` (what ``hidden_outputs`` shows): A⁽ˡ⁾ = g(A⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾), A⁽⁰⁾ = X."""
    model = MLP([3, 5, 4, 1], hidden=["tanh", "relu"], dtype="float64", seed=2, normalize=None)
    X = np.random.default_rng(1).normal(size=(7, 3))
    (W1, b1), (W2, b2), _ = model.get_weights()
    A1 = np.tanh(X @ W1 + b1)
    A2 = np.maximum(A1 @ W2 + b2, 0.0)
    got = model.hidden_outputs(X)
    np.testing.assert_allclose(got[0], A1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got[1], A2, rtol=1e-13, atol=1e-15)


def _functions_taking_model(path):
    """The functions and methods of ``path`` with a parameter named ``model``."""
    import ast

    tree = ast.parse(path.read_text())
    return [
        n.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        and "model" in [a.arg for a in n.args.args + n.args.kwonlyargs]
    ]


def test_the_forward_part_answers_from_its_parts_not_from_the_model():
    """``model.forward`` (core/forward.py) holds the network, the contract, the kernels and what the
    model gives its contract; it reads the parameters as they are at each call, and no function
    of core/forward.py or core/inference.py takes the model."""
    from pathlib import Path

    from reseau.core.forward import Forward

    root = Path(__file__).resolve().parents[1] / "core"
    assert _functions_taking_model(root / "forward.py") == [] and _functions_taking_model(root / "inference.py") == []
    X, y = _data()
    model = MLP([None, 4, None], seed=0)
    model.fit(X, np.array(["no", "yes"])[y], epochs=2)
    part = Forward(model.given(), model.kern, model.network, model.contract)
    assert list(part.predict(X)) == list(model.predict(X)) and set(part.predict(X)) <= {"no", "yes"}
    assert part.evaluate(X, np.array(["no", "yes"])[y]) == model.evaluate(X, np.array(["no", "yes"])[y])
    model.params = model.params * 0  # all-zero weights: every probability ½, through the part too
    np.testing.assert_allclose(part.predict_proba(X), 0.5)
    with pytest.raises(ValueError, match="metrics needs the network's sizes"):
        MLP([None, 4, 1]).metrics(np.ones((3, 2)), np.ones((3, 1)))


def _through_a_model(path):
    """(line, target) of every assignment in ``path`` to an attribute or item reached through a
    model (``model.x = …``, ``model.part.x = …``, ``self.model.x = …``, ``setattr(model, …)``)."""
    import ast

    def via_model(base):
        return base == "model" or base.startswith("model.") or base.endswith(".model") or ".model." in base

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for e in t.elts if isinstance(t, ast.Tuple) else [t]:
                    if isinstance(e, (ast.Attribute, ast.Subscript)) and via_model(ast.unparse(e.value)):
                        found.append((node.lineno, ast.unparse(e)))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "setattr" and via_model(ast.unparse(node.args[0])):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_module_but_the_model_assigns_what_a_model_holds():
    """The model sets its own attributes (core/model.py: unpickling takes the attributes
    core/pickling.py rebuilds, the running fit is ``model.running``, a checkpoint's generator state
    ``model.restore_generator``); every other module changes a model through its methods or its
    parts' methods."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [p for d in ("core", "kernels", "backends", "reseau") for p in sorted((root / d).rglob("*.py"))]
    hits = [(p.relative_to(root).as_posix(), *h) for p in files if p.name != "model.py" for h in _through_a_model(p)]
    assert hits == []
    assert _through_a_model(Path(__file__))  # the check sees one: the assignment refused above


def _reached_with_the_model(root, module, function):
    """(modules, functions) reached from ``module``'s ``function`` by following the model: a call
    that passes ``model`` (or ``self.model``) to a function or class of core/ or reseau/ whose
    parameters name one ``model``, then the same from there."""
    import ast
    from collections import defaultdict

    defs = defaultdict(list)
    for path in sorted([*(root / "core").glob("*.py"), *(root / "reseau").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defs[node.name].append((path.relative_to(root).as_posix(), node))

    def takes_model(node):
        if isinstance(node, ast.ClassDef):
            node = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
        return node is not None and "model" in [a.arg for a in node.args.args + node.args.kwonlyargs]

    seen, todo = set(), [(m, d) for m, d in defs[function] if m == module]
    while todo:
        mod, fn = todo.pop()
        if (mod, fn.name) in seen:
            continue
        seen.add((mod, fn.name))
        for call in (c for c in ast.walk(fn) if isinstance(c, ast.Call)):
            passed = {ast.unparse(a) for a in [*call.args, *(k.value for k in call.keywords)]}
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
            if passed & {"model", "self.model"}:
                todo += [(m, d) for m, d in defs.get(name, []) if takes_model(d)]
    return {m for m, _ in seen}, seen


def test_the_fit_hands_the_model_to_the_training_machinery_alone():
    """Following the model from core/fit.py's ``fit`` reaches the modules that train it (the plan,
    the trainer, the steps, callbacks, checkpoints, the option table and the model file its
    checkpoints write), not the parts: the network is built from options (core/build.py), the
    batches come from the kernels (core/batches.py), the contract takes a Given, the forward part
    holds its parts, the compiled epoch is made from the network, head, dtype and regularisation
    the step was compiled with (8 modules and 19 functions, from 10 and 31)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    modules, functions = _reached_with_the_model(root, "core/fit.py", "fit")
    training = "fit fit_plan trainer steps callbacks checkpoint hyper persistence".split()
    assert modules == {f"core/{m}.py" for m in training}
    assert len(functions) <= 19
    assert ("core/fit_plan.py", "plan") in functions  # the check follows: the plan reads the model


def test_the_network_part_runs_the_notes_backward_pass():
    """``model.network.loss_and_grads`` (what gradcheck, the gradient norms and L-BFGS call): the
    notes' dZ⁽ᴸ⁾ = (A⁽ᴸ⁾ − Y)/n, dW = A_prevᵀdZ, db = ΣdZ, dZ⁽ˡ⁻¹⁾ = dZ Wᵀ ⊙ g′(Z⁽ˡ⁻¹⁾)."""
    model = MLP([3, 5, 1], hidden="tanh", dtype="float64", seed=4, normalize=None, l2=0.0)
    X = np.random.default_rng(3).normal(size=(9, 3))
    Y = (X[:, :1] > 0).astype(float)
    (W1, b1), (W2, b2) = model.get_weights()
    A1 = np.tanh(X @ W1 + b1)
    A2 = 1 / (1 + np.exp(-(A1 @ W2 + b2)))
    dZ2 = (A2 - Y) / len(X)
    dZ1 = dZ2 @ W2.T * (1 - A1**2)
    expected = np.concatenate([(X.T @ dZ1).ravel(), dZ1.sum(0), (A1.T @ dZ2).ravel(), dZ2.sum(0)])
    loss, grads = model.network.loss_and_grads(model.kern, "sigmoid", X, Y)
    np.testing.assert_allclose(np.asarray(grads), expected, rtol=1e-12, atol=1e-15)
    bce = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    np.testing.assert_allclose(float(loss), bce, rtol=1e-12)
