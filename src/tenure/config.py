"""One Settings object, read from the environment (prefix ``TENURE_``) and validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tenure.domain.errors import ConfigurationError

DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as ``TENURE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    home: Path = Field(default=Path("tenure-data"), description="Where the warehouse and the store live.")
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str = "local[2]"
    duckdb_memory_limit: str = Field(
        default="3500MB",
        description="DuckDB's memory limit. A 10M-subscriber monthly run with scoring peaked 0.3-0.5 GiB "
        "above it (docs/performance.md).",
    )
    duckdb_threads: int = 2
    database_url: str | None = Field(default=None, description="Operational store; SQLite under home by default.")
    secret_key: str = DEV_SECRET
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    cli_language: Literal["en", "zh"] = Field(
        default="en", description="Language of the rule names and reason texts the command line prints."
    )

    @field_validator("cli_language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        """``zh_CN`` / ``zh-CN`` (the web's locale names) read as ``zh``."""
        return "zh" if isinstance(value, str) and value.replace("-", "_").lower() == "zh_cn" else value
    max_bad_row_share: float = Field(default=0.01, ge=0, le=1)
    load_chunk_bytes: int = Field(
        default=128 << 20, ge=1, description="Larger load files are read and checked in pieces of about this size."
    )
    https_only_cookies: bool = False
    session_max_age_seconds: int = 8 * 3600
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    pii_roles: list[str] = Field(
        default=["administrator"], description="Roles that see phone and ID numbers unmasked (see_pii)."
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ConfigurationError("TENURE_SECRET_KEY must be set to a secret value in production")
        return self

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'tenure.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
