"""Requests per second and latency of `python -m proj serve` per model, batching off and
on, and a soak: mixed good and bad traffic, with the server's memory at start and end.

    python scripts/serve_benchmark.py --quick --json serve.json

For each model (`--models`: the Fashion-MNIST CNN, and the catdog finetune config's
ResNet-18 at 224x224, where compute dominates a request), the server runs from a
checkpoint and from its ONNX export, each with `--max_batch_size 1` and `32`; after a
warm-up, `concurrency` clients send uploads (real Fashion-MNIST test PNGs; photo-sized
JPEGs for the ResNet) for a bounded time; requests/s and p50/p99 latency are the median
of `--repeats` fresh servers, with the spread of requests/s. The client is a few
keep-alive asyncio connections writing pre-encoded requests (cheap, so the figures are
the server's); client and server share the machine's cores, as on a laptop. The nets
are trained for a step or a few (speed does not depend on accuracy; the ResNet's
weights are random) unless `--ckpt_path`/`--export` give the CNN's.

`--soak S` (and `--quick`, until 10,000 requests) sends good PNGs, garbage, truncated
files, PNG bombs and bodies over the limit, at concurrency 8, 32 and 1 in turn, to one
checkpoint server, and reports `soak_requests`, `soak_wrong` (good answers that differ
from the first answer for that image: another label order, or a probability off by more
than 1e-4), `soak_errors_5xx`, `soak_unexpected` (a status
other than the one each kind of request must get), the server's resident memory after a
warm-up and at the end (`soak_rss_growth_mb`), and per window the p99 of good requests
and the memory (`soak_p99_over_time`).
"""

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from proj.precision import cpu_description
from proj.serve.process import Server, rss_mb
from proj.serve.samples import fashion_mnist_test_images, png, png_bomb

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 8, 32)
MODELS = ("fashion_cnn", "resnet18_224")
# The ResNet-18 answers in ~30-70 ms a request on a core, against ~1 ms for the CNN: its
# measurements run this many times longer, so each holds enough requests (and batches).
SLOW_MODEL_FACTOR = {"fashion_cnn": 1.0, "resnet18_224": 3.0}
SOAK_QUICK_REQUESTS = 10_000
SOAK_WINDOW_SECONDS = 3.0
SOAK_MAX_BODY_MB = 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short measurements and soak")
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement (CNN)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers per figure")
    parser.add_argument(
        "--models", nargs="*", choices=MODELS, default=list(MODELS), help="none: only the soak"
    )
    parser.add_argument("--ckpt_path", type=Path, help="a checkpoint of the CNN (else trained)")
    parser.add_argument("--export", type=Path, help="its export folder (else exported)")
    parser.add_argument("--data_dir", default="data", help="where Fashion-MNIST is (or goes)")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of soak (0: none)")
    parser.add_argument(
        "--parsers",
        action="store_true",
        help="only time the multipart parser against python-multipart (serve-test extra)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds
    repeats = 2 if args.quick else args.repeats
    if args.parsers:
        fashion = png(fashion_mnist_test_images(args.data_dir)[0])
        costs = _parser_costs({"fashion_png": fashion, "photo_jpeg": _photo_uploads(1)[0]})
        if args.json:
            args.json.write_text(json.dumps(costs, indent=2) + "\n")
        return 0

    results: dict = {
        "cpu": cpu_description(),
        "seconds_per_measurement": seconds,
        "repeats": repeats,
    }
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        checkpoint, export = args.ckpt_path, args.export
        if checkpoint is None and ("fashion_cnn" in args.models or args.soak or args.quick):
            checkpoint, export = _train_and_export(scratch / "cnn", args.data_dir)
        elif export is None and checkpoint is not None:
            export = _export(checkpoint, scratch / "cnn" / "export")
        cnn_uploads = [png(image) for image in fashion_mnist_test_images(args.data_dir)[:64]]
        results["models"] = {}
        for name in args.models:
            if name == "fashion_cnn":
                model = (checkpoint, export, cnn_uploads)
            else:
                model = (*_resnet_and_export(scratch / "resnet"), _photo_uploads(32))
            print(f"== {name}", flush=True)
            results["models"][name] = _model_figures(
                *model, seconds * SLOW_MODEL_FACTOR[name], repeats
            )
        if args.soak or args.quick:
            minimum = SOAK_QUICK_REQUESTS if args.quick else 0
            results.update(_soak(checkpoint, cnn_uploads, args.soak, minimum))
    for name, figures in results["models"].items():
        for key in ("batched_speedup_c32", "export_batched_speedup_c32",
                    "checkpoint_p99_ratio_c1", "export_p99_ratio_c1"):  # fmt: skip
            print(f"{name} {key}: {figures[key]:.2f}")
    for key in ("soak_requests", "soak_wrong", "soak_errors_5xx", "soak_unexpected",
                "soak_rss_growth_mb"):  # fmt: skip
        if key in results:
            print(f"{key}: {results[key]}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _model_figures(
    checkpoint: Path, export: Path, uploads: list[bytes], seconds: float, repeats: int
) -> dict:
    figures: dict = {}
    for backend, source in (("checkpoint", ["--ckpt_path", str(checkpoint)]),
                            ("export", ["--export", str(export)])):  # fmt: skip
        for batching, size in (("off", 1), ("on", 32)):
            runs = _measure(source, size, uploads, seconds, repeats)
            for concurrency, run in runs.items():
                key = f"{backend}_batching_{batching}_c{concurrency}"
                figures[key] = run
                spread = f"({run['rps_min']:.0f}-{run['rps_max']:.0f})"
                print(f"{key:32} {run['rps']:7.1f} req/s {spread:11}  p50 {run['p50_ms']:6.1f} ms"
                      f"  p99 {run['p99_ms']:6.1f} ms", flush=True)  # fmt: skip
    for backend in ("checkpoint", "export"):
        on, off = figures[f"{backend}_batching_on_c32"], figures[f"{backend}_batching_off_c32"]
        figures[f"{backend}_batched_speedup_c32"] = on["rps"] / off["rps"]
        lone_on, lone_off = (
            figures[f"{backend}_batching_on_c1"],
            figures[f"{backend}_batching_off_c1"],
        )
        figures[f"{backend}_p99_ratio_c1"] = lone_on["p99_ms"] / lone_off["p99_ms"]
    figures["batched_speedup_c32"] = figures["checkpoint_batched_speedup_c32"]
    return figures


def _measure(source: list[str], max_batch_size: int, uploads: list[bytes], seconds: float,
             repeats: int) -> dict[int, dict[str, float]]:  # fmt: skip
    """Median over `repeats` runs, each a fresh server, of each concurrency's figures."""
    per_run: dict[int, list[dict[str, float]]] = {c: [] for c in CONCURRENCY}
    for _ in range(repeats):
        server = Server(*source, "--max_batch_size", str(max_batch_size))
        try:
            asyncio.run(_load(server.url, uploads, 1, 1.0))  # warm-up
            for concurrency in CONCURRENCY:
                per_run[concurrency].append(
                    asyncio.run(_load(server.url, uploads, concurrency, seconds))
                )
        finally:
            server.stop()
    return {
        c: {
            **{k: statistics.median(run[k] for run in runs) for k in runs[0]},
            "rps_min": min(run["rps"] for run in runs),  # the spread of the runs
            "rps_max": max(run["rps"] for run in runs),
        }
        for c, runs in per_run.items()
    }


async def _load(url: str, uploads: list[bytes], concurrency: int, seconds: float) -> dict:
    """`concurrency` keep-alive connections, each sending its next upload as soon as the
    previous answer is in, for `seconds`; every answer must be 200.

    The requests are encoded once, up front, and written on raw asyncio streams: httpx
    spent 3.3-4.5 ms of CPU per request here, more than the server it measured (2-3 ms),
    on the same two cores.
    """
    host, port = url.removeprefix("http://").split(":")
    requests = [_request(host, upload) for upload in uploads]
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        i = offset
        try:
            while time.perf_counter() < end:
                start = time.perf_counter()
                writer.write(requests[i % len(requests)])
                status, head, _ = await _answer(reader)
                if status != 200:
                    raise RuntimeError(f"server answered {head.splitlines()[0]!r}")
                latencies.append(time.perf_counter() - start)
                i += concurrency
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * _quantile(latencies, 0.5),
        "p99_ms": 1000 * _quantile(latencies, 0.99),
        "requests": len(latencies),
    }


def _request(host: str, upload: bytes) -> bytes:
    """POST /predict with the upload as the multipart field `file`, as bytes on the wire."""
    boundary = b"proj-benchmark-boundary"
    body = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="image.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + upload + b"\r\n--" + boundary + b"--\r\n"
    )
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _soak(checkpoint: Path, uploads: list[bytes], seconds: float, minimum: int) -> dict:
    """Mixed traffic in windows of SOAK_WINDOW_SECONDS at concurrency 8, 32, 1 in turn,
    until `seconds` have passed and `minimum` requests were answered."""
    server = Server("--ckpt_path", str(checkpoint), "--max_batch_size", "32",
                    "--max_body_mb", str(SOAK_MAX_BODY_MB))  # fmt: skip
    host = server.url.removeprefix("http://").split(":")[0]
    oversize = b"\0" * int(SOAK_MAX_BODY_MB * 1.5 * 1024 * 1024)
    # (request bytes, the status it must get, which good image it is or None) in a cycle:
    # per 100 requests, 90 good ones, 3 garbage, 3 truncated, 3 bombs and 1 oversize
    kinds = [(_request(host, b"not an image" * 40), 415, None),
             (_request(host, uploads[0][: len(uploads[0]) // 2]), 400, None),
             (_request(host, png_bomb()), 413, None)]  # fmt: skip
    mix = []
    for i in range(100):
        if i == 99:
            mix.append((_request(host, oversize), 413, None))
        elif i % 10 == 9:
            mix.append(kinds[(i // 10) % 3])
        else:
            mix.append((_request(host, uploads[i % len(uploads)]), 200, i % len(uploads)))
    first: dict[int, bytes] = {}
    totals = {"requests": 0, "wrong": 0, "errors_5xx": 0, "unexpected": 0}
    windows = []
    try:
        asyncio.run(_soak_window(server.port, mix, 8, 2.0, first, totals))  # warm-up
        start_rss = rss_mb(server.process.pid)
        totals.update(requests=0, wrong=0, errors_5xx=0, unexpected=0)
        started = time.monotonic()
        while time.monotonic() - started < seconds or totals["requests"] < minimum:
            concurrency = (8, 32, 1)[len(windows) % 3]
            p99 = asyncio.run(
                _soak_window(server.port, mix, concurrency, SOAK_WINDOW_SECONDS, first, totals)
            )
            windows.append({"concurrency": concurrency, "p99_ms": p99,
                            "after_requests": totals["requests"],
                            "rss_mb": rss_mb(server.process.pid)})  # fmt: skip
            print(f"soak {totals['requests']:6} requests  c={concurrency:<3} p99 {p99:6.1f} ms",
                  flush=True)  # fmt: skip
        end_rss = rss_mb(server.process.pid)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    return {
        "soak_seconds": elapsed,
        **{f"soak_{key}": value for key, value in totals.items()},
        "soak_rss_start_mb": start_rss,
        "soak_rss_end_mb": end_rss,
        "soak_rss_growth_mb": end_rss - start_rss,
        "soak_p99_over_time": windows,
    }


async def _soak_window(
    port: int, mix: list, concurrency: int, seconds: float, first: dict, totals: dict
) -> float:
    """`concurrency` clients through the mix for `seconds`; the p99 of good requests (ms).
    A connection the server closes (every 413 does) is opened again."""
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while time.perf_counter() < end:
                request, status, image = mix[i % len(mix)]
                i += concurrency
                begun = time.perf_counter()
                writer.write(request)
                got, head, body = await _answer(reader)
                totals["requests"] += 1
                totals["errors_5xx"] += got >= 500
                totals["unexpected"] += got != status
                if image is not None and got == 200:
                    latencies.append(time.perf_counter() - begun)
                    answer = json.loads(body)["predictions"]
                    totals["wrong"] += not _same(first.setdefault(image, answer), answer)
                if b"connection: close" in head:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(concurrency)))
    latencies.sort()
    return 1000 * _quantile(latencies, 0.99)


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    """(status, head in lower case, body) of the next response on the connection."""
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
    return int(head[9:12]), head, await reader.readexactly(length)


def _quantile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values, by rank (p50, p99 of latencies)."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _parser_costs(uploads: dict[str, bytes], rounds: int = 7, calls: int = 2000) -> dict:
    """Microseconds a request spends getting its file out of the multipart body: proj's
    parser (`file_field` over `request.body()`) against Starlette's `request.form()`
    (python-multipart), as the server would call each; rounds alternate the two."""
    from starlette.requests import Request

    from proj.serve.uploads import file_field

    async def hand(request: Request, content_type: str) -> bytes:
        return file_field(await request.body(), content_type)

    async def library(request: Request, content_type: str) -> bytes:
        form = await request.form(max_files=1, max_fields=10)
        data = await form["file"].read()
        await form.close()
        return data

    async def timed(parse, body: bytes, content_type: str, expected: bytes) -> float:
        headers = [(b"content-type", content_type.encode()),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        start = time.perf_counter()
        for _ in range(calls):

            async def receive() -> dict:
                return {"type": "http.request", "body": body, "more_body": False}

            request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
            got = await parse(request, content_type)
        if got != expected:
            raise RuntimeError(f"{parse.__name__} read another file")
        return 1e6 * (time.perf_counter() - start) / calls

    results: dict = {"cpu": cpu_description()}
    for kind, upload in uploads.items():
        head, body = _request("127.0.0.1", upload).split(b"\r\n\r\n", 1)
        content_type = head.split(b"Content-Type: ")[1].split(b"\r\n")[0].decode()
        times: dict[str, list[float]] = {"hand": [], "python_multipart": []}
        for _ in range(rounds):
            times["hand"].append(asyncio.run(timed(hand, body, content_type, upload)))
            times["python_multipart"].append(
                asyncio.run(timed(library, body, content_type, upload))
            )
        ratios = sorted(
            b / a for a, b in zip(times["hand"], times["python_multipart"], strict=True)
        )
        results[kind] = {
            "bytes": len(body),
            **{f"{way}_us": statistics.median(t) for way, t in times.items()},
            **{f"{way}_us_range": [min(t), max(t)] for way, t in times.items()},
            "library_over_hand": statistics.median(ratios),
            "library_over_hand_range": [ratios[0], ratios[-1]],
        }
        print(f"{kind:12} {len(body):6} bytes  hand {results[kind]['hand_us']:7.1f} us  "
              f"python-multipart {results[kind]['python_multipart_us']:7.1f} us  "
              f"ratio {results[kind]['library_over_hand']:.1f} ({ratios[0]:.1f}-{ratios[-1]:.1f})")  # fmt: skip
    return results


def _same(first: list[dict], answer: list[dict]) -> bool:
    """The same labels in the same order, probabilities within 1e-4: a batch of another
    size may round the last bits of a float differently."""
    return [p["label"] for p in first] == [p["label"] for p in answer] and all(
        abs(a["probability"] - b["probability"]) <= 1e-4 for a, b in zip(first, answer, strict=True)
    )


def _photo_uploads(count: int) -> list[bytes]:
    """Photo-sized JPEGs (320x240, smooth shapes and noise, ~15-25 KB): what a client
    sends a 224x224 classifier; the server resizes and crops them."""
    from PIL import Image

    rng = np.random.default_rng(0)
    uploads = []
    for _ in range(count):
        coarse = Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8))
        smooth = np.asarray(coarse.resize((320, 240), Image.BICUBIC), dtype=np.int16)
        pixels = (smooth + rng.integers(-12, 12, smooth.shape)).clip(0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
        uploads.append(buffer.getvalue())
    return uploads


def _resnet_and_export(folder: Path) -> tuple[Path, Path]:
    """configs/catdog/resnet18_finetune.yaml's net, random weights, one training step on
    a few generated images, and its ONNX export."""
    from PIL import Image

    from proj.cli import main as proj

    images = folder / "images"
    images.mkdir(parents=True)
    rows = []
    for i, upload in enumerate(_photo_uploads(16)):
        Image.open(io.BytesIO(upload)).save(images / f"{i}.jpg")
        rows.append(f"{i}.jpg,{i % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    proj(["fit", "--config", str(REPO / "configs" / "catdog" / "resnet18_finetune.yaml"),
          "--data.init_args.csv_file", str(folder / "labels.csv"),
          "--data.init_args.image_dir", str(images), "--data.init_args.batch_size", "4",
          "--data.init_args.test_fraction", "0.25", "--logs_dir", str(folder / "logs"),
          "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
          "--trainer.limit_val_batches", "1", "--test_after_fit", "false",
          "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"])  # fmt: skip
    checkpoint = next(folder.glob("logs/*/*/version_0/checkpoints/epoch*.ckpt"))
    return checkpoint, _export(checkpoint, folder / "export")


def _train_and_export(folder: Path, data_dir: str) -> tuple[Path, Path]:
    from proj.cli import main as proj

    proj(["fit", "--config", str(REPO / "configs" / "fashion_mnist" / "cnn.yaml"),
          "--data.init_args.data_dir", data_dir, "--logs_dir", str(folder / "logs"),
          "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "20",
          "--trainer.limit_val_batches", "2", "--test_after_fit", "false",
          "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"])  # fmt: skip
    checkpoint = next(folder.glob("logs/*/*/version_0/checkpoints/epoch*.ckpt"))
    return checkpoint, _export(checkpoint, folder / "export")


def _export(checkpoint: Path, out: Path) -> Path:
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export.py"), "--ckpt_path", str(checkpoint),
         "--formats", "onnx", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


if __name__ == "__main__":
    sys.exit(main())
