"""The hyperbolic ConvNet (issue 14): the seed's symmetry group, exactly; the depth continuum.

Symmetry checks run in float64 on random inputs with random batch-norm statistics. The
transforms a group refuses are applied here by a hand-written reference (``by_hand``) to show
that they do change the output: the group is exactly the one the seed names.
"""

import json
import math

import pytest
import torch

from fem_nn.hyperbolic import HyperbolicConvNet, UnitSettings, fused, hyperbolic_unit, transformed
from fem_nn.hyperbolic.compression import canonical_form, compressed, mixing_weights
from fem_nn.hyperbolic.network import PLACEMENTS
from fem_nn.hyperbolic.symmetry import stream_maps
from fem_nn.checkpoint import load_checkpoint, save_checkpoint
from fem_nn.convergence import convergence_test
from fem_nn.mesh import DEPTH_INTERVAL, uniform_axis
from fem_nn.odeblock import OdeBlock
from fem_nn.rates import fitted_rate
from fem_nn.transfer import transfer_optimizer

VARIANTS = ("eq3", "eq4", "eq5", "eq6", "eq7")
F64 = torch.float64


def model_of(variant="eq3", activation="identity", placement="downsampling", seed=0, **settings):
    settings = {"channels": (4, 6), "dtype": F64, **settings}
    model = HyperbolicConvNet(variant=variant, activation=activation, placement=placement, seed=seed, **settings)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # statistics and affine maps away from their initial values
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator, dtype=F64))
                module.running_var.copy_(torch.rand(module.num_features, generator=generator, dtype=F64) + 0.5)
                module.weight.copy_(torch.randn(module.num_features, generator=generator, dtype=F64))
                module.bias.copy_(torch.randn(module.num_features, generator=generator, dtype=F64))
        for block in model.modules():
            if isinstance(block, OdeBlock):  # statistics fields: one set per depth dof
                for name, buffer in block.named_buffers():
                    if name.endswith("running_var"):
                        buffer.copy_(torch.rand(buffer.shape, generator=generator, dtype=F64) + 0.5)
                    elif name.endswith("running_mean"):
                        buffer.copy_(torch.randn(buffer.shape, generator=generator, dtype=F64))
    return model.eval()


def images(scale=1.0, n=5, size=8, seed=3):
    return scale * torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(seed), dtype=F64)


def relative(a, b):
    return float((a - b).detach().abs().max() / b.detach().abs().max())


def orthogonal(n, seed=0):
    return torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=F64))[0]


def general_linear(n, seed=0):
    T = torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return T + 2 * torch.eye(n, dtype=F64)


def by_hand(model, stage, T):
    """T applied to stage `stage`'s stream without any group check: every writer's stream
    index multiplied by T, every reader's by T⁻¹ (an independent reference)."""
    model = fused(model)
    params = dict(model.named_parameters())
    inverse = torch.linalg.inv(T)
    with torch.no_grad():
        for name, kind, dim in stream_maps(model, stage):
            w = params[name].movedim(dim, -1)
            new = w @ T.T if kind == "writer" else w @ inverse
            params[name].copy_(new.movedim(-1, dim))
    return model


# --- the group -------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_identity_activations_admit_all_of_gl(variant):
    model = model_of(variant)
    x = images()
    for stage, n in enumerate(model.channels):
        assert relative(transformed(model, stage, general_linear(n, stage))(x), model(x)) < 1e-10


@pytest.mark.parametrize("activation", ["hardball", "softball"])
@pytest.mark.parametrize("variant", ["eq3", "eq6"])
def test_balls_admit_o_n_and_refuse_the_rest_of_gl(variant, activation):
    model = model_of(variant, activation)
    x = images(scale=30.0)  # hardball clips: norms above √n at the stem already
    stem = model.stem_norm(model.stem(x))  # before the activation
    assert (torch.linalg.vector_norm(stem, dim=1) > 2.0).float().mean() > 0.5
    for stage, n in enumerate(model.channels):
        assert relative(transformed(model, stage, orthogonal(n, stage))(x), model(x)) < 1e-10
        T = general_linear(n, stage)
        with pytest.raises(ValueError, match=f"O\\(n\\).*{activation} activation on stage {stage}"):
            transformed(model, stage, T)
        assert relative(by_hand(model, stage, T)(x), model(x)) > 1e-3


def test_relu_admits_permutations_and_positive_scalings_only():
    model = model_of("eq3", "relu", placement="all")
    x = images()
    n = model.channels[1]
    permutation = torch.eye(n, dtype=F64)[torch.randperm(n, generator=torch.Generator().manual_seed(0))]
    scaled = permutation * torch.linspace(0.5, 2.0, n, dtype=F64)[:, None]
    assert relative(transformed(model, 1, scaled)(x), model(x)) < 1e-10
    for refused in (orthogonal(n), -permutation):
        with pytest.raises(ValueError, match="relu activation"):
            transformed(model, 1, refused)
        assert relative(by_hand(model, 1, refused)(x), model(x)) > 1e-3


def test_hardtanh_admits_signed_permutations_but_not_scalings():
    model = model_of("eq3", "hardtanh")
    x = images(scale=5.0)
    n = model.channels[0]
    signed = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=F64))[[2, 0, 3, 1]]
    assert relative(transformed(model, 0, signed)(x), model(x)) < 1e-10
    with pytest.raises(ValueError, match="signs ±1.*hardtanh"):
        transformed(model, 0, 2 * torch.eye(n, dtype=F64))
    assert relative(by_hand(model, 0, 2 * torch.eye(n, dtype=F64))(x), model(x)) > 1e-3


def test_a_transform_of_the_wrong_shape_or_singular_is_refused():
    model = model_of()
    with pytest.raises(ValueError, match=r"T must be a float tensor of shape \(4, 4\)"):
        transformed(model, 0, torch.eye(6, dtype=F64))
    with pytest.raises(ValueError, match="invertible"):
        transformed(model, 0, torch.zeros(4, 4, dtype=F64))
    with pytest.raises(ValueError, match=r"stage must be an int in \[0, 1\]"):
        transformed(model, 2, torch.eye(4, dtype=F64))


# --- batch norm ------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight_sharing", [True, False])
@pytest.mark.parametrize("variant", VARIANTS)
def test_fused_is_the_same_function_in_evaluation(variant, weight_sharing):
    model = model_of(variant, "softball", weight_sharing=weight_sharing)
    x = images()
    folded = fused(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert not list(folded.buffers())
    assert relative(folded(x), model(x)) < 1e-12


def test_a_strided_unit_reads_every_branch_at_its_output_resolution():
    for variant in VARIANTS:
        unit = hyperbolic_unit(variant, UnitSettings(3, 5, width=4, stride=2)).double()
        assert tuple(unit(images(n=2, size=8).expand(2, 3, 8, 8)).shape) == (2, 5, 4, 4)


# --- the optimizer state ---------------------------------------------------------------------------
def steps(model, optimizer, x, y, n=3):
    model.train()
    for _ in range(n):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()


def test_sgd_after_an_orthogonal_transform_takes_the_transformed_steps():
    model = model_of("eq3", "hardball", norm="none")
    x, y = images(scale=10.0, n=8), torch.arange(8) % 10
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    steps(model, optimizer, x, y)  # momentum built up
    T = orthogonal(model.channels[1])
    other, other_optimizer = transformed(model, 1, T, optimizer)
    steps(model, optimizer, x, y)
    steps(other, other_optimizer, x, y)
    assert relative(other(x), model(x)) < 1e-10


def test_adam_follows_a_signed_permutation_and_refuses_a_rotation():
    model = model_of("eq6", "hardtanh", norm="none")
    x, y = images(scale=3.0, n=8), torch.arange(8) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    steps(model, optimizer, x, y)
    signed = torch.diag(torch.tensor([-1.0, 1.0, 1.0, -1.0, 1.0, -1.0], dtype=F64))[[5, 3, 1, 0, 2, 4]]
    other, other_optimizer = transformed(model, 1, signed, optimizer)
    steps(model, optimizer, x, y)
    steps(other, other_optimizer, x, y)
    assert relative(other(x), model(x)) < 1e-10
    identity = model_of("eq3", "identity", norm="none")
    adam = torch.optim.Adam(identity.parameters())
    steps(identity, adam, x, y, n=1)
    with pytest.raises(ValueError, match="second moments.*monomial"):
        transformed(identity, 0, orthogonal(4), adam)


def test_an_optimizer_needs_a_model_without_norm():
    model = model_of()
    with pytest.raises(ValueError, match="norm='none'"):
        transformed(model, 0, torch.eye(4, dtype=F64), torch.optim.SGD(model.parameters(), lr=0.1))


# --- using the symmetry ----------------------------------------------------------------------------
@pytest.mark.parametrize("activation, zeros", [("identity", lambda n: n * n - n), ("softball", lambda n: n * (n - 1) // 2),
                                               ("relu", lambda n: 0)])
def test_compression_makes_the_zeros_its_group_allows_at_unchanged_outputs(activation, zeros):
    model = model_of("eq3", activation)
    x = images(scale=5.0)
    result = compressed(model)
    assert [made for _, made in result.per_stage] == [zeros(n) for n in model.channels]
    assert result.removed == sum(zeros(n) for n in model.channels)
    assert result.total == sum(w.numel() for w in mixing_weights(result.model).values())
    assert result.fraction <= result.bound < 1 / 9  # eq3, k = 4: at most (n² − 1) per (1 + 2k) n² of a block
    if activation != "identity":  # O(n) and the discrete groups: the choice reaches the bound
        assert result.fraction == pytest.approx(result.bound)
    assert relative(result.model(x), model(x)) < 1e-10


def test_canonical_form_makes_the_writers_rows_orthogonal():
    model = model_of("eq3", "softball")
    x = images()
    canonical, sigma = canonical_form(model, 1)
    assert relative(canonical(x), model(x)) < 1e-10
    params = dict(canonical.named_parameters())
    rows = torch.cat([params[name].movedim(dim, 0).reshape(6, -1)
                      for name, kind, dim in stream_maps(canonical, 1) if kind == "writer"], dim=1)
    gram = rows @ rows.T
    assert torch.allclose(gram, torch.diag(sigma ** 2), rtol=0, atol=1e-10 * float(sigma[0] ** 2))
    assert bool((sigma[:-1] >= sigma[1:]).all())


# --- the depth continuum ---------------------------------------------------------------------------
def test_euler_p0_is_exactly_the_discrete_stack_of_blocks():
    discrete = model_of("eq4", "identity", placement="all", depth=3)
    continuum = model_of("eq4", "identity", depth=3)
    continuum.load_state_dict({k: v for k, v in discrete.state_dict().items() if not k.startswith("stages.")},
                              strict=False)
    continuum.stages = torch.nn.ModuleList(OdeBlock.from_resnet([b.unit for b in stage]).eval()
                                           for stage in discrete.stages)
    assert [b.tableau.name for b in continuum.stages] == ["euler", "euler"]
    x = images()
    assert relative(continuum(x), discrete(x)) < 1e-12


@pytest.mark.parametrize("scheme", ["euler", "rk4"])
def test_nested_depth_refinement_keeps_the_function(scheme):
    model = model_of("eq3", "softball", scheme=scheme)
    x = images()
    refined = model.refined()
    assert [b.depth.n_cells for b in refined.stages] == [4, 4]
    assert relative(refined(x), model(x)) < 1e-12
    smooth = model_of("eq7", "identity", norm="none", depth=uniform_axis(DEPTH_INTERVAL, 2, "legendre", 2),
                      scheme=scheme, steps=4, rate=1.0)
    assert relative(smooth.refined()(x), smooth(x)) < 1e-12


def smooth_model():
    depth = uniform_axis(DEPTH_INTERVAL, 1, "legendre", 2)
    model = model_of("eq3", "identity", norm="none", depth=depth, rate=1.0, scheme="rk4", steps=512)
    with torch.no_grad():
        for block in model.stages:
            for name, _ in block.named_parameters():
                block.get_parameter(name).mul_(0.5)
    return model


def test_the_depth_integration_converges_at_each_scheme_s_order():
    model = smooth_model()
    x = images(n=3)
    reference = model(x)  # rk4, 512 steps
    with torch.no_grad():
        for scheme, order in [("euler", 1), ("heun", 2), ("rk4", 4)]:
            counts = [2, 4, 8, 16]
            errors = [float((model.replaced(scheme=scheme, steps=n)(x) - reference).abs().max()) for n in counts]
            assert math.isclose(fitted_rate(counts, errors, last=2), order, abs_tol=0.3), (scheme, errors)
    result = convergence_test(model, x, ["euler", "midpoint", "rk4"], [2, 4, 8, 16])  # fem_nn's own sweep
    assert [round(result.orders[s]) for s in ("euler", "midpoint", "rk4")] == [1, 2, 4]


def test_optimizer_state_moves_with_depth_refinement_and_back():
    model = model_of("eq3", "softball", norm="none", depth=2)
    x, y = images(n=8), torch.arange(8) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    steps(model, optimizer, x, y, n=2)
    refined = model.refined()
    moved = transfer_optimizer(optimizer, model, refined)
    lift = refined.get_parameter("stages.0.lift__weight")
    assert moved.state[lift]["exp_avg"].shape == lift.shape == (4, 4, 4, 1, 1)
    back = refined.coarsened()
    again = transfer_optimizer(moved, refined, back)
    for old, new in zip(model.parameters(), back.parameters()):
        assert torch.allclose(again.state[new]["exp_avg"], optimizer.state[old]["exp_avg"], rtol=0, atol=1e-12)
    assert relative(back(x), model(x)) < 1e-12  # coarsening after refining: the same network


def test_a_discrete_stage_has_no_depth_continuum():
    model = model_of(placement="all")
    with pytest.raises(ValueError, match="no depth continuum"):
        model.replaced(scheme="rk4")
    with pytest.raises(ValueError, match="depth must be a number of blocks"):
        HyperbolicConvNet(placement="all", depth=uniform_axis(DEPTH_INTERVAL, 2, "p0", 0))


@pytest.mark.parametrize("argument, value, message", [
    ("variant", "eq8", "variant must be one of"), ("activation", "swish", "unknown stream activation"),
    ("placement", "middle", "placement must be one of"), ("norm", "group", "norm must be one of"),
    ("channels", (), "channels must be a non-empty"), ("directions", 0, "directions"),
])
def test_bad_settings_fail_naming_the_argument(argument, value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        HyperbolicConvNet(**{argument: value})


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_config_and_state_rebuild_the_model(placement):
    model = model_of("eq4", "hardball", placement=placement, depth=3)
    if placement == "downsampling":
        model = model.replaced(depth=uniform_axis(DEPTH_INTERVAL, 2, "legendre", 1), scheme="rk4", steps=5)
    again = HyperbolicConvNet.from_config(json.loads(json.dumps(model.config())), model.state_dict()).eval()
    x = images()
    assert torch.equal(again(x), model(x))
    with pytest.raises(ValueError, match="config must be a dict with keys"):
        HyperbolicConvNet.from_config({**model.config(), "colour": "red"})


def test_a_checkpoint_keeps_the_model_its_statistics_and_its_optimizer(tmp_path):
    model = model_of("eq5", "softball", depth=uniform_axis(DEPTH_INTERVAL, 2, "p0", 0))
    x, y = images(n=8), torch.arange(8) % 10
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    steps(model, optimizer, x, y, n=2)  # statistics and moments away from their initial values
    save_checkpoint(tmp_path / "model.safetensors", model, optimizer, metadata={"epoch": 2})
    again, restored, metadata = load_checkpoint(tmp_path / "model.safetensors")
    assert type(again) is HyperbolicConvNet and metadata == {"epoch": 2}
    assert torch.equal(again.eval()(x), model(x))
    for old, new in zip(model.parameters(), again.parameters()):
        assert torch.equal(restored.state[new]["exp_avg_sq"], optimizer.state[old]["exp_avg_sq"])
    with pytest.raises(TypeError, match="network must be one of fem_nn's models"):
        save_checkpoint(tmp_path / "other.safetensors", torch.nn.Linear(2, 2))
