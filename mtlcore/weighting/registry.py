"""The registry of loss weighting and gradient combination methods."""

from mtlcore.catalogue import METHODS as CATALOGUE
from mtlcore.registry import Registry

METHODS: Registry = Registry("weighting method", CATALOGUE)
