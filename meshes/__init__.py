"""Ready-made mesh files (JSON); load them with :func:`fem_nn.bundled_mesh`."""
