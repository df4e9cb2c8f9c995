"""Keepalived configuration: the same lossless parse / render / format / check as for HAProxy.

>>> from haproxy_fleet import keepalived
>>> conf = keepalived.parse("vrrp_instance VI_1 {\\n  state MASTER  # primary\\n}\\n")
>>> conf.render() == "vrrp_instance VI_1 {\\n  state MASTER  # primary\\n}\\n"
True
"""

from ._native import KeepalivedDocument as Document
from ._native import keepalived_check as check
from ._native import keepalived_parse as parse

__all__ = ["Document", "check", "parse"]
