"""A soak: thousands of requests, good and bad, and the server's memory stays flat."""

import asyncio
from pathlib import Path

import httpx
import pytest

from proj.serve.process import Server, rss_mb
from proj.serve.samples import png

REQUESTS = 3000  # after WARMUP, bounded in count and time
WARMUP = 500
CONCURRENCY = 8


async def _send(url: str, bodies: list[bytes], count: int) -> list[int]:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        queue = iter(range(count))
        statuses: list[int] = []

        async def worker() -> None:
            for i in queue:
                files = {"file": ("x.png", bodies[i % len(bodies)], "image/png")}
                statuses.append((await client.post("/predict", files=files)).status_code)

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(CONCURRENCY))), 300)
        return statuses


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
@pytest.mark.parametrize("backend", ["export", "ckpt_path"])
def test_memory_is_flat_over_thousands_of_requests(trained, backend):
    source = trained.export if backend == "export" else trained.checkpoint
    server = Server(f"--{backend}", str(source), "--max_batch_size", "16")
    bodies = [png(image) for image in trained.test_images[:50]] + [b"not an image", b""]
    try:
        warm = asyncio.run(_send(server.url, bodies, WARMUP))
        before = rss_mb(server.process.pid)
        statuses = asyncio.run(_send(server.url, bodies, REQUESTS))
        after = rss_mb(server.process.pid)
    finally:
        server.stop()
    assert sorted(set(warm) | set(statuses)) == [200, 400, 415]
    good = sum(i % len(bodies) < len(bodies) - 2 for i in range(REQUESTS))  # 2 bad bodies
    assert statuses.count(200) == good
    print(f"rss {before:.1f} MB after {WARMUP} requests, {after:.1f} MB after {REQUESTS} more")
    assert after - before < 10, f"memory grew {after - before:.1f} MB over {REQUESTS} requests"
