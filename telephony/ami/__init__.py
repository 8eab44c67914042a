"""AMI side of the telephony gateway: call tracking, the panoramisk client, capture reader."""

from telephony.ami.client import AmiClient, AmiClientStats, AmiNotConnected, OriginateResult
from telephony.ami.tracker import (
    AMI_EVENT_MASK,
    CALLS_STREAM,
    LINK_DOWN_CAUSE_TEXT,
    CallTracker,
    TrackedCall,
)

__all__ = [
    "AMI_EVENT_MASK",
    "CALLS_STREAM",
    "LINK_DOWN_CAUSE_TEXT",
    "AmiClient",
    "AmiClientStats",
    "AmiNotConnected",
    "CallTracker",
    "OriginateResult",
    "TrackedCall",
]
