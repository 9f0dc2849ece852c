"""Settings every service shares; each service subclasses with its own env prefix."""

from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _shared(name: str) -> AliasChoices:
    # Settings common to all services come from one REX_* variable, set once for the stack.
    return AliasChoices(f"REX_{name}".upper(), name)


class ServiceSettings(BaseSettings):
    """Kafka, PostgreSQL, HTTP and auth settings; read once in `__main__`."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Literal["local", "test", "production"] = Field("local", validation_alias=_shared("env"))
    kafka_bootstrap: str = Field("127.0.0.1:9092", validation_alias=_shared("kafka_bootstrap"))
    kafka_partitions: int = Field(3, validation_alias=_shared("kafka_partitions"))
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    jwt_secret: SecretStr = Field(SecretStr(""), validation_alias=_shared("jwt_secret"))
    log_level: str = Field("INFO", validation_alias=_shared("log_level"))

    @model_validator(mode="after")
    def _secrets_in_production(self) -> Self:
        if not self.database_url:
            raise ValueError("database_url is required")
        if self.env == "production" and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("jwt_secret must be set (32+ chars) in production")
        return self
