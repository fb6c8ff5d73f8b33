"""The local server (starlette + uvicorn)."""
