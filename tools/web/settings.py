"""Configuration of the web tools, read from `WEB_*` environment variables.

The defaults are the safe production posture: public addresses only, ports 80 and 443, small
timeouts and byte caps. `allow_loopback_for_tests` is the only way to reach 127.0.0.1 and the
default configuration never sets it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SearchBackendName = Literal["wikipedia", "yandex"]

DEFAULT_USER_AGENT = "agents-app-researcher/0.1 (agents-app multi-agent service; web tools)"


def _split_list(value: object) -> object:
    # `WEB_DENY_DOMAINS=a.com, b.org` reads better in an env file than a JSON array.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


DomainList = Annotated[list[str], NoDecode]
PortList = Annotated[list[int], NoDecode]


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", populate_by_name=True)

    search_backend: SearchBackendName = "wikipedia"
    # `{lang}` is replaced with the query's language; the API is at `<url>/w/api.php` and
    # articles at `<url>/wiki/<Title>`.
    wikipedia_url: str = "https://{lang}.wikipedia.org"
    wikipedia_default_lang: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[a-z]+)?$")
    yandex_url: str = "https://searchapi.api.cloud.yandex.net"
    # The service's own Yandex Cloud credentials work too when the key has the search scope.
    yandex_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WEB_YANDEX_API_KEY", "API_KEY")
    )
    yandex_folder_id: str | None = Field(
        default=None, validation_alias=AliasChoices("WEB_YANDEX_FOLDER_ID", "FOLDER_ID")
    )

    user_agent: str = Field(default=DEFAULT_USER_AGENT, min_length=1)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)
    total_timeout_s: float = Field(default=25.0, gt=0)
    max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_chars_limit: int = Field(default=20_000, ge=200)
    max_retries: int = Field(default=2, ge=0, le=5)
    retry_backoff_s: float = Field(default=0.5, ge=0)
    retry_max_backoff_s: float = Field(default=5.0, ge=0)
    max_connections: int = Field(default=20, gt=0)
    max_keepalive_connections: int = Field(default=10, ge=0)

    allowed_ports: PortList = Field(default_factory=lambda: [80, 443])
    allow_domains: DomainList = Field(default_factory=list)
    deny_domains: DomainList = Field(default_factory=list)
    allow_loopback_for_tests: bool = False

    _split = field_validator("allowed_ports", "allow_domains", "deny_domains", mode="before")(
        _split_list
    )

    @field_validator("allow_domains", "deny_domains")
    @classmethod
    def _normalise_domains(cls, value: list[str]) -> list[str]:
        return [d.strip().strip(".").lower() for d in value if d.strip().strip(".")]

    @field_validator("allowed_ports")
    @classmethod
    def _check_ports(cls, value: list[int]) -> list[int]:
        bad = [p for p in value if not 0 < p < 65536]
        if bad or not value:
            raise ValueError("allowed_ports must list ports between 1 and 65535")
        return value

    @model_validator(mode="after")
    def _check_backend(self) -> WebSettings:
        if self.search_backend == "yandex" and not (self.yandex_api_key and self.yandex_folder_id):
            raise ValueError(
                "the yandex search backend needs WEB_YANDEX_API_KEY and WEB_YANDEX_FOLDER_ID "
                "(or API_KEY and FOLDER_ID)"
            )
        if self.retry_max_backoff_s < self.retry_backoff_s:
            raise ValueError("retry_max_backoff_s must be >= retry_backoff_s")
        return self
