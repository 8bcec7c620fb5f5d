"""Depth fields for any torch module: ContinuousNet's OdeBlock.

A residual unit R(h; θ) — any ``torch.nn.Module`` mapping a state to a slope of its shape —
becomes a continuum in depth: each of its parameters is a field θ(δ) = Σ_k φ_k(δ) θ_k over a
depth :class:`~fem_nn.Axis` on [0, 1] (any family, per-cell order), and the block integrates

.. math:: \\partial h / \\partial \\delta = r \\, R(h; \\theta(\\delta)), \\qquad \\delta \\in [0, 1],

by :func:`~fem_nn.integrate` (any tableau, steps and gradient mode). Each stage reads the
fields at its depth as the width continuum does (:class:`~fem_nn.continuum.DepthLookup`,
:class:`~fem_nn.continuum.StageValues`): a stage on a depth-cell breakpoint takes the
one-sided value of the cell that holds its step. The unit is called through
``torch.func.functional_call`` with those values; its own tensors are never used.

Normalization statistics (a BatchNorm's running mean and variance, any buffer of the unit)
are depth fields too, one set per depth dof (StatefulOdeNets): a stage normalizes in
evaluation with the statistics field at its depth (Σ_k φ_k(δ) s_k), and in training updates
in place the statistics of the dof whose basis function is largest at its depth — for P0,
the cell that holds the stage, so each cell's statistics see exactly the stages in it.

With P0 depth on n cells, Euler, n steps and rate n the block is a ResNet of n residual
blocks ``h ← h + R(h; θ_k)`` (:meth:`OdeBlock.from_resnet`, :meth:`OdeBlock.to_resnet`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Iterator, Mapping

import numpy as np
import torch
from torch.func import functional_call

from . import _checks
from .continuum.depth import DepthLookup, StageValues
from .integrators import integrate
from .io import mesh_from_dict, mesh_to_dict
from .mesh import DEPTH_INTERVAL, Axis, Mesh, uniform_axis
from .refinement import _steps
from .tableaus import ButcherTableau, tableau, tableau_names
from .transfer import projected_coefficients

__all__ = ["OdeBlock", "ode_blocks", "Residual", "BlockSettings", "depth_axis", "manifested"]

_GRADIENTS = ("backprop", "checkpoint", "adjoint", "discrete")


class Residual(torch.nn.Module):
    """``h ↦ h + unit(h)``: one block of a plain ResNet (what :meth:`OdeBlock.to_resnet`
    returns a sequence of).

    Examples
    --------
    >>> block = Residual(torch.nn.Linear(2, 2, bias=False))
    >>> _ = block.unit.weight.data.zero_()
    >>> block(torch.ones(1, 2)).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, unit: torch.nn.Module):
        super().__init__()
        self.unit = unit

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.unit(h)


def depth_axis(depth) -> Axis:
    """`depth` as a depth axis: an Axis on [0, 1], or a number of P0 cells."""
    if isinstance(depth, Axis):
        if not np.allclose(depth.interval, DEPTH_INTERVAL, rtol=0, atol=1e-12):
            raise ValueError(f"depth must be an Axis on {DEPTH_INTERVAL}, got one on {depth.interval}")
        return depth
    if isinstance(depth, (int, np.integer)) and not isinstance(depth, bool):
        return uniform_axis(DEPTH_INTERVAL, _checks.integer(depth, "depth", 1), "p0", 0)
    raise TypeError(f"depth must be an Axis on {DEPTH_INTERVAL} or a number of P0 cells, got {type(depth).__name__}")


def _depth_mesh(axis: Axis) -> Mesh:
    return Mesh([axis], ("delta",))


def _safe(name: str) -> str:
    return name.replace(".", "__")


def _stack_checked(values: list, name: str, shape, what: str) -> torch.Tensor:
    if any(tuple(v.shape) != tuple(shape) for v in values):
        raise ValueError(f"{what}: {name!r} must have shape {tuple(shape)} in every unit, got "
                         f"{[tuple(v.shape) for v in values]}")
    return torch.stack([v.detach() for v in values])


@dataclasses.dataclass(frozen=True)
class BlockSettings:
    """What an :class:`OdeBlock` is manifested on, beside its coefficients (immutable: a
    change is a new block, :meth:`OdeBlock.replaced`)."""

    depth: Axis
    tableau: ButcherTableau
    steps: int
    rate: float
    gradient: str


class OdeBlock(torch.nn.Module):
    """A residual unit whose parameters (and buffers) are fields over depth, integrated over
    [0, 1] (see the module's description).

    Parameters
    ----------
    unit : torch.nn.Module
        R(h; θ): maps a state to a slope of the same shape. A template: its parameters and
        buffers give the fields' names, shapes and dtypes (and, unless `coefficients` are
        given, their value, constant in depth); later changes to `unit` do not reach the block.
    depth : Axis or int, default 1
        The depth axis on [0, 1] (any family, per-cell orders), or a number of P0 cells.
    scheme : str, Scheme or ButcherTableau, default "rk4"
    steps : int, optional
        Runge–Kutta steps over [0, 1]; default one per depth cell.
    rate : float, default 1.0
        The factor r of the right-hand side, a fixed setting (not trained).
    gradient : {"backprop", "checkpoint", "adjoint", "discrete"}, default "backprop"
        :func:`~fem_nn.integrate`'s gradient mode. Modes that recompute stages refuse to run
        a unit with buffers in training mode (its statistics would be updated twice).
    coefficients : mapping, optional
        Per unit parameter or buffer name, its depth coefficients ``(n_dofs, *shape)``;
        those not given are the constant field of the unit's value.

    Attributes
    ----------
    names : dict
        Unit parameter or buffer name → the block's parameter or buffer name (dots replaced).
    settings : BlockSettings
        The depth axis, tableau, steps, rate and gradient mode (also properties of the block).

    Examples
    --------
    >>> unit = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh()).double()
    >>> block = OdeBlock(unit, depth=4, scheme="euler", rate=4.0)
    >>> block.names, tuple(block.get_parameter("0__weight").shape)
    ({'0.weight': '0__weight', '0.bias': '0__bias'}, (4, 3, 3))
    >>> h = torch.ones(2, 3, dtype=torch.float64)
    >>> resnet = block.to_resnet()  # four copies of the unit: the same function
    >>> bool(torch.allclose(block(h), resnet(h), rtol=0, atol=1e-12))
    True
    """

    def __init__(self, unit: torch.nn.Module, depth: Axis | int = 1, *, scheme="rk4", steps: int | None = None,
                 rate: float = 1.0, gradient: str = "backprop", coefficients: Mapping | None = None):
        super().__init__()
        if not isinstance(unit, torch.nn.Module):
            raise TypeError(f"unit must be a torch.nn.Module, got {type(unit).__name__}")
        axis = depth_axis(depth)
        steps = axis.n_cells if steps is None else _checks.integer(steps, "steps", 1)
        if gradient not in _GRADIENTS:
            raise ValueError(f"gradient must be one of {list(_GRADIENTS)}, got {gradient!r}")
        self.settings = BlockSettings(axis, tableau(scheme), steps, _checks.real(rate, "rate"), gradient)
        if coefficients is not None and not isinstance(coefficients, Mapping):
            raise TypeError(f"coefficients must be a mapping of unit names to tensors, got {type(coefficients).__name__}")
        coefficients = dict(coefficients or {})
        tensors = {**dict(unit.named_parameters()), **dict(unit.named_buffers())}
        unknown = set(coefficients) - set(tensors)
        if unknown:
            raise ValueError(f"coefficients has unknown names {sorted(unknown)}; the unit has {sorted(tensors)}")
        self.names = {name: _safe(name) for name in tensors}
        if len(set(self.names.values())) != len(self.names):
            raise ValueError(f"unit names {sorted(tensors)} collide once dots are replaced by '__'")
        constant = _depth_mesh(uniform_axis(DEPTH_INTERVAL, 1, "p0", 0))
        for name, value in tensors.items():
            shape = (axis.n_dofs, *value.shape)
            if name in coefficients:
                given = coefficients[name]
                if not isinstance(given, torch.Tensor) or tuple(given.shape) != shape:
                    raise ValueError(f"coefficients[{name!r}] must be a tensor of shape {shape}, "
                                     f"got {getattr(given, 'shape', type(given).__name__)}")
                if given.is_floating_point() and not torch.isfinite(given).all():
                    raise ValueError(f"coefficients[{name!r}] must be finite (no NaN or inf)")
                field = given.detach().to(value.dtype, copy=True)
            elif value.is_floating_point():  # the constant field: its L2 projection, any family
                field = projected_coefficients(value.detach()[None], constant, self.depth_mesh)
            else:  # a counter (BatchNorm's num_batches_tracked): one per dof
                field = value.detach().expand(shape).clone()
            if isinstance(value, torch.nn.Parameter):
                self.register_parameter(self.names[name], torch.nn.Parameter(field, value.requires_grad))
            else:
                self.register_buffer(self.names[name], field)
        self._parameter_names = [name for name, _ in unit.named_parameters()]
        self._buffer_names = [name for name, _ in unit.named_buffers()]
        # the template, with no storage: it is always called with the fields' values
        object.__setattr__(self, "_unit", copy.deepcopy(unit).to("meta"))
        self._lookup = DepthLookup(axis)

    depth = property(lambda self: self.settings.depth, doc="The depth axis on [0, 1].")
    tableau = property(lambda self: self.settings.tableau, doc="The Runge–Kutta tableau.")
    steps = property(lambda self: self.settings.steps, doc="Runge–Kutta steps over [0, 1].")
    rate = property(lambda self: self.settings.rate, doc="The factor r of the right-hand side.")
    gradient = property(lambda self: self.settings.gradient, doc="The default gradient mode.")

    # --- the fields ------------------------------------------------------------------------
    @property
    def depth_mesh(self) -> Mesh:
        """The depth axis as a 1D :class:`~fem_nn.Mesh` (axis name "delta")."""
        return _depth_mesh(self.depth)

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The depth mesh of each coefficient parameter, by the block's parameter name (what
        :func:`~fem_nn.transfer.transfer_optimizer` moves the optimizer state on)."""
        return {self.names[name]: self.depth_mesh for name in self._parameter_names}

    def unit_values(self, dof: int) -> dict[str, torch.Tensor]:
        """The unit's parameters and buffers at depth dof `dof` (for P0, the cell's), by the
        unit's names: views of the coefficients."""
        return {name: getattr(self, safe)[dof] for name, safe in self.names.items()}

    # --- manifestations --------------------------------------------------------------------
    def replaced(self, depth: Axis | int | None = None, scheme=None, steps: int | None = None, rate: float | None = None,
                 gradient: str | None = None) -> "OdeBlock":
        """A new block with some settings replaced: on another depth axis (the coefficients
        L2-projected onto it; the statistics too, counters the largest), or
        with another scheme, step count, rate or gradient mode; the others carry over.

        Examples
        --------
        >>> block = OdeBlock(torch.nn.Linear(2, 2).double(), depth=2)
        >>> fine = block.replaced(depth=block.depth.refined())
        >>> h = torch.ones(1, 2, dtype=torch.float64)
        >>> fine.depth.n_cells, fine.steps, bool(torch.allclose(fine(h), block(h), rtol=0, atol=1e-12))
        (4, 2, True)
        """
        axis = self.depth if depth is None else depth_axis(depth)
        source, target, same = self.depth_mesh, _depth_mesh(axis), axis.same_space(self.depth)
        coefficients = {}
        for name, safe in self.names.items():
            value = getattr(self, safe).detach()
            if same:
                coefficients[name] = value.clone()
            elif value.is_floating_point():
                coefficients[name] = projected_coefficients(value, source, target)
            else:  # a counter: the largest, on every new dof
                coefficients[name] = value.amax(0).expand(axis.n_dofs, *value.shape[1:]).clone()
        template = self.unit_at(0)
        block = type(self)(
            template, axis, scheme=self.tableau if scheme is None else scheme, steps=self.steps if steps is None else steps,
            rate=self.rate if rate is None else rate, gradient=self.gradient if gradient is None else gradient,
            coefficients=coefficients,
        )
        return block.train(self.training)

    def refined(self, cells=None, k: int = 2, steps="keep") -> "OdeBlock":
        """h-refine the depth axis (:meth:`~fem_nn.Axis.refined`); `steps` "keep" (the nested
        fields then give the same function when every step lies in one cell), "double" (× k)
        or a number, as :func:`~fem_nn.refinement.refined_network` takes it."""
        return self.replaced(self.depth.refined(cells, k), steps=_steps(self, steps, "double", k))

    def coarsened(self, k: int = 2, steps="keep") -> "OdeBlock":
        """Merge every `k` depth cells; `steps` "keep", "halve" (÷ k) or a number
        (:func:`~fem_nn.refinement.coarsened_network`)."""
        k = _checks.integer(k, "k", 2)
        return self.replaced(self.depth.coarsened(k), steps=_steps(self, steps, "halve", 1 / k))

    def elevated(self, by: int = 1, cells=None) -> "OdeBlock":
        """p-refine the depth axis: the same fields in a larger space."""
        return self.replaced(self.depth.elevated(by, cells))

    def lowered(self, by: int = 1, cells=None) -> "OdeBlock":
        """The L2 projection onto lower depth orders: the inverse of :meth:`elevated`."""
        return self.replaced(self.depth.lowered(by, cells))

    @classmethod
    def drawn(cls, make_unit, depth: Axis | int = 1, **settings) -> "OdeBlock":
        """A block whose parameters at each depth dof are an independent draw of the unit's
        own initialization (``make_unit()`` called once per dof, and once for the template):
        for P0 depth, a ResNet's initialization. `settings` as :class:`OdeBlock` takes them.

        Examples
        --------
        >>> block = OdeBlock.drawn(lambda: torch.nn.Linear(2, 2), depth=3)
        >>> weight = block.get_parameter("weight")
        >>> tuple(weight.shape), bool((weight[0] != weight[1]).all())
        ((3, 2, 2), True)
        """
        template = make_unit()
        n_dofs = depth_axis(depth).n_dofs
        draws = [dict(make_unit().named_parameters()) for _ in range(n_dofs)]
        coefficients = {name: torch.stack([d[name].detach() for d in draws]) for name, _ in template.named_parameters()}
        return cls(template, depth, coefficients=coefficients, **settings)

    # --- plain ResNets ---------------------------------------------------------------------
    @classmethod
    def from_resnet(cls, units, scheme="euler", steps: int | None = None, gradient: str = "backprop") -> "OdeBlock":
        """The block of a ResNet ``h ← h + R_k(h)``, k = 1…n: P0 depth on n cells whose cell k
        holds unit k's parameters and buffers, rate n; with Euler and n steps (the default)
        exactly the ResNet. `units`: the residual units (or :class:`Residual` blocks), all of
        one structure; the first is the template.

        Examples
        --------
        >>> units = [torch.nn.Linear(2, 2).double() for _ in range(3)]
        >>> block = OdeBlock.from_resnet(units)
        >>> h = torch.ones(1, 2, dtype=torch.float64)
        >>> expected = h + units[0](h); expected = expected + units[1](expected); expected = expected + units[2](expected)
        >>> bool(torch.allclose(block(h), expected, rtol=0, atol=1e-12))
        True
        """
        if isinstance(units, torch.nn.Module) and not isinstance(units, torch.nn.Sequential):
            raise TypeError(f"units must be a sequence of modules, got {type(units).__name__}")
        units = [u.unit if isinstance(u, Residual) else u for u in units]
        if not units or not all(isinstance(u, torch.nn.Module) for u in units):
            raise TypeError("units must be a non-empty sequence of torch.nn.Module")
        template = units[0]
        coefficients = {}
        for kind in ("named_parameters", "named_buffers"):
            for name, value in getattr(template, kind)():
                values = [dict(getattr(u, kind)()).get(name) for u in units]
                if any(v is None for v in values):
                    raise ValueError(f"units: {name!r} is missing from some units (all must share the first's structure)")
                coefficients[name] = _stack_checked(values, name, value.shape, "units")
        n = len(units)
        return cls(template, n, scheme=scheme, steps=n if steps is None else steps, rate=float(n), gradient=gradient,
                   coefficients=coefficients)

    def to_resnet(self) -> torch.nn.Sequential:
        """The plain torch ResNet of a P0 + Euler block with one step per cell and rate equal
        to the number of cells: one :class:`Residual` per cell, each a copy of the unit
        holding that cell's parameters and buffers (ValueError for any other block)."""
        n = self.depth.n_cells
        if not (self.depth.family.value == "p0" and self.tableau.name == "euler" and self.steps == n
                and abs(self.rate - n) <= 1e-12 * n):
            raise ValueError(
                f"to_resnet needs P0 depth, scheme euler, steps = rate = the cells ({n}); got family "
                f"{self.depth.family.value}, scheme {self.tableau.name}, steps {self.steps}, rate {self.rate:g}"
            )
        return torch.nn.Sequential(*(Residual(self.unit_at(cell)) for cell in range(n)))

    # --- saving ----------------------------------------------------------------------------
    def config(self) -> dict:
        """The settings as JSON-ready data; :meth:`from_config` with the unit and a
        ``state_dict`` rebuilds the block (the unit itself is code, not data).

        Examples
        --------
        >>> block = OdeBlock(torch.nn.Linear(2, 2), depth=3, scheme="heun")
        >>> copy = OdeBlock.from_config(torch.nn.Linear(2, 2), block.config(), block.state_dict())
        >>> bool(torch.equal(copy(torch.ones(1, 2)), block(torch.ones(1, 2)))), copy.tableau.name
        (True, 'heun')
        """
        name = self.tableau.name
        if name not in tableau_names() or tableau(name) is not self.tableau:
            raise TypeError(f"config of a block needs a built-in or registered tableau (register_tableau), got {name!r}")
        return {"depth": mesh_to_dict(self.depth_mesh), "scheme": name, "steps": self.steps, "rate": self.rate,
                "gradient": self.gradient}

    @classmethod
    def from_config(cls, unit: torch.nn.Module, config: dict, state_dict: Mapping | None = None) -> "OdeBlock":
        """The block of :meth:`config` over `unit`, with the coefficients of `state_dict`."""
        keys = {"depth", "scheme", "steps", "rate", "gradient"}
        if not isinstance(config, dict) or set(config) != keys:
            raise ValueError(f"config must be a dict with keys {sorted(keys)}, got "
                             f"{sorted(config) if isinstance(config, dict) else type(config).__name__}")
        mesh = mesh_from_dict(config["depth"], "config['depth']")
        block = cls(unit, mesh.axes[0], scheme=config["scheme"], steps=config["steps"], rate=config["rate"],
                    gradient=config["gradient"])
        if state_dict is not None:
            block.load_state_dict(state_dict)
        return block

    # --- evaluation ------------------------------------------------------------------------
    def unit_at(self, dof: int) -> torch.nn.Module:
        """A copy of the unit holding copies of the coefficients of depth dof `dof` (their
        dtype and device), in this block's training mode."""
        unit = copy.deepcopy(self._unit).to_empty(device="cpu")
        values = {name: value.detach().clone() for name, value in self.unit_values(dof).items()}
        unit.load_state_dict(values, strict=True, assign=True)
        return unit.train(self.training)

    def velocity(self):
        """The right-hand side ``f(δ, h, step_interval) = r R(h; θ(δ))`` for one pass, with
        ``f.tensors`` the per-dof coefficient slices it reads (for the adjoints)."""
        unit, lookup, rate, training = self._unit, self._lookup, self.rate, self.training
        unit.train(training)
        fields = {name: StageValues(getattr(self, self.names[name]), lookup) for name in self._parameter_names}
        buffers = {name: getattr(self, self.names[name]) for name in self._buffer_names}
        averaged = {name: StageValues(b, lookup) for name, b in buffers.items() if b.is_floating_point() and not training}

        def f(t, h, interval):
            values = {name: field(t, interval) for name, field in fields.items()}
            if buffers:
                # training updates the statistics of the stage's dominant dof in place
                dof = max(lookup(t, interval), key=lambda term: abs(term[1]))[0]
                values.update({name: averaged[name](t, interval) if name in averaged else b[dof]
                               for name, b in buffers.items()})
            slope = functional_call(unit, values, (h,))
            if not isinstance(slope, torch.Tensor) or slope.shape != h.shape:
                raise ValueError(f"unit must return a slope of the state's shape {tuple(h.shape)}, "
                                 f"got {getattr(slope, 'shape', type(slope).__name__)}")
            return slope if rate == 1.0 else rate * slope

        f.tensors = tuple(s for field in fields.values() for s in field.slices if s.requires_grad)
        return f

    def forward(self, h: torch.Tensor, *, gradient: str | None = None, depths=None) -> torch.Tensor:
        """The state at depth 1 from the state `h` at depth 0; `gradient` overrides the
        block's gradient mode for this pass. `depths`, strictly increasing in (0, 1], asks
        for the states there instead, stacked (a new leading axis; the step a depth falls
        inside is split there, as :func:`~fem_nn.integrate`'s `times`).

        Examples
        --------
        >>> block = OdeBlock(torch.nn.Linear(2, 2).double(), depth=2, scheme="rk4", steps=4)
        >>> h = torch.ones(3, 2, dtype=torch.float64)
        >>> along = block(h, depths=[0.5, 1.0])  # step ends: the block's own steps
        >>> tuple(along.shape), bool(torch.allclose(along[-1], block(h), rtol=0, atol=1e-14))
        ((2, 3, 2), True)
        """
        if not isinstance(h, torch.Tensor):
            raise TypeError(f"h must be a torch.Tensor, got {type(h).__name__}")
        if depths is not None:
            depths = _checks.output_depths(depths)
        gradient = self.gradient if gradient is None else gradient
        if gradient not in _GRADIENTS:
            raise ValueError(f"gradient must be one of {list(_GRADIENTS)}, got {gradient!r}")
        if not torch.is_grad_enabled():
            gradient = "backprop"
        if gradient != "backprop" and self.training and self._buffer_names:
            raise ValueError(f"gradient {gradient!r} recomputes stages, which would update the unit's buffers "
                             f"{self._buffer_names} twice in training mode; use 'backprop' or eval()")
        f = self.velocity()
        return integrate(f, h, 0.0, 1.0, self.steps, self.tableau, pass_interval=True, gradient=gradient, params=f.tensors,
                         times=depths)

    def extra_repr(self) -> str:
        family = self.depth.family.value
        orders = sorted(set(self.depth.orders.tolist()))
        return (f"unit={type(self._unit).__name__}, depth={self.depth.n_cells} {family} p{orders[0] if len(orders) == 1 else orders}, "
                f"scheme={self.tableau.name}, steps={self.steps}, rate={self.rate:g}, "
                f"parameters={sum(p.numel() for p in self.parameters())}")


def ode_blocks(model) -> list["OdeBlock"]:
    """The :class:`OdeBlock` stages of `model` (empty for anything else).

    Examples
    --------
    >>> len(ode_blocks(torch.nn.Sequential(OdeBlock(torch.nn.Linear(2, 2)), torch.nn.ReLU()))), ode_blocks(3)
    (1, [])
    """
    return [m for m in model.modules() if isinstance(m, OdeBlock)] if isinstance(model, torch.nn.Module) else []


@contextlib.contextmanager
def manifested(model: torch.nn.Module, scheme=None, steps_factor: int = 1) -> Iterator[torch.nn.Module]:
    """Every :class:`OdeBlock` of `model` in another scheme and/or `steps_factor` times its
    steps while the context lasts, then as before: training in manifestations drawn per batch
    (the loss an average over manifestations), with the very parameters an optimizer holds.

    Examples
    --------
    >>> block = OdeBlock(torch.nn.Linear(2, 2).double(), depth=2, scheme="euler")
    >>> with manifested(block, "rk4", 2):
    ...     print(block.tableau.name, block.steps)
    rk4 4
    >>> block.tableau.name, block.steps
    ('euler', 2)
    """
    steps_factor = _checks.integer(steps_factor, "steps_factor", 1)
    chosen = None if scheme is None else tableau(scheme)
    blocks = ode_blocks(model)
    saved = [b.settings for b in blocks]
    try:
        for block, settings in zip(blocks, saved):
            block.settings = dataclasses.replace(settings, tableau=chosen or settings.tableau,
                                                 steps=settings.steps * steps_factor)
        yield model
    finally:
        for block, settings in zip(blocks, saved):
            block.settings = settings
