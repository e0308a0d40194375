"""Sphinx configuration of coodie's documentation (MyST pages, furo theme).

Build it from the repository's root with::

    uv run --group docs sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

from importlib.metadata import version as installed_version

project = "coodie"
author = "The coodie developers"
copyright = "The coodie developers"
release = installed_version("coodie-core")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# The docstrings are written in reST with :param: and :raises: fields.
napoleon_google_docstring = False
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = f"coodie {release}"
