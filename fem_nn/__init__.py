"""fem_nn — finite-element discretizations of neural continua.

Weights are fields W(ξ, η, δ) on [-1, 1]² × [0, 1], biases fields b(ξ, δ); a mesh with shape
functions manifests them as coefficients, and L2 projection moves them between meshes.
"""

from .activations import RateActivation, ScaledActivation, activation_function
from .assembly import integral_vector, mass_factors, mass_matrix, mixed_mass_factors, mixed_mass_matrix, supermesh
from .convergence import ConvergenceResult, convergence_test
from .elements import Family, reference_nodes, tabulate
from .field import Field, l2_distance
from .integrators import ButcherTableau, Scheme, integrate, tableau
from .io import load_mesh, save_mesh, mesh_from_dict, bundled_mesh, bundled_meshes
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, bias_mesh, signal_mesh, uniform_axis, weight_mesh
from .network import ContinuumNetwork, RightHandSide
from .numba_backend import NumbaNetwork
from .projection import AxisTransfer, Projector, project, supermesh_axis
from .quadrature import QuadratureFamily, QuadratureRule, gauss_legendre, gauss_lobatto, quadrature_rule

__version__ = "0.1.0"
