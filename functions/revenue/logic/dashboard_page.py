"""The dashboard page as one self-contained response: styles and scripts inlined, and a
Content-Security-Policy that allows exactly those inline blocks by their sha256 hashes.

One request, no CDN, works offline; nothing else may run or load (no ``'unsafe-inline'``).
Pure: the texts come in, the page and its headers go out (the loader does the reading).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

STYLES_SLOT = "<!-- dashboard:styles -->"
SCRIPTS_SLOT = "<!-- dashboard:scripts -->"

# The map file is not served; a sourceMappingURL would make devtools ask for it.
_SOURCE_MAP_COMMENT = re.compile(r"^[ \t]*//# sourceMappingURL=\S*[ \t]*$", re.MULTILINE)
# Markup the policy would block in the template itself: inline code belongs in the assets.
_BLOCKED_MARKUP = re.compile(r"<script|<style|\sstyle\s*=|\son[a-z]+\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class Asset:
    """One file's text, named so that an error can say which file is at fault."""

    name: str
    text: str


@dataclass(frozen=True)
class DashboardPage:
    html: str
    headers: dict[str, str]


def csp_hash(text: str) -> str:
    """The CSP source expression that allows an inline block whose content is ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script_hashes: Sequence[str], style_hashes: Sequence[str]) -> str:
    directives = [
        "default-src 'none'",
        f"script-src {' '.join(script_hashes)}",
        f"style-src {' '.join(style_hashes)}",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _inline_text(asset: Asset, closing_tag: str) -> str:
    """The asset's text as it goes between the tags; ValueError if it would end the block."""
    text = _SOURCE_MAP_COMMENT.sub("", asset.text).rstrip() + "\n"
    if closing_tag in text.lower():
        raise ValueError(f"{asset.name} contains '{closing_tag}', which would end its inline block")
    return text


def _fill_slot(html: str, slot: str, content: str, template_name: str) -> str:
    count = html.count(slot)
    if count != 1:
        raise ValueError(f"{template_name} must contain '{slot}' exactly once, not {count} times")
    return html.replace(slot, content)


def assemble_page(
    template: Asset, styles: Sequence[Asset], scripts: Sequence[Asset]
) -> DashboardPage:
    """The page with ``styles`` and ``scripts`` (in order) inlined at the template's slots."""
    if not scripts or not styles:
        raise ValueError("the dashboard needs at least one stylesheet and one script")
    blocked = _BLOCKED_MARKUP.search(template.text)
    if blocked:
        raise ValueError(
            f"{template.name} has inline markup the policy would block ({blocked.group().strip()}"
            "...); put styles in the stylesheet and code in the script"
        )
    style_texts = [_inline_text(asset, "</style") for asset in styles]
    script_texts = [_inline_text(asset, "</script") for asset in scripts]
    html = _fill_slot(
        template.text,
        STYLES_SLOT,
        "\n".join(f"<style>{text}</style>" for text in style_texts),
        template.name,
    )
    html = _fill_slot(
        html,
        SCRIPTS_SLOT,
        "\n".join(f"<script>{text}</script>" for text in script_texts),
        template.name,
    )
    policy = content_security_policy(
        [csp_hash(text) for text in script_texts], [csp_hash(text) for text in style_texts]
    )
    return DashboardPage(
        html=html,
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
