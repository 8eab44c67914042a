"""Accounts and logins. An SHO must belong to a station; other roles see the whole city."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit.service import record_change
from dispatch.auth.security import TokenClaims, hash_password, issue_token, verify_password
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.stations.models import Station
from dispatch.users.models import RevokedToken, User
from dispatch.vocabulary import ROLES


def get_by_username(session: Session, *, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create_user(session: Session, *, username: str, password: str, role: str,
                station_id: int | None = None, dial: str | None = None,
                actor: str = "system") -> User:
    if role not in ROLES:
        raise Invalid(f"unknown role '{role}'; roles: {', '.join(ROLES)}")
    if role == "sho" and station_id is None:
        raise Invalid("an SHO must belong to a station (give --station)")
    if station_id is not None and session.get(Station, station_id) is None:
        raise NotFound(f"station {station_id} does not exist")
    if get_by_username(session, username=username) is not None:
        raise Conflict(f"user '{username}' already exists")
    user = User(username=username, password_hash=hash_password(password), role=role,
                station_id=station_id, dial=dial)
    session.add(user)
    session.flush()
    record_change(session, actor=actor, action="user.create", entity_type="user",
                  entity_id=user.id, after={"username": username, "role": role,
                                            "station_id": station_id})
    return user


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The user if the password is right and the account active; None otherwise."""
    user = get_by_username(session, username=username)
    if user is None or not user.active:
        # Hash anyway so that a wrong user name costs as long as a wrong password.
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


def login(session: Session, *, username: str, password: str, key: str,
          ttl: timedelta) -> tuple[str, TokenClaims] | None:
    user = authenticate(session, username=username, password=password)
    if user is None:
        return None
    return issue_token(username=user.username, role=user.role, station_id=user.station_id,
                       key=key, ttl=ttl)


def revoke_token(session: Session, *, jti: str, expires_at: datetime, actor: str) -> None:
    from dispatch.auth.deps import note_revoked

    note_revoked(session.get_bind(), jti)
    if session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
        record_change(session, actor=actor, action="token.revoke", entity_type="token",
                      entity_id=jti)


_DUMMY_HASH = hash_password("not-a-real-password")
