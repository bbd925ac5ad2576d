"""Users, roles and portfolio assignments; every change goes to the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.domain.roles import Permission, Role, parse_role
from tenure.engines.store.models import User
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services import audit
from tenure.services.auth import AuthService, Principal

LOCALES = ("zh_CN", "en")
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
SYSTEM = "system"  # actor of changes made from the command line
Names = list[str]  # at module level: inside UserService, ``list`` is the method


@dataclass(frozen=True)
class UserView:
    name: str
    display_name: str
    role: str
    locale: str
    active: bool
    locked: bool
    customers: tuple[str, ...]
    regions: tuple[str, ...]


def _snapshot(user: User) -> dict:
    return {"name": user.name, "display_name": user.display_name, "role": user.role, "locale": user.locale,
            "active": user.active}


class UserService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], auth: AuthService, default_locale: str = "zh_CN") -> None:
        self.uow_factory = uow_factory
        self.auth = auth
        self.default_locale = default_locale

    def add(
        self, actor: Principal | None, name: str, role: str, password: str | None = None,
        display_name: str = "", locale: str | None = None,
    ) -> UserView:
        """Create a user. ``actor`` None means the command line (recorded as ``system``)."""
        if actor is not None:
            actor.require(Permission.MANAGE_USERS)
        if not NAME_RE.match(name):
            raise InputError("a user name is 2-64 letters, digits or . _ @ -")
        try:
            role = parse_role(role).value
        except ValueError as exc:
            raise InputError(str(exc)) from None
        locale = locale or self.default_locale
        if locale not in LOCALES:
            raise InputError(f"locale must be one of {', '.join(LOCALES)}")
        if password is not None and len(password) < 8:
            raise InputError("a password has at least 8 characters")
        with self.uow_factory() as uow:
            if uow.users.by_name(name) is not None:
                raise Conflict(f"user {name!r} already exists")
            user = uow.users.add(
                User(
                    name=name, display_name=display_name or name, role=role, locale=locale,
                    password_hash=self.auth.hash_password(password) if password else None,
                    active=True, failed_logins=0, created_at=datetime.now(UTC),
                )
            )
            audit.record(uow, actor.name if actor else SYSTEM, "user.create", "user", name, None, _snapshot(user))
            uow.commit()
            return self._view(uow, user)

    def list(self, actor: Principal | None) -> list[UserView]:
        if actor is not None:
            actor.require(Permission.MANAGE_USERS)
        with self.uow_factory() as uow:
            return [self._view(uow, u) for u in uow.users.list()]

    def get(self, actor: Principal | None, name: str) -> UserView:
        if actor is not None and actor.name != name:
            actor.require(Permission.MANAGE_USERS)
        with self.uow_factory() as uow:
            return self._view(uow, self._user(uow, name))

    def update(
        self, actor: Principal | None, name: str, role: str | None = None, display_name: str | None = None,
        active: bool | None = None, locale: str | None = None, password: str | None = None,
    ) -> UserView:
        """Change a user. A user may change their own locale and password; the rest needs ``manage_users``."""
        own_only = role is None and display_name is None and active is None
        if actor is not None and not (own_only and actor.name == name):
            actor.require(Permission.MANAGE_USERS)
        with self.uow_factory() as uow:
            user = self._user(uow, name)
            before = _snapshot(user)
            if role is not None:
                try:
                    user.role = parse_role(role).value
                except ValueError as exc:
                    raise InputError(str(exc)) from None
                if before["role"] == Role.ADMINISTRATOR.value and user.role != before["role"]:
                    self._keep_one_admin(uow, exclude=user.name)
            if display_name is not None:
                user.display_name = display_name
            if active is not None:
                if not active and user.role == Role.ADMINISTRATOR.value:
                    self._keep_one_admin(uow, exclude=user.name)
                user.active = active
            if locale is not None:
                if locale not in LOCALES:
                    raise InputError(f"locale must be one of {', '.join(LOCALES)}")
                user.locale = locale
            after = _snapshot(user)
            if password is not None:
                if len(password) < 8:
                    raise InputError("a password has at least 8 characters")
                user.password_hash = self.auth.hash_password(password)
                user.failed_logins = 0
                user.locked_until = None
                after["password"] = "changed"
            if after != before:
                audit.record(uow, actor.name if actor else SYSTEM, "user.update", "user", name, before, after)
            uow.commit()
            return self._view(uow, user)

    # -- assignments -----------------------------------------------------------
    def assign(
        self, actor: Principal | None, name: str, customers: Names | None = None,
        regions: Names | None = None, remove: bool = False,
    ) -> UserView:
        """Add (or remove) customers to an account manager's portfolio, regions to a channel owner."""
        if actor is not None:
            actor.require(Permission.MANAGE_ASSIGNMENTS)
        customers = [c.strip() for c in customers or [] if c.strip()]
        regions = [r.strip() for r in regions or [] if r.strip()]
        if not customers and not regions:
            raise InputError("name at least one customer or region")
        now = datetime.now(UTC)
        with self.uow_factory() as uow:
            user = self._user(uow, name)
            before = {"customers": uow.assignments.customers_of(user.id), "regions": uow.assignments.regions_of(user.id)}
            for c in customers:
                if remove:
                    uow.assignments.remove_customer(user.id, c)
                elif c not in before["customers"]:
                    uow.assignments.add_customer(user.id, c, now)
            for r in regions:
                if remove:
                    uow.assignments.remove_region(user.id, r)
                elif r not in before["regions"]:
                    uow.assignments.add_region(user.id, r, now)
            after = {"customers": uow.assignments.customers_of(user.id), "regions": uow.assignments.regions_of(user.id)}
            if after != before:
                audit.record(uow, actor.name if actor else SYSTEM, "assignment.remove" if remove else "assignment.add",
                             "user", name, before, after)
            uow.commit()
            return self._view(uow, user)

    # -- internals -------------------------------------------------------------
    @staticmethod
    def _user(uow: UnitOfWork, name: str) -> User:
        user = uow.users.by_name(name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        return user

    @staticmethod
    def _keep_one_admin(uow: UnitOfWork, exclude: str) -> None:
        others = [u for u in uow.users.list() if u.role == Role.ADMINISTRATOR.value and u.active and u.name != exclude]
        if not others:
            raise Conflict("the last active administrator cannot be removed or demoted")

    @staticmethod
    def _view(uow: UnitOfWork, user: User) -> UserView:
        locked = user.locked_until is not None and (
            user.locked_until if user.locked_until.tzinfo else user.locked_until.replace(tzinfo=UTC)
        ) > datetime.now(UTC)
        return UserView(
            name=user.name, display_name=user.display_name, role=user.role, locale=user.locale, active=user.active,
            locked=locked, customers=tuple(uow.assignments.customers_of(user.id)),
            regions=tuple(uow.assignments.regions_of(user.id)),
        )
