"""marina-ops: run log summary, notifications, job wrapper and connection check for the marina pipeline."""

__version__ = "0.1.0"
