"""Karta ResourceInterface definitions: the model, the loader and Karta's validation rules."""

from conformance.definition.loader import load_definitions, load_path
from conformance.definition.model import (
    GVK,
    Component,
    Definition,
    Expression,
    Matcher,
    PodGroup,
    PodGroupMember,
)

__all__ = [
    "GVK",
    "Component",
    "Definition",
    "Expression",
    "Matcher",
    "PodGroup",
    "PodGroupMember",
    "load_definitions",
    "load_path",
]
