"""Password hashing (Argon2id) and signed, expiring, revocable bearer tokens (JWT, HS256)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says; also the caller's identity in the API (`CurrentUser`)."""

    username: str
    role: str
    station_id: int | None
    jti: str
    expires_at: datetime

    @property
    def is_sho(self) -> bool:
        return self.role == "sho"

    @property
    def station_scope(self) -> int | None:
        """The one station-scope rule: an SHO sees only their own station; others the city."""
        return self.station_id if self.is_sho else None


class TokenError(ValueError):
    """The token is missing, malformed, expired or revoked; the message says which."""


def issue_token(*, username: str, role: str, station_id: int | None, key: str,
                ttl: timedelta, now: datetime | None = None) -> tuple[str, TokenClaims]:
    issued = now or datetime.now(UTC)
    claims = TokenClaims(username, role, station_id, uuid.uuid4().hex, issued + ttl)
    token = jwt.encode(
        {
            "sub": username,
            "role": role,
            "station_id": station_id,
            "jti": claims.jti,
            "iat": int(issued.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        },
        key,
        algorithm=ALGORITHM,
    )
    return token, claims


# Verified tokens by (key, token): a handset sends the same token with every ping for hours,
# and verifying the signature again each time was an eighth of a ping's cost. The expiry is
# still checked on every use; revocation is checked by the caller.
_VERIFIED_MAX = 50_000
_verified: dict[tuple[str, str], tuple[TokenClaims, float]] = {}  # with the expiry as epoch s


def decode_token(token: str, *, key: str) -> TokenClaims:
    cached = _verified.get((key, token))
    if cached is not None:
        if cached[1] <= time.time():
            raise TokenError("token expired; log in again")
        return cached[0]
    claims = _decode_and_verify(token, key=key)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(key, token)] = (claims, claims.expires_at.timestamp())
    return claims


def _decode_and_verify(token: str, *, key: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM],
                             options={"require": ["sub", "role", "jti", "exp"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired; log in again") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from None
    return TokenClaims(
        username=payload["sub"],
        role=payload["role"],
        station_id=payload.get("station_id"),
        jti=payload["jti"],
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )
