"""The REST gateway: ``create_app()`` builds the FastAPI application."""

from __future__ import annotations

from dunes.interfaces.api.app import create_app

__all__ = ["create_app"]
