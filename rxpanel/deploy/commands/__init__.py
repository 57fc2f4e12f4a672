"""Pure builders of remote shell commands: each returns a string, runs nothing.

Every value that reaches a command is validated at the edge and quoted here with
shlex.quote; tests pin the exact strings.
"""

from rxpanel.deploy.commands.base import COLORS, AppLayout, Host, other_color, q, sh

__all__ = ["COLORS", "AppLayout", "Host", "other_color", "q", "sh"]
