"""Typed errors of the rbln package."""


class RblnError(Exception):
    """Base class of every error rbln raises."""


class LibraryNotFoundError(RblnError):
    """The runtime library or the compiler binary could not be found."""


class CompileError(RblnError):
    """rbln-compile refused the model; the message is its diagnostic."""


class LoadError(RblnError):
    """An artifact could not be loaded (missing, corrupt, not the right kind)."""


class InvalidInputError(RblnError, ValueError):
    """A request was refused before anything ran (bad token id, position past
    max_seq_len, block id out of range, wrong shape or dtype)."""


class ExecutionError(RblnError):
    """A program failed while running on the simulator (a trap)."""
