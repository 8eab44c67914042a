"""Asterisk emulator: AMI server and AudioSocket client faithful to real captures."""

from telephony.emulator.calls import CallOutcome, CallPlan
from telephony.emulator.emulator import AsteriskEmulator, parse_callerid, read_wav_pcm

__all__ = ["AsteriskEmulator", "CallOutcome", "CallPlan", "parse_callerid", "read_wav_pcm"]
