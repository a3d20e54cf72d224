"""Render icon.svg into the PNG icons the manifest names (run once; PNGs are committed)."""

import pathlib

from playwright.sync_api import sync_playwright

HERE = pathlib.Path(__file__).parent
OUT = HERE.parent / "public" / "icons"
svg = (HERE / "icon.svg").read_text()
# "any" icons: the drawing on a rounded tile with a transparent corner; maskable: full bleed.
ROUNDED = "border-radius: 18%; overflow: hidden;"
jobs = [
    ("icon-192.png", 192, ROUNDED),
    ("icon-512.png", 512, ROUNDED),
    ("icon-maskable-512.png", 512, ""),
    ("apple-touch-icon-180.png", 180, ""),
    ("favicon-32.png", 32, ROUNDED),
]
with sync_playwright() as p:
    b = p.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
    )
    for name, size, style in jobs:
        pg = b.new_page(viewport={"width": size, "height": size})
        sized = svg.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
        pg.set_content(
            "<html><body style='margin:0;background:transparent'>"
            f"<div style='width:{size}px;height:{size}px;{style}'>{sized}</div></body></html>"
        )
        pg.screenshot(path=str(OUT / name), omit_background=True)
        pg.close()
    b.close()
