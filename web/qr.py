"""A link as a QR code the page draws itself: inline SVG made on the server (segno, pure
Python), so the code shows without JavaScript, images from elsewhere or a style attribute
(the cabinet's Content-Security-Policy allows none)."""
from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(link: str, title: str) -> Markup:
    """``link`` as an SVG QR code scaled by CSS (no width/height in the drawing), with a
    ``<title>`` for screen readers. Level M: a phone's camera reads it off a screen at an
    angle; four modules of quiet zone, as the standard asks."""
    code = segno.make(link, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True,
                          title=title, svgclass="qr", lineclass=None)
    return Markup(svg)  # noqa: S704 (segno escapes the title; the rest is its own drawing)
