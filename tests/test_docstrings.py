"""Every public name of fem_nn shows how it is used: its docstring holds a ``>>>`` example that
runs, and the code of the documentation pages runs too.

pytest's ``--doctest-modules`` also runs the library's examples; this file makes a missing
example a failure of its own, named after the public name that lacks it.
"""

import doctest
import inspect
import types
from pathlib import Path

import pytest

import fem_nn

DOCS = Path(__file__).resolve().parents[1] / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def public_names() -> list[str]:
    """The callables and classes importable from fem_nn (not modules, not constants), the
    lazily imported ones included (``dir`` lists them)."""
    names = []
    for name in dir(fem_nn):
        value = getattr(fem_nn, name)
        if name.startswith("_") or isinstance(value, types.ModuleType) or not callable(value):
            continue
        names.append(name)
    return names


def run_examples(test: doctest.DocTest) -> doctest.TestResults:
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", public_names())
def test_public_name_has_a_runnable_example(name):
    value = getattr(fem_nn, name)
    # the object's own docstring: inspect.getdoc would borrow a parent class's
    docstring = value.__doc__ or ""
    module = inspect.getmodule(value)
    assert module is not None and module.__name__.startswith("fem_nn."), f"{name} is not defined in fem_nn"
    examples = doctest.DocTestParser().get_examples(docstring)
    assert examples, f"fem_nn.{name} has no '>>>' example in its docstring"
    test = doctest.DocTestParser().get_doctest(docstring, dict(vars(module)), f"fem_nn.{name}", module.__file__, 0)
    results = run_examples(test)
    assert results.failed == 0, f"the example of fem_nn.{name} fails (see the output above)"


def test_public_names_are_found():
    names = public_names()
    assert {"Mesh", "Field", "ContinuumNetwork", "integrate", "load_schedule"} <= set(names)
    assert "DEPTH_INTERVAL" not in names and "mesh" not in names


BUILT = {"_build", "generated", "auto_examples"}  # build outputs, not pages
PAGES = sorted(p for p in DOCS.rglob("*.rst") if not BUILT & set(p.parts) and ">>>" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_documentation_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a page may write files
    text = page.read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {}, page.name, str(page), 0)
    results = run_examples(test)
    assert results.failed == 0, f"{page.relative_to(DOCS)}: {results.failed} of {results.attempted} examples fail"


def test_documentation_pages_with_code_exist():
    assert DOCS / "tour.rst" in PAGES
