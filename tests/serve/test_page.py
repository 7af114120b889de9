"""The page at GET /, in a real browser: choose an image, see the top classes as bars."""

import shutil

import pytest

from proj.serve.process import Server
from proj.serve.samples import png

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Offline machines: no browser download, no Google services at start
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_upload_an_image_and_see_the_top_classes(trained, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    image = tmp_path / "shirt.png"
    image.write_bytes(png(trained.test_images[1]))
    expected = trained.predictions[1]["pred"]
    server = Server("--ckpt_path", str(trained.checkpoint), "--top_k", "3")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(server.url + "/")
            expect(page.locator("#model")).to_contain_text("10 classes, input 1x28x28")
            page.set_input_files("#file", str(image))
            bars = page.locator("#predictions .bar")
            expect(bars).to_have_count(3)
            assert bars.first.get_attribute("data-label") == expected
            assert bars.first.locator(".fill").evaluate("e => e.getBoundingClientRect().width") > 0
            expect(page.locator("#preview")).to_be_visible()
            page.set_input_files(
                "#file", {"name": "x.png", "mimeType": "image/png", "buffer": b"no"}
            )
            expect(page.locator("#error")).to_contain_text("Error 415")
            browser.close()
    finally:
        server.stop()
