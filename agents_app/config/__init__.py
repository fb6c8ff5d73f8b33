"""The agent graph as prompt authors write it: ``config/agents.yaml`` (DESIGN.md §4)."""

from .errors import ConfigError, ConfigIssue, ConfigReport
from .loader import check_config, load_config
from .schema import AgentsConfig, AgentSpec, ModelSettingsSpec

__all__ = [
    "AgentSpec",
    "AgentsConfig",
    "ConfigError",
    "ConfigIssue",
    "ConfigReport",
    "ModelSettingsSpec",
    "check_config",
    "load_config",
]
