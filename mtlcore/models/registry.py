"""The registry of sharing strategies (name -> entry with its model class)."""

from mtlcore.registry import Registry

STRATEGIES: Registry = Registry("sharing strategy")
