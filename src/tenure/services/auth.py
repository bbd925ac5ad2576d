"""Sign-in, API tokens and the identity of the caller (the principal)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import OperationalError

from tenure.domain.errors import AuthenticationFailed, NotFound, PermissionDenied
from tenure.domain.roles import Permission, permissions_of, portfolio_scope
from tenure.engines.store.models import ApiToken, User
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services import audit

TOKEN_PREFIX = "tnr_"


def password_hasher(fast: bool = False) -> PasswordHasher:
    # Tests use cheap parameters; production keeps argon2-cffi's defaults (RFC 9106 low-memory).
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is calling, with what rights and which portfolio."""

    user_id: int
    name: str
    display_name: str
    role: str
    locale: str
    permissions: frozenset[Permission]
    scope: str  # "all", "regions" or "customers"
    customer_ids: tuple[str, ...] = field(default=())
    regions: tuple[str, ...] = field(default=())
    via_token: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(f"{self.name} ({self.role}) may not {permission.value.replace('_', ' ')}")

    @property
    def see_pii(self) -> bool:
        return Permission.SEE_PII in self.permissions


class AuthService:
    """Password sign-in with lock-out, API tokens, principals."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        max_failures: int = 5,
        lockout_seconds: int = 300,
        pii_roles: tuple[str, ...] = ("administrator",),
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.uow_factory = uow_factory
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.pii_roles = pii_roles
        self.hasher = hasher or password_hasher()
        self.clock = clock
        # A hash to verify against when the user does not exist, so timing does not reveal names.
        self._dummy_hash = self.hasher.hash(secrets.token_hex(8))

    # -- passwords -----------------------------------------------------------
    def hash_password(self, password: str) -> str:
        return self.hasher.hash(password)

    def sign_in(self, name: str, password: str) -> Principal:
        """Check a password; after too many failures the account is locked for a while."""
        now = self.clock()
        with self.uow_factory() as uow:
            user = uow.users.by_name(name)
            if user is None or not user.active or not user.password_hash:
                self._verify(self._dummy_hash, password)
                raise AuthenticationFailed("wrong user name or password")
            locked = _aware(user.locked_until)
            if locked is not None and locked > now:
                raise AuthenticationFailed(
                    f"too many failed sign-ins; try again after {locked.astimezone(UTC):%H:%M:%S} UTC"
                )
            if not self._verify(user.password_hash, password):
                user.failed_logins += 1
                if user.failed_logins >= self.max_failures:
                    user.locked_until = now + timedelta(seconds=self.lockout_seconds)
                    user.failed_logins = 0
                    audit.record(uow, name, "user.locked", "user", name, None,
                                 {"locked_until": user.locked_until.isoformat()})
                uow.commit()
                raise AuthenticationFailed("wrong user name or password")
            user.failed_logins = 0
            user.locked_until = None
            if self.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self.hasher.hash(password)
            principal = self._principal(uow, user)
            uow.commit()
            return principal

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self.hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # -- principals ----------------------------------------------------------
    def principal_for(self, user_id: int) -> Principal:
        with self.uow_factory() as uow:
            user = uow.users.get(user_id)
            if user is None or not user.active:
                raise AuthenticationFailed("the session's user no longer exists or is disabled")
            return self._principal(uow, user)

    def _principal(self, uow: UnitOfWork, user: User, via_token: bool = False) -> Principal:
        scope = portfolio_scope(user.role)
        return Principal(
            user_id=user.id,
            name=user.name,
            display_name=user.display_name or user.name,
            role=user.role,
            locale=user.locale,
            permissions=permissions_of(user.role, self.pii_roles),
            scope=scope,
            customer_ids=tuple(uow.assignments.customers_of(user.id)) if scope == "customers" else (),
            regions=tuple(uow.assignments.regions_of(user.id)) if scope == "regions" else (),
            via_token=via_token,
        )

    # -- API tokens ----------------------------------------------------------
    def create_token(self, actor: Principal | None, user_name: str, label: str) -> tuple[int, str]:
        """Create an API token for ``user_name``; the clear token is returned once and never stored."""
        if actor is not None:
            actor.require(Permission.MANAGE_TOKENS)
        clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.uow_factory() as uow:
            user = uow.users.by_name(user_name)
            if user is None:
                raise NotFound(f"no user {user_name!r}")
            tok = uow.tokens.add(
                ApiToken(
                    user_id=user.id, label=label, token_hash=_token_hash(clear), prefix=clear[:8],
                    created_at=self.clock(), created_by=actor.name if actor else "system",
                )
            )
            audit.record(uow, actor.name if actor else "system", "token.create", "api_token", str(tok.id), None,
                         {"user": user_name, "label": label, "prefix": tok.prefix})
            uow.commit()
            return tok.id, clear

    def revoke_token(self, actor: Principal, token_id: int) -> None:
        actor.require(Permission.MANAGE_TOKENS)
        with self.uow_factory() as uow:
            tok = uow.tokens.get(token_id)
            if tok is None:
                raise NotFound(f"no API token {token_id}")
            before = {"revoked_at": tok.revoked_at.isoformat() if tok.revoked_at else None}
            tok.revoked_at = self.clock()
            audit.record(uow, actor.name, "token.revoke", "api_token", str(token_id), before,
                         {"revoked_at": tok.revoked_at.isoformat()})
            uow.commit()

    def list_tokens(self, actor: Principal) -> list[dict]:
        actor.require(Permission.MANAGE_TOKENS)
        with self.uow_factory() as uow:
            users = {u.id: u.name for u in uow.users.list()}
            return [
                {"id": t.id, "user": users.get(t.user_id), "label": t.label, "prefix": t.prefix,
                 "created_at": t.created_at, "created_by": t.created_by, "revoked": t.revoked_at is not None,
                 "last_used_at": t.last_used_at}
                for t in uow.tokens.list()
            ]

    def principal_for_token(self, clear: str) -> Principal:
        with self.uow_factory() as uow:
            tok = uow.tokens.by_hash(_token_hash(clear))
            if tok is None or tok.revoked_at is not None:
                raise AuthenticationFailed("unknown or revoked API token")
            user = uow.users.get(tok.user_id)
            if user is None or not user.active:
                raise AuthenticationFailed("the token's user is disabled")
            principal = self._principal(uow, user, via_token=True)
            now = self.clock()
            last = _aware(tok.last_used_at)
            # Recorded at most once a minute: a write per API call would serialise callers on the store.
            if last is None or now - last > timedelta(seconds=60):
                tok.last_used_at = now
                try:
                    uow.commit()
                except OperationalError:
                    uow.rollback()  # another request is recording the same use
            return principal


def _token_hash(clear: str) -> str:
    # Tokens are long random strings, so a plain SHA-256 is enough (no dictionary to guard against).
    return hashlib.sha256(clear.encode()).hexdigest()


def _aware(ts: datetime | None) -> datetime | None:
    # SQLite gives back naive datetimes; they were stored as UTC.
    if ts is None:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
