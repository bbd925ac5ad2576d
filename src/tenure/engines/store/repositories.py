"""Repositories: the queries of the operational store, one class per aggregate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tenure.engines.store.models import (
    ApiToken,
    AuditEntry,
    PortfolioAssignment,
    RegionAssignment,
    RuleVersion,
    User,
)


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def by_name(self, name: str) -> User | None:
        return self.session.scalars(select(User).where(User.name == name)).one_or_none()

    def list(self) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.name)).all()

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(User)) or 0)


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token

    def by_hash(self, token_hash: str) -> ApiToken | None:
        return self.session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()

    def get(self, token_id: int) -> ApiToken | None:
        return self.session.get(ApiToken, token_id)

    def list(self) -> Sequence[ApiToken]:
        return self.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


class AssignmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def customers_of(self, user_id: int) -> list[str]:
        q = select(PortfolioAssignment.customer_id).where(PortfolioAssignment.user_id == user_id)
        return sorted(self.session.scalars(q).all())

    def regions_of(self, user_id: int) -> list[str]:
        q = select(RegionAssignment.region).where(RegionAssignment.user_id == user_id)
        return sorted(self.session.scalars(q).all())

    def owners_of(self, customer_id: str) -> list[int]:
        q = select(PortfolioAssignment.user_id).where(PortfolioAssignment.customer_id == customer_id)
        return list(self.session.scalars(q).all())

    def add_customer(self, user_id: int, customer_id: str, at: datetime) -> None:
        self.session.add(PortfolioAssignment(user_id=user_id, customer_id=customer_id, assigned_at=at))
        self.session.flush()

    def remove_customer(self, user_id: int, customer_id: str) -> int:
        res = self.session.execute(
            delete(PortfolioAssignment).where(
                PortfolioAssignment.user_id == user_id, PortfolioAssignment.customer_id == customer_id
            )
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def add_region(self, user_id: int, region: str, at: datetime) -> None:
        self.session.add(RegionAssignment(user_id=user_id, region=region, assigned_at=at))
        self.session.flush()

    def remove_region(self, user_id: int, region: str) -> int:
        res = self.session.execute(
            delete(RegionAssignment).where(RegionAssignment.user_id == user_id, RegionAssignment.region == region)
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)
        self.session.flush()

    def list(
        self, limit: int = 100, offset: int = 0, object_type: str | None = None, object_id: str | None = None,
        actor: str | None = None,
    ) -> Sequence[AuditEntry]:
        q = select(AuditEntry)
        if object_type:
            q = q.where(AuditEntry.object_type == object_type)
        if object_id:
            q = q.where(AuditEntry.object_id == object_id)
        if actor:
            q = q.where(AuditEntry.actor == actor)
        q = q.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        return self.session.scalars(q).all()


class RuleVersionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def versions(self, rule_id: str) -> Sequence[RuleVersion]:
        q = select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.version.desc())
        return self.session.scalars(q).all()

    def latest(self, rule_id: str) -> RuleVersion | None:
        v = self.versions(rule_id)
        return v[0] if v else None

    def all_latest(self) -> dict[str, RuleVersion]:
        out: dict[str, RuleVersion] = {}
        for v in self.session.scalars(select(RuleVersion).order_by(RuleVersion.rule_id, RuleVersion.version)).all():
            out[v.rule_id] = v
        return out

    def add(self, version: RuleVersion) -> RuleVersion:
        self.session.add(version)
        self.session.flush()
        return version
