"""Sphinx configuration: the guide is the executed examples of examples/ (sphinx-gallery), the
topics are Markdown pages (MyST), the API reference comes from the docstrings (autodoc).
Built strictly in CI: ``sphinx-build -W --keep-going -b html docs docs/_build/html``; nothing is
fetched at build time (no intersphinx; MathJax is loaded by the reader's browser)."""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("RESEAU_BACKEND", "numpy")

import reseau  # noqa: E402

project = "reseau"
author = "the reseau developers"
release = version = reseau.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "guide/*.ipynb", "guide/*.py", "guide/*.md5", "guide/*.zip"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}
autodoc_typehints = "none"
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["config.cache"]

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "guide",
    "filename_pattern": r".*\.py$",  # run every example: each figure is made by the build
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "plot_gallery": "True",
    "show_memory": False,
    "reference_url": {},
}


_LITERAL = re.compile(r"(``.*?``)")


def _plain_text(app, what, name, obj, options, lines):
    """The docstrings are plain text with formulas (|x|, a*b, ‖W‖²): outside ``literals``, | and *
    are characters, not reStructuredText markup."""
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        lines[i] = "".join(p if p.startswith("``") else p.replace("|", r"\|").replace("*", r"\*") for p in parts)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_text)
