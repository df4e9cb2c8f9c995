from typing import Any, Union, final

from ._native import Diagnostic

__all__ = ["Document", "check", "parse"]

@final
class Document:
    """A lossless keepalived.conf: ``render()`` gives back the exact text it was parsed from."""

    def render(self) -> str: ...
    def format(self) -> str: ...
    def vrrp_instances(self) -> list[dict[str, Any]]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def check(self) -> list[Diagnostic]: ...

def parse(text: Union[str, bytes], *, strict: bool = True) -> Document:
    """Parses a keepalived.conf; raises ``ParseError`` on syntax errors unless ``strict`` is false."""

def check(text: Union[str, bytes]) -> list[Diagnostic]:
    """Every diagnostic of a keepalived.conf: syntax, then the offline checks."""
