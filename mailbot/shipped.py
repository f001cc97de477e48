"""Where the policies, email templates and blank forms that ship with mailbot are.

An installed wheel carries them inside the package, as ``mailbot/_data/policies`` and so on
(``setup.py`` maps the repository's top-level ``policies/``, ``templates/`` and ``forms/``
folders there at build time); a checkout, run from its folder or as an editable install,
has them at the top of the repository. A partnership that keeps its own points the config's
``policies_dir``, ``templates_dir`` or ``forms_dir`` elsewhere.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

KINDS = ("policies", "templates", "forms")


def shipped_dir(kind: str) -> Path:
    """The folder of shipped ``kind`` (policies, templates or forms)."""
    if kind not in KINDS:
        raise ValueError(f"no shipped data called {kind!r}")
    packaged = resources.files("mailbot").joinpath("_data", kind)
    # pip installs wheels unpacked, so the package's files are a real folder on disk.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / kind
