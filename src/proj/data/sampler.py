"""A shuffling sampler whose order is a pure function of (seed, epoch, rank)."""

import os
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler


class EpochSampler(DistributedSampler):
    """Shuffles by (seed, epoch) and keeps this rank's shard; with `weights`, draws each
    epoch's samples with replacement in proportion to them instead (a weighted sampler:
    inverse class frequency balances the classes), each rank its own share of the draw.

    Lightning calls `set_epoch` before each epoch, so a resumed run sees the same order as
    an uninterrupted one. The order is computed at the first batch, not when the iterator
    is created: on resume Lightning creates the iterator before it calls `set_epoch`.
    Under DDP the training order is padded by wrapping around so every rank gets the same
    number of samples (as `DistributedSampler` does); evaluation shards are not padded.

    It subclasses `DistributedSampler` only so that Lightning sees a sampler that shards
    by itself and does not wrap it in a second one under DDP; the parent's `__init__`,
    which needs a process group, is not called: the rank is read when iterating.
    """

    def __init__(
        self,
        dataset_size: int,
        shuffle: bool,
        seed: int = 0,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.dataset_size = dataset_size
        self.shuffle = shuffle or weights is not None
        self.seed = seed
        self.weights = weights
        self.epoch = 0

    @property
    def num_replicas(self) -> int:
        return _rank_and_world_size()[1]

    @property
    def rank(self) -> int:
        return _rank_and_world_size()[0]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> torch.Tensor:
        """This rank's sample indices for the current epoch, in order."""
        rank, world_size = _rank_and_world_size()
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**63)
        if self.weights is not None:  # one draw for all ranks, dealt out like a shuffle
            padded = -(-self.dataset_size // world_size) * world_size
            drawn = torch.multinomial(self.weights, padded, replacement=True, generator=generator)
            return drawn[rank::world_size]
        if self.shuffle:
            order = torch.randperm(self.dataset_size, generator=generator)
        else:
            order = torch.arange(self.dataset_size)
        if world_size == 1:
            return order
        if self.shuffle:
            padded = -(-self.dataset_size // world_size) * world_size
            order = order.repeat(-(-padded // max(self.dataset_size, 1)))[:padded]
        return order[rank::world_size]

    def __iter__(self) -> Iterator[int]:
        yield from self.indices().tolist()

    def __len__(self) -> int:
        rank, world_size = _rank_and_world_size()
        if self.shuffle:
            return -(-self.dataset_size // world_size)
        return len(range(rank, self.dataset_size, world_size))


def _rank_and_world_size() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shared_seed() -> int:
    """The shuffle seed: the global one (seed_everything), the same on every rank.

    A split has its own seed and does not move with this one. Ranks seeded differently
    (no seed_everything) would shuffle differently and serve overlapping shards, so under
    DDP rank 0's seed is broadcast.
    """
    seed = [torch.initial_seed() % 2**63]
    if dist.is_available() and dist.is_initialized():
        dist.broadcast_object_list(seed, src=0)
    return seed[0]


def per_sample_loader(
    dataset: Dataset, sampler: EpochSampler, batch_size: int, num_workers: int | None
) -> DataLoader:
    """The classic path's DataLoader: workers kept alive across epochs, pinned memory on GPU."""
    workers = default_workers() if num_workers is None else num_workers
    return DataLoader(
        dataset,
        sampler=sampler,
        batch_size=batch_size,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
    )


def default_workers() -> int:
    """Worker processes where they pay: on a GPU machine, half its cores (at most 8).

    On a CPU-only machine the model's compute already uses every core; workers decoding
    beside it made an epoch of the course's MLP 1.7x slower on 2 cores.
    """
    if not torch.cuda.is_available():
        return 0
    return min(8, (os.cpu_count() or 2) // 2)
