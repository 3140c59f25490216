"""openfeeder: self-hosted B2B website-visitor identification with a Leadfeeder-compatible API."""

__version__ = "0.1.0"
__all__ = ["__version__"]
