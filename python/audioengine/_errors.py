"""Exceptions raised for the engine's error codes.

Every failed C++ ``Status`` / ``Result`` becomes an instance of the subclass of :class:`AudioEngineError` that
matches its code; the message is the engine's own, naming the field, the value and what would be valid.
"""

from __future__ import annotations


class AudioEngineError(RuntimeError):
    """Base of every error the engine reports. ``code`` is the engine's short error name."""

    code = "internal"

    def __init__(self, message: str = "", code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgumentError(AudioEngineError, ValueError):
    code = "invalid_argument"


class InvalidFormatError(AudioEngineError, ValueError):
    code = "invalid_format"


class InvalidConfigError(AudioEngineError, ValueError):
    """The configuration failed validation; ``issues`` lists every bad field when known."""

    code = "invalid_config"

    def __init__(self, message: str = "", code: str | None = None, issues=None):
        super().__init__(message, code)
        self.issues = list(issues or [])


class NotInitializedError(AudioEngineError):
    code = "not_initialized"


class AlreadyRunningError(AudioEngineError):
    code = "already_running"


class NotRunningError(AudioEngineError):
    code = "not_running"


class QueueFullError(AudioEngineError):
    code = "queue_full"


class EngineTimeoutError(AudioEngineError, TimeoutError):
    code = "timeout"


class EngineIOError(AudioEngineError, OSError):
    code = "io"


class UnsupportedError(AudioEngineError):
    code = "unsupported"


class ShutdownError(AudioEngineError):
    code = "shutdown"


class InternalError(AudioEngineError):
    code = "internal"


ERROR_CLASSES = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        InvalidFormatError,
        InvalidConfigError,
        NotInitializedError,
        AlreadyRunningError,
        NotRunningError,
        QueueFullError,
        EngineTimeoutError,
        EngineIOError,
        UnsupportedError,
        ShutdownError,
        InternalError,
    )
}


def make_error(code: str, message: str) -> AudioEngineError:
    """The exception for the engine error named ``code`` (as ``ae::to_string(Error)`` spells it)."""
    cls = ERROR_CLASSES.get(code, AudioEngineError)
    return cls(message, code)
