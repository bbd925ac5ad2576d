"""The operational store: users, tokens, portfolios, audit log (SQLAlchemy + Alembic)."""

from tenure.engines.store.database import make_engine, migrate
from tenure.engines.store.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["UnitOfWork", "UnitOfWorkFactory", "make_engine", "migrate"]
