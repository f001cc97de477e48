"""Write the blank Request for Resolution form of every partnership into this folder.

Run from the project root: ``.venv/bin/python forms/build_forms.py``. The layout lives in
``mailbot/intake/form_builder.py`` so that the package can build filled copies too.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.intake.form_builder import PARTNERSHIPS, build_form  # noqa: E402


def main() -> None:
    for name in PARTNERSHIPS:
        target = ROOT / "forms" / f"{name}.docx"
        target.write_bytes(build_form(name))
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
