"""Loopback stand-ins for the platforms' moderation endpoints (documented request and answer
shapes, 401/403/404/429 included), each a real HTTP server on 127.0.0.1 that records every
request and can drop a connection after a request arrived."""

from .server import Reply, Seen, StandIn

__all__ = ["Reply", "Seen", "StandIn"]
