"""Shared test set-up: a non-interactive matplotlib backend for the unit tests.

Notebook kernels started by nbval are separate processes and keep their inline backend.
"""

import matplotlib

matplotlib.use("Agg")
