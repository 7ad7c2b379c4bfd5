"""The registry of loss weighting and gradient combination methods."""

from mtlcore.registry import Registry

METHODS: Registry = Registry("weighting method")
