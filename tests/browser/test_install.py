"""The PWA can be installed: manifest, icons, service worker."""

from __future__ import annotations

import struct

import requests

MANIFEST = "/manifest.webmanifest"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_manifest_and_icons_are_served_and_valid(app):
    index = requests.get(app.url("/"), timeout=10)
    assert index.status_code == 200
    assert f'rel="manifest" href="{MANIFEST}"' in index.text
    assert '<html lang="zh-CN">' in index.text

    answer = requests.get(app.url(MANIFEST), timeout=10)
    assert answer.status_code == 200
    manifest = answer.json()
    assert manifest["name"] == "网格连心"
    assert manifest["short_name"]
    assert manifest["lang"] == "zh-CN"
    assert manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")

    sizes = {}
    for icon in manifest["icons"]:
        image = requests.get(app.url(icon["src"]), timeout=10)
        assert image.status_code == 200, icon["src"]
        assert image.headers["Content-Type"].startswith("image/png")
        width, height = png_size(image.content)
        assert f"{width}x{height}" == icon["sizes"]
        sizes.setdefault(icon.get("purpose", "any"), set()).add(width)
    assert {192, 512} <= sizes["any"]
    assert 512 in sizes["maskable"]


def test_service_worker_controls_the_whole_app(phone):
    page = phone.open("/")
    phone.wait_offline_ready()
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == phone.system.base_url + "/"
    script = requests.get(phone.system.url("/sw.js"), timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
