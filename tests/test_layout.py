"""The package's layout: ``import fem_nn`` and ``fem-nn --help`` stay light (no optional extra,
no benchmark imported), and the modules import each other without a circle."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fem_nn"
# optional extras (ParaView files, plots, the digits data, the bench's FNO) and the benchmarks
HEAVY = ("meshio", "h5py", "matplotlib", "sklearn", "neuralop")


def loaded_modules(code: str) -> set[str]:
    """The modules in sys.modules after running `code` in a fresh interpreter."""
    script = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    return set(out.stdout.split())


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def benchmarks(modules: set[str]) -> list[str]:
    """The benchmark modules among `modules` (their index, fem_nn.bench itself, is light)."""
    return sorted(m for m in modules if m.startswith("fem_nn.bench."))


HELP = """
from fem_nn.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
"""


def test_import_fem_nn_loads_no_extra_and_no_benchmark():
    modules = loaded_modules("import fem_nn")
    assert "fem_nn.continuum.network" in modules  # the core is there (the check sees what it should)
    assert heavy(modules) == [] and benchmarks(modules) == []
    assert not {"fem_nn.plotting", "fem_nn.export", "fem_nn.tasks", "fem_nn.trainer", "fem_nn.training"} & modules


def test_a_lazy_name_loads_its_module_on_first_use():
    modules = loaded_modules("import fem_nn\nfrom fem_nn import plot_field, write_paraview")
    assert {"fem_nn.plotting", "fem_nn.export"} <= modules
    assert heavy(modules) == []  # matplotlib and meshio only when a figure or a file is made


def test_every_listed_name_resolves():
    import fem_nn

    for name in dir(fem_nn):
        assert getattr(fem_nn, name) is not None
    assert set(fem_nn.__all__) <= set(dir(fem_nn))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        fem_nn.not_a_name


def test_fem_nn_help_loads_no_extra():
    assert heavy(loaded_modules(HELP)) == []


def test_fem_nn_help_loads_no_benchmark():
    assert benchmarks(loaded_modules(HELP)) == []


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The fem_nn modules `path` imports when it is imported: the module-level ``import`` and
    ``from ... import`` statements (those inside functions run later, on a call)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if target not in modules:
                continue
            submodules = {f"{target}.{alias.name}" for alias in node.names} & modules
            edges.update(submodules)
            if len(submodules) < len(node.names):  # a name defined in `target` itself
                edges.add(target)
        elif isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names if alias.name in modules)
    edges.discard(name)
    return edges


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): top_level_imports(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in `graph`, as the list of its modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == "open":
                return stack[stack.index(child):] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_finds_a_circle_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_fem_nn_has_no_import_circle():
    graph = import_graph()
    assert {"fem_nn.mesh", "fem_nn.elements"} <= graph["fem_nn.field"] | graph["fem_nn.mesh"]  # edges are read
    assert "fem_nn._checks" in graph["fem_nn.elements"]  # `from . import _checks` is an edge
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph))}"


@pytest.mark.parametrize("missing, suffix", [("meshio", ".vtu"), ("h5py", ".xdmf")])
def test_a_missing_paraview_extra_is_named_and_the_command_exits_3(tmp_path, monkeypatch, capsys, missing, suffix):
    from fem_nn import Field, save_field, signal_mesh, write_paraview
    from fem_nn.cli import EXIT_MISSING_EXTRA, main

    field = Field.from_function(signal_mesh(), lambda x: x)
    save_field(tmp_path / "f.safetensors", field)
    monkeypatch.setitem(sys.modules, missing, None)  # `import missing` now raises ImportError
    with pytest.raises(ImportError, match=rf"needs .*{missing}.*pip install 'fem_nn\[paraview\]'"):
        write_paraview(tmp_path / f"f{suffix}", field)
    assert main(["export", str(tmp_path / "f.safetensors"), str(tmp_path / f"g{suffix}")]) == EXIT_MISSING_EXTRA
    assert "fem_nn[paraview]" in capsys.readouterr().err
    assert not (tmp_path / f"f{suffix}").exists() and not (tmp_path / f"g{suffix}").exists()


def test_every_subpackage_is_installed():
    # pyproject lists packages explicitly: a package missing there is absent from a wheel
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(PACKAGE.parent).parts) for p in PACKAGE.rglob("__init__.py")}
    assert on_disk <= listed, f"add {sorted(on_disk - listed)} to [tool.setuptools] packages"
