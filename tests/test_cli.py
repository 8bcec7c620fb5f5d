"""``fem-nn mesh``, ``project``, ``export`` and ``plot``: files written, values kept, bad input refused."""

import argparse
import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from fem_nn import Field, bundled_mesh, load_mesh, save_mesh, weight_mesh
from fem_nn.cli import EXIT_BAD_INPUT, main


def run(*argv) -> int:
    return main([str(a) for a in argv])


def test_mesh_create_writes_the_asked_mesh(tmp_path):
    out = tmp_path / "bias.json"
    assert run("mesh", "create", out, "--kind", "bias", "--width-cells", 6, "--width-order", 2,
               "--depth-cells", 3, "--depth-family", "legendre", "--depth-order", 1, "--description", "note") == 0
    mesh = load_mesh(out)
    assert mesh.names == ("xi", "delta") and mesh.shape == (13, 6)
    np.testing.assert_allclose(mesh.axes[1].breakpoints, [0, 1 / 3, 2 / 3, 1], rtol=0, atol=1e-15)
    assert json.loads(out.read_text())["description"] == "note"


def test_mesh_inspect_prints_a_table_and_json(capsys):
    assert run("mesh", "inspect", "graded_hp") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["axis", "interval", "cells", "family", "orders", "quadrature", "dofs"]
    assert table[3].split()[:5] == ["delta", "[0,", "1]", "5", "legendre"] and "1,1,2,3,4" in table[3]
    assert run("mesh", "inspect", "graded_hp", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_dofs"] == bundled_mesh("graded_hp").n_dofs == int(np.prod(data["shape"]))


@pytest.mark.parametrize("operation, option, method", [
    ("refine", ["--k", "3", "--cells", "0", "2"], lambda m: m.refined("delta", cells=[0, 2], k=3)),
    ("coarsen", ["--k", "2"], lambda m: m.coarsened("delta", k=2)),
    ("elevate", ["--by", "2", "--cells", "1"], lambda m: m.elevated("delta", by=2, cells=[1])),
    ("lower", [], lambda m: m.lowered("delta", by=1)),
])
def test_mesh_operations_match_the_mesh_methods(tmp_path, operation, option, method):
    source = weight_mesh().elevated("delta", by=1)  # P1 in depth, so lowering has room
    save_mesh(tmp_path / "in.json", source)
    out = tmp_path / "out.json"
    assert run("mesh", operation, tmp_path / "in.json", out, "--axis", "delta", *option) == 0
    assert load_mesh(out) == method(source)


def test_mesh_operation_on_several_axes_and_a_bundled_mesh(tmp_path):
    out = tmp_path / "fine.json"
    assert run("mesh", "refine", "default", out, "--axis", "xi", "--axis", "eta") == 0
    assert load_mesh(out) == bundled_mesh("default").refined(["xi", "eta"])


def test_mesh_convert_to_json_normalizes_the_file(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"fem_nn_mesh": 1, "axes": [
        {"name": "xi", "interval": [-1, 1], "cells": 4, "family": "lagrange", "order": 2}]}))
    assert run("mesh", "convert", source, tmp_path / "out.json") == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["axes"][0]["breakpoints"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert load_mesh(tmp_path / "out.json") == load_mesh(source)


@pytest.mark.parametrize("argv, message", [
    (["mesh", "inspect", "no-such-mesh"], "MESH: no-such-mesh is neither a mesh file nor a bundled mesh"),
    (["mesh", "refine", "default", "{out}", "--axis", "zeta"], "axis must be one of"),
    (["mesh", "refine", "default", "{out}", "--cells", "99"], "cells"),
    (["mesh", "coarsen", "graded_hp", "{out}", "--axis", "delta", "--k", "2"], "k"),
    (["mesh", "lower", "default", "{out}", "--axis", "delta", "--by", "5"], "order"),
    (["mesh", "create", "{out}", "--width-family", "lagrange", "--width-order", "0"], "order"),
    (["mesh", "create", "{missing}/m.json"], "OUT: folder"),
    (["mesh", "convert", "default", "{folder}/m.txt"], "OUT: the suffix must be"),
])
def test_bad_mesh_commands_exit_2_and_write_nothing(tmp_path, capsys, argv, message):
    argv = [a.format(out=tmp_path / "out.json", missing=tmp_path / "missing", folder=tmp_path) for a in argv]
    assert main(argv) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_without_force(tmp_path, capsys):
    out = tmp_path / "out.json"
    out.write_text("keep me")
    assert run("mesh", "create", out) == EXIT_BAD_INPUT
    assert "pass --force" in capsys.readouterr().err and out.read_text() == "keep me"
    assert run("mesh", "create", out, "--force") == 0 and load_mesh(out) == weight_mesh()


def test_usage_errors_exit_2_and_every_command_has_help():
    for argv in (["mesh"], ["mesh", "create"], ["mesh", "refine", "default", "x.json", "--k", "0"], ["nope"]):
        with pytest.raises(SystemExit) as exit:
            main(argv)
        assert exit.value.code == EXIT_BAD_INPUT
    commands = [["demo"], ["train"], ["bench", "projection"], ["mesh", "create"], ["mesh", "inspect"],
                ["mesh", "refine"], ["mesh", "convert"], ["project"], ["export"], ["plot"]]
    for argv in commands:
        result = subprocess.run([sys.executable, "-m", "fem_nn.cli", *argv, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.startswith("usage: fem-nn"), argv


@pytest.fixture
def weight_file(tmp_path):
    from fem_nn import save_field

    field = Field.from_function(weight_mesh(), lambda x, y, d: np.sin(x) * y + d)
    save_field(tmp_path / "w.safetensors", field)
    return field, tmp_path / "w.safetensors"


def test_project_writes_the_l2_projection(tmp_path, weight_file, capsys):
    from fem_nn import load_field

    field, path = weight_file
    fine = weight_mesh().refined("delta").elevated(["xi", "eta"])
    save_mesh(tmp_path / "fine.json", fine)
    assert run("project", path, tmp_path / "fine.json", tmp_path / "out.safetensors") == 0
    projected = load_field(tmp_path / "out.safetensors")
    assert projected.mesh == fine
    np.testing.assert_allclose(projected.coefficients, field.project(fine).coefficients, rtol=0, atol=1e-15)
    assert float(capsys.readouterr().out.split("L2 distance ")[1].split(";")[0]) < 1e-13  # nested: exact


def test_export_a_field_and_a_checkpoint_parameter(tmp_path, weight_file):
    import meshio
    import torch

    from fem_nn import ContinuumNetwork, bias_mesh, load_field, save_checkpoint

    field, path = weight_file
    assert run("export", path, tmp_path / "w.vtu", "--points-per-cell", 3) == 0
    sampled = meshio.read(tmp_path / "w.vtu")
    inside = ~np.isin(sampled.points[:, 2], field.mesh.axes[2].breakpoints)  # P0 in depth: jumps on breakpoints
    assert inside.sum() == 8 * 8 * 4 * 9  # the cell midpoints in depth
    np.testing.assert_allclose(sampled.point_data["value"][inside], field.evaluate(sampled.points[inside]), rtol=0, atol=1e-12)
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    save_checkpoint(tmp_path / "net.safetensors", net)
    assert run("export", tmp_path / "net.safetensors", tmp_path / "b.safetensors", "--parameter", "bias") == 0
    np.testing.assert_array_equal(load_field(tmp_path / "b.safetensors").coefficients, net.bias.detach().numpy())


def test_mesh_convert_to_paraview_carries_the_orders(tmp_path):
    import meshio

    assert run("mesh", "convert", "graded_hp", tmp_path / "m.vtu") == 0
    cells = meshio.read(tmp_path / "m.vtu")
    mesh = bundled_mesh("graded_hp")
    orders = cells.cell_data["order_delta"][0].reshape(8, 8, 5)
    np.testing.assert_array_equal(orders[0, 0], mesh.axes[2].orders)


def test_plot_reads_meshes_fields_checkpoints_and_training_runs(tmp_path, weight_file):
    pytest.importorskip("matplotlib")
    import torch

    from fem_nn import ContinuumNetwork, bias_mesh, save_checkpoint

    _, path = weight_file
    save_checkpoint(tmp_path / "net.safetensors", ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.json").write_text(json.dumps({"history": [
        {"epoch": 1, "loss": 1.0}, {"epoch": 1, "event": "refine depth"}, {"epoch": 2, "loss": 0.5}]}))
    for source in ("default", path, tmp_path / "net.safetensors", tmp_path / "run"):
        out = tmp_path / "figure.png"
        assert run("plot", source, out, "--force") == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, message", [
    (["project", "{w}", "bias", "{folder}/o.safetensors"], "is neither a mesh file"),
    (["project", "{w}", "default", "{folder}/o.safetensors", "--parameter", "bias"], "--parameter"),
    (["export", "{w}", "{folder}/o.vtk"], "OUT: the suffix must be one of"),
    (["export", "{w}", "{folder}/o.vtu", "--points-per-cell", "1"], "points_per_cell"),
    (["export", "default", "{folder}/o.vtu"], "INPUT: default is a mesh"),
    (["plot", "{folder}/junk.safetensors", "{folder}/o.png"], "INPUT:"),
])
def test_bad_field_commands_exit_2_and_write_nothing(tmp_path, capsys, weight_file, argv, message):
    _, path = weight_file
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 40)
    before = sorted(tmp_path.iterdir())
    assert main([a.format(w=path, folder=tmp_path) for a in argv]) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == before


def test_export_and_project_of_a_two_layer_checkpoint_take_weight1_by_default(tmp_path):
    import torch

    from fem_nn import ContinuumNetwork, bias_mesh, load_field, save_checkpoint

    net = ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="two_layer", dtype=torch.float64)
    save_checkpoint(tmp_path / "net.safetensors", net)
    weight1 = net.weight1.detach().numpy()
    assert run("export", tmp_path / "net.safetensors", tmp_path / "w.safetensors") == 0
    np.testing.assert_array_equal(load_field(tmp_path / "w.safetensors").coefficients, weight1)
    fine = weight_mesh().refined("delta")
    save_mesh(tmp_path / "fine.json", fine)
    assert run("project", tmp_path / "net.safetensors", tmp_path / "fine.json", tmp_path / "p.safetensors") == 0
    expected = Field(weight_mesh(), weight1).project(fine).coefficients
    np.testing.assert_allclose(load_field(tmp_path / "p.safetensors").coefficients, expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("index, name", [("0", "xi"), ("1", "eta"), ("2", "delta"), ("-1", "delta")])
def test_mesh_axes_by_index_as_the_help_says(tmp_path, index, name):
    assert run("mesh", "refine", "default", tmp_path / "m.json", "--axis", index) == 0
    assert load_mesh(tmp_path / "m.json") == bundled_mesh("default").refined(name)


def test_project_writes_only_field_files(tmp_path, weight_file, capsys):
    _, path = weight_file
    assert run("project", path, "default", tmp_path / "p.vtu") == EXIT_BAD_INPUT
    assert "OUT: a field file ends in .safetensors, got p.vtu" in capsys.readouterr().err
    assert not (tmp_path / "p.vtu").exists()


@pytest.mark.parametrize("operation", ["refine", "coarsen", "elevate", "lower", "convert"])
def test_mesh_operations_keep_the_description(tmp_path, operation):
    source = tmp_path / "in.json"
    save_mesh(source, weight_mesh().elevated("xi"), description="my mesh.")
    axis = ["--axis", "xi"] if operation != "convert" else []
    assert run("mesh", operation, source, tmp_path / "out.json", *axis) == 0
    description = json.loads((tmp_path / "out.json").read_text())["description"]
    if operation == "convert":
        assert description == "my mesh."
    else:
        size = "k" if operation in ("refine", "coarsen") else "by"
        assert description.startswith("my mesh. Then: ") and f"{operation} --{size} " in description
    assert run("mesh", operation, "default", tmp_path / "b.json", *axis) == 0  # a bundled mesh's too
    bundled = json.loads((resources.files("fem_nn.meshes") / "default.json").read_text())["description"]
    assert json.loads((tmp_path / "b.json").read_text())["description"].startswith(bundled)


@pytest.mark.parametrize("failing", ["mkstemp", "replace"])
def test_a_failed_write_names_out_not_the_temporary_file(tmp_path, monkeypatch, capsys, failing):
    import os
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.json.abc123.tmp"))

    monkeypatch.setattr(tempfile if failing == "mkstemp" else os, failing, refuse)
    assert run("mesh", "create", tmp_path / "m.json") == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"cannot write {tmp_path / 'm.json'}: Permission denied" in err and ".tmp" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_dangling_symlink_out_is_replaced_only_with_force(tmp_path, capsys):
    import os

    out = tmp_path / "m.json"
    os.symlink(tmp_path / "nowhere.json", out)
    assert run("mesh", "create", out) == EXIT_BAD_INPUT
    assert "pass --force" in capsys.readouterr().err and out.is_symlink()
    assert run("mesh", "create", out, "--force") == 0
    assert not out.is_symlink() and load_mesh(out) == weight_mesh()


def test_help_is_plain_text_with_whole_sentences():
    from fem_nn.bench import BENCHMARKS
    from fem_nn.cli import build_parser

    parser = build_parser()
    texts = [parser.format_help()]
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    while actions:  # every (sub)command's help
        for name, sub in actions.pop().choices.items():
            texts.append(sub.format_help())
            actions += [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(texts) > 15 and not any("``" in t or ":func:" in t or ":class:" in t for t in texts)
    bench = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["bench"]
    helps = {c.dest: c.help for c in next(a for a in bench._actions if isinstance(a, argparse._SubParsersAction))._choices_actions}
    assert set(helps) == set(BENCHMARKS) and all(h.endswith(".") for h in helps.values()), helps


def test_events_at_one_epoch_share_one_label():
    plotting = pytest.importorskip("fem_nn.plotting")
    pytest.importorskip("matplotlib")
    history = [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}, {"epoch": 2, "event": "refine depth"},
               {"epoch": 2, "event": "adapt"}, {"epoch": 3, "loss": 0.2}, {"epoch": 3, "event": "coarsen depth"}]
    figure = plotting.plot_training(history)
    assert [t.get_text() for t in figure.axes[0].texts] == ["refine depth + adapt", "coarsen depth"]
    plotting.pyplot().close(figure)
