"""The admin HTTP API under `/admin/api/`: sources and their health, runs, re-ingest, pause
and resume, re-render, config reload and the queue, behind a bearer token.

`token` (the token and the one check of it, which `/metrics` uses too), `auth` (the
middleware: off without a token, 401, 429 after repeated failures), `routes` (the one route
table: handlers and what the OpenAPI document says of each), `openapi` (the document, built
from that table), `api` (`install(app)`: the sub-application mounted at `/admin/api/`).
This package's `__init__` imports nothing, so importing `token` alone stays light.
"""
