"""Radio gateway: receiver audio (sound card, WAV or stream) → transmissions → radio log."""

from telephony.radio.gateway import (
    RADIO_STREAM,
    RadioGateway,
    RadioLogEntry,
    RadioStats,
    radio_publisher,
)
from telephony.radio.sources import (
    AudioDeviceError,
    AudioSource,
    PcmStreamSource,
    PyAudioSource,
    WavSource,
    list_input_devices,
    open_source,
)

__all__ = [
    "RADIO_STREAM",
    "AudioDeviceError",
    "AudioSource",
    "PcmStreamSource",
    "PyAudioSource",
    "RadioGateway",
    "RadioLogEntry",
    "RadioStats",
    "WavSource",
    "list_input_devices",
    "open_source",
    "radio_publisher",
]
