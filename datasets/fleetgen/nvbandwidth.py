"""Stub: the nvbandwidth writer is being written."""

from __future__ import annotations

from fleetgen.model import Node


def write(node: Node) -> dict[str, bytes]:
    """Files of this artifact for `node`: relative path -> content."""
    return {}
