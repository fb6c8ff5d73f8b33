"""Tools in ``agents.yaml``: approval rules, and the MCP servers whose tools agents use."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .strict import Strict


class ArgumentRule(Strict):
    """Ask for approval depending on one argument of the call (exactly one condition)."""

    argument: str = Field(min_length=1, description="The tool argument the rule reads.")
    domain_not_in: tuple[Annotated[str, Field(min_length=1)], ...] | None = Field(
        default=None,
        strict=False,
        description="Ask unless the argument is an http(s) URL whose host is one of these "
        "domains or a subdomain of one (e.g. [wikipedia.org]).",
    )
    not_in: tuple[str, ...] | None = Field(
        default=None,
        strict=False,
        description="Ask unless the argument's value is exactly one of these.",
    )

    @model_validator(mode="after")
    def _one_condition(self) -> ArgumentRule:
        if (self.domain_not_in is None) == (self.not_in is None):
            raise ValueError("set exactly one of 'domain_not_in' or 'not_in'")
        return self


ApprovalRule = Literal["always"] | ArgumentRule


class McpToolsSpec(Strict):
    """Which of a server's tools its agents get (names as the server lists them)."""

    allow: tuple[Annotated[str, Field(min_length=1)], ...] | None = Field(
        default=None,
        strict=False,
        description="Only these tools (unset: every tool the server lists). Also what an "
        "agent is offered while the server cannot be reached, so calls get a clear error.",
    )
    deny: tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        default=(), strict=False, description="Never these tools."
    )


class McpServerSpec(Strict):
    """An MCP server whose tools agents can use (`mcp: [name]` on the agent).

    Strings in `url`, `headers`, `args` and `env` may name environment variables as
    `${NAME}` (write `$$` for a literal `$`): secrets stay out of the YAML, and their values
    are kept out of logs and events.
    """

    transport: Literal["streamable_http", "stdio"] = Field(
        description="`streamable_http` (a URL) or `stdio` (a command this service starts; "
        "local runs only, not in the Cloud Function)."
    )
    url: str | None = Field(
        default=None, min_length=1, description="streamable_http: the server's endpoint URL."
    )
    headers: dict[str, str] = Field(
        default={},
        description="streamable_http: HTTP headers sent with every request, e.g. "
        "`Authorization: Bearer ${NOTES_TOKEN}`.",
    )
    command: str | None = Field(
        default=None,
        min_length=1,
        description="stdio: the program to start (`python` means the interpreter this "
        "service runs on).",
    )
    args: tuple[str, ...] = Field(default=(), strict=False, description="stdio: its arguments.")
    env: dict[str, str] = Field(
        default={}, description="stdio: environment variables added for the program."
    )
    timeout: float = Field(
        default=10,
        gt=0,
        le=600,
        description="Seconds to wait for the server to connect or answer one request.",
    )
    tools: McpToolsSpec = Field(default=McpToolsSpec(), description="Allow / deny lists.")
    cache_tools_list: bool = Field(
        default=False,
        description="Ask for the tool list once and keep it (faster; a server whose tools "
        "change needs a restart). Otherwise it is asked at every model turn.",
    )
    approvals: dict[str, ApprovalRule] = Field(
        default={},
        description="Tools of this server that need a person's yes before they run, as in "
        "an agent's `approvals`: `always`, or a rule on one argument.",
    )
