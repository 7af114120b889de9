"""Requests per second and latency of `python -m proj serve`, batching off and on.

    python scripts/serve_benchmark.py --quick --json serve.json

Starts each server on loopback (the Fashion-MNIST CNN from a checkpoint and from its ONNX
export, each with `--max_batch_size 1` and `32`), warms it up, then sends real test
images as PNG uploads from `concurrency` clients for a bounded time and
reports requests/s and p50/p99 latency, the median of `--repeats` runs. The client is a
few keep-alive asyncio connections writing pre-encoded requests (cheap, so the figures
are the server's); client and server share the machine's cores, as on a laptop. Without `--ckpt_path`, it trains the CNN for
a few steps first (its speed does not depend on its accuracy).
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proj.serve.process import Server
from proj.serve.samples import fashion_mnist_test_images, png

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 8, 32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per measurement (~3 min)")
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ckpt_path", type=Path, help="a checkpoint of the CNN (else trained)")
    parser.add_argument("--export", type=Path, help="its export folder (else exported)")
    parser.add_argument("--data_dir", default="data", help="where Fashion-MNIST is (or goes)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds

    with tempfile.TemporaryDirectory() as scratch:
        checkpoint, export = args.ckpt_path, args.export
        if checkpoint is None:
            checkpoint, export = _train_and_export(Path(scratch), args.data_dir)
        elif export is None:
            export = _export(checkpoint, Path(scratch) / "export")
        uploads = [png(image) for image in fashion_mnist_test_images(args.data_dir)[:64]]
        results: dict = {"seconds_per_measurement": seconds, "repeats": args.repeats}
        for backend, source in (("checkpoint", ["--ckpt_path", str(checkpoint)]),
                                ("export", ["--export", str(export)])):  # fmt: skip
            for batching, size in (("off", 1), ("on", 32)):
                runs = _measure(source, size, uploads, seconds, args.repeats)
                for concurrency, figures in runs.items():
                    key = f"{backend}_batching_{batching}_c{concurrency}"
                    results[key] = figures
                    spread = f"({figures['rps_min']:.0f}-{figures['rps_max']:.0f})"
                    print(f"{key:32} {figures['rps']:7.1f} req/s {spread:11}  p50 {figures['p50_ms']:6.1f} ms"
                          f"  p99 {figures['p99_ms']:6.1f} ms", flush=True)  # fmt: skip
    for backend in ("checkpoint", "export"):
        on, off = results[f"{backend}_batching_on_c32"], results[f"{backend}_batching_off_c32"]
        results[f"{backend}_batched_speedup_c32"] = on["rps"] / off["rps"]
        lone_on, lone_off = (
            results[f"{backend}_batching_on_c1"],
            results[f"{backend}_batching_off_c1"],
        )
        results[f"{backend}_p99_ratio_c1"] = lone_on["p99_ms"] / lone_off["p99_ms"]
    results["batched_speedup_c32"] = results["checkpoint_batched_speedup_c32"]
    for key in ("batched_speedup_c32", "export_batched_speedup_c32",
                "checkpoint_p99_ratio_c1", "export_p99_ratio_c1"):  # fmt: skip
        print(f"{key}: {results[key]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


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
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"server answered {head.splitlines()[0]!r}")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
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
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
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
