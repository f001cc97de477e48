"""Build-time layout (the rest of the packaging is in pyproject.toml).

The policies, templates and blank forms stay in the repository's top-level folders, which
the contract fixes; here they are mapped into the package as ``mailbot._data.*``, so that a
wheel carries them and ``mailbot.shipped`` finds them through importlib.resources.
"""

from setuptools import find_packages, setup

DATA = {
    "mailbot._data.policies": ("policies", ["*.toml", "*.md"]),
    "mailbot._data.templates": ("templates", ["*.txt", "*.html", "*/*.txt", "*/*.html"]),
    "mailbot._data.forms": ("forms", ["*.docx"]),
}
MIGRATIONS = ["adapters/migrations/*.py", "adapters/migrations/*.mako",
              "adapters/migrations/versions/*.py"]

setup(
    packages=[*find_packages(include=["mailbot", "mailbot.*"]), *DATA],
    package_dir={name: folder for name, (folder, _) in DATA.items()},
    package_data={"mailbot": MIGRATIONS, **{name: files for name, (_, files) in DATA.items()}},
    include_package_data=False,
)
