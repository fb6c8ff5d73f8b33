"""Where frames go: one module per transport. The interface is `agents_app.protocol.sink`."""
