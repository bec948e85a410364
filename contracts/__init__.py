"""Published contracts: API request/response models and public event schemas."""

from __future__ import annotations
