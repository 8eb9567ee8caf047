"""Every Python example and command in the README and the docs' topic pages runs as shown."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs" / "topics").glob("*.md"))]
README = "\n".join(page.read_text() for page in PAGES)
# the README's own Python blocks (the pages' run in tests/test_docs_pages.py, their outputs checked)
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, tmp_path):
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


COMMANDS = [
    line.strip()
    for block in re.findall(r"```bash\n(.*?)```", README, re.S)
    for line in block.splitlines()
    if line.strip().startswith("reseau ")
]


def test_every_cli_command_in_the_readme_runs(tmp_path):
    """The CLI reference, run in order in an empty folder holding the CSV that `predict` reads."""
    import gzip
    import shlex
    from importlib import resources

    raw = resources.files("reseau.datasets").joinpath("data", "breast_cancer.csv.gz").read_bytes()
    (tmp_path / "patients.csv").write_bytes(gzip.decompress(raw))
    assert len(COMMANDS) >= 6
    exe = str(Path(sys.executable).parent / "reseau")
    for command in COMMANDS:
        args = shlex.split(command)
        out = subprocess.run([exe, *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, (command, out.stderr)
    assert (tmp_path / "moons.png").exists() and (tmp_path / "cancer.reseau").exists()
    assert (tmp_path / "cancer.onnx").stat().st_size > 0
    assert (tmp_path / "predictions.csv").read_text().startswith("prediction,p_0,p_1")
