import os

import pytest
import torch

from proj.data import FashionMNISTDataModule
from proj.data import sampler as sampler_module
from proj.data.in_memory import InMemoryBatches
from proj.data.sampler import EpochSampler


def test_order_is_a_function_of_seed_and_epoch():
    a, b = EpochSampler(100, shuffle=True, seed=3), EpochSampler(100, shuffle=True, seed=3)
    b.set_epoch(1)
    assert list(a) != list(b)
    a.set_epoch(1)
    assert list(a) == list(b)
    assert sorted(a) == list(range(100))
    assert list(EpochSampler(100, shuffle=True, seed=4)) != list(EpochSampler(100, True, seed=3))


def test_unshuffled_is_in_order():
    assert list(EpochSampler(7, shuffle=False)) == list(range(7))


def test_order_is_fixed_at_the_first_batch_not_when_the_iterator_is_made():
    # Lightning creates the train iterator before it calls set_epoch when it resumes.
    sampler = EpochSampler(64, shuffle=True, seed=0)
    batches = InMemoryBatches(torch.arange(64), torch.arange(64), batch_size=8, sampler=sampler)
    iterator = iter(batches)
    sampler.set_epoch(5)
    first_images, _ = next(iterator)
    reference = EpochSampler(64, shuffle=True, seed=0)
    reference.set_epoch(5)
    assert first_images.tolist() == list(reference)[:8]


@pytest.mark.parametrize("num_samples", [10, 11])
def test_ranks_get_equal_disjoint_shards_that_cover_the_set(monkeypatch, num_samples):
    shards = []
    for rank in range(2):
        monkeypatch.setattr(sampler_module, "_rank_and_world_size", lambda r=rank: (r, 2))
        sampler = EpochSampler(num_samples, shuffle=True, seed=1)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler)
    assert len(shards[0]) == len(shards[1])
    assert set(shards[0]) | set(shards[1]) == set(range(num_samples))
    if num_samples % 2 == 0:
        assert not set(shards[0]) & set(shards[1])


def test_weighted_draws_balance_the_classes_reproducibly_per_epoch():
    labels = torch.tensor([0] * 90 + [1] * 10)
    weights = 1.0 / torch.bincount(labels).double()[labels]
    sampler = EpochSampler(100, shuffle=True, seed=7, weights=weights)
    drawn = []
    for epoch in range(20):
        sampler.set_epoch(epoch)
        drawn.append(list(sampler))
        assert len(drawn[-1]) == len(sampler) == 100
    again = EpochSampler(100, shuffle=True, seed=7, weights=weights)
    again.set_epoch(3)
    assert list(again) == drawn[3] and drawn[3] != drawn[4]
    minority = sum(labels[d].sum().item() for d in drawn) / (20 * 100)
    assert 0.45 < minority < 0.55  # drawn about as often as the 9x larger class


def test_each_rank_draws_its_own_share_of_one_weighted_draw(monkeypatch):
    weights = torch.linspace(1, 2, 11, dtype=torch.float64)
    shares = []
    for rank in range(2):
        monkeypatch.setattr(sampler_module, "_rank_and_world_size", lambda r=rank: (r, 2))
        sampler = EpochSampler(11, shuffle=True, seed=1, weights=weights)
        shares.append(list(sampler))
        assert len(shares[-1]) == len(sampler) == 6
    one_draw = torch.multinomial(
        weights, 12, replacement=True, generator=torch.Generator().manual_seed(1 * 1_000_003)
    ).tolist()
    assert shares[0] == one_draw[0::2] and shares[1] == one_draw[1::2]


def test_evaluation_shards_are_not_padded(monkeypatch):
    monkeypatch.setattr(sampler_module, "_rank_and_world_size", lambda: (1, 2))
    sampler = EpochSampler(11, shuffle=False)
    assert list(sampler) == [1, 3, 5, 7, 9] and len(sampler) == 5


def test_in_memory_batches_cover_the_data_once():
    images = torch.arange(50).view(50, 1, 1, 1).to(torch.uint8)
    batches = InMemoryBatches(images, torch.arange(50), 16, EpochSampler(50, shuffle=True))
    seen = [x.flatten() for x, _ in batches]
    assert len(batches) == len(seen) == 4 and [len(s) for s in seen] == [16, 16, 16, 2]
    assert sorted(torch.cat(seen).tolist()) == list(range(50))


def test_per_sample_loaders_use_workers_only_on_a_gpu_machine(tiny_data_dir, monkeypatch):
    def loader():
        dm = FashionMNISTDataModule(str(tiny_data_dir), val_size=64, in_memory=False)
        dm.prepare_data()
        dm.setup("fit")
        return dm.train_dataloader()

    cpu = loader()
    assert cpu.num_workers == 0 and not cpu.pin_memory  # workers would fight the compute
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    gpu = loader()
    assert gpu.num_workers == 8 and gpu.persistent_workers and gpu.pin_memory
    explicit = FashionMNISTDataModule(
        str(tiny_data_dir), val_size=64, in_memory=False, num_workers=2
    )
    explicit.prepare_data()
    explicit.setup("fit")
    assert explicit.train_dataloader().num_workers == 2
