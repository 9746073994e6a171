"""Configuration helpers: keyword construction of the config structs, validation that raises."""

from __future__ import annotations

from . import _core
from ._errors import InvalidConfigError


def _allow_keywords(cls) -> None:
    """Lets ``VadConfig(min_silence_ms=500)`` work like the C++ designated initialisers; unknown names raise."""
    base_init = cls.__init__

    def __init__(self, **fields):
        base_init(self)
        for name, value in fields.items():
            if not hasattr(self, name):
                raise TypeError(f"{cls.__name__} has no field {name!r}")
            setattr(self, name, value)

    __init__.__doc__ = f"{cls.__name__}(**fields): defaults as in C++, then the given fields."
    cls.__init__ = __init__


for _cls in (
    _core.VadConfig,
    _core.AudioConfig,
    _core.QueueConfig,
    _core.BargeInConfig,
    _core.EventConfig,
    _core.MetricsConfig,
    _core.ClockConfig,
    _core.SinkConfig,
    _core.EngineConfig,
    _core.StreamBufferConfig,
    _core.SpeechOptions,
    _core.EchoCancellerConfig,
    _core.EchoConfig,
):
    _allow_keywords(_cls)


def validate_config(config: "_core.EngineConfig") -> list:
    """Every problem of ``config`` as ConfigIssue (field, value, valid); empty when valid. Same as C++."""
    return list(_core.validate_config(config))


def check_config(config: "_core.EngineConfig") -> None:
    """Raises InvalidConfigError naming every bad field, its value and the valid range; returns when valid."""
    issues = validate_config(config)
    if issues:
        raise InvalidConfigError("invalid engine config: " + _core.format_config_issues(issues), issues=issues)


def synthesize_speech(text: str, options: "_core.SpeechOptions | None" = None, **fields) -> bytes:
    """Speech for ``text`` from espeak-ng: mono float32 bytes at options.sample_rate_hz (keywords set options)."""
    opts = options if options is not None else _core.SpeechOptions()
    for name, value in fields.items():
        if not hasattr(opts, name):
            raise TypeError(f"SpeechOptions has no field {name!r}")
        setattr(opts, name, value)
    return _core.synthesize_speech(text, opts)
