"""The model's input contract: what it takes and gives, fitted on the first training data and kept
(the column plan of core/columns.py, the class labels, the target scale). From data to the
network's inputs (``inputs``: checked, through the plan, on the device) and to the head's
targets (``targets``: labels through the classes), and, at the first fit, the head, the output
width and the classes decided from y (``labels``).

What is fitted is one object, ``InputContract``: ``model.contract``; ``model.columns``,
``model.classes`` and ``model.target_scale`` name its parts (read and set through it). Its operations are its
methods; what they need of the model (the network's sizes and head, the dtype on its backend)
the model gives them as a ``Given`` (``MLP.given``). The model file holds it
as the entries ``to_json`` writes (feature_names, preprocessing, classes, target_scale), read back
by ``from_json``, which also reads files written before preprocessing plans.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import columns, heads, targets, validation
from .tables import Table, to_table


@dataclass
class InputContract:
    """The column plan (core/columns.py; the feature names come with it), the class labels (None:
    0..k−1), the regression target's (μ, σ) (core/targets.py) and the target's name, each None
    until fitted."""

    columns: object = None
    classes: list | None = None
    target_scale: object = None
    target_name: str | None = None  # the predicted column's name, where it had one (a file's, a Series')

    @property
    def feature_names(self):
        return None if self.columns is None else list(self.columns.names)

    def to_json(self, jsonable) -> dict:
        """The model file's entries (``jsonable`` makes the labels plain JSON)."""
        return {
            "feature_names": self.feature_names,
            "preprocessing": None if self.columns is None else self.columns.to_json(),
            "classes": jsonable(self.classes),
            "target_scale": None if self.target_scale is None else self.target_scale.to_json(),
            "target_name": self.target_name,
        }

    @classmethod
    def from_json(cls, d, n_inputs, n_outputs) -> InputContract:
        """The contract a file's description holds, checked against the layers' widths."""
        plan = None
        if d.get("preprocessing"):
            plan = columns.ColumnPlan.from_json(d["preprocessing"])
        elif d.get("scaler"):  # a file written before preprocessing plans
            plan = columns.ColumnPlan.from_scaler(d["scaler"]["kind"], d["scaler"]["offset"], d["scaler"]["scale"])
        if plan is not None and plan.width != n_inputs:
            raise ValueError(f"the preprocessing makes {plan.width} features for an input layer of {n_inputs}")
        classes = d.get("classes")
        if classes is not None and (
            not isinstance(classes, list) or not classes or any(isinstance(c, (dict, list)) for c in classes)
        ):
            raise ValueError("classes must be a list of labels")
        scale = d.get("target_scale")
        name = d.get("target_name")
        if name is not None and not isinstance(name, str):
            raise ValueError("target_name must be a string or null")
        scaled = None if scale is None else targets.TargetScale.from_json(scale, n_outputs)
        return cls(plan, classes, scaled, name)

    # ---- what is fitted, set by the contract's own methods ----------------------------------------

    def restore(self, d, n_inputs, n_outputs):
        """The contract a model file describes (``from_json``), taken as this one's."""
        saved = InputContract.from_json(d, n_inputs, n_outputs)
        self.columns, self.classes, self.target_scale = saved.columns, saved.classes, saved.target_scale
        self.target_name = saved.target_name

    def fitted(self, columns, classes, target_scale, target_name=None):
        """What a fit decided: the column plan, the classes, the target's (μ, σ); the target's
        name where the data gave one (else the one kept)."""
        self.columns, self.classes, self.target_scale = columns, classes, target_scale
        self.target_name = target_name or self.target_name

    def sized(self, columns, classes):
        """The column plan and classes of a network sized from data (``MLP.build``), or copied
        from another model's contract."""
        self.columns, self.classes = columns, classes

    def name_target(self, name):
        """The predicted column's name (a file's, a Series')."""
        self.target_name = name

    # ---- from the user's data to the network's inputs and the head's targets --------------------

    def targets(self, y, n_rows, given: Given, name="y", head=None, n_out=None, classes=None):
        """The targets as the head's host array; labels mapped through the classes (this
        contract's, or ``classes`` decided at the first fit)."""
        head, n_out = head or given.head, n_out or given.sizes[-1]
        classes = self.classes if classes is None else classes
        y = targets.as_array(y, name)
        if heads.is_classifier(head) and (classes is not None or targets.is_label_array(y)):
            labels = _one_column(y)
            if labels.ndim == 1 and labels.shape[0] == n_rows:
                y, classes = targets.encode(labels, classes, name)
                capacity = 2 if head == "sigmoid" and n_out == 1 else n_out
                if len(classes) > capacity:
                    raise ValueError(
                        f"{name} has {len(classes)} classes ({', '.join(map(repr, classes[:6]))}"
                        f"{', ...' if len(classes) > 6 else ''}) but the network's {head} head "
                        f"has {n_out} output{'s' * (n_out != 1)}; expected at most {capacity}"
                    )
        return heads.encode_targets(head, y, n_out, n_rows, given.dtype_name, name)

    def labels(self, y, n_rows, given: Given, name="y"):
        """(head, n_out, classes, Y) for the training targets: the head and output width decided
        from y where the network leaves them open (``targets.task``), class labels encoded."""
        head, n_out, classes = given.head, given.sizes[-1], self.classes
        if classes is None:
            targets.warn_labels(y, name)
        if not given.built and (head is None or n_out is None):
            head, n_out, classes = self._decided(y, n_rows, given, name)
        elif heads.is_classifier(head) and classes is None:
            y_arr = targets.as_array(y, name)
            labels = _one_column(y_arr)
            if targets.is_label_array(labels) and labels.ndim == 1 and labels.shape[0] == n_rows:
                _, classes = targets.encode(labels, None, name)
        return head, n_out, classes, self.targets(y, n_rows, given, name, head, n_out, classes)

    def _decided(self, y, n_rows, given, name):
        """(head, n_out, classes) a network with open sizes takes from its first targets."""
        head, n_out, classes = given.head, given.sizes[-1], self.classes
        y_arr = targets.as_array(y, name)
        task = given.task or (None if head is None else ("classify" if heads.is_classifier(head) else "regress"))
        task = targets.task(y_arr, task, name)
        labels = _one_column(y_arr)
        if task == "classify" and labels.ndim == 1:
            if labels.shape[0] == n_rows:
                _, classes = targets.encode(labels, classes, name)
            k = max(len(classes or ()), 2)
            head = head or ("sigmoid" if k == 2 else "softmax")
            return head, n_out or (1 if head == "sigmoid" and k == 2 else k), classes
        head = head or ("sigmoid" if task == "classify" else "identity")
        return head, n_out or (1 if y_arr.ndim == 1 else y_arr.shape[1]), classes

    def table(self, X, given: Given, name="X"):
        """``X`` as named columns (``tables.to_table``), a plain array checked to be 2-D numbers."""
        table = to_table(X, name)
        if table.matrix is not None:
            n_in = given.sizes[0] if self.columns is None else None  # a plan checks the width itself
            table.matrix = validation.features(
                table.matrix, n_in, columns.float_dtype(table.matrix), name, allow_nan=given.allow_nan
            )
        return table

    def matrix(self, X, given: Given, name, plan, n_in, dtype, training=False, order="C"):
        """The host input matrix of ``X``: through the plan where there is one (a plan also checks
        the columns), else the raw numbers of a model that was never fitted; ``training``: the
        fit's training rows (the plan notes what it imputed there); ``order="F"``: a table's
        matrix may stay column-major (see ``ColumnPlan.transform``)."""
        if plan is None:
            return validation.features(X, n_in, dtype, name)
        return plan.transform(X if isinstance(X, Table) else self.table(X, given, name), name, training, order)

    def host_inputs(self, X, given: Given, name="X", plan=None, n_in=None, order="C"):
        """X checked, through the preprocessing plan, as a host matrix in the model's dtype
        (``order="F"``: column-major where a table's columns came that way; for prediction)."""
        plan, n_in = plan or self.columns, n_in or given.sizes[0]
        if n_in is None:
            raise ValueError(given.unsized)
        X = self.matrix(X, given, name, plan, n_in, given.dtype_name, order=order)
        return validation.features(X, n_in, given.dtype_name, name)

    def inputs(self, X, given: Given, name="X", plan=None, n_in=None):
        """X checked, through the preprocessing plan, on the device in the model's dtype."""
        return given.backend.asarray(self.host_inputs(X, given, name, plan, n_in), dtype=given.dtype)


@dataclass(frozen=True)
class Given:
    """What a model gives its parts (``MLP.given``): the network's sizes (None where the data
    decide them) and head, its float dtype (by name, and on the backend), whether missing values
    are imputed, the task asked for, and the message for a network not yet sized. The contract
    reads it at each call; the forward part (core/forward.py) keeps the one it was built with;
    core/build.py places the network's parameters and masks on its backend in its dtype."""

    sizes: list
    head: str | None
    backend: object
    dtype: object
    dtype_name: str
    allow_nan: bool = False
    task: str | None = None
    unsized: str = "the network is not sized yet: call fit first"

    @property
    def built(self) -> bool:
        return None not in self.sizes


def _one_column(y):
    """Targets of one column as a 1-d array (labels come either way), others as they are."""
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


def input_size(sizes, plan, n_out):
    """The network's sizes with n_in and n_out filled in; n_in must match the plan's width."""
    sizes = list(sizes)
    if sizes[0] is None:
        sizes[0] = plan.width
    elif sizes[0] != plan.width:
        if plan.all_numeric:
            raise ValueError(f"X has {plan.width} features (columns) but the network's input layer has {sizes[0]}")
        raise ValueError(
            f"X's {len(plan.names)} columns encode to {plan.width} input features "
            f"({plan.describe()}) but the network's input layer has {sizes[0]}; give "
            "layers=[None, ...] to size it from the data"
        )
    sizes[-1] = sizes[-1] or n_out
    return sizes
