"""MLP's hyper-parameters are declared once (core/hyper.py) and everything else derives from the
table: the constructor (its signature and checks), the model file (written and read, older files
without an option), the schema that checks a file, a resumed fit's run key and the summary. A test
adds an option to the table alone and finds it in each."""

import inspect

import numpy as np
import pytest

from reseau import MLP, load
from reseau.core import fit_plan, hyper, serialize


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_the_constructor_signature_is_the_tables():
    params = list(inspect.signature(MLP).parameters)
    assert params == ["layers", *(o.name for o in hyper.OPTIONS), "backend", "kernels"]
    assert all(inspect.signature(MLP).parameters[o.name].default == o.default for o in hyper.OPTIONS)
    with pytest.raises(TypeError, match=r"MLP\(\) got an unexpected keyword argument .hiden."):
        MLP([3, 4, 1], hiden="tanh")


@pytest.mark.parametrize("option", [o for o in hyper.OPTIONS if o.saved], ids=lambda o: o.name)
def test_each_saved_option_is_in_the_file_and_the_schema_refuses_a_wrong_value(tmp_path, option):
    model = MLP([3, 4, 1], seed=0)
    model.fit(*_data(), epochs=1, verbose=0)
    model.save(tmp_path / "m.reseau")
    tensors, d = serialize.read(tmp_path / "m.reseau")
    assert d[option.name] == getattr(model, option.attribute)
    d[option.name] = {"not": "valid"}
    serialize.write(tmp_path / "bad.reseau", tensors, {k: v for k, v in d.items() if k not in ("format", "version")})
    with pytest.raises(ValueError, match=f"bad.reseau: the description's {option.name} must be"):
        load(tmp_path / "bad.reseau")


def test_an_option_added_to_the_table_reaches_every_part(tmp_path, monkeypatch):
    def check(v, m):
        if not isinstance(v, str):
            raise ValueError(f"note={v!r} is invalid; expected a string")
        return v

    note = hyper.Option(
        "note",
        "",
        check,
        lambda v, d: isinstance(v, str),
        lambda d: "a string",
        absent="",
        key="when set",
        summary=lambda m: f"note {m.note!r}" if m.note else None,
    )
    monkeypatch.setattr(hyper, "OPTIONS", (*hyper.OPTIONS, note))
    with pytest.raises(ValueError, match="note=5 is invalid"):
        MLP([3, 4, 1], note=5)
    model = MLP([3, 4, 1], seed=0, note="first try")
    assert model.note == "first try" and "note 'first try'" in model.summary()
    assert "note=first try" in fit_plan.run_key(model, None, None, 32, np.zeros(1), np.zeros(1), "stop", None, 0)
    assert "note" in inspect.signature(MLP).parameters or "note" in hyper.signature().parameters
    model.fit(*_data(), epochs=1, verbose=0)
    model.save(tmp_path / "m.reseau")
    assert load(tmp_path / "m.reseau").note == "first try"
    tensors, d = serialize.read(tmp_path / "m.reseau")
    rest = {k: v for k, v in d.items() if k not in ("format", "version", "note")}
    serialize.write(tmp_path / "old.reseau", tensors, rest)  # a file written before the option existed
    assert load(tmp_path / "old.reseau").note == ""
    serialize.write(tmp_path / "bad.reseau", tensors, {**rest, "note": 5})
    with pytest.raises(ValueError, match="bad.reseau: the description's note must be a string; got 5"):
        load(tmp_path / "bad.reseau")


def test_fits_signature_is_fit_options_fields():
    """MLP.fit's options are FitOptions' fields (declared once, core/fit_plan.py): its signature,
    defaults and the call's checks come from them."""
    import dataclasses

    params = list(inspect.signature(MLP.fit).parameters)
    assert params == ["self", "X", "y", *(f.name for f in dataclasses.fields(fit_plan.FitOptions))]
    X, y = _data()
    with pytest.raises(TypeError, match=r"fit\(\) got an unexpected keyword argument 'epoch'"):
        MLP([3, 4, 1]).fit(X, y, epoch=3)
    assert MLP([3, 4, 1], seed=0).fit(X, y, 2, 8)["epoch"] == [1, 2]  # epochs and batch_size by position


def test_the_command_line_passes_each_hyper_parameter_it_has():
    """``reseau train`` builds its MLP from core/hyper.py's table: every option the command line
    has (under its own name there, "none"/"auto" for None) reaches the model, a new one too."""
    from reseau.cli import TRAIN_OPTIONS
    from reseau.cli.train import CLI_NAMES, hyper_options

    o = {name: spec[1] for name, spec in TRAIN_OPTIONS.items()}
    o.update(activation="tanh", normalize="none", init="auto", l2="auto", dropout=0.25)
    options = hyper_options(o, 200, "classify")
    assert options["hidden"] == "tanh" and options["normalize"] is None and options["init"] is None
    assert options["l2"] == pytest.approx(2 / 200) and options["dropout"] == 0.25 and options["task"] == "classify"
    model = MLP([4, 8, 1], **options)
    assert model.hidden == ["tanh"] and model.dropout == [0.25]
    passed = {CLI_NAMES.get(o_.name, o_.name) for o_ in hyper.OPTIONS} & set(TRAIN_OPTIONS)
    assert passed >= {"activation", "output", "init", "dtype", "seed", "dropout", "l1", "l2", "normalize", "impute"}
    assert hyper_options({**o, "note": "x"}, 200, "classify").get("note") is None  # not in the table: not passed


def test_the_command_line_passes_each_fit_option_it_has():
    """``reseau train``'s fit arguments come from FitOptions' fields: each one the command line has
    under the same name reaches MLP.fit (a new one too), the translated ones as objects."""
    import argparse
    import dataclasses

    from reseau.cli import TRAIN_OPTIONS
    from reseau.cli.train import FIT_TRANSLATED, _fit_args

    o = {name: spec[1] for name, spec in TRAIN_OPTIONS.items()}
    o.update(epochs=7, batch_size=None, on_divergence="skip", cuda_graph=False, early_stopping=5, resume=True)
    o["checkpoint"] = "ckpt"
    args = _fit_args(o, argparse.Namespace(), "OPT", "SCHED", ("Xv", "yv"))
    shared = {f.name for f in dataclasses.fields(fit_plan.FitOptions)} & set(TRAIN_OPTIONS) - set(FIT_TRANSLATED)
    assert shared >= {"epochs", "batch_size", "on_divergence", "checkpoint", "data_parallel"}
    assert all(args[name] == o[name] for name in shared)
    assert args["optimizer"] == "OPT" and args["schedule"] == "SCHED" and args["resume"] == "ckpt"
    assert args["patience"] == 5 and "lr" not in args and set(args) <= set(inspect.signature(MLP.fit).parameters)


def test_a_twin_made_from_the_tables_options_has_every_option_of_the_model():
    """``hyper.options``: every option as the model holds it, so a twin (the gradient check's float64
    one) is made without naming them; a change applies on top."""
    model = MLP([4, 6, 3], hidden="tanh", l1=0.01, l2=0.02, label_smoothing=0.1, dropout=0.2, seed=5, task="classify")
    twin = MLP(model.sizes, **hyper.options(model))
    assert hyper.run_key(twin) == hyper.run_key(model) and hyper.saved(twin) == hyper.saved(model)
    other = MLP(model.sizes, **hyper.options(model, dtype="float64"))
    assert other.dtype_name == "float64" and other.label_smoothing == 0.1 and other.dropout == model.dropout
    np.testing.assert_array_equal(twin.get_weights()[0][0], model.get_weights()[0][0])  # the same seed
