"""The continuum network: a ``torch.nn.Module`` whose parameters are field coefficients,
composed of a width basis (:mod:`~fem_nn.continuum.width`), a right-hand side
(:mod:`~fem_nn.continuum.rhs`), a read-in (:mod:`~fem_nn.continuum.read_in`), the depth
lookups (:mod:`~fem_nn.continuum.depth`) and a Runge–Kutta scheme in depth.

Each stage combines the fields tabulated per depth dof with the depth basis values at the
stage's depth; a stage on a depth-cell breakpoint takes the one-sided value of the cell that
holds its step. The state is kept as columns, ``(nodes, batch)``: every product of a stage is
then a sparse or dense matrix times a row-major block, the fastest case of both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import torch

from .. import _checks, limits
from ..activations import ScaledActivation, activation_function, activation_spec
from ..adaptive import Adaptive
from ..field import Field
from ..integrators import integrate, integrate_adaptive, tableau
from ..mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, bias_mesh, uniform_axis, weight_mesh
from ..transfer import projected_coefficients
from .channels import POINTWISE, channel_dims, lifted, pointwise_mesh, projected
from .depth import DepthLookup, StageValues
from .frozen import export_program, frozen_network
from .initialization import Initialization, initial_coefficients
from .read_in import field_values, interpolated, read_ins
from .readout import output_mass, readout_matrix
from .rhs import right_hand_sides
from .serialization import config_arguments, network_config
from .settings import Continuum, Manifestation
from .width import KernelForm, WidthBasis

__all__ = ["ContinuumNetwork"]


def _choice(kind, value, name: str):
    """`value` as a member of the enum `kind`, or ValueError naming `name` and the choices."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} must be one of {[k.value for k in kind]}, got {value!r}") from None


def _same_space(a: Mesh, b: Mesh) -> bool:
    return all(x.same_space(y) for x, y in zip(a.axes, b.axes))


def _requadratured(mesh: Mesh, points: int, width_axes: int) -> Mesh:
    """`mesh` with `points` quadrature points per cell on its first `width_axes` axes."""
    axes = [Axis(a.breakpoints, a.family, a.orders, a.quadrature, points) if i < width_axes else a
            for i, a in enumerate(mesh.axes)]
    return Mesh(axes, mesh.names)


def _coefficients(value, name: str, shape: tuple, dtype: torch.dtype) -> torch.nn.Parameter:
    """A parameter from its initial value: a Parameter of `dtype` itself (shared), a copy of
    a tensor, or an array (checked as :func:`~fem_nn._checks.real_array` checks) in `dtype`."""
    if isinstance(value, torch.nn.Parameter):
        if tuple(value.shape) != shape or value.dtype != dtype:
            raise ValueError(f"weights[{name!r}], a Parameter to share, must have shape {shape} and dtype {dtype}, "
                             f"got {tuple(value.shape)} and {value.dtype}")
        return value
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point() or tuple(value.shape) != shape:
            raise ValueError(f"weights[{name!r}] must be a floating-point tensor of shape {shape}, "
                             f"got {value.dtype} of shape {tuple(value.shape)}")
        if not torch.isfinite(value).all():
            raise ValueError(f"weights[{name!r}] must be finite (no NaN or inf)")
        return torch.nn.Parameter(value.detach().to(dtype=dtype, copy=True))
    value = _checks.real_array(value, f"weights[{name!r}]", shape)
    return torch.nn.Parameter(torch.as_tensor(value, dtype=dtype))


class ContinuumNetwork(torch.nn.Module):
    """A neural continuum manifested on meshes, with a Runge–Kutta scheme in depth.

    Parameters
    ----------
    weight_mesh : Mesh
        3D mesh of W(ξ, η, δ) on [-1, 1]² × [0, 1].
    bias_mesh : Mesh
        2D mesh of b(ξ, δ) on [-1, 1] × [0, 1]; same width and depth intervals.
    rhs : RightHandSide or str, default "integral"
        A registered right-hand side (:data:`~fem_nn.continuum.right_hand_sides`):
        "integral", "relaxation", "two_layer", or one registered by the user.
    activation : str or callable, default "tanh"
        γ for "integral", σ for "relaxation" and "two_layer".
    scheme : str, Scheme, ButcherTableau or Adaptive, default "rk4"
        An :class:`~fem_nn.Adaptive` pair with its tolerances manifests the network
        by an adaptive solve (steps stop at the depth breakpoints; `steps` is unused).
    steps : int, optional
        Runge–Kutta steps over [0, 1]; default one per depth cell of `weight_mesh`.
    output_mesh : Mesh or array_like, optional
        A 1D mesh on [-1, 1] read out by L2 projection (e.g. P0 with 10 cells gives 10 class
        logits), or points where the output is evaluated; default: the state at the nodes.
    rate : float, default 1.0
        The rate of the "relaxation" right-hand side.
    weights : dict of str to array_like, optional
        Initial coefficients by parameter name (copied; a ``torch.nn.Parameter`` of the
        network's dtype is used itself, shared); default as `init` says.
    memory_flat : bool, default False
        Checkpoint the steps (two levels, see :func:`~fem_nn.integrate`): training memory
        grows like 2√steps states, not by every stage's intermediates of every step, for
        about two extra forward passes.
    kernel_form : KernelForm or str, default "auto"
        How a stage applies the width kernel (see :class:`KernelForm`); ``factored`` tells
        which form "auto" chose.
    read_in_form : ReadInForm or str, default "sample"
        How an input signal becomes the state at the nodes: a registered read-in
        (:data:`~fem_nn.continuum.read_ins`), "sample", "projection" or one registered by
        the user.
    n_samples : int, optional
        The input sample count N_x the network is built (and trained) for: other counts are
        refused unless :meth:`forward` is asked to resample. Default: any count (a
        :class:`~fem_nn.Trainer` records the count of its task).
    init : Initialization or str, default "noise"
        The initial coefficients where `weights` gives none (see :class:`Initialization`).
    channels : int, default 1
        C: the state is h(ξ, δ) ∈ R^C, each weight W(ξ, η, δ) ∈ R^{C×C} (coefficients of
        shape ``(*weight_mesh.shape, C, C)``), each bias b(ξ, δ) ∈ R^C (``(*bias_mesh.shape,
        C)``); the input is lifted by the parameter ``lifting`` (C × 1) and the output
        projected by ``projection`` (1 × C), ξ-independent (see
        :mod:`~fem_nn.continuum.channels`). One channel has neither.
    dtype : torch.dtype, default torch.float32

    Examples
    --------
    >>> from fem_nn import weight_mesh, bias_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="midpoint", steps=4)
    >>> net(torch.ones(5, 16)).shape  # a batch of 5 signals of 16 samples
    torch.Size([5, 16])
    """

    def __init__(
        self,
        weight_mesh: Mesh,
        bias_mesh: Mesh,
        *,
        rhs="integral",
        activation: str | Callable = "tanh",
        scheme="rk4",
        steps: int | None = None,
        output_mesh=None,
        rate: float = 1.0,
        weights: dict | None = None,
        memory_flat: bool = False,
        kernel_form: KernelForm | str = KernelForm.AUTO,
        read_in_form="sample",
        n_samples: int | None = None,
        init: Initialization | str = Initialization.NOISE,
        channels: int = 1,
        dtype: torch.dtype = torch.float32,
    ):
        """A network on `weight_mesh` and `bias_mesh`; the parameters are those of the class
        (``help(ContinuumNetwork)``)."""
        super().__init__()
        self._check_meshes(weight_mesh, bias_mesh)
        rhs = right_hand_sides(rhs)
        channels = _checks.integer(channels, "channels", 1)
        kernel_form = _choice(KernelForm, kernel_form, "kernel_form")
        # before any allocation
        limits.check_network(weight_mesh, bias_mesh, len(rhs.layers), dtype, output_mesh, channels, kernel_form.value)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be a floating-point torch.dtype (float32 or float64), got {dtype!r}")
        activation = activation_function(activation)
        scheme = scheme if isinstance(scheme, Adaptive) else tableau(scheme)
        steps = weight_mesh.axes[2].n_cells if steps is None else _checks.integer(steps, "steps", 1)
        rate, memory_flat = _checks.real(rate, "rate"), _checks.flag(memory_flat, "memory_flat")
        read_in_form, init = read_ins(read_in_form), _choice(Initialization, init, "init")
        n_samples = None if n_samples is None else _checks.integer(n_samples, "n_samples", 1)
        self.continuum = Continuum(weight_mesh, bias_mesh, rhs, activation, rate, output_mesh, read_in_form, n_samples, init,
                                   channels)
        self.manifestation = Manifestation(scheme, steps, kernel_form, memory_flat, dtype)
        self.basis = WidthBasis(weight_mesh, bias_mesh, kernel_form, dtype, channels)
        self._depth_w, self._depth_b = DepthLookup(weight_mesh.axes[2]), DepthLookup(bias_mesh.axes[1])
        self._read_in_operators = {}
        readout = None if output_mesh is None else readout_matrix(output_mesh, weight_mesh.axes[1])
        self.register_buffer("readout", None if readout is None else torch.as_tensor(readout, dtype=dtype), persistent=False)
        mass = output_mass(output_mesh, readout, self.basis.weights, weight_mesh.axes[0].interval)
        self.register_buffer("_output_mass", torch.as_tensor(mass, dtype=dtype), persistent=False)

        if weights is not None and not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a mapping of parameter names to coefficients, got {type(weights).__name__}")
        meshes, shapes = self.parameter_meshes(), self.parameter_shapes()
        unknown = set(weights or {}) - set(meshes)
        if unknown:
            raise ValueError(f"weights has unknown names {sorted(unknown)}; expected {sorted(meshes)}")
        values = initial_coefficients(init, meshes, len(self.nodes), dict(weights or {}), channels)
        for name, shape in shapes.items():
            self.register_parameter(name, _coefficients(values[name], name, shape, dtype))

    @classmethod
    def from_residual_mlp(cls, matrices, biases, activation: str | Callable = "tanh", dtype=torch.float64):
        """The continuum manifesting a residual MLP ``h ← h + σ(A_k h + c_k)``, k = 1…D, exactly:
        P0 fields on N × N × D cells, one-point Gauss quadrature per width cell (the cell
        midpoints are the N neurons), forward Euler with D steps and γ = D·σ.

        Parameters
        ----------
        matrices : array_like, shape (D, N, N)
        biases : array_like, shape (D, N)
        """
        a = _checks.real_array(matrices, "matrices")
        c = _checks.real_array(biases, "biases")
        if a.ndim != 3 or a.shape[1] != a.shape[2] or c.shape != a.shape[:2]:
            raise ValueError(f"matrices must have shape (D, N, N) and biases (D, N), got {a.shape} and {c.shape}")
        depth_cells, width_cells = a.shape[:2]
        width = uniform_axis(WIDTH_INTERVAL, width_cells, "p0", 0)
        depth = uniform_axis(DEPTH_INTERVAL, depth_cells, "p0", 0)
        # the Nyström weight of each node is 2/N: scale so that w_r U[:, r, k] = A_k
        weights = {"weight": a.transpose(1, 2, 0) * (width_cells / 2.0), "bias": c.T}
        return cls(
            weight_mesh(width, depth), bias_mesh(width, depth), activation=ScaledActivation(activation, depth_cells),
            scheme="euler", steps=depth_cells, weights=weights, dtype=dtype,
        )

    # --- settings ------------------------------------------------------------------------
    weight_mesh = property(lambda self: self.continuum.weight_mesh, doc="The mesh of W(ξ, η, δ).")
    bias_mesh = property(lambda self: self.continuum.bias_mesh, doc="The mesh of b(ξ, δ).")
    rhs = property(lambda self: self.continuum.rhs, doc="The right-hand side (a registered RightHandSide).")
    activation = property(lambda self: self.continuum.activation, doc="The activation of the right-hand side.")
    rate = property(lambda self: self.continuum.rate, doc="The rate of the right-hand side.")
    output_mesh = property(lambda self: self.continuum.output_mesh, doc="The read-out mesh or points, or None.")
    read_in_form = property(lambda self: self.continuum.read_in_form, doc="The read-in of P0 signals.")
    init = property(lambda self: self.continuum.init, doc="How the coefficients were initialized.")
    channels = property(lambda self: self.continuum.channels, doc="The channels C of the state.")
    steps = property(lambda self: self.manifestation.steps, doc="Runge–Kutta steps over [0, 1].")
    kernel_form = property(lambda self: self.manifestation.kernel_form, doc="The kernel form asked for.")
    dtype = property(lambda self: self.manifestation.dtype, doc="The dtype of the coefficients.")
    nodes = property(lambda self: self.basis.nodes, doc="The Nyström nodes (numpy).")
    node_weights = property(lambda self: self.basis.node_weights, doc="The Nyström weights (a torch buffer).")
    factored = property(lambda self: self.basis.factored, doc="Whether stages apply the kernel in factored form.")

    @property
    def adaptive(self) -> Adaptive | None:
        """The adaptive pair and tolerances of an adaptive manifestation, else None."""
        scheme = self.manifestation.scheme
        return scheme if isinstance(scheme, Adaptive) else None

    @property
    def tableau(self):
        """The Butcher tableau (an adaptive manifestation's pair)."""
        scheme = self.manifestation.scheme
        return tableau(scheme.pair) if isinstance(scheme, Adaptive) else scheme

    @property
    def n_samples(self) -> int | None:
        """The input sample count N_x the network reads (None: any)."""
        return self.continuum.n_samples

    @n_samples.setter
    def n_samples(self, value: int | None) -> None:
        value = None if value is None else _checks.integer(value, "n_samples", 1)
        self.continuum = dataclasses.replace(self.continuum, n_samples=value)

    @property
    def memory_flat(self) -> bool:
        """Whether training checkpoints the steps (see the class' parameters)."""
        return self.manifestation.memory_flat

    @memory_flat.setter
    def memory_flat(self, value: bool) -> None:
        self.manifestation = dataclasses.replace(self.manifestation, memory_flat=_checks.flag(value, "memory_flat"))

    def _apply(self, fn, recurse=True):
        # .to(), .double() and the like convert the coefficients and buffers: the settings follow
        module = super()._apply(fn, recurse)
        self.manifestation = dataclasses.replace(self.manifestation, dtype=self.basis.node_weights.dtype)
        return module

    # --- construction helpers ------------------------------------------------------------
    @staticmethod
    def _check_meshes(weight_mesh: Mesh, bias_mesh: Mesh) -> None:
        if not isinstance(weight_mesh, Mesh) or weight_mesh.dim != 3:
            raise ValueError("weight_mesh must be a 3D Mesh over (ξ, η, δ)")
        if not isinstance(bias_mesh, Mesh) or bias_mesh.dim != 2:
            raise ValueError("bias_mesh must be a 2D Mesh over (ξ, δ)")
        w, b = weight_mesh.box, bias_mesh.box
        if not np.allclose([w[0], w[1]], [b[0], b[0]]) or not np.allclose(w[2], b[1]):
            raise ValueError(
                f"weight_mesh and bias_mesh disagree: weight box {w} needs a bias box {(w[0], w[2])}, got {b}"
            )

    def replaced(
        self, *, weight_mesh: Mesh | None = None, bias_mesh: Mesh | None = None, scheme=None, steps: int | None = None,
        output_mesh=None, quadrature_points: int | None = None, weights: Mapping | None = None, share: bool = False,
    ) -> "ContinuumNetwork":
        """A new network of this one's settings with some replaced, on the same device and
        dtype; every setting not given carries over.

        Parameters
        ----------
        weight_mesh, bias_mesh : Mesh, optional
            Other meshes on the same boxes.
        scheme, steps, output_mesh : optional
            As the constructor takes them.
        quadrature_points : int, optional
            Points per cell of the width quadrature (of the meshes given, or the network's).
        weights : dict of str to array_like, optional
            The new coefficients (as the constructor takes them); default this network's,
            L2-projected onto the new meshes where a mesh changed
            (:func:`~fem_nn.transfer.projected_coefficients`), else copied.
        share : bool, default False
            Hold this network's Parameter objects themselves (meshes of the same spaces
            only): a shadow manifestation that trains the same coefficients.

        Examples
        --------
        >>> from fem_nn import bias_mesh, weight_mesh
        >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
        >>> deeper = net.replaced(weight_mesh=net.weight_mesh.refined("delta"), bias_mesh=net.bias_mesh.refined("delta"))
        >>> x = torch.rand(3, 8, dtype=torch.float64)
        >>> bool(torch.allclose(deeper(x), net(x), rtol=0, atol=1e-12)), deeper.weight.shape
        (True, torch.Size([9, 9, 8]))
        >>> shadow = net.replaced(scheme="midpoint", steps=8, share=True)
        >>> shadow.weight is net.weight, shadow.tableau.name
        (True, 'midpoint')
        """
        targets = {}
        for name, mesh, old in (("weight_mesh", weight_mesh, self.weight_mesh), ("bias_mesh", bias_mesh, self.bias_mesh)):
            if mesh is not None and not isinstance(mesh, Mesh):
                raise TypeError(f"{name} must be a Mesh or None, got {type(mesh).__name__}")
            if mesh is not None and (mesh.dim != old.dim or not np.allclose(mesh.box, old.box)):
                raise ValueError(f"{name} must cover the network's box {old.box}, got {mesh.box}")
            targets[name] = old if mesh is None else mesh
        share = _checks.flag(share, "share")
        sources = self.parameter_meshes()
        # the pointwise maps keep their mesh
        moved = {id(self.weight_mesh): targets["weight_mesh"], id(self.bias_mesh): targets["bias_mesh"]}
        new_meshes = {name: moved.get(id(mesh), mesh) for name, mesh in sources.items()}
        if share and (weights is not None or not all(_same_space(new_meshes[n], m) for n, m in sources.items())):
            raise ValueError("share needs weights None and meshes of the network's spaces (another quadrature at most)")
        if share:
            weights = dict(self.named_parameters())
        elif weights is None:
            weights = {name: projected_coefficients(getattr(self, name), sources[name], new_meshes[name]) for name in sources}
        if quadrature_points is not None:
            targets = {"weight_mesh": _requadratured(targets["weight_mesh"], quadrature_points, 2),
                       "bias_mesh": _requadratured(targets["bias_mesh"], quadrature_points, 1)}
        continuum = dataclasses.replace(self.continuum, **targets, **({} if output_mesh is None else {"output_mesh": output_mesh}))
        manifestation = dataclasses.replace(self.manifestation, **{k: v for k, v in (("scheme", scheme), ("steps", steps)) if v is not None})
        network = type(self)(**continuum.arguments(), **manifestation.arguments(), weights=weights)
        return network.to(self.node_weights.device)

    def remanifested(
        self, scheme=None, steps: int | None = None, quadrature_points: int | None = None, output_mesh=None
    ) -> "ContinuumNetwork":
        """The same fields manifested with another scheme, step count, width quadrature
        (points per width cell) or read-out mesh, as a new network holding copies of the
        coefficients (:meth:`replaced` with these).

        Examples
        --------
        >>> from fem_nn import weight_mesh, bias_mesh
        >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="euler", steps=4)
        >>> fine = net.remanifested(scheme="rk4", steps=16)
        >>> fine.steps, fine.tableau.name
        (16, 'rk4')
        """
        return self.replaced(scheme=scheme, steps=steps, quadrature_points=quadrature_points, output_mesh=output_mesh)

    def config(self) -> dict:
        """Everything but the coefficients, as JSON-ready data: ``ContinuumNetwork.from_config``
        rebuilds the network from it (and a ``state_dict``); the checkpoint format. A custom
        activation callable cannot be saved (TypeError); a custom tableau is saved by its
        coefficients; a right-hand side or read-in by its registered name."""
        return network_config(self)

    @classmethod
    def from_config(cls, config: dict, weights: dict | None = None) -> "ContinuumNetwork":
        """The network of :meth:`config` (validated), with `weights` by parameter name.

        Examples
        --------
        >>> from fem_nn import weight_mesh, bias_mesh
        >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="heun", steps=3)
        >>> copy = ContinuumNetwork.from_config(net.config(), net.state_dict())
        >>> bool(torch.equal(copy(torch.ones(2, 8)), net(torch.ones(2, 8))))
        True
        """
        arguments = config_arguments(config, weights)
        return cls(arguments.pop("weight_mesh"), arguments.pop("bias_mesh"), **arguments)

    def extra_repr(self) -> str:
        """The meshes (cells, families, orders per axis), the right-hand side, scheme, steps
        and parameter count, as ``repr`` shows them.

        Examples
        --------
        >>> from fem_nn import weight_mesh, bias_mesh
        >>> ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="heun", steps=8)
        ContinuumNetwork(
          weight_mesh: xi 8 lagrange p1 × eta 8 lagrange p1 × delta 4 p0 (9 × 9 × 4 dofs)
          bias_mesh: xi 8 lagrange p1 × delta 4 p0 (9 × 4 dofs)
          output: the state at 16 nodes (gauss_legendre, 2 per cell)
          rhs=integral, activation=tanh, scheme=heun, steps=8, kernel_form=dense, dtype=float32
          parameters: 360 (weight 324, bias 36)
        )
        """
        def mesh(m: Mesh) -> str:
            return " × ".join(f"{n} {_describe_axis(a)}" for n, a in zip(m.names, m.axes)) + f" ({' × '.join(map(str, m.shape))} dofs)"

        eta = self.weight_mesh.axes[1]
        if isinstance(self.output_mesh, Mesh):
            output = f"L2 projection onto {mesh(self.output_mesh)}"
        elif self.output_mesh is not None:
            output = f"values at {len(self.readout)} points"
        else:
            output = f"the state at {len(self.nodes)} nodes ({eta.quadrature.value}, {eta.quadrature_points} per cell)"
        try:
            activation = activation_spec(self.activation)
        except TypeError:  # a custom callable
            activation = getattr(self.activation, "__name__", repr(self.activation))
        if isinstance(activation, dict):
            scale = activation.get("scale")
            activation = f"{scale:g}·{activation['name']}" if scale is not None else f"rate({activation['name']}, delta={activation['delta']:g})"
        counts = {name: p.numel() for name, p in self.named_parameters()}
        settings = (
            f"rhs={self.rhs.name}, activation={activation}, scheme={self.tableau.name or 'custom'}, steps={self.steps}, "
            f"kernel_form={'factored' if self.factored else 'dense'}, dtype={str(self.node_weights.dtype).removeprefix('torch.')}"
        )
        if self.rhs.rated:
            settings += f", rate={self.rate:g}"
        if self.channels > 1:
            settings += f", channels={self.channels}"
        return "\n".join([
            f"weight_mesh: {mesh(self.weight_mesh)}", f"bias_mesh: {mesh(self.bias_mesh)}", f"output: {output}", settings,
            f"parameters: {sum(counts.values())} ({', '.join(f'{n} {c}' for n, c in counts.items())})",
        ])

    def __repr__(self) -> str:
        # the width basis is a part, not a layer: shown by the meshes, not as a child module
        return f"{self._get_name()}(\n  " + "\n  ".join(self.extra_repr().split("\n")) + "\n)"

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Names and shapes of the coefficient parameters: each mesh's shape, then the
        channel dimensions (:func:`~fem_nn.continuum.channels.channel_dims`)."""
        return {name: mesh.shape + channel_dims(name, self.channels) for name, mesh in self.parameter_meshes().items()}

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The mesh of each coefficient parameter, by name: each layer of the right-hand side
        has a weight on the weight mesh and a bias on the bias mesh; with channels, the
        lifting and projection are on the one-cell :func:`~fem_nn.continuum.channels.pointwise_mesh`."""
        meshes = {}
        for weight, bias in self.rhs.layers:
            meshes[weight], meshes[bias] = self.weight_mesh, self.bias_mesh
        if self.channels > 1:
            meshes.update(dict.fromkeys(POINTWISE, pointwise_mesh(self.weight_mesh.axes[0].interval)))
        return meshes

    def fields(self) -> dict[str, Field]:
        """The parameters as :class:`~fem_nn.Field` objects (float64 copies); with channels,
        one field per channel entry, named like ``weight[0,2]``."""
        fields = {}
        for name, mesh in self.parameter_meshes().items():
            values = getattr(self, name).detach().cpu().double().numpy()
            for index in np.ndindex(values.shape[mesh.dim:]):
                key = f"{name}[{','.join(map(str, index))}]" if index else name
                fields[key] = Field(mesh, values[(..., *index)])
        return fields

    # --- evaluation ----------------------------------------------------------------------
    def layer_fields(self, factored: bool) -> list[tuple[StageValues, StageValues]]:
        """Per layer of the right-hand side, the weight and the bias at each stage's depth:
        the kernel matrices K(δ), or with `factored` the coefficient matrices U(δ), and the
        bias rows (see :meth:`~fem_nn.continuum.WidthBasis.weight_table`)."""
        return [
            (StageValues(self.basis.weight_table(getattr(self, weight), factored), self._depth_w),
             StageValues(self.basis.biases(getattr(self, bias)), self._depth_b))
            for weight, bias in self.rhs.layers
        ]

    def read_in(self, x, points=None, resample: bool = False) -> torch.Tensor:
        """The state at the width nodes ``(batch, nodes)`` (one channel: before the lifting)
        from a batch of signals ``(batch, N_x)``: each read as a P0 signal on N_x equal cells
        of [-1, 1] (as :attr:`read_in_form` says), or, given `points` (N_x increasing positions), as the
        piecewise-linear interpolant of samples there (constant beyond the first and last
        point; one point: a constant). `x` may also be a :class:`~fem_nn.Field` on a 1D mesh
        of the width interval, or a sequence of them (a batch): the state is then its values
        at the nodes.

        A network with a sample count (:attr:`n_samples`) refuses P0 signals of another
        count, unless `resample`: then each signal is read by exact L2 projection onto the
        width space (``"projection"``) or onto P0 on `n_samples` cells first (``"sample"``).
        """
        if isinstance(x, Field) or (isinstance(x, (list, tuple)) and x and all(isinstance(f, Field) for f in x)):
            return field_values(self.basis, [x] if isinstance(x, Field) else list(x), points)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor or Fields, got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] < 1:
            raise ValueError(f"x must have shape (batch, n_samples), got {tuple(x.shape)}")
        if x.layout != torch.strided or x.is_meta:
            raise TypeError(f"x must be a dense tensor with data, got layout {x.layout} on device {x.device}")
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"x must be a real tensor, got dtype {x.dtype}")
        resample = _checks.flag(resample, "resample")
        # NaN propagates through min and max: two numbers to check instead of a full mask
        if x.is_floating_point() and x.numel() and not torch.isfinite(torch.stack(torch.aminmax(x))).all():
            raise ValueError("x must be finite (no NaN or inf)")
        if points is not None:
            return interpolated(self.nodes, x, points, self.dtype)
        operator = self.read_in_operator(x.shape[1], resample).to(x.device)
        if operator.dtype == torch.long:  # point sampling: a gather
            return x.index_select(1, operator).to(self.dtype)
        return x.to(self.dtype) @ operator.T

    def read_in_operator(self, n_samples: int, resample: bool = False) -> torch.Tensor:
        """The read-in of P0 signals of `n_samples` samples (memoized): the input cell of
        each node (a long tensor, point sampling) or the matrix (nodes × n_samples), as
        :attr:`read_in_form` gives it; ValueError when this network reads another count
        and `resample` is not asked."""
        trained = self.n_samples
        resampling = trained is not None and n_samples != trained
        if resampling and not resample:
            raise ValueError(
                f"x has {n_samples} samples per signal, but this network reads {trained} (the count it was "
                f"built and trained for); pass resample=True to read it by L2 projection instead"
            )
        key = (n_samples, trained if resampling else None, self.read_in_form, self.dtype)
        operator = self._read_in_operators.get(key)
        if operator is None:
            form = self.read_in_form
            array = form.resampled(self.basis, n_samples, trained) if resampling else form.operator(self.basis, n_samples)
            operator = torch.as_tensor(array, dtype=torch.long if array.dtype.kind in "iu" else self.dtype)
            self._read_in_operators[key] = operator
        return operator

    def velocity(self):
        """The right-hand side f(δ, h, step_interval) with its kernels tabulated for this pass,
        on state columns h ``(nodes · C, batch)`` (for one channel the transpose of :meth:`read_in`'s rows)."""
        fields = self.layer_fields(self.factored)
        rhs, activation, rate, integral = self.rhs, self.activation, self.rate, self.basis.integral

        def f(t, h, interval):
            return rhs.slope(h, [(kernel(t, interval), bias(t, interval)) for kernel, bias in fields], integral, activation, rate)

        # what f depends on, for the adjoints: the tabulated depth slices (their gradients
        # then flow back through one tabulation, not one per stage)
        f.tensors = tuple(s for layer in fields for values in layer for s in values.slices if s.requires_grad)
        return f

    def l2_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The integral L2 loss ∫ (y − y*)² dξ, averaged over the batch: exact on the output
        mesh's coefficients, by the Nyström quadrature for outputs at the nodes."""
        if prediction.shape != target.shape or prediction.shape[-1] != self._output_mass.shape[0]:
            raise ValueError(
                f"prediction and target must both have shape (batch, {self._output_mass.shape[0]}), "
                f"got {tuple(prediction.shape)} and {tuple(target.shape)}"
            )
        error = prediction - target
        return torch.einsum("bi,ij,bj->b", error, self._output_mass, error).mean()

    def forward(self, x, points=None, resample: bool = False, *, gradient: str | None = None,
                depths=None) -> torch.Tensor:
        """Outputs for a batch of input signals ``(batch, N_x)`` or of Fields (read as in
        :meth:`read_in`, which says what `resample` does): the read-out when an output mesh
        or points were given, else the state at the nodes. `gradient` is
        :func:`~fem_nn.integrate`'s ("backprop", "checkpoint", "adjoint", "discrete";
        :func:`~fem_nn.integrate_adaptive`'s for an adaptive manifestation); default
        "checkpoint" with `memory_flat` ("adjoint" if adaptive), else "backprop".

        `depths`, strictly increasing in (0, 1], asks for the outputs along depth instead,
        stacked ``(len(depths), batch, ...)``: the read-out of the state at each depth (the
        seed's outputs at many times). A fixed-step manifestation keeps its steps and splits
        the one a depth falls inside (:func:`~fem_nn.integrate`'s `times`); an adaptive one
        reads them from its dense output.

        Examples
        --------
        >>> from fem_nn import weight_mesh, bias_mesh
        >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), steps=4, dtype=torch.float64)
        >>> x = torch.rand(3, 16, dtype=torch.float64)
        >>> along = net(x, depths=[0.25, 0.5, 1.0])  # step ends: the steps are the network's own
        >>> tuple(along.shape), bool(torch.allclose(along[-1], net(x), rtol=0, atol=1e-14))
        ((3, 3, 16), True)
        """
        if depths is not None:
            depths = _checks.output_depths(depths)
        f, h0 = self.velocity(), self.read_in(x, points, resample).T.contiguous()
        if self.channels > 1:
            h0 = lifted(h0, self.lifting)
        if gradient is None:
            gradient = ("adjoint" if self.adaptive else "checkpoint") if self.memory_flat else "backprop"
        if not torch.is_grad_enabled():
            gradient = "backprop"
        if self.adaptive is not None:
            breakpoints = np.union1d(self.weight_mesh.axes[2].breakpoints, self.bias_mesh.axes[1].breakpoints)
            states = integrate_adaptive(f, h0, [0.0, *(depths or [1.0])], self.adaptive,
                                        breakpoints=breakpoints[1:-1].tolist(), pass_interval=True, gradient=gradient,
                                        params=f.tensors)[1:]
        else:
            states = integrate(f, h0, 0.0, 1.0, self.steps, self.tableau, pass_interval=True, gradient=gradient,
                               params=f.tensors, times=depths)
        if depths is None:  # the final state alone (one of one for an adaptive solve)
            return self._read_out(states if self.adaptive is None else states[-1])
        return torch.stack([self._read_out(h) for h in states])

    def _read_out(self, h: torch.Tensor) -> torch.Tensor:
        """The output ``(batch, ...)`` of a state ``(nodes · channels, batch)``."""
        if self.channels > 1:
            h = projected(h, self.projection)
        return h.T if self.output_mesh is None else (self.readout @ h).T

    def frozen(self, n_samples: int, resample: bool = False) -> torch.nn.Module:
        """This manifestation with everything but the state precomputed, as a plain torch
        module for inference: every stage's kernel matrix and bias (at the stage's depth,
        one-sided on breakpoints), the read-in of N_x = `n_samples` samples and the read-out.
        A network with another :attr:`n_samples` refuses, unless `resample` (as in
        :meth:`read_in`).
        It computes what the network computes (the dense kernel form) with the same
        Runge–Kutta arithmetic, holds copies of the coefficients, and needs no tabulation,
        checks or depth lookups per call.

        Examples
        --------
        >>> from fem_nn import weight_mesh, bias_mesh
        >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="two_layer", dtype=torch.float64)
        >>> x = torch.rand(3, 16, dtype=torch.float64)
        >>> bool(torch.allclose(net.frozen(16)(x), net(x), rtol=1e-12, atol=1e-14))
        True
        """
        n_samples = _checks.integer(n_samples, "n_samples", 1)
        if self.adaptive is not None:
            raise ValueError("frozen needs a fixed-step manifestation (its steps are frozen in); remanifest first")
        read_in = self.read_in_operator(n_samples, _checks.flag(resample, "resample")).to(self.node_weights.device)
        return frozen_network(self, read_in)

    def export(self, n_samples: int) -> torch.export.ExportedProgram:
        """:meth:`frozen` as a ``torch.export`` program (any batch size) that runs with plain
        torch, no fem_nn code needed (``torch.export.save`` / ``torch.export.load(...).module()``).

        Parameters
        ----------
        n_samples : int
            The input width N_x the exported module reads (the read-in is fixed on export).
        """
        return export_program(self.frozen(n_samples), n_samples, self.dtype, self.node_weights.device)

    def export_resnet(self, n_samples: int) -> torch.export.ExportedProgram:
        """:meth:`export` of a forward-Euler manifestation with a one-layer right-hand side
        ("integral", "relaxation"): a plain residual network, one block ``h + Δ f(h)`` per step."""
        if self.tableau.stages != 1 or len(self.rhs.layers) != 1:
            raise ValueError("export_resnet needs scheme 'euler' and a one-layer right-hand side such as 'integral' or 'relaxation'")
        return self.export(n_samples)


def _describe_axis(axis: Axis) -> str:
    """``8 lagrange p1``: cells, family and order (``p1-3`` for per-cell orders)."""
    low, high = int(axis.orders.min()), int(axis.orders.max())
    if axis.family.value == "p0":
        return f"{axis.n_cells} p0"
    return f"{axis.n_cells} {axis.family.value} p{low}" + (f"-{high}" if high > low else "")

