"""Yandex Cloud Function side: gateway events in, Connection Service frames out.

Importing this package stays cheap (no openai-agents, no gRPC): a CONNECT or a bad request
must not pay for what only a message needs.
"""
