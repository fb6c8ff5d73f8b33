"""The agent graph as prompt authors write it: ``config/agents.yaml`` (DESIGN.md §4)."""

from .errors import ConfigError, ConfigIssue
from .loader import load_config
from .schema import AgentsConfig, AgentSpec, ModelSettingsSpec

__all__ = [
    "AgentSpec",
    "AgentsConfig",
    "ConfigError",
    "ConfigIssue",
    "ModelSettingsSpec",
    "load_config",
]
