"""The continuum network as a ``torch.nn.Module`` whose parameters are field coefficients.

The state h(ξ, δ) is kept at the width quadrature nodes ξ_q (Nyström), so that

    ∫ W(ξ_q, ξ', δ) h(ξ') dξ'  ≈  Σ_r w_r W(ξ_q, ξ_r, δ) h(ξ_r)

is one matrix product per Runge–Kutta stage, in one of two forms (:class:`KernelForm`): the
kernel matrices ``w_r W(ξ_q, ξ_r, ·)`` tabulated once per forward pass, one per depth dof, by
sum factorization; or, where the width has fewer dofs than nodes (continuous P1 on two Gauss
points per cell: half), the kernel applied in factored form ``Φ_ξ U(δ) Φ_ηᵀ diag(w)`` with no
tabulation at all. Either is combined at each stage's depth with the depth basis values; a
stage on a depth-cell breakpoint takes the one-sided value of the cell that holds its step.

The state is kept as columns, ``(nodes, batch)``: every product of a stage is then a sparse
or dense matrix times a row-major block, the fastest case of both.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import torch

from . import _checks, limits
from .activations import ScaledActivation, activation_function, activation_spec, apply_in_place
from .assembly import mass_factors, mass_matrix, mixed_mass_matrix
from .field import Field
from .adaptive import Adaptive
from .integrators import ButcherTableau, Scheme, _step, integrate, integrate_adaptive, tableau
from .io import mesh_from_dict, mesh_to_dict
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, bias_mesh, uniform_axis, weight_mesh
from ._rk import axpy

__all__ = ["ContinuumNetwork", "Initialization", "KernelForm", "ReadInForm", "RightHandSide"]

# The cost of a sparse width product per batch column, in multiply-adds of a dense BLAS
# product: _SPARSE_COST per nonzero plus _SPARSE_CALL for the call (torch CPU, measured at
# batch 256: 23 µs at 128 nodes and 42 µs at 512 for continuous P1, where a dense product
# runs 86 multiply-adds per ns). Small bases are then applied as dense matrices, and the
# factored kernel form is taken from ~170 nodes on (continuous P1 on 2 Gauss points per cell:
# measured 1.3x slower than the dense form at 128 nodes, 1.8x faster at 512).
_SPARSE_COST, _SPARSE_CALL = 8, 5500


class RightHandSide(enum.Enum):
    """Right-hand sides of ∂h/∂δ.

    ``INTEGRAL``     γ(∫ W h + b) — the seed's equation.
    ``RELAXATION``   rate · (σ(∫ W h + b) − h) — the plain-MLP limit.
    ``TWO_LAYER``    ∫ W2 σ(∫ W1 h + b1) + b2 — the transport velocity of Li & Shi (2017).

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="two_layer", activation="gelu")
    >>> net.rhs, sorted(net.parameter_shapes())
    (<RightHandSide.TWO_LAYER: 'two_layer'>, ['bias1', 'bias2', 'weight1', 'weight2'])
    """

    INTEGRAL = "integral"
    RELAXATION = "relaxation"
    TWO_LAYER = "two_layer"


class KernelForm(enum.Enum):
    """How a stage applies the width kernel ``∫ W(ξ_q, ξ', δ) h(ξ') dξ'`` at the nodes.

    - ``DENSE``: ``K(δ) h``, K tabulated per depth dof once per pass (nodes² per dof).
    - ``FACTORED``: ``Φ_ξ (U(δ) (Φ_ηᵀ diag(w) h))``, two sparse products with the width
      bases around one with the coefficients (n_ξ × n_η); no tabulation.
    - ``AUTO``: the cheaper of the two for the meshes, by a count of multiply-adds.

    Both forms compute the same sums in another order: they agree to round-off.

    Examples
    --------
    >>> from fem_nn import bias_mesh, uniform_axis, weight_mesh
    >>> width, depth = uniform_axis((-1, 1), 256, "lagrange", 1), uniform_axis((0, 1), 2, "p0", 0)
    >>> ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth)).factored
    True
    """

    DENSE = "dense"
    FACTORED = "factored"
    AUTO = "auto"


class ReadInForm(enum.Enum):
    """How an input of N_x samples (a P0 signal on N_x equal cells of the width interval)
    becomes the state at the width nodes.

    - ``SAMPLE``: each node reads the input cell that holds it. With fewer nodes than samples
      some samples are never read, and what is read depends on where the nodes lie.
    - ``PROJECTION``: the exact L2 projection of the P0 signal onto the discontinuous
      polynomials of the width partition and orders (on the supermesh), evaluated at the
      nodes. Every sample counts, and the first integral ``∫ W h dη`` is unchanged by width
      refinement, elevation or more quadrature points: the projection's error is orthogonal
      to every W(ξ, ·, δ) of the width space, and the integrand is a polynomial the rule
      integrates exactly.

    Examples
    --------
    >>> from fem_nn import bias_mesh, uniform_axis, weight_mesh
    >>> width, depth = uniform_axis((-1, 1), 2, "legendre", 1), uniform_axis((0, 1), 1, "p0", 0)
    >>> net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), read_in_form="projection")
    >>> net.read_in(torch.tensor([[0.0, 1.0, 2.0, 3.0]])).round(decimals=4)  # a linear fit per cell
    tensor([[0.0670, 0.9330, 2.0670, 2.9330]])
    """

    SAMPLE = "sample"
    PROJECTION = "projection"


class Initialization(enum.Enum):
    """The initial coefficients of the fields (where none are given).

    - ``NOISE``: independent normal coefficients, std ``0.25 √nodes`` for weights (a random
      kernel matrix of operator norm ~1), zero biases. Not a continuum: refining the mesh
      does not refine the noise.
    - ``SMOOTH``: a random smooth field W(ξ, η, δ) = Σ a_mnl ψ_m(ξ) ψ_n(η) χ_l(δ) of the first
      6 orthonormal Legendre polynomials in each width variable and 2 in depth, L2-projected
      onto the mesh, with std(a) chosen so that the integral operator's norm is ~1 whatever
      the mesh: the same function on every mesh that resolves it; zero biases.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), init="smooth")
    >>> net.init, bool(net.weight.abs().max() > 0), float(net.bias.abs().max())
    (<Initialization.SMOOTH: 'smooth'>, True, 0.0)
    """

    NOISE = "noise"
    SMOOTH = "smooth"


_SMOOTH_MODES = (6, 2)  # width and depth modes of the smooth initialization


def _smooth_field(mesh: Mesh, rng: np.random.Generator) -> np.ndarray:
    """Coefficients of a random smooth weight field on `mesh` (see :class:`Initialization`)."""
    from numpy.polynomial import legendre

    width, depth = _SMOOTH_MODES
    # the operator of Σ_mn a_mn ψ_m ⊗ ψ_n has the singular values of (a_mn): ~2√M std(a)
    a = rng.normal(0.0, 0.5 / np.sqrt(width * depth), (width, width, depth))

    def orthonormal(x, n, interval):
        t = (2 * x - interval[0] - interval[1]) / (interval[1] - interval[0])
        scale = np.sqrt((2 * np.arange(n) + 1) / (interval[1] - interval[0]))
        return np.stack([legendre.legval(t, np.eye(n)[k]) * scale[k] for k in range(n)], axis=-1)

    def function(xi, eta, delta):
        px, pe = orthonormal(xi.ravel(), width, WIDTH_INTERVAL), orthonormal(eta.ravel(), width, WIDTH_INTERVAL)
        pd = orthonormal(delta.ravel(), depth, mesh.axes[2].interval)
        return np.einsum("im,jn,kl,mnl->ijk", px, pe, pd, a)

    return Field.from_function(mesh, function).coefficients


def depth_weights(axis: Axis, t: float, interval) -> tuple[np.ndarray, np.ndarray]:
    """The depth dofs whose basis functions are non-zero at stage time `t` of the step
    `interval` and their values, in the cell :meth:`~fem_nn.Axis.locate_within` decides: a
    step inside one depth cell reads that cell at every stage (its one-sided values on the
    ends), whatever ulps its float ends and the breakpoints differ by."""
    cell, t = axis.locate_within([t], interval[0], interval[1])
    values, dofs = axis.tabulate(t, cells=cell)
    active = values[0, 0] != 0.0
    return dofs[0, active], values[0, 0, active]


class DepthLookup:
    """:func:`depth_weights` of one depth axis, memoized by stage: the same few stage times
    recur in every pass, and a lookup is much cheaper than locating and tabulating."""

    def __init__(self, axis: Axis):
        self.axis, self._memo = axis, {}

    def __call__(self, t: float, interval) -> tuple[tuple[int, float], ...]:
        """The ``(dof, value)`` pairs at stage time `t` as Python numbers, one tuple object
        per stage (so that a caller can recognize a stage by identity)."""
        key = (t, interval[0], interval[1])
        terms = self._memo.get(key)
        if terms is None:
            dofs, values = depth_weights(self.axis, t, interval)
            terms = self._memo[key] = tuple(zip(dofs.tolist(), values.tolist()))
        return terms


class StageValues:
    """A field tabulated per depth dof (``table[k]``), combined at each stage's depth.

    Stages of one step often share a time (rk4's two midpoint stages), so the last
    combination is kept within the step. It is forgotten at every step's first stage
    (c = 0 in an explicit scheme), so that a checkpointed step recomputes exactly what it
    computed the first time. A stage where one basis function is 1 (P0, the nodes of P1) is
    a view.
    """

    def __init__(self, table, lookup: DepthLookup):
        # views of table[k], a torch tensor or a numpy array; unbind's backward stacks the
        # gradients once, where indexing per stage would scatter into a zero table each time
        self.slices = table.unbind(0) if isinstance(table, torch.Tensor) else list(table)
        self.lookup = lookup
        self._terms, self._value, self._grad = None, None, torch.is_grad_enabled()

    def __call__(self, t: float, interval):
        # a value made without autograd (an adjoint's forward pass) must not serve one with
        if t == interval[0] or self._grad != torch.is_grad_enabled():
            self._terms = self._value = None
            self._grad = torch.is_grad_enabled()
        terms = self.lookup(t, interval)
        if len(terms) == 1 and terms[0][1] == 1.0:
            return self.slices[terms[0][0]]
        if terms is not self._terms:
            self._terms, self._value = terms, self._combination(terms)
        return self._value

    def _combination(self, terms):
        """``Σ value · table[dof]`` over a stage's ``(dof, value)`` terms, a new array."""
        (dof, weight), *rest = terms
        if len(rest) == 1 and weight + rest[0][1] == 1.0 and isinstance(self.slices[dof], torch.Tensor):
            # a partition of unity in one pass over memory, not two (P1 between its nodes)
            return torch.lerp(self.slices[dof], self.slices[rest[0][0]], rest[0][1])
        value = self.slices[dof] * weight
        for dof, weight in rest:
            value = axpy(value, weight, self.slices[dof], inplace=True)
        return value


def _choice(kind: type[enum.Enum], value, name: str):
    """`value` as a member of the enum `kind`, or ValueError naming `name` and the choices."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} must be one of {[k.value for k in kind]}, got {value!r}") from None


def _points(value, name: str) -> np.ndarray:
    """`value` as a float array of positions, or TypeError naming `name`."""
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nesting
        raise TypeError(f"{name} must be an array of real positions, got {value!r}") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real positions, got dtype {array.dtype}")
    return array.astype(float)


def _nystrom_nodes(axis: Axis) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The Nyström nodes and weights of `axis`' quadrature rule, and the ends ``(lower,
    upper)`` of the cell each belongs to.

    A Gauss–Lobatto rule puts a node on each side of every inner breakpoint, one per cell;
    any width axis (a basis, the read-in cells, the read-out space) reads each copy in the
    cell holding its own (:meth:`~fem_nn.Axis.locate_within` of the ends), so that the two
    copies take the two one-sided values of a discontinuous field.
    """
    nodes, weights = axis.quadrature_on_cells()
    spans = tuple(np.broadcast_to(b[:, None], nodes.shape).ravel() for b in (axis.breakpoints[:-1], axis.breakpoints[1:]))
    return nodes.ravel(), weights.ravel(), spans


def _gather_form(axis: Axis, nodes: np.ndarray, spans) -> tuple[torch.Tensor, torch.Tensor]:
    cells, nodes = axis.locate_within(nodes, *spans)
    values, dofs = axis.tabulate(nodes, cells=cells)
    return torch.as_tensor(values[0]), torch.as_tensor(dofs, dtype=torch.long)


def _sparse_matrix(values: torch.Tensor, dofs: torch.Tensor, n_dofs: int) -> torch.Tensor:
    """The evaluation matrix (points × dofs) of a gather form, as a sparse COO tensor."""
    rows = torch.arange(values.shape[0]).repeat_interleave(values.shape[1])
    used = values.reshape(-1) != 0
    indices = torch.stack([rows[used], dofs.reshape(-1)[used]])
    shape = (values.shape[0], n_dofs)
    return torch.sparse_coo_tensor(indices, values.reshape(-1)[used], shape, check_invariants=True).coalesce()


def _csr(matrix: torch.Tensor) -> torch.Tensor:
    """A COO matrix as CSR, without torch's notice that CSR support is in beta (an internal
    detail of the tabulation, of no concern to a user)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return matrix.to_sparse_csr()


class _SparseProduct(torch.autograd.Function):
    """``S @ M`` (plus a column `bias`, if not None) for a constant sparse S, whose backward
    pass multiplies by a precomputed Sᵀ: autograd's own backward transposes S on every call
    and is slow on strided gradients (30 ms against 1 ms for the 512-node tabulation).

    The COO buffers (which, unlike CSR tensors, can be deep-copied) are converted to CSR per
    call (~3 µs): the CSR product is 1.4–1.8× faster (0.16 → 0.09 ms for 128 nodes).
    """

    @staticmethod
    def forward(ctx, matrix: torch.Tensor, transpose: torch.Tensor, dense: torch.Tensor, bias) -> torch.Tensor:
        ctx.transpose = transpose
        if bias is None:
            return torch.sparse.mm(_csr(matrix), dense)
        # the bias enters as the product's initial value: no second pass over the result
        return torch.sparse.addmm(bias[:, None].expand(-1, dense.shape[1]), _csr(matrix), dense)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous()
        grad_bias = grad.sum(1) if ctx.needs_input_grad[3] else None
        return None, None, torch.sparse.mm(_csr(ctx.transpose), grad), grad_bias


class ContinuumNetwork(torch.nn.Module):
    """A neural continuum manifested on meshes, with a Runge–Kutta scheme in depth.

    Parameters
    ----------
    weight_mesh : Mesh
        3D mesh of W(ξ, η, δ) on [-1, 1]² × [0, 1].
    bias_mesh : Mesh
        2D mesh of b(ξ, δ) on [-1, 1] × [0, 1]; same width and depth intervals.
    rhs : RightHandSide or str, default "integral"
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
        Initial coefficients by parameter name; default small random values.
    memory_flat : bool, default False
        Checkpoint the steps (two levels, see :func:`~fem_nn.integrate`): training memory
        grows like 2√steps states, not by every stage's intermediates of every step, for
        about two extra forward passes.
    kernel_form : KernelForm or str, default "auto"
        How a stage applies the width kernel (see :class:`KernelForm`); ``factored`` tells
        which form "auto" chose.
    read_in_form : ReadInForm or str, default "sample"
        How an input signal becomes the state at the nodes (see :class:`ReadInForm`).
    n_samples : int, optional
        The input sample count N_x the network is built (and trained) for: other counts are
        refused unless :meth:`forward` is asked to resample. Default: any count (a
        :class:`~fem_nn.Trainer` records the count of its task).
    init : Initialization or str, default "noise"
        The initial coefficients where `weights` gives none (see :class:`Initialization`).
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
        rhs: RightHandSide | str = RightHandSide.INTEGRAL,
        activation: str | Callable = "tanh",
        scheme="rk4",
        steps: int | None = None,
        output_mesh=None,
        rate: float = 1.0,
        weights: dict | None = None,
        memory_flat: bool = False,
        kernel_form: KernelForm | str = KernelForm.AUTO,
        read_in_form: ReadInForm | str = ReadInForm.SAMPLE,
        n_samples: int | None = None,
        init: Initialization | str = Initialization.NOISE,
        dtype: torch.dtype = torch.float32,
    ):
        """A network on `weight_mesh` and `bias_mesh`; the parameters are those of the class
        (``help(ContinuumNetwork)``)."""
        super().__init__()
        self._check_meshes(weight_mesh, bias_mesh)
        limits.check_network(weight_mesh, bias_mesh, rhs, dtype, output_mesh)  # before any allocation
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be a floating-point torch.dtype (float32 or float64), got {dtype!r}")
        try:
            self.rhs = RightHandSide(rhs)
        except ValueError:
            known = [r.value for r in RightHandSide]
            raise ValueError(f"rhs must be one of {known}, got {rhs!r}") from None
        self.activation = activation_function(activation)
        self.adaptive = scheme if isinstance(scheme, Adaptive) else None
        self.tableau = tableau(scheme.pair if self.adaptive else scheme)
        depth = weight_mesh.axes[2]
        self.steps = depth.n_cells if steps is None else _checks.integer(steps, "steps", 1)
        self.rate = _checks.real(rate, "rate")
        self.memory_flat = _checks.flag(memory_flat, "memory_flat")
        try:
            self.kernel_form = KernelForm(kernel_form)
        except ValueError:
            known = [f.value for f in KernelForm]
            raise ValueError(f"kernel_form must be one of {known}, got {kernel_form!r}") from None
        self.read_in_form, self.init = _choice(ReadInForm, read_in_form, "read_in_form"), _choice(Initialization, init, "init")
        self.n_samples = None if n_samples is None else _checks.integer(n_samples, "n_samples", 1)
        self._read_in_operators = {}
        self.weight_mesh, self.bias_mesh, self.output_mesh = weight_mesh, bias_mesh, output_mesh
        self._depth_w, self._depth_b = DepthLookup(weight_mesh.axes[2]), DepthLookup(bias_mesh.axes[1])

        # Nyström nodes and weights: the quadrature of the integration axis η
        nodes, node_weights, self._node_spans = _nystrom_nodes(weight_mesh.axes[1])
        self.nodes = nodes
        # derived from the meshes, not state: kept out of state_dict
        self.register_buffer("node_weights", torch.as_tensor(node_weights, dtype=dtype), persistent=False)
        for name, axis in (("xi", weight_mesh.axes[0]), ("eta", weight_mesh.axes[1]), ("bias", bias_mesh.axes[0])):
            values, dofs = _gather_form(axis, nodes, self._node_spans)
            self.register_buffer(f"_{name}_values", values.to(dtype), persistent=False)
            self.register_buffer(f"_{name}_dofs", dofs, persistent=False)
        weighted = self._eta_values * self.node_weights[:, None]
        costs = {}
        for name, values, dofs, n_dofs in (
            ("xi", self._xi_values, self._xi_dofs, weight_mesh.shape[0]),
            ("eta", weighted, self._eta_dofs, weight_mesh.shape[1]),
            ("bias", self._bias_values, self._bias_dofs, bias_mesh.shape[0]),
        ):
            costs[name] = self._register_basis(name, _sparse_matrix(values, dofs, n_dofs))
        self.factored = self.kernel_form is KernelForm.FACTORED or (
            self.kernel_form is KernelForm.AUTO
            and weight_mesh.shape[0] * weight_mesh.shape[1] + costs["xi"] + costs["eta"] < len(nodes) ** 2
        )
        if output_mesh is not None:
            readout = self._readout_matrix(output_mesh, weight_mesh.axes[1])
            self.register_buffer("_readout", torch.as_tensor(readout, dtype=dtype), persistent=False)
            if isinstance(output_mesh, Mesh):
                output_mass = mass_factors(output_mesh)[0].toarray()
            else:  # points: the L2 loss is their mean square times the interval's length
                output_mass = np.eye(len(readout)) * (np.diff(weight_mesh.axes[0].interval)[0] / len(readout))
        else:
            output_mass = np.diag(node_weights)
        self.register_buffer("_output_mass", torch.as_tensor(output_mass, dtype=dtype), persistent=False)

        rng = np.random.default_rng(0)
        shapes = self.parameter_shapes()
        if weights is not None and not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a mapping of parameter names to coefficients, got {type(weights).__name__}")
        weights = {} if weights is None else dict(weights)
        unknown = set(weights) - set(shapes)
        if unknown:
            raise ValueError(f"weights has unknown names {sorted(unknown)}; expected {sorted(shapes)}")
        for name, shape in shapes.items():
            if name in weights:
                value = _checks.real_array(weights[name], f"weights[{name!r}]", shape)
            elif self.init is Initialization.SMOOTH:
                value = _smooth_field(weight_mesh, rng) if name.startswith("weight") else np.zeros(shape)
            else:  # small enough that the flow stays near the identity at initialization
                value = rng.normal(0.0, 0.5 / np.sqrt(len(nodes)), shape) * (len(nodes) / 2.0)
                value *= 0.0 if name.startswith("bias") else 1.0
            self.register_parameter(name, torch.nn.Parameter(torch.as_tensor(value, dtype=dtype)))

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

    def _register_basis(self, name: str, matrix: torch.Tensor) -> int:
        """Registers the evaluation matrix (nodes × dofs, coalesced COO) of basis `name` and
        its transpose for :meth:`_basis_product`: dense where a dense product costs fewer
        multiply-adds than the sparse one (see :data:`_SPARSE_COST`; small meshes: the
        sparse kernels' overhead would dominate), else sparse. Returns the cost of one
        product per batch column."""
        dense_cost = matrix.shape[0] * matrix.shape[1]
        sparse_cost = _SPARSE_COST * matrix._nnz() + _SPARSE_CALL
        if dense_cost <= sparse_cost:
            matrix = matrix.to_dense()
            pair = (matrix, matrix.t().contiguous())
        else:
            pair = (matrix, matrix.t().coalesce())
        for suffix, value in zip(("", "_t"), pair):
            self.register_buffer(f"_{name}_matrix{suffix}", value, persistent=False)
        return min(dense_cost, sparse_cost)

    def _basis_product(self, name: str, dense: torch.Tensor, bias=None, transpose: bool = False) -> torch.Tensor:
        """``Φ @ dense`` (``Φᵀ @ dense`` with `transpose`), plus a column `bias` if given, for
        the evaluation matrix Φ of basis `name` ("xi", "eta" with the Nyström weights, or
        "bias")."""
        matrix, matrix_t = getattr(self, f"_{name}_matrix"), getattr(self, f"_{name}_matrix_t")
        if transpose:
            matrix, matrix_t = matrix_t, matrix
        if matrix.layout == torch.strided:
            return matrix @ dense if bias is None else torch.addmm(bias[:, None], matrix, dense)
        return _SparseProduct.apply(matrix, matrix_t, dense, bias)

    @staticmethod
    def _readout_matrix(output_mesh, node_axis: Axis) -> np.ndarray:
        """R with R h the L2 projection of the state onto the output mesh (or its values at
        output points).

        The state, known at the nodes, is first a field of the discontinuous (Legendre)
        space of the nodes' partition, of each cell's order (at most the nodes per cell
        less one), by the discrete L2 projection of the Nyström quadrature (discontinuous,
        as the state may jump where the input does; each node read in its own cell, so
        that both copies of a Lobatto node count). With the quadrature's own mass matrix,
        a state of that space is recovered exactly for Gauss–Legendre and Gauss–Lobatto
        rules alike. The field is then projected exactly, on the supermesh, onto the output
        mesh: outputs finer than the nodes read the field, not empty cells.
        """
        nodes, weights, spans = _nystrom_nodes(node_axis)
        orders = np.minimum(node_axis.orders, node_axis.quadrature_points - 1)
        width = Axis(node_axis.breakpoints, "legendre", orders)
        cells, nodes = width.locate_within(nodes, *spans)
        values = width.evaluation_matrix(nodes, cells=cells).toarray()
        load = values.T * weights
        to_width = np.linalg.solve(load @ values, load)
        if not isinstance(output_mesh, Mesh):
            points = _points(output_mesh, "output_mesh")
            if points.ndim != 1 or points.size == 0:
                raise ValueError(f"output_mesh must be a 1D Mesh or a 1D array of points, got shape {points.shape}")
            return width.evaluation_matrix(points).toarray() @ to_width  # locate() checks the interval
        if output_mesh.dim != 1:
            raise ValueError("output_mesh must be a 1D Mesh on the width interval")
        if not np.allclose(output_mesh.box[0], width.interval):
            raise ValueError(f"output_mesh must cover the width interval {width.interval}, got {output_mesh.box[0]}")
        return np.linalg.solve(mass_matrix(output_mesh).toarray(), mixed_mass_matrix(output_mesh.axes[0], width) @ to_width)

    def remanifested(
        self, scheme=None, steps: int | None = None, quadrature_points: int | None = None, output_mesh=None
    ) -> "ContinuumNetwork":
        """The same fields manifested with another scheme, step count, width quadrature
        (points per width cell) or read-out mesh, as a new network holding copies of the
        coefficients.

        Examples
        --------
        >>> from fem_nn import weight_mesh, bias_mesh
        >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="euler", steps=4)
        >>> fine = net.remanifested(scheme="rk4", steps=16)
        >>> fine.steps, fine.tableau.name
        (16, 'rk4')
        """
        weight_mesh, bias_mesh = self.weight_mesh, self.bias_mesh
        if quadrature_points is not None:
            def requadrature(axis):
                return Axis(axis.breakpoints, axis.family, axis.orders, axis.quadrature, quadrature_points)

            weight_mesh = Mesh([requadrature(a) for a in weight_mesh.axes[:2]] + [weight_mesh.axes[2]], weight_mesh.names)
            bias_mesh = Mesh([requadrature(bias_mesh.axes[0]), bias_mesh.axes[1]], bias_mesh.names)
        parameter = next(self.parameters())
        return ContinuumNetwork(
            weight_mesh, bias_mesh, rhs=self.rhs, activation=self.activation,
            scheme=(self.adaptive or self.tableau) if scheme is None else scheme, steps=self.steps if steps is None else steps,
            output_mesh=self.output_mesh if output_mesh is None else output_mesh, rate=self.rate, memory_flat=self.memory_flat,
            kernel_form=self.kernel_form, read_in_form=self.read_in_form, n_samples=self.n_samples, init=self.init,
            dtype=parameter.dtype, weights={name: p.detach().cpu().double().numpy() for name, p in self.named_parameters()},
        ).to(parameter.device)

    def config(self) -> dict:
        """Everything but the coefficients, as JSON-ready data: ``ContinuumNetwork.from_config``
        rebuilds the network from it (and a ``state_dict``). A custom activation callable
        cannot be saved (TypeError); a custom tableau is saved by its coefficients."""
        t = self.tableau
        builtin = t.name in {s.value for s in Scheme} and tableau(t.name) is t
        if self.adaptive is not None and not (builtin and isinstance(self.adaptive.norm, str)):
            raise TypeError("config of an adaptive manifestation needs a built-in pair and a named norm")
        output = self.output_mesh
        if isinstance(output, Mesh):
            output = {"mesh": mesh_to_dict(output)}
        elif output is not None:
            output = {"points": np.asarray(output, dtype=float).tolist()}
        return {
            "weight_mesh": mesh_to_dict(self.weight_mesh),
            "bias_mesh": mesh_to_dict(self.bias_mesh),
            "rhs": self.rhs.value,
            "activation": activation_spec(self.activation),
            "scheme": {"adaptive": {**self.adaptive.__dict__, "pair": t.name}} if self.adaptive else
            t.name if builtin else {"a": t.a.tolist(), "b": t.b.tolist(), "c": t.c.tolist(), "name": t.name, "order": t.order},
            "steps": self.steps,
            "output": output,
            "rate": self.rate,
            "memory_flat": self.memory_flat,
            "kernel_form": self.kernel_form.value,
            "read_in_form": self.read_in_form.value,
            "n_samples": self.n_samples,
            "init": self.init.value,
            "dtype": str(self.node_weights.dtype).removeprefix("torch."),
        }

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
        expected = {"weight_mesh", "bias_mesh", "rhs", "activation", "scheme", "steps", "output", "rate", "memory_flat",
                    "kernel_form", "read_in_form", "n_samples", "init", "dtype"}
        # absent from the configs written before these options: their defaults are the old behaviour
        optional = {"kernel_form", "read_in_form", "n_samples", "init"}
        if not isinstance(config, dict) or not expected - optional <= set(config) <= expected:
            got = sorted(config) if isinstance(config, dict) else type(config).__name__
            raise ValueError(f"config must be a dict with keys {sorted(expected)}, got {got}")
        output = config["output"]
        if isinstance(output, dict) and set(output) == {"mesh"}:
            output = mesh_from_dict(output["mesh"], "config['output']['mesh']")
        elif isinstance(output, dict) and set(output) == {"points"}:
            output = output["points"]
        elif output is not None:
            raise ValueError(f"config['output'] must be null, {{'mesh': ...}} or {{'points': [...]}}, got {output!r}")
        scheme = config["scheme"]
        if isinstance(scheme, dict):
            scheme = Adaptive(**scheme["adaptive"]) if set(scheme) == {"adaptive"} else ButcherTableau(**scheme)
        dtype = {"float32": torch.float32, "float64": torch.float64}.get(config["dtype"])
        if dtype is None:
            raise ValueError(f"config['dtype'] must be 'float32' or 'float64', got {config['dtype']!r}")
        if weights is not None:
            weights = {name: torch.as_tensor(value).detach().cpu().double().numpy() for name, value in weights.items()}
        return cls(
            mesh_from_dict(config["weight_mesh"], "config['weight_mesh']"),
            mesh_from_dict(config["bias_mesh"], "config['bias_mesh']"),
            rhs=config["rhs"], activation=activation_function(config["activation"]), scheme=scheme,
            steps=config["steps"], output_mesh=output, rate=config["rate"], memory_flat=config["memory_flat"],
            kernel_form=config.get("kernel_form", KernelForm.AUTO), read_in_form=config.get("read_in_form", ReadInForm.SAMPLE),
            n_samples=config.get("n_samples"), init=config.get("init", Initialization.NOISE), dtype=dtype, weights=weights,
        )

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
            output = f"values at {len(self._readout)} points"
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
            f"rhs={self.rhs.value}, activation={activation}, scheme={self.tableau.name or 'custom'}, steps={self.steps}, "
            f"kernel_form={'factored' if self.factored else 'dense'}, dtype={str(self.node_weights.dtype).removeprefix('torch.')}"
        )
        if self.rhs is RightHandSide.RELAXATION:
            settings += f", rate={self.rate:g}"
        return "\n".join([
            f"weight_mesh: {mesh(self.weight_mesh)}", f"bias_mesh: {mesh(self.bias_mesh)}", f"output: {output}", settings,
            f"parameters: {sum(counts.values())} ({', '.join(f'{n} {c}' for n, c in counts.items())})",
        ])

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Names and shapes of the coefficient parameters of this right-hand side."""
        w, b = self.weight_mesh.shape, self.bias_mesh.shape
        if self.rhs is RightHandSide.TWO_LAYER:
            return {"weight1": w, "bias1": b, "weight2": w, "bias2": b}
        return {"weight": w, "bias": b}

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The mesh of each coefficient parameter, by name."""
        return {name: self.weight_mesh if name.startswith("weight") else self.bias_mesh for name in self.parameter_shapes()}

    def fields(self) -> dict[str, Field]:
        """The parameters as :class:`~fem_nn.Field` objects (float64 copies)."""
        return {
            name: Field(mesh, getattr(self, name).detach().cpu().double().numpy())
            for name, mesh in self.parameter_meshes().items()
        }

    # --- tabulation ----------------------------------------------------------------------
    def _kernels(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``K[k, q, r] = w_r Σ_ij φ_i(ξ_q) φ_j(ξ_r) U[i, j, k]`` for every depth dof k, as two
        mode products with the width evaluation matrices (sum factorization).

        The result is a view of one (r, k, q) array: each ``K[k].T`` is then a matrix with
        unit column stride that BLAS takes as it is, and no (k, q, r) copy of the whole
        tabulation is made (it cost as much as both products).
        """
        n_xi, n_eta, n_depth = coefficients.shape
        along_xi = self._basis_product("xi", coefficients.reshape(n_xi, -1))  # (q, j * k)
        n_nodes = along_xi.shape[0]
        along_xi = along_xi.reshape(n_nodes, n_eta, n_depth).permute(1, 2, 0).reshape(n_eta, -1)  # (j, k * q)
        both = self._basis_product("eta", along_xi)  # (r, k * q)
        return both.reshape(-1, n_depth, n_nodes).permute(1, 2, 0)

    def _biases(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``B[k, q] = Σ_i φ_i(ξ_q) U[i, k]`` for every depth dof k, each row contiguous."""
        return self._basis_product("bias", coefficients).T.contiguous()

    def _layer_fields(self, factored: bool) -> list[tuple[StageValues, StageValues]]:
        """Per layer (two for "two_layer"), the weight and the bias at each stage's depth: the
        kernel matrices K(δ), or with `factored` the coefficient matrices U(δ) (each
        contiguous), and the bias rows."""
        suffixes = ("1", "2") if self.rhs is RightHandSide.TWO_LAYER else ("",)
        fields = []
        for suffix in suffixes:
            weight = getattr(self, "weight" + suffix)
            # stacking the depth slices copies 1.7x faster than a permuted .contiguous()
            table = torch.stack(weight.unbind(2)) if factored else self._kernels(weight)
            bias = self._biases(getattr(self, "bias" + suffix))
            fields.append((StageValues(table, self._depth_w), StageValues(bias, self._depth_b)))
        return fields

    def _integral(self, kernel: torch.Tensor, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``b + ∫ W h`` at the nodes for state columns `h` ``(nodes, batch)``, given a stage's
        weight (as :meth:`_layer_fields` gives it for this network's kernel form) and bias."""
        if self.factored:
            along_eta = self._basis_product("eta", h, transpose=True)
            return self._basis_product("xi", kernel @ along_eta, bias)
        return _dense_integral(kernel, h, bias)

    # --- evaluation ----------------------------------------------------------------------
    def read_in(self, x, points=None, resample: bool = False) -> torch.Tensor:
        """The state at the width nodes ``(batch, nodes)`` from a batch of signals
        ``(batch, N_x)``: each read as a P0 signal on N_x equal cells of [-1, 1] (as
        :attr:`read_in_form` says), or, given `points` (N_x increasing positions), as the
        piecewise-linear interpolant of samples there (constant beyond the first and last
        point; one point: a constant). `x` may also be a :class:`~fem_nn.Field` on a 1D mesh
        of the width interval, or a sequence of them (a batch): the state is then its values
        at the nodes.

        A network with a sample count (:attr:`n_samples`) refuses P0 signals of another
        count, unless `resample`: then each signal is read by exact L2 projection onto the
        width space (``"projection"``) or onto P0 on `n_samples` cells first (``"sample"``).
        """
        if isinstance(x, Field) or (isinstance(x, (list, tuple)) and x and all(isinstance(f, Field) for f in x)):
            return self._read_fields([x] if isinstance(x, Field) else list(x), points)
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
        dtype = self.node_weights.dtype
        if points is None:
            operator = self._read_in_operator(x.shape[1], resample)
            if operator.dtype == torch.long:  # point sampling: a gather
                return x.index_select(1, operator.to(x.device)).to(dtype)
            return x.to(dtype) @ operator.to(x.device).T
        points = _points(points, "points")
        if points.shape != (x.shape[1],):
            raise ValueError(f"points must have one entry per sample of x ({x.shape[1]}), got shape {points.shape}")
        if not np.all(np.isfinite(points)) or np.any(np.diff(points) <= 0):
            raise ValueError("points must be finite and strictly increasing")
        # one point: left = right = 0, the constant signal
        right = np.clip(np.searchsorted(points, self.nodes), min(1, len(points) - 1), len(points) - 1)
        left = np.maximum(right - 1, 0)
        span = points[right] - points[left]
        weight = np.clip((self.nodes - points[left]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
        w = torch.as_tensor(weight, dtype=dtype, device=x.device)
        x = x.to(dtype)
        return x[:, torch.as_tensor(left, device=x.device)] * (1 - w) + x[:, torch.as_tensor(right, device=x.device)] * w

    def _read_in_operator(self, n_samples: int, resample: bool) -> torch.Tensor:
        """The read-in of P0 signals of `n_samples` samples: the input cell of each node (a
        long tensor, point sampling) or the matrix (nodes × n_samples) of the projection, or
        ValueError when this network reads another count and `resample` is not asked."""
        trained = self.n_samples
        if trained is not None and n_samples != trained and not resample:
            raise ValueError(
                f"x has {n_samples} samples per signal, but this network reads {trained} (the count it was "
                f"built and trained for); pass resample=True to read it by L2 projection instead"
            )
        key = (n_samples, self.read_in_form is ReadInForm.SAMPLE and trained is not None and n_samples != trained,
               self.node_weights.dtype)
        operator = self._read_in_operators.get(key)
        if operator is None:
            if self.read_in_form is ReadInForm.SAMPLE and not key[1]:
                operator = self._read_in_cells(n_samples)
            else:
                operator = torch.as_tensor(self._read_in_matrix(n_samples), dtype=self.node_weights.dtype)
            self._read_in_operators[key] = operator
        return operator

    def _read_in_matrix(self, n_samples: int) -> np.ndarray:
        """R (nodes × n_samples): R x is the read-in of P0 samples x, by the projection onto
        the discontinuous width space, or (``"sample"``, resampling) by the projection onto
        P0 on :attr:`n_samples` cells followed by point sampling."""
        eta = self.weight_mesh.axes[1]
        source = uniform_axis(eta.interval, n_samples, "p0", 0)
        if self.read_in_form is ReadInForm.SAMPLE:
            target = uniform_axis(eta.interval, self.n_samples, "p0", 0)
            resampled = np.linalg.solve(mass_matrix(target).toarray(), mixed_mass_matrix(target, source).toarray())
            return resampled[self._read_in_cells(self.n_samples).numpy()]
        width = Axis(eta.breakpoints, "legendre", eta.orders)
        projection = np.linalg.solve(mass_matrix(width).toarray(), mixed_mass_matrix(width, source).toarray())
        cells, nodes = width.locate_within(self.nodes, *self._node_spans)  # each node in its own cell
        return width.evaluation_matrix(nodes, cells=cells).toarray() @ projection

    def _read_fields(self, fields: list, points) -> torch.Tensor:
        """The state at the width nodes from 1D Fields: their values there."""
        if points is not None:
            raise ValueError("points must be None when x holds Fields: a Field carries its own mesh")
        interval = self.weight_mesh.axes[1].interval
        for i, field in enumerate(fields):
            if field.mesh.dim != 1 or not np.allclose(field.mesh.box[0], interval):
                raise ValueError(f"x[{i}] must be a Field on a 1D mesh of the width interval {interval}, got {field.mesh.box}")
        values = np.stack([self._node_values(field) for field in fields])
        return torch.as_tensor(values, dtype=self.node_weights.dtype, device=self.node_weights.device)

    def _node_values(self, field: Field) -> np.ndarray:
        """A 1D field's values at the nodes, each node read in its own cell."""
        axis = field.mesh.axes[0]
        cells, nodes = axis.locate_within(self.nodes, *self._node_spans)
        return axis.evaluation_matrix(nodes, cells=cells) @ field.coefficients

    def _read_in_cells(self, n_samples: int) -> torch.Tensor:
        """The input cell (of N_x equal cells) holding each width node (in its own cell),
        memoized by N_x (a read-in per call would cost a tenth of a forward pass)."""
        memo = self.__dict__.setdefault("_read_in_memo", {})
        if n_samples not in memo:
            cells = uniform_axis(self.weight_mesh.axes[1].interval, n_samples, "p0", 0)
            memo[n_samples] = torch.as_tensor(cells.locate_within(self.nodes, *self._node_spans)[0])
        return memo[n_samples].clone()  # the caller may keep it (a frozen buffer)

    def velocity(self):
        """The right-hand side f(δ, h, step_interval) with its kernels tabulated for this pass,
        on state columns h ``(nodes, batch)`` (the transpose of :meth:`read_in`'s rows)."""
        fields = self._layer_fields(self.factored)

        def f(t, h, interval):
            return self._slope(h, [(kernel(t, interval), bias(t, interval)) for kernel, bias in fields], self._integral)

        # what f depends on, for the adjoints: the tabulated depth slices (their gradients
        # then flow back through one tabulation, not one per stage)
        f.tensors = tuple(s for layer in fields for values in layer for s in values.slices if s.requires_grad)
        return f

    def _slope(self, h: torch.Tensor, layers, integral) -> torch.Tensor:
        """The right-hand side at state columns `h`, given each layer's stage weight and bias
        in `layers` and the product `integral(weight, h, bias)` that applies one."""
        if self.rhs is RightHandSide.TWO_LAYER:
            (kernel1, bias1), (kernel2, bias2) = layers
            hidden = apply_in_place(self.activation, integral(kernel1, h, bias1))
            return integral(kernel2, hidden, bias2)
        ((kernel, bias),) = layers
        return self._pointwise(integral(kernel, h, bias), h)

    def _pointwise(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The integral or relaxation right-hand side from the pre-activation `z` (overwritten)."""
        if self.rhs is RightHandSide.RELAXATION:
            return self.rate * (apply_in_place(self.activation, z) - h)
        return apply_in_place(self.activation, z)

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

    def forward(self, x, points=None, resample: bool = False, *, gradient: str | None = None) -> torch.Tensor:
        """Outputs for a batch of input signals ``(batch, N_x)`` or of Fields (read as in
        :meth:`read_in`, which says what `resample` does): the read-out when an output mesh
        or points were given, else the state at the nodes. `gradient` is
        :func:`~fem_nn.integrate`'s ("backprop", "checkpoint", "adjoint", "discrete";
        :func:`~fem_nn.integrate_adaptive`'s for an adaptive manifestation); default
        "checkpoint" with `memory_flat` ("adjoint" if adaptive), else "backprop"."""
        f, h0 = self.velocity(), self.read_in(x, points, resample).T.contiguous()
        if gradient is None:
            gradient = ("adjoint" if self.adaptive else "checkpoint") if self.memory_flat else "backprop"
        if not torch.is_grad_enabled():
            gradient = "backprop"
        if self.adaptive is not None:
            breakpoints = np.union1d(self.weight_mesh.axes[2].breakpoints, self.bias_mesh.axes[1].breakpoints)
            h = integrate_adaptive(f, h0, [0.0, 1.0], self.adaptive, breakpoints=breakpoints[1:-1].tolist(),
                                   pass_interval=True, gradient=gradient, params=f.tensors)[-1]
        else:
            h = integrate(f, h0, 0.0, 1.0, self.steps, self.tableau, pass_interval=True, gradient=gradient, params=f.tensors)
        return h.T if self.output_mesh is None else (self._readout @ h).T

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
        read_in = self._read_in_operator(n_samples, _checks.flag(resample, "resample")).to(self.node_weights.device)
        grid = np.linspace(0.0, 1.0, self.steps + 1).tolist()  # the step ends integrate takes
        with torch.no_grad():
            fields = self._layer_fields(factored=False)
            steps = []
            for k in range(self.steps):
                interval, dt = (grid[k], grid[k + 1]), grid[k + 1] - grid[k]
                times = sorted({interval[0] + c * dt for c in self.tableau.c.tolist()})  # as integrate's stages
                stages = [[(kernel(t, interval).contiguous(), bias(t, interval).clone()) for kernel, bias in fields] for t in times]
                steps.append(_FrozenStep(self, interval[0], dt, times, stages))
            readout = self._readout.clone() if self.output_mesh is not None else None
            return _FrozenNetwork(read_in, steps, readout)

    def export(self, n_samples: int) -> torch.export.ExportedProgram:
        """:meth:`frozen` as a ``torch.export`` program (any batch size) that runs with plain
        torch, no fem_nn code needed (``torch.export.save`` / ``torch.export.load(...).module()``).

        Parameters
        ----------
        n_samples : int
            The input width N_x the exported module reads (the read-in is fixed on export).
        """
        module = self.frozen(n_samples)
        example = torch.zeros(2, n_samples, dtype=self.node_weights.dtype, device=self.node_weights.device)
        return torch.export.export(module, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))

    def export_resnet(self, n_samples: int) -> torch.export.ExportedProgram:
        """:meth:`export` of a forward-Euler manifestation with the "integral" or "relaxation"
        right-hand side: a plain residual network, one block ``h + Δ f(h)`` per step."""
        if self.tableau.stages != 1 or self.rhs is RightHandSide.TWO_LAYER:
            raise ValueError("export_resnet needs scheme 'euler' and an 'integral' or 'relaxation' right-hand side")
        return self.export(n_samples)


def _describe_axis(axis: Axis) -> str:
    """``8 lagrange p1``: cells, family and order (``p1-3`` for per-cell orders)."""
    low, high = int(axis.orders.min()), int(axis.orders.max())
    if axis.family.value == "p0":
        return f"{axis.n_cells} p0"
    return f"{axis.n_cells} {axis.family.value} p{low}" + (f"-{high}" if high > low else "")


def _dense_integral(kernel: torch.Tensor, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``b + K h`` for a kernel matrix K, state columns `h` and a bias row `bias`."""
    return torch.addmm(bias[:, None], kernel, h)


class _FrozenStep(torch.nn.Module):
    """One Runge–Kutta step on state columns, each distinct stage time's kernel matrices
    and biases frozen in as buffers; the step itself is :func:`~fem_nn.integrators`' own."""

    def __init__(self, network: ContinuumNetwork, start: float, dt: float, times: list, stages: list):
        super().__init__()
        self.start, self.dt, self.times, self.tableau = start, dt, times, network.tableau
        self.slope = network._slope  # traced: an export holds only its operations
        for i, layers in enumerate(stages):
            for j, (kernel, bias) in enumerate(layers):
                self.register_buffer(f"kernel_{i}_{j}", kernel)
                self.register_buffer(f"bias_{i}_{j}", bias)
        self.layers = len(stages[0])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        values = {
            t: [(getattr(self, f"kernel_{i}_{j}"), getattr(self, f"bias_{i}_{j}")) for j in range(self.layers)]
            for i, t in enumerate(self.times)
        }
        return _step(lambda t, stage: self.slope(stage, values[t], _dense_integral), self.start, h, self.dt, self.tableau, False)


class _FrozenNetwork(torch.nn.Module):
    def __init__(self, read_in: torch.Tensor, steps: list, readout: torch.Tensor | None):
        super().__init__()
        # the input cell of each node (point sampling) or the read-in matrix
        self.gather = read_in.dtype == torch.long
        self.register_buffer("cells" if self.gather else "read_in", read_in.clone())
        self.steps = torch.nn.ModuleList(steps)
        self.register_buffer("readout", readout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x[:, self.cells].T.contiguous() if self.gather else (self.read_in @ x.T).contiguous()
        for step in self.steps:
            h = step(h)
        return h.T if self.readout is None else (self.readout @ h).T
