"""The parties of one 15 call: caller, tap, call-taker, SHO, each a leg of the caller's call.

Why a separate notion from channels: a Local channel is two channels (``;1`` and ``;2``) but
one party, and the production tap (``Originate`` of ``Local/<uuid>@helpline-tap`` spying on the
caller) gets its own Linkedid from Asterisk although it belongs to the caller's call. The
tracker folds every channel into a leg keyed by its name without the ``;N`` suffix.

How a leg's role is known, all observed on Asterisk 22.10.1:

* ``caller``: the channel whose Uniqueid is the Linkedid, and its Local sibling;
* ``tap``: a channel named ``Local/<the call's AudioSocket UUID>@...`` (the dialplan names the
  tap after the UUID), or in a tap context;
* ``call_taker``: the destination of a queue's ``AgentCalled`` (``Interface`` is its dial
  string);
* a leg the gateway originates (an SHO's phone) gets the ChannelId ``<call Linkedid>-<role><n>``,
  which Asterisk makes its Uniqueid and Linkedid (bridging it in ConfBridge does not change
  it), so even a gateway restarted mid-call knows whose leg it is;
* any role set explicitly with the channel variable ``H15_ROLE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

ROLES = ("caller", "tap", "call_taker", "sho", "other")
TAP_CONTEXTS = frozenset({"helpline-tap", "helpline-spy"})
INBOUND_CONTEXTS = frozenset({"helpline", "helpline-lab"})
ROLE_VARIABLE = "H15_ROLE"
DIAL_VARIABLE = "H15_DIAL"
_LOCAL_SUFFIX = re.compile(r";\d+$")
_TAP_NAME = re.compile(r"^Local/([0-9a-fA-F-]{36})@")


_LEG_ID = re.compile(r"^(?P<call>.+)-(?P<role>sho|call_taker|other)(?P<n>\d+)$")


def leg_id(call_linkedid: str, role: str, n: int) -> str:
    """The ChannelId of a leg the gateway originates into a call."""
    return f"{call_linkedid}-{role}{n}"


def parse_leg_id(linkedid: str) -> tuple[str, str] | None:
    """(call Linkedid, role) of a ChannelId made by :func:`leg_id`."""
    match = _LEG_ID.match(linkedid or "")
    return (match.group("call"), match.group("role")) if match else None


def leg_key(channel: str) -> str:
    """``Local/x@ctx-00000001;2`` -> ``Local/x@ctx-00000001``; other channels unchanged."""
    return _LOCAL_SUFFIX.sub("", channel)


def tap_uuid(channel: str) -> str | None:
    """The AudioSocket UUID a tap channel is named after, if it is one."""
    match = _TAP_NAME.match(channel or "")
    return match.group(1).lower() if match else None


@dataclass
class Leg:
    """One party of a call; ``left_at`` is set when its last channel hangs up."""

    key: str
    role: str
    channel: str
    joined_at: datetime
    dial: str | None = None
    left_at: datetime | None = None
    uniqueids: set[str] = field(default_factory=set)
    published_role: str | None = None

    def as_dict(self) -> dict:
        return {
            "role": self.role,
            "channel": self.channel,
            "dial": self.dial,
            "joined_at": self.joined_at.isoformat(),
            "left_at": self.left_at.isoformat() if self.left_at else None,
        }
