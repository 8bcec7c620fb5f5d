"""fem_nn — finite-element discretizations of neural continua.

Weights are fields W(ξ, η, δ) on [-1, 1]² × [0, 1], biases fields b(ξ, δ); a mesh with shape
functions manifests them as coefficients, and L2 projection moves them between meshes.
"""

from .adaptive import Adaptive
from .activations import RateActivation, ScaledActivation, activation_function
from .assembly import integral_vector, mass_factors, mass_matrix, mixed_mass_factors, mixed_mass_matrix, supermesh
from .convergence import ConvergenceResult, convergence_test
from .elements import Family, reference_nodes, tabulate
from .export import load_field, save_field, write_paraview
from .field import Field, l2_distance
from .checkpoint import load_checkpoint, save_checkpoint
from .integrators import ButcherTableau, Scheme, integrate, integrate_adaptive, tableau
from .io import bundled_mesh, bundled_meshes, load_mesh, mesh_from_dict, mesh_to_dict, save_mesh
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, bias_mesh, signal_mesh, uniform_axis, weight_mesh
from .mgopt import MGOpt
from .continuum import ContinuumNetwork, Initialization, KernelForm, ReadInForm, RightHandSide
from .numba_backend import NumbaNetwork
from .plotting import fitted_rate, plot_convergence, plot_field, plot_mesh, plot_training, plot_weight_slices
from .projection import AxisTransfer, Projector, project, supermesh_axis
from .quadrature import QuadratureFamily, QuadratureRule, gauss_legendre, gauss_lobatto, quadrature_rule
from .indicators import depth_indicators, depth_smoothness, error_indicators
from .refinement import (
    adapted_network, coarsened_network, elevated_network, lowered_network, projected_network, refined_network,
)
from .transfer import MeshTransfer, transfer_optimizer
from .schedule import Phase, Schedule, load_schedule
from .tasks import Task, burgers_task, digits_task, task_network
from .regularization import SmoothnessPenalty
from .trainer import Manifestations, Trainer, make_optimizer
from .training import project_down, resume_schedule, run_schedule

__version__ = "0.1.0"
