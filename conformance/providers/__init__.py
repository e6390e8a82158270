"""Providers: where the live cluster comes from (local backend, kind, or an existing kubeconfig)."""

from conformance.providers.base import Provider, make_provider

__all__ = ["Provider", "make_provider"]
