"""A local API Gateway WebSocket emulator: drives `function.handler` exactly as deployed."""
