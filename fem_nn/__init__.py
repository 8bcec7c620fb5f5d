"""fem_nn — finite-element discretizations of neural continua.

Weights are fields W(ξ, η, δ) on [-1, 1]² × [0, 1], biases fields b(ξ, δ); a mesh with shape
functions manifests them as coefficients, and L2 projection moves them between meshes.

The core (meshes, shape functions, assembly, projection, fields, integrators, networks) is
imported with the package and listed in ``__all__``. The workflow and the optional parts —
plots (matplotlib), ParaView and field files (meshio, safetensors), checkpoints, tasks,
training, schedules, refinement — are imported on first use (PEP 562), so ``import fem_nn``
stays light and needs none of the optional extras; ``from fem_nn import plot_field`` works
as before.
"""

from importlib import import_module as _import_module

from .activations import RateActivation, ScaledActivation, activation_function
from .adaptive import Adaptive
from .assembly import integral_vector, mass_factors, mass_matrix, mixed_mass_factors, mixed_mass_matrix, supermesh
from .elements import Family, contains, containing_families, reference_nodes, register_family, tabulate
from .field import Field, l2_distance
from .integrators import ButcherTableau, Scheme, integrate, integrate_adaptive, tableau
from .io import bundled_mesh, bundled_meshes, load_mesh, mesh_from_dict, mesh_to_dict, save_mesh
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, bias_mesh, signal_mesh, uniform_axis, weight_mesh
from .continuum import ContinuumNetwork, Initialization, KernelForm, ReadInForm, RightHandSide
from .numba_backend import NumbaNetwork
from .projection import AxisTransfer, Projector, project, supermesh_axis
from .quadrature import QuadratureFamily, QuadratureRule, gauss_legendre, gauss_lobatto, quadrature_rule
from .rates import fitted_rate
from .regularization import SmoothnessPenalty
from .tableaus import register_tableau, tableau_names

__version__ = "0.1.0"

__all__ = [
    # shape functions and quadrature
    "Family", "register_family", "contains", "containing_families", "reference_nodes", "tabulate",
    "QuadratureFamily", "QuadratureRule", "gauss_legendre", "gauss_lobatto", "quadrature_rule",
    # meshes and mesh files
    "Axis", "Mesh", "DEPTH_INTERVAL", "WIDTH_INTERVAL", "uniform_axis", "signal_mesh", "bias_mesh", "weight_mesh",
    "bundled_mesh", "bundled_meshes", "load_mesh", "save_mesh", "mesh_from_dict", "mesh_to_dict",
    # assembly, projection, fields
    "mass_matrix", "mass_factors", "mixed_mass_matrix", "mixed_mass_factors", "integral_vector", "supermesh",
    "AxisTransfer", "Projector", "project", "supermesh_axis", "Field", "l2_distance",
    # time integration
    "ButcherTableau", "Scheme", "tableau", "register_tableau", "tableau_names", "integrate", "integrate_adaptive",
    "Adaptive",
    # networks
    "ContinuumNetwork", "Initialization", "KernelForm", "ReadInForm", "RightHandSide", "NumbaNetwork",
    "RateActivation", "ScaledActivation", "activation_function", "SmoothnessPenalty", "fitted_rate",
    "__version__",
]

# name -> the module that defines it, imported on first access
_LAZY = {
    **dict.fromkeys(["ConvergenceResult", "convergence_test"], "convergence"),
    **dict.fromkeys(["LocalKernel", "LocalKernel2d", "SpectralKernel", "SpectralKernel2d"], "convolution"),
    **dict.fromkeys(["load_field", "save_field", "write_paraview"], "export"),
    **dict.fromkeys(["load_checkpoint", "save_checkpoint"], "checkpoint"),
    **dict.fromkeys(["MeshTransfer", "transfer_optimizer"], "transfer"),
    **dict.fromkeys(["MGOpt"], "mgopt"),
    **dict.fromkeys(["plot_convergence", "plot_field", "plot_mesh", "plot_training", "plot_weight_slices"], "plotting"),
    **dict.fromkeys(["depth_indicators", "depth_smoothness", "error_indicators"], "indicators"),
    **dict.fromkeys(
        ["adapted_network", "coarsened_network", "elevated_network", "lowered_network", "projected_network",
         "refined_network"],
        "refinement",
    ),
    **dict.fromkeys(["Phase", "register_phase"], "phases"),
    **dict.fromkeys(["ModelKind", "register_model_kind"], "schedule_models"),
    **dict.fromkeys(["Schedule", "load_schedule"], "schedule"),
    **dict.fromkeys(["Task", "burgers_task", "digits_task", "digits_images_task", "shapes_images_task", "task_network", "register_task"], "tasks"),
    **dict.fromkeys(["OdeBlock", "Residual"], "odeblock"),
    **dict.fromkeys(["ContinuousNetClassifier", "FieldConv2d", "conv_residual_unit", "train_model"], "models"),
    **dict.fromkeys(["Manifestations", "Trainer"], "trainer"),
    **dict.fromkeys(["make_optimizer"], "optimizers"),
    **dict.fromkeys(["project_down"], "inference"),
    **dict.fromkeys(["resume_schedule", "run_schedule"], "training"),
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(_import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later accesses skip this function
        return value
    if not name.startswith("__"):  # a submodule, e.g. fem_nn.plotting after a bare import fem_nn
        try:
            return _import_module(f".{name}", __name__)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":  # the module exists but needs something missing
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
