"""The line lesson's data: a seeded synthetic line, its least-squares answer, bad values named."""

import pytest

from proj.course import LineDataModule

# the config tests' tiny data for this DataModule (tests/conftest.py: tiny_data_for):
# synthetic, made in memory
TINY_DATA = {"proj.course.LineDataModule": lambda folder: []}


def test_the_line_is_seeded_and_its_least_squares_answer_is_near_it():
    first, second = LineDataModule(seed=3), LineDataModule(seed=3)
    assert first.train_points[0].equal(second.train_points[0])
    reference = first.reference_parameters()
    assert reference["weight"] == pytest.approx(2.0, abs=0.2)


@pytest.mark.parametrize(
    ("kwargs", "key"), [({"num_points": 1}, "num_points"), ({"low": 3, "high": 3}, "low")]
)
def test_bad_values_are_named(kwargs, key):
    with pytest.raises(ValueError, match=f"data.{key}"):
        LineDataModule(**kwargs)
