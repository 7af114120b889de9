"""Dynamic batching: requests that arrive together run through the model as one batch."""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np


class Batcher:
    """Runs queued images as one (B, C, H, W) batch of up to `max_batch_size` on one model
    thread; requests that arrive while a batch runs form the next one.

    A batch waits up to `batch_timeout` seconds for more only while other requests are
    still on their way in (`expect()` was called for them: their uploads are being
    decoded); a lone request never waits. `max_batch_size 1` turns batching off.
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
        self.arriving = 0  # requests announced by expect() and not yet queued

    def expect(self) -> None:
        """A request has started that will (most likely) be queued soon."""
        self.arriving += 1

    async def __call__(self, image: np.ndarray | None) -> np.ndarray | None:
        """The model's output row for one (C, H, W) image; None: the expected request
        failed before it had an image (say so, or a batch would wait for it)."""
        self.arriving -= 1
        if image is None:
            return None
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
                if remaining <= 0 or self.arriving <= 0:
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
