"""Export to ONNX (extra ``reseau[onnx]``): the network and its saved preprocessing as one graph.

Inputs: one float32 tensor "X" (n, d) for a model fitted on a plain array; one per feature,
named after it, for a model fitted on a table: (n, 1) float32 for a number, (n, 1) string for a
category. In the graph, as in ``core/columns.py``: a missing number (NaN) or category ("" or only
spaces) becomes the training median / most frequent value; numbers are scaled as fitted,
(x − offset)/scale; a category becomes its one-hot columns (an unseen one, all zeros); a category
"" seen at fit stays that category (ONNX strings have no missing value, so such a column has none). Then
Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾, A⁽ˡ⁾ = g(Z⁽ˡ⁾) per layer and the head: output "probabilities" (sigmoid,
softmax) or "values" (identity, standardised targets scaled back: z·σ + μ), float32 (n, k), what
``predict_proba`` / ``predict`` give.
"""

from __future__ import annotations

import json
import math

from ..backends.host import np
from ..kernels.reference import SELU_ALPHA, SELU_SCALE
from .columns import SMOOTH_CLIP
from .outputs import destination, write_bytes

OPSET = 20  # string Equal (one-hot of categories) needs 19


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError('ONNX export needs the onnx package: pip install "reseau[onnx]"') from None
    return onnx


class _Graph:
    """Nodes and constants under construction, with fresh names in their own namespace: a prefix
    no input (feature) name starts with, so a feature named ``c_1`` or ``W1`` collides with nothing."""

    def __init__(self, onnx, taken=()):
        self.onnx, self.h, self.nodes, self.inits, self.count = onnx, onnx.helper, [], [], 0
        self.prefix = "reseau:"
        while any(t.startswith(self.prefix) for t in taken):
            self.prefix += ":"

    def name(self, stem):
        self.count += 1
        return f"{self.prefix}{stem}_{self.count}"

    def const(self, value, stem="c", dtype=np.float32):
        name = self.name(stem)
        array = np.asarray(value, dtype=object if dtype is str else dtype)
        self.inits.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, kind, *inputs, stem=None, **attrs):
        out = self.name(stem or kind.lower())
        self.nodes.append(self.h.make_node(kind, list(inputs), [out], **attrs))
        return out


def _activation(g: _Graph, name: str, Z: str) -> str:
    """A = g(Z) for reseau's hidden activations (core/activations.py)."""
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus"}
    if name in simple:
        return g.op(simple[name], Z)
    if name == "identity":
        return Z
    if name == "leaky_relu":
        return g.op("LeakyRelu", Z, alpha=0.01)
    if name == "elu":
        return g.op("Elu", Z, alpha=1.0)
    if name == "selu":
        return g.op("Selu", Z, alpha=SELU_ALPHA, gamma=SELU_SCALE)
    if name == "silu":
        return g.op("Mul", Z, g.op("Sigmoid", Z))
    if name == "gelu":  # z·Φ(z) = ½z(1 + erf(z/√2))
        erf = g.op("Erf", g.op("Mul", Z, g.const(1.0 / math.sqrt(2.0))))
        return g.op("Mul", g.op("Mul", Z, g.const(0.5)), g.op("Add", erf, g.const(1.0)))
    raise ValueError(f"activation {name!r} has no ONNX form here")


def _numbers(g, x, plan, cols):
    """Impute NaN with the training median, then scale, for the numeric columns ``cols``."""
    fill = g.const([plan.fill[j] for j in cols])
    x = g.op("Where", g.op("IsNaN", x), g.op("Expand", fill, g.op("Shape", x)), x)
    if plan.normalize is None:
        return x
    Z = g.op("Div", g.op("Sub", x, g.const(plan.offset[cols])), g.const(plan.scale[cols]))
    if plan.normalize != "robust":
        return Z
    c = 1.0 / SMOOTH_CLIP  # the smooth clip z/√(1 + (z/c)²)
    zc = g.op("Mul", Z, g.const(c))
    return g.op("Div", Z, g.op("Sqrt", g.op("Add", g.op("Mul", zc, zc), g.const(1.0))))


def _inputs(g, model):
    """(graph inputs, the network's input A⁽⁰⁾)."""
    h, onnx = g.h, g.onnx
    plan, n_in = model.columns, model.sizes[0]
    if plan is None or (plan.all_numeric and not plan.named):
        X = h.make_tensor_value_info("X", onnx.TensorProto.FLOAT, ["n", n_in])
        return [X], (_numbers(g, "X", plan, list(range(n_in))) if plan is not None else "X")
    inputs, parts = [], []
    for j, name in enumerate(plan.names):
        if plan.kinds[j] == "number":
            inputs.append(h.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["n", 1]))
            parts.append(_numbers(g, name, plan, [j]))
        else:
            inputs.append(h.make_tensor_value_info(name, onnx.TensorProto.STRING, ["n", 1]))
            x = name
            if "" not in plan.categories[j]:  # "" or spaces: the missing cell, the training's most frequent category
                empty = g.op("RegexFullMatch", name, pattern="[ \t\n\r\f\v]*")  # tables.BLANK
                x = g.op("Where", empty, g.op("Expand", g.const([plan.fill[j]], dtype=str), g.op("Shape", name)), name)
            hits = g.op("Equal", x, g.const([plan.categories[j]], dtype=str))  # (n, 1) vs (1, k): (n, k)
            parts.append(g.op("Cast", hits, to=onnx.TensorProto.FLOAT))
    return inputs, parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


def to_onnx(model, path=None):
    """The model as an ONNX ``ModelProto`` (written to ``path`` when given)."""
    onnx = _onnx()
    model.require_built("to_onnx")
    if path is not None:
        destination(path, "path")  # refused before the graph is built
    out_name = "probabilities" if model.output in ("sigmoid", "softmax") else "values"
    names = model.feature_names or []
    for j, name in enumerate(names):
        if name in ("", out_name):
            raise ValueError(
                f"to_onnx: feature {j} is named {name!r}, "
                + ("and an ONNX input needs a name" if name == "" else "the name of the graph's output")
                + "; expected the model fitted on a table whose columns have other names (rename it). "
                "Nothing was exported"
            )
    g = _Graph(onnx, names)
    inputs, A = _inputs(g, model)
    weights = model.get_weights()
    limit = float(np.finfo(np.float32).max)
    for l, (W, b) in enumerate(weights, start=1):
        for name, a in ((f"W{l}", W), (f"b{l}", b)):
            if not np.all(np.abs(a.astype(np.float64)) <= limit):
                raise ValueError(
                    f"to_onnx: {name} holds values beyond float32's range (largest "
                    f"{float(np.max(np.abs(a))):.3g}) or not finite; the float32 graph would compute "
                    "inf/NaN. Nothing was exported"
                )
    for l, ((W, b), name) in enumerate(zip(weights, model.activations), start=1):
        Z = g.op("Add", g.op("MatMul", A, g.const(W, f"W{l}")), g.const(b, f"b{l}"), stem=f"Z{l}")
        A = _activation(g, name, Z)
    head = {"sigmoid": "Sigmoid", "softmax": "Softmax"}.get(model.output)
    attrs = {"axis": 1} if head == "Softmax" else {}
    if model.target_scale is not None:  # ŷ = z·σ + μ: the target's own units, as predict gives them
        A = g.op("Mul", A, g.const(model.target_scale.std.reshape(1, -1), "target_std"))
        A = g.op("Add", A, g.const(model.target_scale.mean.reshape(1, -1), "target_mean"))
    g.nodes.append(g.h.make_node(head or "Identity", [A], [out_name], **attrs))
    output = g.h.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT, ["n", model.sizes[-1]])
    graph = g.h.make_graph(g.nodes, "reseau_mlp", inputs, [output], g.inits)
    proto = g.h.make_model(graph, opset_imports=[g.h.make_opsetid("", OPSET)], producer_name="reseau")
    proto.ir_version = min(proto.ir_version, 9)  # readable by older runtimes
    g.h.set_model_props(proto, metadata(model))
    onnx.checker.check_model(proto)
    if path is not None:
        write_bytes(path, proto.SerializeToString(), "path")  # whole or not at all, as save
    return proto


def metadata(model) -> dict:
    """The graph's metadata (strings; lists as JSON, since names may hold commas): the feature
    names, the target's name, the task and what each output column is: for a classifier the class
    whose probability it holds (one sigmoid column: the second class, P(y = classes[1])), for a
    quantity the target's name."""
    props = {"task": "classify" if model.output in ("sigmoid", "softmax") else "regress"}
    if model.feature_names is not None:
        props["feature_names"] = json.dumps(model.feature_names)
    if model.target_name is not None:
        props["target_name"] = model.target_name
    k, target = model.sizes[-1], model.target_name or "y"
    if props["task"] == "classify":
        classes = [_label(c) for c in (model.classes or list(range(max(k, 2))))]
        columns = classes[1:2] if model.output == "sigmoid" and k == 1 else classes[:k]
        props["classes"] = json.dumps(classes)
        props["output_columns"] = json.dumps(columns)
        props["description"] = "; ".join(f"probabilities[:, {j}] = P({target} = {c!r})" for j, c in enumerate(columns))
    else:
        columns = [target] if k == 1 else [f"{target}[{j}]" for j in range(k)]
        props["output_columns"] = json.dumps(columns)
        props["description"] = "; ".join(f"values[:, {j}] = {c}, in its own units" for j, c in enumerate(columns))
    return props


def _label(c):
    """A class label as JSON holds it (NumPy scalars as Python's)."""
    return c.item() if hasattr(c, "item") else c
