"""The core's registrations, done from a test only (no library file touched): a Butcher tableau
by name (register_tableau) and a shape family by name (register_family), each run through the
library — integration, a network, its frozen form and Numba backend, refinement, config and
checkpoint round trips, mass matrices and projection, a schedule — and unknown names refused
loudly."""

import numpy as np
import pytest
import torch
from numpy.polynomial import legendre as npleg

from fem_nn import (
    Axis, ButcherTableau, ContinuumNetwork, Family, Field, Manifestations, Mesh, NumbaNetwork, Schedule, Task, bias_mesh,
    contains, containing_families, integrate, mass_matrix, mesh_from_dict, mesh_to_dict, refined_network, register_family,
    register_tableau, run_schedule, tableau, tableau_names, uniform_axis, weight_mesh,
)
from fem_nn.checkpoint import load_checkpoint, save_checkpoint
from fem_nn.mesh import DEPTH_INTERVAL, WIDTH_INTERVAL
from fem_nn.tasks import TASKS, register_task

# Kutta's third-order scheme: in no built-in table
KUTTA3 = dict(a=[[0, 0, 0], [0.5, 0, 0], [-1, 2, 0]], b=[1 / 6, 2 / 3, 1 / 6], c=[0, 0.5, 1], order=3)


@pytest.fixture(scope="module")
def kutta3():
    return register_tableau(ButcherTableau(**KUTTA3, name="toy_kutta3"))


def hand_rk(f, h, t0, t1, steps, a, b, c):
    """The explicit Runge–Kutta loop written out, independent of fem_nn's stepping."""
    dt = (t1 - t0) / steps
    for n in range(steps):
        t = t0 + n * dt
        k = []
        for i in range(len(b)):
            k.append(f(t + c[i] * dt, h + dt * sum(a[i][j] * k[j] for j in range(i))))
        h = h + dt * sum(w * ki for w, ki in zip(b, k))
    return h


def test_a_registered_tableau_is_known_by_name(kutta3):
    assert tableau("toy_kutta3") is kutta3 and "toy_kutta3" in tableau_names()
    assert register_tableau(ButcherTableau(**KUTTA3, name="toy_kutta3")) is kutta3  # the same again: allowed

    def f(t, h):
        return np.cos(t) * h + np.sin(3 * t)

    h0 = np.array([1.0, -0.5, 2.0])
    ours = integrate(f, h0, 0.0, 2.0, 7, "toy_kutta3")
    reference = hand_rk(f, h0, 0.0, 2.0, 7, KUTTA3["a"], KUTTA3["b"], KUTTA3["c"])
    assert np.abs(ours - reference).max() <= 1e-12 * np.abs(reference).max()
    assert np.abs(ours - integrate(f, h0, 0.0, 2.0, 7, "rk4")).max() > 1e-6  # another scheme differs


def test_a_network_runs_a_registered_tableau(kutta3, tmp_path):
    torch.manual_seed(0)
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="toy_kutta3", steps=3, dtype=torch.float64)
    assert net.tableau is kutta3
    x = torch.rand(4, 16, dtype=torch.float64)
    y = net(x)
    # the same fields under the tableau object: bit for bit; under rk4: a different output
    twin = net.remanifested(scheme=ButcherTableau(**KUTTA3, name="unregistered"))
    assert torch.equal(twin(x), y)
    assert (net.remanifested(scheme="rk4")(x) - y).abs().max() > 1e-8
    assert torch.allclose(net.frozen(16)(x), y, rtol=1e-12, atol=1e-14)
    # the config and a checkpoint give the network back
    again = ContinuumNetwork.from_config(net.config(), {k: v.numpy() for k, v in net.state_dict().items()})
    assert torch.equal(again(x), y)
    save_checkpoint(tmp_path / "toy.safetensors", net)
    loaded, _, _ = load_checkpoint(tmp_path / "toy.safetensors")
    assert torch.equal(loaded(x), y)
    m = Manifestations(schemes=["toy_kutta3", "rk4"])
    assert m.schemes == ("toy_kutta3", "rk4")


def test_unknown_or_conflicting_tableaus_fail_loudly(kutta3):
    with pytest.raises(ValueError, match=r"scheme must be one of \['euler'.* or a registered one \[.*'toy_kutta3'.*got 'nope'"):
        tableau("nope")
    with pytest.raises(ValueError, match="scheme must be one of"):
        ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="nope")
    with pytest.raises(ValueError, match="scheme must be one of"):
        Manifestations(schemes=["nope"])
    with pytest.raises(ValueError, match="'toy_kutta3' is taken by a tableau with other coefficients"):
        register_tableau(ButcherTableau([[0, 0], [1, 0]], [0.5, 0.5], [0, 1], name="toy_kutta3", order=2))
    with pytest.raises(ValueError, match="'rk4' is taken"):
        register_tableau(ButcherTableau(**KUTTA3, name="rk4"))
    with pytest.raises(ValueError, match="needs a name"):
        register_tableau(ButcherTableau(**KUTTA3))
    with pytest.raises(TypeError, match="needs a ButcherTableau"):
        register_tableau("rk4")


# --- a shape family: the orthonormal Legendre basis, a second modal basis of Legendre's space


def orthonormal_legendre(order, x, n_derivatives):
    """√((2k+1)/2) P_k and its derivative, by numpy's Legendre module (not fem_nn's recurrence)."""
    values = np.empty((n_derivatives + 1, len(x), order + 1))
    for k in range(order + 1):
        coefficients = np.zeros(k + 1)
        coefficients[k] = np.sqrt((2 * k + 1) / 2)
        values[0, :, k] = npleg.legval(x, coefficients)
        if n_derivatives:
            values[1, :, k] = npleg.legval(x, npleg.legder(coefficients))
    return values


@pytest.fixture(scope="module")
def toy():
    family = Family("toy_orthonormal", basis=orthonormal_legendre, within=["lagrange_dg"], includes=["legendre"])
    return register_family(family)


def test_a_registered_family_is_known_by_name(toy):
    assert Family("toy_orthonormal") is toy and toy in list(Family)
    assert register_family(toy) is toy
    # the same definition run again (a reloaded module) gives the registered one back
    again = Family("toy_orthonormal", basis=orthonormal_legendre, within=["lagrange_dg"], includes=["legendre"])
    assert register_family(again) is toy
    # the relation: the same space as Legendre (and discontinuous Lagrange at orders >= 1)
    assert contains("toy_orthonormal", "lagrange") and contains("toy_orthonormal", "p0")
    assert contains("legendre", "toy_orthonormal") and contains("lagrange_dg", "toy_orthonormal")
    assert not contains("lagrange", "toy_orthonormal") and not contains("p0", "toy_orthonormal")
    assert toy in containing_families("lagrange")
    axis = Axis([-1.0, -0.2, 0.5, 1.0], "toy_orthonormal", [2, 0, 3])
    assert mesh_from_dict(mesh_to_dict(Mesh([axis]))) == Mesh([axis])  # a mesh file names it


def test_a_registered_family_assembles_and_projects_exactly(toy):
    axis = Axis([-1.0, -0.2, 0.5, 1.0], "toy_orthonormal", [2, 0, 3])
    # orthonormal on [-1, 1]: each cell's mass is (width / 2) times the identity, exactly
    expected = np.repeat(axis.widths / 2, axis.orders + 1)
    mass = mass_matrix(axis).toarray()
    assert np.abs(mass - np.diag(expected)).max() <= 1e-13
    # Legendre's space is the same: projecting there and back is the identity, values agree
    modal = Axis(axis.breakpoints, "legendre", axis.orders)
    assert axis.contains(modal) and modal.contains(axis)
    u = Field(axis, np.random.default_rng(1).uniform(-1, 1, axis.n_dofs))
    there = u.project(modal)
    x = np.linspace(-1, 1, 41)
    assert np.abs(there.evaluate(x) - u.evaluate(x)).max() <= 1e-12
    assert np.abs(there.project(axis).coefficients - u.coefficients).max() <= 1e-12


def test_a_network_runs_on_a_registered_family(toy):
    width = uniform_axis(WIDTH_INTERVAL, 3, "toy_orthonormal", 2)
    depth = uniform_axis(DEPTH_INTERVAL, 2, "p0", 0)
    torch.manual_seed(0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), steps=2, dtype=torch.float64)
    # the same fields on Legendre meshes compute the same function
    legendre = uniform_axis(WIDTH_INTERVAL, 3, "legendre", 2)
    fields = {name: field.project(weight_mesh(legendre, depth) if name == "weight" else bias_mesh(legendre, depth))
              for name, field in net.fields().items()}
    twin = ContinuumNetwork(fields["weight"].mesh, fields["bias"].mesh, steps=2, dtype=torch.float64,
                            weights={name: f.coefficients for name, f in fields.items()})
    x = torch.rand(3, 12, dtype=torch.float64)
    y = net(x)
    assert (y - twin(x)).abs().max() <= 1e-12 * y.abs().max()
    assert torch.allclose(net.frozen(12)(x), y, rtol=1e-12, atol=1e-14)
    again = ContinuumNetwork.from_config(net.config(), {k: v.numpy() for k, v in net.state_dict().items()})
    assert torch.equal(again(x), y)


def test_unknown_or_conflicting_families_fail_loudly(toy):
    with pytest.raises(ValueError, match=r"family must be one of 'p0', .* or a registered one \[.*'toy_orthonormal'.*got 'nope'"):
        Axis([0.0, 1.0], "nope", 1)
    with pytest.raises(ValueError, match="'toy_orthonormal' is taken by another family"):
        register_family(Family("toy_orthonormal", basis=orthonormal_legendre))
    with pytest.raises(ValueError, match="names an unknown family 'nope'"):
        register_family(Family("toy_other", basis=orthonormal_legendre, within=["nope"]))
    with pytest.raises(ValueError, match="family must be one of"):  # the refused one was not kept
        Family("toy_other")
    with pytest.raises(TypeError, match="needs a Family"):
        register_family("legendre")
    with pytest.raises(TypeError, match="'basis' must be callable"):
        Family("toy_bad", basis=None)
    bad = Family("toy_bad_shape", basis=lambda order, x, n: np.zeros((1, len(x), order)))  # an Axis takes it unregistered
    with pytest.raises(ValueError, match="toy_bad_shape.*returned shape"):
        Axis([0.0, 1.0], bad, 1).tabulate([0.5])


@pytest.fixture
def toy_task():
    def make() -> Task:
        x = torch.rand(48, 12, generator=torch.Generator().manual_seed(4))
        return Task("toy_flip", "regression", x[:32], x[:32].flip(1), x[32:], x[32:].flip(1), 12)

    register_task("toy_flip", make)
    yield
    del TASKS["toy_flip"]


def test_a_registered_tableau_and_family_run_through_numba_refinement_and_a_schedule(kutta3, toy, toy_task, tmp_path):
    width, depth = uniform_axis(WIDTH_INTERVAL, 3, "toy_orthonormal", 2), uniform_axis(DEPTH_INTERVAL, 2, "p0", 0)
    torch.manual_seed(0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), scheme="toy_kutta3", steps=2,
                           dtype=torch.float64)
    x = torch.rand(3, 12, dtype=torch.float64)
    with torch.no_grad():
        y = net(x)
        assert np.abs(NumbaNetwork(net)(x.numpy()) - y.numpy()).max() <= 1e-12 * y.abs().max()
        deeper = refined_network(net, "depth")  # nested P0 depth, steps kept: every stage reads the same field
        assert deeper.tableau is kutta3 and deeper.weight_mesh.axes[0].family is toy
        assert (deeper(x) - y).abs().max() <= 1e-12 * y.abs().max()
    network = {"width_cells": 2, "width_family": "toy_orthonormal", "width_order": 1, "depth_cells": 1,
               "depth_family": "p0", "depth_order": 0, "scheme": "toy_kutta3", "steps": 2}
    phases = [{"phase": "train", "epochs": 2}, {"phase": "elevate", "axis": "width"}, {"phase": "train", "epochs": 1}]
    schedule = Schedule.from_dict({"task": "toy_flip", "network": network, "phases": phases,
                                   "training": {"batch_size": 16, "manifestations": {"steps": [1]}}})
    assert [mesh.shape for mesh in schedule.check()] == [(4, 4, 1), (6, 6, 1), (6, 6, 1)]
    result = run_schedule(schedule, tmp_path / "run", progress=False)
    trained = result["network"]
    assert trained.tableau is kutta3 and trained.weight_mesh.axes[0].family is toy and trained.weight_mesh.shape == (6, 6, 1)
    losses = [row["loss"] for row in result["history"] if "loss" in row]
    assert len(losses) == 3 and np.isfinite(losses).all() and losses[1] < losses[0]
