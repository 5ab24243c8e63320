"""Failures an operator fixes (a setting, the network, the wallet), as opposed to bugs."""

from __future__ import annotations


class LoaderError(RuntimeError):
    """An expected failure: the message says what failed, where, and what to do. The command
    line prints it as one line (the traceback only at DEBUG, see target_oracle.cli)."""
