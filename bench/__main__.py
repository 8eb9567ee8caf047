"""``python -m bench``: the same as ``reseau bench``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a checkout works without installing

from reseau.benchmark import main  # noqa: E402

raise SystemExit(main())
