"""Dynamic batching: requests that arrive together run through the model as one batch."""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np


class Batcher:
    """Collects up to `max_batch_size` images, waiting at most `batch_timeout` seconds after
    the first, and runs them as one (B, C, H, W) batch on one model thread.

    A batch of 32 costs the model far less than 32 batches of one on a CPU; the wait is
    what a lone request pays for it (`max_batch_size 1` turns batching off).
    """

    def __init__(
        self,
        predict: Callable[[np.ndarray], np.ndarray],
        max_batch_size: int,
        batch_timeout: float,
    ) -> None:
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.batch_timeout = batch_timeout
        self.queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future]] = asyncio.Queue()
        self.model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    async def __call__(self, image: np.ndarray) -> np.ndarray:
        """The model's output row for one (C, H, W) image."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((image, future))
        return await future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + self.batch_timeout
            while len(batch) < self.max_batch_size:
                try:
                    batch.append(self.queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), remaining))
                except TimeoutError:
                    break
            images = np.stack([image for image, _ in batch])
            try:
                rows = await loop.run_in_executor(self.model_thread, self.predict, images)
            except Exception as err:  # the model failed: every request of the batch hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            for (_, future), row in zip(batch, rows, strict=True):
                if not future.done():  # its client may have gone
                    future.set_result(row)
