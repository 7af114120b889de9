"""The synthetic line of the course's first lesson: y = 2x + 3 + integer noise."""

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from proj.errors import ConfigError

Points = tuple[torch.Tensor, torch.Tensor]


class LineDataModule(L.LightningDataModule):
    """`num_points` integer x in [low, high), y = slope * x + intercept + n, n in {0..noise-1}.

    Full batch, as in the course: one batch of all training points per epoch (so one epoch
    is one optimizer step). The test set is `num_points` fresh points from the same line.
    """

    def __init__(
        self,
        num_points: int = 30,
        slope: float = 2.0,
        intercept: float = 3.0,
        noise: int = 3,
        low: int = -10,
        high: int = 10,
        seed: int = 42,
    ) -> None:
        super().__init__()
        if num_points < 2:
            raise ConfigError(f"data.num_points: must be >= 2 to fit a line, got {num_points}")
        if low >= high:
            raise ConfigError(f"data.low: {low} must be below data.high ({high})")
        if noise < 1:
            raise ConfigError(f"data.noise: must be >= 1 (1 means no noise), got {noise}")
        self.save_hyperparameters()
        self.num_points = num_points
        self.slope, self.intercept, self.noise = slope, intercept, noise
        self.low, self.high, self.seed = low, high, seed
        self.train_points = self._points(seed)
        self.test_points = self._points(seed + 1)

    def _points(self, seed: int) -> Points:
        generator = torch.Generator().manual_seed(seed)
        x = torch.randint(self.low, self.high, (self.num_points,), generator=generator)
        n = torch.randint(0, self.noise, (self.num_points,), generator=generator)
        y = self.slope * x + self.intercept + n
        return x.float().unsqueeze(1), y.float().unsqueeze(1)  # (N, 1) each

    def reference_parameters(self) -> dict[str, float]:
        """The least-squares line through the training points: what SGD should approach."""
        x, y = self.train_points
        design = torch.cat([x, torch.ones_like(x)], dim=1)  # (N, 2): columns x and 1
        solution = torch.linalg.lstsq(design.double(), y.double()).solution.flatten()
        return {"weight": float(solution[0]), "bias": float(solution[1])}

    def train_dataloader(self) -> DataLoader:
        return _full_batch(self.train_points)

    def test_dataloader(self) -> DataLoader:
        return _full_batch(self.test_points)

    def predict_dataloader(self) -> DataLoader:
        return _full_batch(self.test_points)


def _full_batch(points: Points) -> DataLoader:
    return DataLoader(TensorDataset(*points), batch_size=len(points[0]))
