"""Size limits: operations too large for ``FEM_NN_MAX_BYTES`` are refused before they
allocate, with what they would need and the limit they exceed (exit code 2 on the command
line, a ValueError in the library). Each refusal is checked to allocate next to nothing
(tracemalloc's peak: numpy's arrays are traced) and to leave the folder as it was."""

import tracemalloc

import pytest
import torch

from fem_nn import ContinuumNetwork, Field, Mesh, bias_mesh, save_field, save_mesh, uniform_axis, weight_mesh
from fem_nn.cli import EXIT_BAD_INPUT, main
from fem_nn.limits import DEFAULT_MAX_BYTES, MemoryLimitError, check_bytes, max_bytes

PEAK = 20 * 2**20  # a refusal allocates less than this


def refused(call):
    """The MemoryLimitError `call` raises, and tracemalloc's peak meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(MemoryLimitError) as error:
            call()
        return str(error.value), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_names_need_and_limit(message: str, need: str) -> None:
    assert need in message and "would need about" in message, message
    assert "more than the limit FEM_NN_MAX_BYTES = 4.0 GiB" in message, message


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEM_NN_MAX_BYTES", raising=False)
    save_field(tmp_path / "w.safetensors", Field(weight_mesh()))
    width = uniform_axis((-1.0, 1.0), 1000, "lagrange", 1)
    save_mesh(tmp_path / "big.json", weight_mesh(width, uniform_axis((0.0, 1.0), 400, "lagrange", 1)))  # 4.0e8 dofs
    return tmp_path


@pytest.mark.parametrize("argv, need", [
    (["mesh", "create", "m.json", "--width-cells", "1000000000"], "OUT: the mesh (1000000000 × 1000000000 × 4 cells)"),
    (["mesh", "create", "m.json", "--width-order", "100000"], "OUT: the mesh (8 × 8 × 4 cells)"),
    (["mesh", "refine", "default", "m.json", "--k", "100000000"], "OUT: the mesh (400000000 × 400000000 × 400000000"),
    (["mesh", "elevate", "default", "m.json", "--by", "100000"], "OUT: the mesh (4 × 4 × 4 cells)"),
    (["project", "w.safetensors", "big.json", "p.safetensors"], "the projection onto the mesh (1001, 1001, 401)"),
    (["demo", "--levels", "8"], "levels = 8: the quadrature grid of the finest refined mesh"),
], ids=["create-cells", "create-order", "refine-k", "elevate-by", "project-4e8-dofs", "demo-levels-8"])
def test_commands_too_large_exit_2_before_allocating(folder, capsys, argv, need):
    before = sorted(p.name for p in folder.iterdir())
    tracemalloc.start()
    try:
        assert main(argv) == EXIT_BAD_INPUT
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert_names_need_and_limit(err, need)
    assert peak < PEAK and sorted(p.name for p in folder.iterdir()) == before
    assert "fem_nn demo" not in out  # the demo printed no table first


def test_plot_of_a_huge_mesh_is_refused_and_the_limit_can_be_raised(folder, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    save_mesh(folder / "long.json", Mesh([uniform_axis((-1.0, 1.0), 20_000, "p0", 0)]))  # 20 000 rectangles
    monkeypatch.setenv("FEM_NN_MAX_BYTES", "100M")
    assert main(["plot", "long.json", "long.png"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "OUT: the figure of the mesh (20000,) would need about 190.7 MiB" in err
    assert "more than the limit FEM_NN_MAX_BYTES = 100.0 MiB" in err and not (folder / "long.png").exists()
    monkeypatch.setenv("FEM_NN_MAX_BYTES", "1M")  # 10 000 cells make about 2 MB
    assert main(["mesh", "create", "s.json", "--kind", "signal", "--width-cells", "10000"]) == EXIT_BAD_INPUT
    assert "more than the limit FEM_NN_MAX_BYTES = 1.0 MiB" in capsys.readouterr().err
    monkeypatch.setenv("FEM_NN_MAX_BYTES", "16M")
    assert main(["mesh", "create", "s.json", "--kind", "signal", "--width-cells", "10000"]) == 0


def test_mesh_files_that_load_mesh_would_refuse_are_not_written(folder, capsys):
    assert main(["mesh", "create", "m.json", "--width-order", "100"]) == EXIT_BAD_INPUT
    assert "OUT: load_mesh reads mesh files of at most order 64, got 100" in capsys.readouterr().err
    assert not (folder / "m.json").exists()


def test_networks_and_fields_on_huge_meshes_raise_before_allocating(monkeypatch):
    monkeypatch.delenv("FEM_NN_MAX_BYTES", raising=False)
    width = uniform_axis((-1.0, 1.0), 1000, "lagrange", 1)
    weights = weight_mesh(width, uniform_axis((0.0, 1.0), 400, "lagrange", 1))
    biases = bias_mesh(width, uniform_axis((0.0, 1.0), 400, "lagrange", 1))
    message, peak = refused(lambda: ContinuumNetwork(weights, biases))
    assert_names_need_and_limit(message, "a continuum network on the weight mesh (1001, 1001, 401)")
    assert peak < PEAK
    cube = Mesh([uniform_axis((-1.0, 1.0), 1100, "lagrange", 1)] * 3)  # 1.3e9 dofs
    for call, need in ((lambda: Field(cube), "a field on the mesh (1101, 1101, 1101)"),
                       (lambda: Field.from_function(weights, lambda x, y, d: x), "a quadrature grid on the mesh"),
                       (lambda: Field(weight_mesh()).project(weights), "the projection onto the mesh (1001, 1001, 401)")):
        message, peak = refused(call)
        assert_names_need_and_limit(message, need)
        assert peak < PEAK
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)  # a valid call still works
    assert net(torch.ones(1, 8, dtype=torch.float64)).shape == (1, len(net.nodes))


@pytest.mark.parametrize("text, value", [("", DEFAULT_MAX_BYTES), ("8000000000", 8_000_000_000), ("8e9", 8_000_000_000),
                                         ("512M", 512 * 2**20), ("16G", 16 * 2**30), ("1.5GiB", 3 * 2**29),
                                         ("2t", 2 * 2**40)])
def test_the_limit_reads_bytes_with_suffixes(monkeypatch, text, value):
    monkeypatch.setenv("FEM_NN_MAX_BYTES", text)
    assert max_bytes() == value
    check_bytes(value, "exactly the limit")  # allowed
    with pytest.raises(MemoryLimitError, match=r"^one byte more would need about .* \(%d bytes\)" % (value + 1)):
        check_bytes(value + 1, "one byte more")


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "nan", "1X", "inf"])
def test_a_bad_limit_is_named(monkeypatch, text):
    monkeypatch.setenv("FEM_NN_MAX_BYTES", text)
    with pytest.raises(ValueError, match="^FEM_NN_MAX_BYTES must be a positive number of bytes"):
        max_bytes()


def test_a_dense_kernel_form_counts_its_node_by_node_tabulation(monkeypatch):
    # 200 cubic cells with 7 Gauss points each: 1400 nodes, 800 dofs a width axis, 64 depth dofs.
    # Factored (the coefficients, 64 · 800² · 12 bytes, and their float32 copy per pass) about
    # 0.67 GB, under 900 MiB; with a dense tabulation (64 · 1400² · 4 bytes) 1.0 GB, over it
    from fem_nn import Axis

    monkeypatch.setenv("FEM_NN_MAX_BYTES", "900M")
    cubic = uniform_axis((-1.0, 1.0), 200, "legendre", 3)
    width = Axis(cubic.breakpoints, "legendre", 3, cubic.quadrature, 7)
    depth = uniform_axis((0.0, 1.0), 63, "lagrange", 1)
    meshes = weight_mesh(width, depth), bias_mesh(width, depth)
    message, peak = refused(lambda: ContinuumNetwork(*meshes, kernel_form="dense"))
    assert "a continuum network on the weight mesh (800, 800, 64) would need about 962.8 MiB" in message
    assert "more than the limit FEM_NN_MAX_BYTES = 900.0 MiB" in message and peak < PEAK
    from fem_nn.limits import network_bytes

    dense, factored = (network_bytes(*meshes, kernel_form=form) for form in ("dense", "factored"))
    assert dense - factored == 64 * (1400**2 - 800**2) * 4 and network_bytes(*meshes) == factored
