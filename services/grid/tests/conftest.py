"""The unit tests' service (fakes in test_service.py) for every module of this folder."""

from services.grid.tests.test_service import service  # noqa: F401
