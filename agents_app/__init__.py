"""Multi-agent orchestration service that streams typed events to chat clients."""
