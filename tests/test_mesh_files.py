"""Mesh files: round trips, bundled meshes, malformed files rejected, atomic writes."""

import json
import os

import numpy as np
import pytest
from conftest import random_mesh

from fem_nn import Axis, Family, Mesh, bundled_mesh, bundled_meshes, load_mesh, save_mesh


def test_bundled_meshes():
    assert {"default", "resnet_16x8", "graded_hp"} <= set(bundled_meshes())
    resnet = bundled_mesh("resnet_16x8")
    assert resnet.shape == (16, 16, 8) and all(a.family is Family.P0 for a in resnet.axes)
    graded = bundled_mesh("graded_hp").axes[2]
    assert np.all(np.diff(graded.widths) >= 0) and graded.widths[-1] == 8 * graded.widths[0]
    assert len(set(graded.orders.tolist())) > 1
    with pytest.raises(ValueError, match="name must be one of the bundled meshes"):
        bundled_mesh("nope")


@pytest.mark.parametrize("name", ["default", "resnet_16x8", "graded_hp"])
def test_round_trip_of_bundled_meshes(tmp_path, name):
    mesh = bundled_mesh(name)
    save_mesh(mesh, tmp_path / "m.json", description="copy")
    assert load_mesh(tmp_path / "m.json") == mesh


@pytest.mark.parametrize("family", list(Family))
def test_round_trip_of_random_hp_meshes(tmp_path, rng, family):
    for dim in (1, 2, 3):
        mesh = random_mesh(rng, dim, family)
        save_mesh(mesh, tmp_path / "m.json")
        loaded = load_mesh(tmp_path / "m.json")
        assert loaded == mesh and loaded.names == mesh.names


def test_hand_written_file(tmp_path):
    path = tmp_path / "hand.json"
    path.write_text(json.dumps({"fem_nn_mesh": 1, "axes": [
        {"interval": [-1, 1], "cells": 4, "family": "legendre", "order": [1, 2, 3, 2]},
        {"name": "depth", "breakpoints": [0, 0.25, 1], "family": "p0", "order": 0, "quadrature": "gauss_lobatto", "quadrature_points": 3}]}))
    mesh = load_mesh(path)
    assert mesh.names == ("xi", "depth") and mesh.shape == (12, 2)
    assert mesh.axes[1].quadrature_rule.n_points == 3


VALID = {"fem_nn_mesh": 1, "axes": [{"name": "xi", "interval": [-1, 1], "cells": 4, "family": "lagrange", "order": 1}]}


def with_axis(**changes):
    axis = dict(VALID["axes"][0], **changes)
    return {"fem_nn_mesh": 1, "axes": [{k: v for k, v in axis.items() if v is not None}]}


@pytest.mark.parametrize(
    "content,match",
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"axes": []}', 'expected "fem_nn_mesh": 1'),
        (json.dumps(dict(VALID, fem_nn_mesh=2)), 'expected "fem_nn_mesh": 1'),
        (json.dumps(dict(VALID, extra=1)), "unknown keys \\['extra'\\]"),
        (json.dumps(dict(VALID, __class__="os.system")), "unknown keys"),
        (json.dumps({"fem_nn_mesh": 1, "axes": []}), "'axes' must be a list of 1 to 3"),
        (json.dumps({"fem_nn_mesh": 1, "axes": [VALID["axes"][0]] * 4}), "'axes' must be a list of 1 to 3"),
        (json.dumps(with_axis(colour="red")), "axes\\[0\\]: unknown keys \\['colour'\\]"),
        (json.dumps(with_axis(family=None)), "axes\\[0\\]: missing key 'family'"),
        (json.dumps(with_axis(order=None)), "axes\\[0\\]: missing key 'order'"),
        (json.dumps(with_axis(breakpoints=[-1, 1])), "either 'breakpoints' or both"),
        (json.dumps(with_axis(cells=0)), "axes\\[0\\].cells: expected an integer in"),
        (json.dumps(with_axis(cells=-3)), "axes\\[0\\].cells: expected an integer in"),
        (json.dumps(with_axis(cells=10**9)), "axes\\[0\\].cells: expected an integer in"),
        (json.dumps(with_axis(cells="8")), "axes\\[0\\].cells: expected an integer in"),
        (json.dumps(with_axis(cells=True)), "axes\\[0\\].cells: expected an integer in"),
        (json.dumps(with_axis(interval=[1])), "axes\\[0\\].interval: expected \\[a, b\\]"),
        (json.dumps(with_axis(interval=None, cells=None, breakpoints=[0, 2, 1])), "breakpoints must be strictly increasing"),
        (json.dumps(with_axis(order=0)), "order must be >= 1 for family 'lagrange'"),
        (json.dumps(with_axis(name=3)), "axes\\[0\\].name: expected a string"),
        (json.dumps(with_axis(family="spline")), "family must be one of"),
    ],
)
def test_malformed_files(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as error:
        load_mesh(path)
    assert "bad.json" in str(error.value)


def test_truncated_and_binary_files(tmp_path):
    text = json.dumps(VALID, indent=2)
    path = tmp_path / "cut.json"
    for cut in (1, len(text) // 3, len(text) // 2, len(text) - 2):
        path.write_text(text[:cut])
        with pytest.raises(ValueError, match="cut.json: not valid JSON"):
            load_mesh(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        load_mesh(path)


def test_an_interrupted_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "mesh.json"
    save_mesh(bundled_mesh("default"), path)
    before = path.read_bytes()

    def fail(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_mesh(bundled_mesh("resnet_16x8"), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.json"]  # no temporary left


def test_saving_into_a_missing_folder_creates_nothing(tmp_path):
    with pytest.raises(OSError):
        save_mesh(bundled_mesh("default"), tmp_path / "missing" / "m.json")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match="mesh must be a Mesh"):
        save_mesh(Axis([0, 1]), tmp_path / "m.json")
