"""Docs that cannot go stale: every Python block of every page under docs/topics/ runs, and where the
page states what it prints (a ```text block right after it), the output holds each stated line.

A stated line matches an output line token by token: numbers as close as a figure of one run on
one machine is (0.02, or two units of the last digit shown; counts and 1e-7-style figures within
10 %), ``...`` for the rest of the line (at its start: anything before), other tokens equal."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[1] / "docs" / "topics").glob("*.md"))
NUMBER = re.compile(r"^[\[\({]*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)[\]\)},;:]*$", re.I)


def _blocks():
    """(page, code, stated output or None) for each Python block of the pages."""
    found = []
    for page in PAGES:
        text = page.read_text()
        for m in re.finditer(r"```python\n(.*?)```\n", text, re.S):
            after = re.match(r"\s*(?:[^\n`]*\n\s*)?```text\n(.*?)```", text[m.end() :], re.S)
            found.append((page.name, m.group(1), after.group(1) if after else None))
    return found


BLOCKS = _blocks()


def _same(stated, got) -> bool:
    """A stated token against a printed one: numbers within tolerance, else equal."""
    a, b = NUMBER.match(stated), NUMBER.match(got)
    if a and b:
        x, y, shown = float(a.group(1)), float(b.group(1)), a.group(1).lower()
        if "e" in shown or "." not in shown:  # 1.1e-07, or a count (epochs): within 10 %
            return abs(x - y) <= 0.1 * abs(x)
        decimals = len(shown.split(".")[1])
        return abs(x - y) <= max(2 * 10.0**-decimals, 0.02)  # two units of the last digit shown, or 0.02
    return stated == got


def matches(stated_line, output_lines) -> bool:
    """Whether some output line holds ``stated_line`` (module docstring)."""
    want = stated_line.split()
    if want[:1] == ["..."]:  # "... text": the text anywhere in a line (after a warning's location)
        return any(matches(" ".join(want[1:]), [" ".join(line.split()[k:])]) for line in output_lines
                   for k in range(len(line.split())))  # fmt: skip
    for line in output_lines:
        got = line.split()
        if "..." in want:
            k = want.index("...")
            if len(got) >= k and all(_same(w, g) for w, g in zip(want[:k], got)):
                return True
        elif len(got) == len(want) and all(_same(w, g) for w, g in zip(want, got)):
            return True
    return False


def test_the_matching_can_fail():
    assert matches("loss 0.50 accuracy 0.90", ["loss 0.51 accuracy 0.905"])
    assert not matches("loss 0.50 accuracy 0.90", ["loss 0.80 accuracy 0.905"])
    assert matches("training diverged: the loss ...", ["training diverged: the loss became nan at step 2"])
    assert not matches("[0.95 0.96]", ["[0.80 0.96]"])
    assert matches("... DataWarning: imputed 8 cells", ["<string>:15: DataWarning: imputed 8 cells"])
    assert not matches("error 1.1e-07", ["error 3e-07"]) and matches("{'loss': 0.17,", ["{'loss': 0.1709,"])


def test_the_pages_state_outputs():
    assert len(BLOCKS) >= 5 and sum(stated is not None for _, _, stated in BLOCKS) >= 4


@pytest.mark.parametrize("page, code, stated", BLOCKS, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(BLOCKS)])
def test_each_block_runs_and_prints_what_its_page_states(page, code, stated, tmp_path):
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    if stated is None:
        return
    printed = (out.stdout + out.stderr).splitlines()
    missing = [line for line in stated.splitlines() if line.strip() and not matches(line, printed)]
    assert not missing, f"{page}: stated but not printed: {missing}\nprinted:\n{out.stdout}{out.stderr}"


def test_the_contributing_pages_map_names_every_module():
    """docs/topics/contributing.md's layout and module map name every module of core/ (as
    ``core/<name>.py``) and of kernels/ and backends/ (by name), so a contributor finds each one's
    job there; a module added without a line fails here."""
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "topics" / "contributing.md").read_text()
    missing = [f"core/{p.name}" for p in sorted((root / "core").glob("*.py")) if p.name != "__init__.py"]
    missing = [m for m in missing if f"`{m}`" not in page and f"{m}" not in page]
    for folder in ("kernels", "backends"):
        for p in sorted((root / folder).glob("*.py")):
            stem = p.stem.removesuffix("_backend")
            if p.name != "__init__.py" and stem not in page:
                missing.append(f"{folder}/{p.name}")
    assert not missing, f"not on the contributing page: {missing}"
