"""The registry of sharing strategies (name -> entry; its model class loads on first use)."""

from mtlcore.catalogue import SHARING
from mtlcore.catalogue import STRATEGIES as CATALOGUE
from mtlcore.registry import Registry

STRATEGIES: Registry = Registry(SHARING, CATALOGUE)
