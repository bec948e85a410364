"""Metrics, health and readiness: what dashboards and Kubernetes probes read."""

from __future__ import annotations
