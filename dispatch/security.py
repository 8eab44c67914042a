"""Defences at the edge of the API: login rate limiting, security headers, body limits, redaction.

Why each exists:

* Login rate limiting stops password guessing: failures are capped per account (across
  addresses) and per client address (across accounts), counted in Redis so every API replica
  sees the same counts; the embedded `memory://` mode keeps them in this process.
* Security headers stop the consoles being framed (click-jacking), sniffed or leaking the URL
  of an incident in a Referer; the CSP allows only this origin's scripts, styles and sockets.
* A request body limit refuses oversized uploads (413) before they are read into memory.
* Log redaction keeps bearer tokens, SECRET_KEY, AMI_SECRET and AMI `Secret:` lines out of
  every log record, whichever library wrote it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
from fastapi import HTTPException, Request, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.asgi import HttpMiddleware

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# login rate limiting


@dataclass
class LoginRateLimiter:
    """Failed logins are capped twice over, each in a fixed window of `window_s` seconds:

    * per account, across addresses (`max_failures`): a guesser spreading tries over many
      addresses still gets only that many at one user's password;
    * per address, across accounts (`max_failures_per_address`, higher: a control room's
      officers may share one NAT address): one machine cannot sweep every user name.

    A successful login clears its account's count, never its address's (or a guesser holding
    one valid account would reset their address between sweeps). Behind a reverse proxy, run
    uvicorn with proxy headers trusted from the proxy so the address is the client's.
    """

    client: redis.Redis | None = None
    max_failures: int = 10
    window_s: int = 300
    max_failures_per_address: int = 50
    _memory: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @staticmethod
    def account_key(username: str) -> str:
        return f"h15:login_failures:user:{username.strip().lower()}"

    @staticmethod
    def address_key(client_ip: str) -> str:
        return f"h15:login_failures:addr:{client_ip}"

    def _limits(self, username: str, client_ip: str) -> list[tuple[str, int]]:
        return [(self.account_key(username), self.max_failures),
                (self.address_key(client_ip), self.max_failures_per_address)]

    def retry_after(self, username: str, client_ip: str) -> int:
        """Seconds until this user may try again from this address; 0 if allowed now."""
        limits = self._limits(username, client_ip)
        if self.client is None:
            with self._lock:
                return max(self._memory_wait(key, limit) for key, limit in limits)
        try:
            pipe = self.client.pipeline()
            for key, _ in limits:
                pipe.get(key).ttl(key)
            replies = pipe.execute()
        except redis.RedisError:  # fail open: an outage must not lock every officer out
            log.warning("login rate limit unavailable (Redis down); allowing the attempt")
            return 0
        waits = [0]
        for (_, limit), count, ttl in zip(limits, replies[::2], replies[1::2], strict=True):
            if count is not None and int(count) >= limit:
                waits.append(max(1, int(ttl)) if ttl and int(ttl) > 0 else self.window_s)
        return max(waits)

    def _memory_wait(self, key: str, limit: int) -> int:
        count, expires = self._memory.get(key, (0, 0.0))
        remaining = expires - time.monotonic()
        if remaining <= 0:
            self._memory.pop(key, None)
            return 0
        return max(1, int(remaining + 0.999)) if count >= limit else 0

    def record_failure(self, username: str, client_ip: str) -> int:
        """Count a failed login; returns the account's failures so far in this window."""
        keys = [key for key, _ in self._limits(username, client_ip)]
        if self.client is None:
            with self._lock:
                now = time.monotonic()
                counts = []
                for key in keys:
                    count, expires = self._memory.get(key, (0, now + self.window_s))
                    if expires <= now:
                        count, expires = 0, now + self.window_s
                    self._memory[key] = (count + 1, expires)
                    counts.append(count + 1)
                return counts[0]
        try:
            pipe = self.client.pipeline()
            for key in keys:
                pipe.incr(key).expire(key, self.window_s, nx=True)
            replies = pipe.execute()
        except redis.RedisError:
            log.warning("could not count a failed login for %r (Redis down)", username)
            return 0
        return int(replies[0])

    def reset(self, username: str, client_ip: str) -> None:
        """After a successful login: the account's count only (see the class docstring)."""
        key = self.account_key(username)
        if self.client is None:
            with self._lock:
                self._memory.pop(key, None)
        else:
            try:
                self.client.delete(key)
            except redis.RedisError:
                log.warning("could not clear failed logins for %r (Redis down)", username)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_rate_limiter(request: Request) -> LoginRateLimiter:
    """The app's limiter (one per app, on the app's Redis unless embedded)."""
    state = request.app.state
    limiter = getattr(state, "login_limiter", None)
    if limiter is None:
        ctx = state.ctx
        embedded = ctx.settings.redis_url.startswith("memory://")
        limiter = LoginRateLimiter(client=None if embedded else ctx.redis)
        state.login_limiter = limiter
    return limiter


def refuse_if_rate_limited(limiter: LoginRateLimiter, username: str, client_ip: str) -> None:
    wait = limiter.retry_after(username, client_ip)
    if wait:
        log.warning("login refused for %r from %s: too many failures", username, client_ip)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many failed logins; try again in {wait} s",
                            headers={"Retry-After": str(wait)})


# ---------------------------------------------------------------------------------------------
# security headers

COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
# Swagger UI and ReDoc load their scripts from a CDN and run inline code; they get no CSP.
_NO_CSP_PREFIXES = ("/docs", "/redoc")


def content_security_policy(host: str | None) -> str:
    """Only this origin; `data:`/`blob:` images for map markers; sockets back to this host."""
    sockets = f" ws://{host} wss://{host}" if host else ""
    return ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            f"script-src 'self'; connect-src 'self'{sockets}; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeadersMiddleware(HttpMiddleware):
    """Adds the headers to every HTTP response that does not already set them."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"),
                    None)
        if host is not None and not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host):
            host = None  # never echo a hostile Host header into a header value
        extra = dict(COMMON_HEADERS)
        if not path.startswith(_NO_CSP_PREFIXES):
            extra["content-security-policy"] = content_security_policy(host)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in extra.items()
                            if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------------------------------
# request body limit

DEFAULT_MAX_BODY_BYTES = 1_048_576


class BodySizeLimitMiddleware(HttpMiddleware):
    """413 for a declared or streamed body above the limit, before the app reads it all."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await _plain(send, 400, "invalid Content-Length")
                return
            if too_big:
                await self._refuse(scope, send)
                return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    # Answer now and tell the app the client left: frameworks turn an
                    # exception raised while reading the body into a 400, not a 413.
                    refused = True
                    await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 already went out
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, tracking_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        log.warning("refused %s %s: body over %d bytes", scope.get("method"), scope.get("path"),
                    self.max_bytes)
        await _plain(send, 413, f"request body larger than {self.max_bytes} bytes")


async def _plain(send: Send, code: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------------------------
# log redaction

REDACTED = "[REDACTED]"
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(r"(?im)((?:secret_key|secret)\s*[:=]\s*['\"]?)[^\s'\",}\\]+"),  # AMI `Secret: x`
    re.compile(r"(?i)((?:access_token|refresh_token|password)['\"]?\s*[:=]\s*['\"]?"
               r"|[?&]token=)[^\s'\",&}\\]+"),
    re.compile(r"(://[^:/@\s]*:)[^@\s]+(@)"),  # passwords in URLs (redis://:pw@host)
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


class Redactor:
    """Removes known secret values and secret-shaped text from log text."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, values: Iterable[str | None]) -> None:
        # short values would redact ordinary words; real secrets are long
        self.values |= {v for v in values if v and len(v) >= 6}

    def __call__(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(
                lambda m: m.group(1) + REDACTED + (m.group(2) if m.re.groups > 1 else ""), text)
        return _JWT.sub(REDACTED, text)


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """A handler filter; `install_log_redaction` covers every logger without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_h15_redacted", False):
        return
    record._h15_redacted = True
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: let logging report it as usual
        message = None
    if message is not None and REDACTOR(message) != message:
        # Keep msg/args shaped as they were (uvicorn's access formatter unpacks args);
        # fall back to the redacted text when a non-string argument carried the secret.
        if isinstance(record.args, tuple):
            record.args = tuple(REDACTOR(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: REDACTOR(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = REDACTOR(record.msg)
        try:
            still = record.getMessage()
        except Exception:
            still = message
        if REDACTOR(still) != still:
            record.msg, record.args = REDACTOR(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = REDACTOR(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = REDACTOR(record.exc_text)
    if record.stack_info:
        record.stack_info = REDACTOR(record.stack_info)


_installed = False
_install_lock = threading.Lock()


def install_log_redaction(secrets: Iterable[str | None] = ()) -> None:
    """Redact every log record created in this process from now on (idempotent)."""
    global _installed
    REDACTOR.add(secrets)
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
