"""interdict: the app shell (CLI, web API and review UI, exports)."""
__version__ = "0.1.0"
