"""Check a running server against `predict`: same top labels, bad input refused, still healthy.

    python scripts/serve_check.py --url http://127.0.0.1:8000 \
        --predictions logs/fashion_mnist/cnn/version_1/predictions.csv --count 50

Posts the first `--count` Fashion-MNIST test images as PNG files and compares each top
label with predictions.csv's; then sends random bytes, a truncated PNG, a PNG claiming
30000 x 30000 pixels and a 60 MB body, each of which must get a 4xx, and checks that the
server is healthy and right afterwards. Exits 1 on any difference.
"""

import argparse
import csv
import sys

import httpx
import numpy as np

from proj.serve.samples import fashion_mnist_test_images, png, png_bomb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--predictions", required=True, help="predictions.csv of `predict`")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--data_dir", default="data", help="where Fashion-MNIST is (or goes)")
    args = parser.parse_args(argv)

    with open(args.predictions, newline="") as f:
        expected = [row["pred"] for row in csv.DictReader(f)][: args.count]
    pngs = [png(image) for image in fashion_mnist_test_images(args.data_dir)[: args.count]]
    client = httpx.Client(base_url=args.url, timeout=60)
    served = [_top_label(client, image) for image in pngs]
    same = sum(a == b for a, b in zip(served, expected, strict=True))
    print(f"top label as predictions.csv: {same} of {len(expected)}")
    failures = len(expected) - same
    bad = {
        "random bytes": np.random.default_rng(0).bytes(5000),
        "truncated PNG": pngs[0][: len(pngs[0]) // 2],
        "30000x30000 PNG bomb": png_bomb(),
        "60 MB body": bytes(60 << 20),
    }
    for name, data in bad.items():
        response = client.post("/predict", files={"file": ("upload.png", data)})
        ok = 400 <= response.status_code < 500
        failures += not ok
        print(f"{name:22} {response.status_code} {response.json().get('error', '')[:70]}")
    healthy = client.get("/health").status_code == 200
    still_right = _top_label(client, pngs[0]) == expected[0]
    print(f"afterwards: health {'200' if healthy else 'not 200'}, answers right: {still_right}")
    return 0 if failures == 0 and healthy and still_right else 1


def _top_label(client: httpx.Client, png: bytes) -> str:
    response = client.post("/predict", files={"file": ("image.png", png, "image/png")})
    response.raise_for_status()
    return response.json()["predictions"][0]["label"]


if __name__ == "__main__":
    sys.exit(main())
