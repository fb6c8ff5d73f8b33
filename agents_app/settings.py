"""Service settings, read from the environment.

The seed tutorial's names (API_KEY, FOLDER_ID, BASE_URL, MODEL_NAME) are kept unprefixed so its
deploy commands keep working; everything of ours is prefixed AGENTS_ (or named in DESIGN §5).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agents_app.access import normalise_origin
from agents_app.secrets import secret_values

if TYPE_CHECKING:
    from agents_app.config.model_api import ModelApi

Provider = Literal["offline", "yandex", "openai"]


class MissingCredentials(ValueError):
    """The model credentials are a partial set; the message names what is missing."""


DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "agents.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(default=None, validation_alias="API_KEY")
    folder_id: str | None = Field(default=None, validation_alias="FOLDER_ID")
    base_url: str | None = Field(default=None, validation_alias="BASE_URL")
    model_name: str | None = Field(
        default=None,
        validation_alias="MODEL_NAME",
        description="Overrides every agent's model (the seed's single-model knob).",
    )

    provider: Literal["auto", "offline", "yandex", "openai"] = Field(
        default="auto", validation_alias="AGENTS_PROVIDER"
    )
    api: Literal["responses", "chat_completions"] = Field(
        default="responses", validation_alias="AGENTS_API"
    )
    config_path: Path = Field(default=DEFAULT_CONFIG, validation_alias="AGENTS_CONFIG")
    # Conversation memory: sqlite:// (a file under AGENTS_DATA_DIR), sqlite:///path.db,
    # or redis://host:6379/0 for serverless and several instances.
    session_store: str = Field(default="sqlite://", validation_alias="SESSION_STORE")
    data_dir: Path = Field(default=Path(".data"), validation_alias="AGENTS_DATA_DIR")
    session_ttl_s: int = Field(default=7 * 24 * 3600, gt=0, validation_alias="AGENTS_SESSION_TTL")
    run_lock_ttl_s: float = Field(default=30.0, gt=0, validation_alias="AGENTS_RUN_LOCK_TTL")
    history_items: int = Field(default=100, gt=0, validation_alias="AGENTS_HISTORY_ITEMS")
    # How long a run's event log is kept after its last event (for run.join and replay).
    run_log_ttl_s: float = Field(default=600.0, gt=0, validation_alias="AGENTS_RUN_LOG_TTL")
    # Traces (OTEL_* variables): prompt and completion text go into spans only when asked.
    trace_content: bool = Field(default=False, validation_alias="AGENTS_TRACE_CONTENT")
    # multitask `enqueue`: how many messages may wait in one conversation, and for how long
    # a waiting message is kept if nothing ever runs it.
    max_queue: int = Field(default=10, gt=0, validation_alias="AGENTS_MAX_QUEUE")
    queue_ttl_s: float = Field(default=3600.0, gt=0, validation_alias="AGENTS_QUEUE_TTL")
    # How long a run paused for approval waits for run.resume (then it cannot be resumed).
    approval_ttl_s: float = Field(default=3600.0, gt=0, validation_alias="AGENTS_APPROVAL_TTL")
    # A new message while a run waits for approval: `refuse` it (error approval_pending), or
    # `reject` the waiting calls (the paused run is dropped) and answer the message.
    approval_on_message: Literal["refuse", "reject"] = Field(
        default="refuse", validation_alias="AGENTS_APPROVAL_ON_MESSAGE"
    )
    # Overrides agents.yaml's `on_disconnect` when set.
    on_disconnect: Literal["continue", "cancel"] | None = Field(
        default=None, validation_alias="AGENTS_ON_DISCONNECT"
    )

    # Access and abuse limits.
    auth_token: SecretStr | None = Field(default=None, validation_alias="AGENTS_AUTH_TOKEN")
    # Web pages on other origins that may use the service from a browser (the server's own
    # origin always may); `*` allows every site and is never the default.
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="AGENTS_ALLOWED_ORIGINS"
    )
    rate_limit_per_minute: float = Field(default=30, gt=0, validation_alias="AGENTS_RATE_LIMIT")
    rate_limit_burst: int = Field(default=10, gt=0, validation_alias="AGENTS_RATE_BURST")
    max_connections_per_client: int = Field(
        default=20, gt=0, validation_alias="AGENTS_MAX_CONNECTIONS_PER_CLIENT"
    )
    max_conversations_per_connection: int = Field(
        default=20, gt=0, validation_alias="AGENTS_MAX_CONVERSATIONS_PER_CONNECTION"
    )
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    log_format: Literal["json", "console"] = Field(default="json", validation_alias="LOG_FORMAT")

    host: str = Field(default="127.0.0.1", validation_alias="AGENTS_HOST")
    port: int = Field(default=8080, validation_alias="AGENTS_PORT")
    max_frame_bytes: int = Field(default=32 * 1024, gt=0, validation_alias="AGENTS_MAX_FRAME_BYTES")
    max_turns: int = Field(default=12, gt=0, validation_alias="AGENTS_MAX_TURNS")
    tool_output_limit: int = Field(default=4000, gt=0, validation_alias="AGENTS_TOOL_OUTPUT_LIMIT")
    # Seconds between offline-model words: visible typing by default, 0 in tests.
    offline_pace_s: float = Field(default=0.04, ge=0, validation_alias="AGENTS_OFFLINE_PACE")
    jokes_seed: int | None = Field(default=None, validation_alias="AGENTS_JOKES_SEED")
    model_timeout_s: float = Field(default=60.0, gt=0, validation_alias="AGENTS_MODEL_TIMEOUT")
    model_max_retries: int = Field(default=2, ge=0, validation_alias="AGENTS_MODEL_MAX_RETRIES")

    # The Cloud Function path (function.py).
    connections_endpoint: str = Field(
        default="apigateway-connections.api.cloud.yandex.net:443",
        validation_alias="AGENTS_CONNECTIONS_ENDPOINT",
    )
    connections_insecure: bool = Field(
        default=False,
        validation_alias="AGENTS_CONNECTIONS_INSECURE",
        description="Plain-text gRPC, for the local gateway emulator only.",
    )
    output_format: Literal["json", "text", "ag-ui"] = Field(
        default="json", validation_alias="AGENTS_OUTPUT_FORMAT"
    )
    # Time kept back from the platform's deadline to deliver run.failed{timeout} and drain.
    deadline_margin_s: float = Field(default=3.0, ge=0, validation_alias="AGENTS_DEADLINE_MARGIN")
    # Cloud Function, clients of batch frames: how long an event that shows no text and ends
    # nothing may wait for company (a Send saved is ~20 ms; 0: only while a Send is in flight).
    batch_linger_ms: float = Field(
        default=100.0, ge=0, le=1000, validation_alias="AGENTS_BATCH_LINGER_MS"
    )
    # Cloud Function, clients of batch frames: text goes at most once this long (counted from
    # the invocation's start, then from each message with text), so a paced model costs a Send
    # per interval, not per word, and a fast answer one message (0: text goes when it can).
    batch_text_interval_ms: float = Field(
        default=100.0, ge=0, le=1000, validation_alias="AGENTS_BATCH_TEXT_INTERVAL_MS"
    )
    # Cloud Function, clients of batch frames: the frame that ends the invocation's run is the
    # MESSAGE answer's body (the gateway sends it) instead of a Send; false: every frame a Send.
    answer_last_frame: bool = Field(default=True, validation_alias="AGENTS_ANSWER_LAST_FRAME")
    # When a function instance warms up before its first message: `connect` (a CONNECT
    # waits until the instance is warm), `load` (in the background from import: provisioned
    # instances), `both`, or `off`. The trade-off is in the README's deploy section.
    warm_up: Literal["off", "connect", "load", "both"] = Field(
        default="connect", validation_alias="AGENTS_WARM_UP"
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        bad = [o for o in value if o != "*" and normalise_origin(o) is None]
        if bad:
            raise ValueError(
                f"not a web origin: {', '.join(bad)} (write scheme://host[:port], e.g. "
                "https://chat.example.com, or * for any site)"
            )
        return value

    @property
    def resolved_provider(self) -> Provider:
        """The backend to use; ``MissingCredentials`` when the credentials are a partial set.

        The offline demo model answers only when no credential is set at all (or when
        AGENTS_PROVIDER=offline says so): a deployment with a half-configured key must fail
        loudly rather than serve canned jokes.
        """
        if self.provider == "offline":
            return "offline"
        problem = self.credentials_problem()
        if problem is not None:
            raise MissingCredentials(problem)
        if self.provider != "auto":
            return self.provider
        if self._has_key and self.folder_id:
            return "yandex"
        if self._has_key and self.base_url:
            return "openai"
        return "offline"

    @property
    def _has_key(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value())

    def credentials_problem(self) -> str | None:
        """What is missing from the model credentials, named (never a value), or None."""
        key, folder, url = self._has_key, bool(self.folder_id), bool(self.base_url)
        if self.provider == "offline":
            return None
        if self.provider == "yandex":
            missing = [name for name, ok in (("API_KEY", key), ("FOLDER_ID", folder)) if not ok]
            if missing:
                return f"AGENTS_PROVIDER=yandex needs {' and '.join(missing)}, which is not set"
            return None
        if self.provider == "openai":
            if not key:
                return (
                    "AGENTS_PROVIDER=openai needs API_KEY, which is not set (any value will do "
                    "for a server that takes no key)"
                )
            return None
        if key and not (folder or url):
            return (
                "API_KEY is set but neither FOLDER_ID (Yandex AI Studio) nor BASE_URL "
                "(an OpenAI-compatible server) is; set one of them, or unset API_KEY to use "
                "the offline demo model"
            )
        if not key and (folder or url):
            given = [name for name, ok in (("FOLDER_ID", folder), ("BASE_URL", url)) if ok]
            names, verb = " and ".join(given), "are" if len(given) > 1 else "is"
            return (
                f"{names} {verb} set but API_KEY is not (any value will do for a server that "
                f"takes no key); or unset {names} to use the offline demo model"
            )
        return None

    @property
    def model_api(self) -> ModelApi | None:
        """The backend and API runs will use, for config checks; None while the credentials
        are a partial set (nothing runs then)."""
        # Imported here: the config package pulls in the YAML loader, which CONNECT never needs.
        from agents_app.config.model_api import ModelApi

        if self.credentials_problem() is not None:
            return None
        return ModelApi(self.resolved_provider, self.api)

    def secrets(self) -> list[str]:
        """Values that must never reach a log line or an event: every `SecretStr` setting
        here and in the web tools' settings, and the password in SESSION_STORE."""
        from tools.web.settings import WebSettings

        values = secret_values(self)
        # Misconfigured web tools never run, so their key is never sent anywhere.
        with contextlib.suppress(ValidationError):
            values += secret_values(WebSettings())
        return list(dict.fromkeys(values))
