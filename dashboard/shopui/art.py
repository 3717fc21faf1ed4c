"""Product pictures drawn locally as SVG, so the shop looks complete with no internet."""

from __future__ import annotations

import hashlib
from html import escape

_PALETTES: dict[str, tuple[str, str]] = {
    "electronics": ("#1e3a8a", "#60a5fa"),
    "home & kitchen": ("#7c2d12", "#fdba74"),
    "apparel": ("#581c87", "#d8b4fe"),
    "sports & outdoors": ("#14532d", "#86efac"),
    "books": ("#78350f", "#fde68a"),
}

# One simple emblem per category family, drawn in a 200x200 box around the centre.
_EMBLEMS: dict[str, str] = {
    "electronics": '<rect x="65" y="55" width="70" height="90" rx="10" fill="none" '
    'stroke="white" stroke-width="6"/><circle cx="100" cy="128" r="6" fill="white"/>',
    "home & kitchen": '<circle cx="95" cy="105" r="34" fill="none" stroke="white" '
    'stroke-width="6"/><rect x="127" y="100" width="40" height="10" rx="5" fill="white"/>',
    "apparel": '<path d="M70 60 L100 72 L130 60 L155 85 L140 100 L135 95 L135 150 L65 150 '
    'L65 95 L60 100 L45 85 Z" fill="none" stroke="white" stroke-width="6"/>',
    "sports & outdoors": '<path d="M45 145 L90 70 L115 110 L130 90 L160 145 Z" fill="none" '
    'stroke="white" stroke-width="6"/>',
    "books": '<rect x="60" y="55" width="80" height="95" rx="6" fill="none" stroke="white" '
    'stroke-width="6"/><line x1="75" y1="80" x2="125" y2="80" stroke="white" stroke-width="5"/>',
}
_DEFAULT_EMBLEM = '<circle cx="100" cy="100" r="40" fill="none" stroke="white" stroke-width="6"/>'


def _palette(category: str, name: str) -> tuple[str, str]:
    known = _PALETTES.get(category.lower())
    if known:
        return known
    digest = hashlib.sha256(f"{category}/{name}".encode()).digest()
    hue = digest[0] * 360 // 256
    return f"hsl({hue},55%,30%)", f"hsl({(hue + 40) % 360},70%,70%)"


def product_svg(name: str, category: str, *, width: int = 320) -> str:
    """An SVG picture for a product: category colours and emblem, with the product's initials."""
    dark, light = _palette(category, name)
    emblem = _EMBLEMS.get(category.lower(), _DEFAULT_EMBLEM)
    initials = escape("".join(word[0] for word in name.split()[:2]).upper() or "?")
    gradient = f"g{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    height = width * 3 // 4
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="-40 0 280 210" role="img" aria-label="{escape(name)}">'
        f'<defs><linearGradient id="{gradient}" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{dark}"/><stop offset="1" stop-color="{light}"/>'
        f"</linearGradient></defs>"
        f'<rect x="-40" y="0" width="280" height="210" fill="url(#{gradient})"/>'
        f"{emblem}"
        f'<text x="200" y="195" text-anchor="end" font-family="sans-serif" font-size="28" '
        f'font-weight="bold" fill="white" opacity="0.85">{initials}</text>'
        f"</svg>"
    )
