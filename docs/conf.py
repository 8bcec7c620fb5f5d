"""Sphinx configuration of the fem_nn documentation.

Build (warnings are errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The API reference (``api.rst`` and its stubs in ``generated/``) is written here, on every
build, from the public names of :mod:`fem_nn`, so a new name is documented without editing
anything; the gallery (``auto_examples/``) runs every script of ``examples/`` with
``FEM_NN_GALLERY=1`` (short training; figures shown, not saved). All three are build outputs,
ignored by git.
"""

from __future__ import annotations

import inspect
import os
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # the checkout's fem_nn, installed or not

# the examples read this when sphinx-gallery runs them: small settings, figures left open
os.environ.setdefault("FEM_NN_GALLERY", "1")

import fem_nn  # noqa: E402
import fem_nn.distributed  # noqa: E402,F401  (documented with the API)
import fem_nn.hyperbolic  # noqa: E402,F401

# --- project ---------------------------------------------------------------------------------
project = "fem_nn"
author = "the fem_nn developers"
copyright = "the fem_nn developers"
release = version = fem_nn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
root_doc = "index"
nitpicky = False

# --- autodoc, autosummary, numpydoc ----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it, once
autodoc_inherit_docstrings = False  # torch.nn.Module's docstrings are not ours
numpydoc_show_class_members = False  # members come from the class template, once
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# --- sphinx-gallery --------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run them all
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,  # a failing example fails the build
    "capture_repr": (),
}

# --- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fem_nn {version}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "installation": [], "tour": [], "mathematics": []}

# --- the API reference, generated from fem_nn's public names --------------------------------

# sections in reading order: a module (where the name is defined) and its heading
SECTIONS = [
    ("fem_nn.mesh", "Meshes and axes"),
    ("fem_nn.io", "Mesh files"),
    ("fem_nn.elements", "Shape functions"),
    ("fem_nn.quadrature", "Quadrature"),
    ("fem_nn.field", "Fields"),
    ("fem_nn.assembly", "Mass matrices"),
    ("fem_nn.projection", "L2 projection"),
    ("fem_nn.tableaus", "Butcher tableaus"),
    ("fem_nn.integrators", "Runge–Kutta schemes"),
    ("fem_nn.activations", "Activations"),
    ("fem_nn.continuum.network", "Continuum networks"),
    ("fem_nn.continuum.rhs", "Right-hand sides"),
    ("fem_nn.continuum.read_in", "Read-ins"),
    ("fem_nn.continuum.width", "Width bases"),
    ("fem_nn.continuum.initialization", "Initialization"),
    ("fem_nn.convolution.local", "Local kernels"),
    ("fem_nn.convolution.spectral", "Spectral kernels"),
    ("fem_nn.convolution.spectral2d", "Spectral kernels on the box"),
    ("fem_nn.numba_backend", "Numba backend"),
    ("fem_nn.odeblock", "Depth fields for any torch module"),
    ("fem_nn.models", "Models"),
    ("fem_nn.export", "Export"),
    ("fem_nn.refinement", "Refining live networks"),
    ("fem_nn.transfer", "Moving coefficients and optimizer state"),
    ("fem_nn.indicators", "Error indicators"),
    ("fem_nn.tasks", "Tasks"),
    ("fem_nn.trainer", "Training"),
    ("fem_nn.optimizers", "Optimizers"),
    ("fem_nn.checkpoint", "Checkpoints"),
    ("fem_nn.schedule", "Schedules"),
    ("fem_nn.phases", "Schedule phases"),
    ("fem_nn.schedule_models", "Schedule models"),
    ("fem_nn.training", "Running schedules"),
    ("fem_nn.inference", "Projecting down for inference"),
    ("fem_nn.mgopt", "MG/OPT"),
    ("fem_nn.convergence", "Convergence tests"),
    ("fem_nn.rates", "Observed rates"),
    ("fem_nn.plotting", "Plots"),
]

# what the public constants are (a constant missing here is listed without a description)
CONSTANTS = {
    "WIDTH_INTERVAL": "The width interval of ξ and η.",
    "DEPTH_INTERVAL": "The depth interval of δ.",
}

# modules whose functions are used through the module, not imported from fem_nn
EXTRA_MODULES = [("fem_nn.distributed", "Distributed training"), ("fem_nn.hyperbolic", "The hyperbolic ConvNet")]


def public_names() -> dict[str, list[str]]:
    """fem_nn's public callables and classes, by the module that defines them (constants
    such as ``WIDTH_INTERVAL`` are listed on the page, modules are not names)."""
    by_module: dict[str, list[str]] = {}
    for name in sorted(dir(fem_nn), key=str.lower):  # dir: the lazily imported names too
        value = getattr(fem_nn, name)
        if name.startswith("_") or isinstance(value, types.ModuleType) or not callable(value):
            continue
        module = getattr(inspect.getmodule(value), "__name__", "fem_nn")
        by_module.setdefault(module, []).append(name)
    return by_module


def constants() -> list[str]:
    return sorted(
        name
        for name in dir(fem_nn)
        if not name.startswith("_")
        and not isinstance(value := getattr(fem_nn, name), types.ModuleType) and not callable(value)
    )


def write_api_page() -> None:
    """``api.rst``: one autosummary table per section; rewritten only when it changes."""
    by_module = public_names()
    known = [module for module, _ in SECTIONS]
    sections = [(m, title) for m, title in SECTIONS if m in by_module]
    sections += [(m, m.removeprefix("fem_nn.")) for m in sorted(by_module) if m not in known]
    lines = [
        ".. This page is generated by docs/conf.py from fem_nn's public names: do not edit.",
        "",
        "API reference",
        "=============",
        "",
        ".. module:: fem_nn",
        "",
        "Every name below is importable from :mod:`fem_nn` itself (``from fem_nn import Mesh``),",
        "grouped by the module that defines it; the *source* link of each page leads there.",
        "",
    ]

    def section(module: str, title: str, names: list[str], current: str) -> list[str]:
        summary = (inspect.getdoc(sys.modules[module]) or "").split("\n\n")[0].replace("\n", " ")
        return [
            title, "-" * len(title), "", f"``{module}`` — {summary}", "", f".. currentmodule:: {current}", "",
            ".. autosummary::", "   :toctree: generated", "   :nosignatures:", "",
            *(f"   {name}" for name in names), "",
        ]

    for module, title in sections:
        lines += section(module, title, by_module[module], "fem_nn")
    for module, title in EXTRA_MODULES:  # used by name (``from fem_nn import distributed``)
        lines += section(module, title, list(sys.modules[module].__all__), module)
    lines += [".. currentmodule:: fem_nn", ""]
    names = constants()
    if names:
        lines += ["Constants", "---------", ""]
        for name in names:
            lines += [f".. data:: {name}", f"   :value: {getattr(fem_nn, name)!r}", ""]
            if name in CONSTANTS:
                lines += [f"   {CONSTANTS[name]}", ""]
    text = "\n".join(lines)
    page = HERE / "api.rst"
    if not page.exists() or page.read_text(encoding="utf-8") != text:
        page.write_text(text, encoding="utf-8")


write_api_page()
