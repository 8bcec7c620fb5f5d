"""MG/OPT: the transfers, first-order coherence, and the V-cycle's descent."""

import numpy as np
import pytest
import torch

from fem_nn import ContinuumNetwork, Mesh, Projector, bias_mesh, uniform_axis, weight_mesh
from fem_nn.mgopt import MGOpt
from fem_nn.transfer import MeshTransfer


def network(depth_cells, steps, width_family="legendre", seed=0):
    width = uniform_axis((-1, 1), 4, width_family, 2)
    depth = uniform_axis((0, 1), depth_cells, "legendre", 1)
    net = ContinuumNetwork(
        weight_mesh(width, depth), bias_mesh(width, depth), steps=steps, dtype=torch.float64,
        output_mesh=Mesh([uniform_axis((-1, 1), 3, "p0", 0)]),
    )
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return net


def data(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(24, 6, generator=g, dtype=torch.float64), torch.rand(24, 3, generator=g, dtype=torch.float64)


def test_mesh_transfer_equals_projector_and_its_transpose_is_the_adjoint():
    coarse = weight_mesh(uniform_axis((-1, 1), 3, "lagrange", 2), uniform_axis((0, 1), 2, "legendre", 1))
    fine = coarse.refined("delta", k=3).refined("xi")
    rng = np.random.default_rng(0)
    u, w = rng.random(coarse.shape), rng.random(fine.shape)
    prolong = MeshTransfer(fine, coarse)
    pu = prolong(torch.as_tensor(u))
    assert np.allclose(pu.numpy(), Projector(fine, coarse)(u), rtol=0, atol=1e-13)
    lhs = float((pu * torch.as_tensor(w)).sum())
    rhs = float((torch.as_tensor(u) * prolong(torch.as_tensor(w), transpose=True)).sum())
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs)


def test_coherence_corrected_coarse_gradient_is_the_fine_gradient_through_prolongation():
    """At x_h = P y (nested, so R x_h = y), the corrected coarse objective's gradient equals
    ∂/∂y f_h(P y), computed independently by autograd through the prolongation."""
    fine, coarse = network(4, 4), network(2, 2, seed=3)
    x, y = data()

    def loss(net):
        return torch.nn.functional.mse_loss(net(x), y)

    assert_coherent(MGOpt([fine, coarse], loss, learning_rates=0.1), loss)


def assert_coherent(mg, loss):
    """Set the fine level to P y for the coarse level's y, then check the restriction and
    the corrected coarse gradient against autograd through P."""
    fine, coarse = mg.levels[:2]
    start = {n: p.detach().clone().requires_grad_(True) for n, p in coarse.named_parameters()}
    prolonged = {n: mg._transfer(mg.prolongations[0], n, start[n]) for n in start}
    through_p = torch.autograd.grad(loss_of(fine, prolonged, loss), list(start.values()))
    with torch.no_grad():
        for n, p in fine.named_parameters():
            p.copy_(prolonged[n])
    shift = mg.coarse_correction(0)
    for n, p in coarse.named_parameters():  # the restriction gave back y
        assert torch.allclose(p, start[n], rtol=0, atol=1e-13)
    gradient = torch.autograd.grad(mg._objective(1, shift), list(coarse.parameters()))
    for g, reference in zip(gradient, through_p):
        assert torch.linalg.norm(g - reference) <= 1e-8 * torch.linalg.norm(reference) + 1e-15


def loss_of(net, parameters, loss):
    return loss(lambda x: torch.func.functional_call(net, parameters, (x,)))


def test_v_cycles_never_increase_the_loss_and_beat_plain_descent_at_equal_fine_gradients():
    x, y = data()

    def loss(net):
        return torch.nn.functional.mse_loss(net(x), y)

    levels = [network(4, 4), network(2, 2), network(1, 1)]
    mg = MGOpt(levels, loss, 1.0, pre_smoothing=1, post_smoothing=2)
    losses = [loss(levels[0]).item()] + [mg.cycle() for _ in range(5)]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))
    assert mg.fine_gradients == 5 * (1 + 1 + 2)

    plain = network(4, 4)
    for _ in range(mg.fine_gradients):
        gradient = torch.autograd.grad(loss(plain), list(plain.parameters()))
        with torch.no_grad():
            for p, g in zip(plain.parameters(), gradient):
                p.sub_(1.0 * g)
    assert losses[-1] < 0.95 * loss(plain).item()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(levels="one"), "levels"),
        (dict(learning_rates=[0.1]), "learning_rates"),
        (dict(learning_rates=-1.0), "learning_rates"),
        (dict(coarse_steps=0), "coarse_steps"),
        (dict(loss=3), "loss"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    arguments = dict(levels=[network(2, 2), network(1, 1)], loss=lambda net: net(data()[0]).sum(), learning_rates=0.1)
    arguments.update(kwargs)
    with pytest.raises((TypeError, ValueError), match=match):
        MGOpt(**arguments)


def test_levels_with_other_right_hand_sides_are_refused():
    two_layer = ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="two_layer")
    with pytest.raises(ValueError, match=r"levels\[1\]"):
        MGOpt([network(2, 2), two_layer], lambda net: net(data()[0]).sum(), 0.1)


def test_levels_of_ode_blocks_keep_the_coherence_and_descend():
    """A ContinuousNet classifier's stages on 4 and 2 Legendre P1 depth cells (stem, stitch and
    head copied between levels): the corrected coarse gradient is the fine gradient through P,
    and a V-cycle lowers the loss."""
    from fem_nn.models import ContinuousNetClassifier

    def model(cells, steps, seed):
        depth = uniform_axis((0, 1), cells, "legendre", 1)
        return ContinuousNetClassifier(channels=(3, 4), depth=depth, steps=steps, dtype=torch.float64, seed=seed)

    fine, coarse = model(4, 4, 0), model(2, 2, 3)
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 10, (6,), generator=g)

    def loss(net):
        return torch.nn.functional.cross_entropy(net(x), y)

    mg = MGOpt([fine, coarse], loss, learning_rates=0.1)
    meshed = fine.parameter_meshes()
    assert set(mg.prolongations[0]) == set(meshed) and any(n not in meshed for n, _ in fine.named_parameters())
    assert_coherent(mg, loss)
    before = float(loss(fine).detach())
    assert mg.cycle() < before
    with pytest.raises(ValueError, match="models with parameter_meshes"):
        MGOpt([fine, torch.nn.Linear(2, 2)], loss, 0.1)
