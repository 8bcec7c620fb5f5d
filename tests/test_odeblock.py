"""OdeBlock: any torch module's parameters as depth fields. A P0 + Euler block is a plain
ResNet (both ways), nested depth changes keep the function, a linear unit matches a
hand-written Runge–Kutta loop, gradients, optimizer transfer and saving."""

import copy

import pytest
import torch

from fem_nn import Axis, uniform_axis
from fem_nn.odeblock import OdeBlock, Residual
from fem_nn.transfer import transfer_optimizer

D = torch.float64


class HandResidual(torch.nn.Module):  # the reference: written here, not the library's Residual
    def __init__(self, unit):
        super().__init__()
        self.f = unit

    def forward(self, h):
        return h + self.f(h)


def conv_unit(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.ReLU(), torch.nn.Conv2d(3, 3, 3, padding=1),
    ).to(D)


def mlp_unit(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 5)).to(D)


UNITS = {"conv": (conv_unit, (4, 3, 6, 6)), "mlp": (mlp_unit, (4, 5))}


def state(seed: int, shape) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D)


def depth_axis(family: str, order: int, cells: int = 3) -> Axis:
    return uniform_axis((0.0, 1.0), cells, family, order)


def smooth_block(family="lagrange", order=1, scheme="rk4", steps=3, cells=3) -> OdeBlock:
    """A block whose coefficients differ per dof (a field that varies in depth)."""
    unit = mlp_unit(0)
    axis = depth_axis(family, order, cells)
    coefficients = {name: torch.randn(axis.n_dofs, *p.shape, generator=torch.Generator().manual_seed(i), dtype=D) * 0.4
                    for i, (name, p) in enumerate(unit.named_parameters())}
    return OdeBlock(unit, axis, scheme=scheme, steps=steps, coefficients=coefficients)


@pytest.mark.parametrize("kind", UNITS)
def test_p0_euler_block_is_the_resnet_it_imports_and_exports(kind):
    make, shape = UNITS[kind]
    resnet = torch.nn.Sequential(*(HandResidual(make(seed)) for seed in range(4)))
    block = OdeBlock.from_resnet([r.f for r in resnet])
    assert (block.depth.n_cells, block.steps, block.rate, block.tableau.name) == (4, 4, 4.0, "euler")
    x = state(1, shape)
    for mode in ("eval", "train"):  # train: batch statistics, each cell's running statistics updated
        getattr(resnet, mode)(), getattr(block, mode)()
        assert torch.allclose(block(x), resnet(x), rtol=0, atol=1e-12), mode
    exported = block.to_resnet()
    assert isinstance(exported, torch.nn.Sequential) and all(isinstance(r, Residual) for r in exported)
    for cell, (ours, theirs) in enumerate(zip(exported, resnet)):
        theirs_state = theirs.f.state_dict()
        for name, value in ours.unit.state_dict().items():  # the running statistics too
            assert torch.equal(value, theirs_state[name]), (cell, name)
            assert torch.equal(value, block.get_parameter(block.names[name])[cell] if name in dict(ours.unit.named_parameters())
                               else block.get_buffer(block.names[name])[cell])
    for mode in ("eval", "train"):
        getattr(exported, mode)(), getattr(block, mode)()
        assert torch.allclose(exported(x), block(x), rtol=0, atol=1e-12), mode
    again = OdeBlock.from_resnet(list(exported)).eval()  # Residual blocks are unwrapped
    assert torch.allclose(again(x), block.eval()(x), rtol=0, atol=1e-12)


def test_a_unit_with_statistics_updates_only_its_cells_statistics():
    block = OdeBlock(conv_unit(0), depth=3, scheme="rk4", steps=3)  # every stage of step k inside cell k
    block.train()(state(0, (4, 3, 6, 6)))
    counts = block.get_buffer(block.names["1.num_batches_tracked"])
    assert counts.tolist() == [4, 4, 4]  # four stages per cell
    means = block.get_buffer(block.names["1.running_mean"])
    assert not torch.equal(means[0], means[1]) and not torch.equal(means[1], means[2])


@pytest.mark.parametrize("family, order", [("p0", 0), ("lagrange", 1), ("legendre", 2)])
@pytest.mark.parametrize("k", [2, 3])
def test_nested_depth_refinement_keeps_the_function_and_coarsening_undoes_it(family, order, k):
    block = smooth_block(family, order)
    x = state(2, (4, 5))
    fine = block.refined(k=k)
    assert fine.depth.n_cells == 3 * k and fine.steps == block.steps
    assert torch.allclose(fine(x), block(x), rtol=0, atol=1e-12)
    assert torch.allclose(block.refined(cells=[1])(x), block(x), rtol=0, atol=1e-12)
    back = fine.coarsened(k=k)
    for name, p in block.named_parameters():
        assert torch.allclose(back.get_parameter(name), p, rtol=0, atol=1e-13), name
    assert block.refined(k=k, steps="double").steps == k * block.steps


@pytest.mark.parametrize("family, order", [("p0", 0), ("lagrange", 1)])
def test_p_elevation_keeps_the_function_and_lowering_undoes_it(family, order):
    block = smooth_block(family, order)
    x = state(3, (4, 5))
    high = block.elevated(2)
    assert high.depth.orders.tolist() == [order + 2] * 3
    assert torch.allclose(high(x), block(x), rtol=0, atol=1e-12)
    back = high.lowered(2)
    for name, p in block.named_parameters():
        assert torch.allclose(back.get_parameter(name), p, rtol=0, atol=1e-13), name


def test_a_linear_unit_matches_a_hand_written_rk4_loop():
    """R(h) = A(δ) h with A linear in δ (P1 depth, one cell), rate 0.7, rk4 in 3 steps."""
    a0, a1 = state(4, (4, 4)) * 0.5, state(5, (4, 4)) * 0.5
    unit = torch.nn.Linear(4, 4, bias=False).to(D)
    block = OdeBlock(unit, uniform_axis((0.0, 1.0), 1, "lagrange", 1), scheme="rk4", steps=3, rate=0.7,
                     coefficients={"weight": torch.stack([a0, a1])})
    h = state(6, (2, 4))
    x = h.clone()

    def slope(t, v):
        return 0.7 * v @ ((1 - t) * a0 + t * a1).T

    dt = 1 / 3
    for n in range(3):
        t = n * dt
        k1 = slope(t, x)
        k2 = slope(t + dt / 2, x + dt / 2 * k1)
        k3 = slope(t + dt / 2, x + dt / 2 * k2)
        k4 = slope(t + dt, x + dt * k3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    assert torch.allclose(block(h), x, rtol=0, atol=1e-12)
    # re-manifested: the same field by Heun in 5 steps, against the same loop
    heun, x = block.replaced(scheme="heun", steps=5), h.clone()
    for n in range(5):
        t, dt = n / 5, 1 / 5
        k1 = slope(t, x)
        k2 = slope(t + dt, x + dt * k1)
        x = x + dt / 2 * (k1 + k2)
    assert torch.allclose(heun(h), x, rtol=0, atol=1e-12)


def test_gradients_flow_and_every_gradient_mode_agrees():
    block = smooth_block("lagrange", 1, steps=2, cells=2)
    names = [name for name, _ in block.named_parameters()]
    x = state(7, (2, 5)).requires_grad_()

    def run(x, *params):
        return torch.func.functional_call(block, dict(zip(names, params)), (x,))

    assert torch.autograd.gradcheck(run, (x, *(p.detach().clone().requires_grad_() for p in block.parameters())))

    def gradients(block, mode):
        block.zero_grad()
        block(x, gradient=mode).square().sum().backward()
        return [p.grad.clone() for p in block.parameters()]

    for mode in ("checkpoint", "discrete"):
        for g, b in zip(gradients(block, mode), gradients(block, "backprop")):
            assert torch.allclose(g, b, rtol=0, atol=1e-12), mode

    def adjoint_gap(block):  # the exact flow's gradient: off by the scheme's error
        return max((g - b).abs().max().item() for g, b in zip(gradients(block, "adjoint"), gradients(block, "backprop")))

    assert adjoint_gap(block.replaced(steps=16)) < adjoint_gap(block) / 100  # rk4: fourth order


def test_momentum_moves_with_the_depth_fields():
    """SGD with lr 0: the momentum buffer is the gradient. A nested refinement computes the
    same function, so the fine gradient coarsened by the transfer is the coarse gradient;
    refining then coarsening gives the momentum back; Adam's exp_avg of a bisected P0 cell
    halves."""
    coarse = smooth_block("p0", 0)
    fine = coarse.refined()
    x = state(8, (4, 5))
    sgd = torch.optim.SGD(fine.parameters(), lr=0.0, momentum=0.9)
    fine(x).square().sum().backward()
    sgd.step()
    moved = transfer_optimizer(sgd, fine, coarse)
    coarse(x).square().sum().backward()
    for p in coarse.parameters():
        assert torch.allclose(moved.state[p]["momentum_buffer"], p.grad, rtol=0, atol=1e-12)
    back = transfer_optimizer(transfer_optimizer(moved, coarse, fine), fine, coarse)
    for p in coarse.parameters():
        assert torch.allclose(back.state[p]["momentum_buffer"], moved.state[p]["momentum_buffer"], rtol=0, atol=1e-12)

    adam = torch.optim.Adam(coarse.parameters(), lr=1e-3)
    coarse(x).sum().backward()
    adam.step()
    refined = coarse.refined()
    state_fine = transfer_optimizer(adam, coarse, refined).state
    for p, q in zip(coarse.parameters(), refined.parameters()):
        m = adam.state[p]["exp_avg"]
        assert torch.allclose(state_fine[q]["exp_avg"][0::2], m / 2, rtol=0, atol=1e-15)
        assert torch.allclose(state_fine[q]["exp_avg"][1::2], m / 2, rtol=0, atol=1e-15)


def test_save_and_load_round_trip(tmp_path):
    block = OdeBlock(conv_unit(0), depth_axis("lagrange", 1, 2), scheme="rk4_38", steps=3, rate=0.5)
    block.train()(state(9, (2, 3, 6, 6)))  # statistics that are not the initial ones
    path = tmp_path / "block.pt"
    torch.save({"config": block.config(), "state": block.state_dict()}, path)
    saved = torch.load(path, weights_only=True)
    again = OdeBlock.from_config(conv_unit(1), saved["config"], saved["state"])
    x = state(10, (2, 3, 6, 6))
    assert torch.equal(again.eval()(x), block.eval()(x))
    assert again.config() == block.config()


def test_re_manifestation_is_immutable_and_keeps_settings():
    block = smooth_block("lagrange", 1)
    before = {n: p.detach().clone() for n, p in block.named_parameters()}
    other = block.replaced(depth=block.depth.refined(), scheme="euler", steps=12, rate=2.0)
    assert (other.tableau.name, other.steps, other.rate) == ("euler", 12, 2.0)
    assert all(torch.equal(p, before[n]) for n, p in block.named_parameters())
    assert all(p.dtype == D for p in other.parameters())


def test_bad_input_is_refused_with_the_argument_named():
    with pytest.raises(TypeError, match="unit"):
        OdeBlock(lambda h: h)
    with pytest.raises(ValueError, match="depth"):
        OdeBlock(mlp_unit(0), uniform_axis((-1.0, 1.0), 2, "p0", 0))
    with pytest.raises(ValueError, match="coefficients"):
        OdeBlock(mlp_unit(0), 2, coefficients={"0.weight": torch.zeros(3, 7, 5)})
    with pytest.raises(ValueError, match="gradient"):
        OdeBlock(mlp_unit(0), gradient="magic")
    with pytest.raises(ValueError, match="to_resnet"):
        OdeBlock(mlp_unit(0), 2, scheme="rk4").to_resnet()
    with pytest.raises(ValueError, match="twice"):
        OdeBlock(conv_unit(0), 2).train()(state(0, (2, 3, 6, 6)), gradient="checkpoint")
    with pytest.raises(ValueError, match="slope of the state's shape"):
        OdeBlock(torch.nn.Linear(5, 3).to(D))(state(0, (2, 5)))
    with pytest.raises(ValueError, match="units"):
        OdeBlock.from_resnet([mlp_unit(0), torch.nn.Linear(5, 5)])
    copy.deepcopy(OdeBlock(mlp_unit(0)))  # a block copies (the template has no storage)
