"""The unit of work: one transaction over the store's repositories.

Services open ``with uow:``, work through the repositories and call
``uow.commit()``; leaving the block without committing rolls back. Nothing
else commits a session.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tenure.engines.store.campaign_repositories import (
    CampaignRepository,
    ContactHistoryRepository,
    OfferRepository,
    SuppressionRepository,
    WorkOrderRepository,
)
from tenure.engines.store.repositories import (
    AssignmentRepository,
    AuditRepository,
    RuleVersionRepository,
    TokenRepository,
    UserRepository,
)


class UnitOfWork:
    """SQLAlchemy unit of work; one instance per use case call."""

    users: UserRepository
    tokens: TokenRepository
    assignments: AssignmentRepository
    audit: AuditRepository
    rule_versions: RuleVersionRepository
    campaigns: CampaignRepository
    offers: OfferRepository
    suppressions: SuppressionRepository
    contacts: ContactHistoryRepository
    work_orders: WorkOrderRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self.session: Session | None = None

    def __enter__(self) -> Self:
        self.session = self._factory()
        self.users = UserRepository(self.session)
        self.tokens = TokenRepository(self.session)
        self.assignments = AssignmentRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.rule_versions = RuleVersionRepository(self.session)
        self.campaigns = CampaignRepository(self.session)
        self.offers = OfferRepository(self.session)
        self.suppressions = SuppressionRepository(self.session)
        self.contacts = ContactHistoryRepository(self.session)
        self.work_orders = WorkOrderRepository(self.session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()


class UnitOfWorkFactory:
    """Makes units of work bound to one engine (or one connection, in tests)."""

    def __init__(self, bind: object) -> None:
        self.bind = bind
        self.session_factory: sessionmaker[Session] = sessionmaker(
            bind=bind,  # type: ignore[arg-type]
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)


def uow_factory(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)
