"""What a run shows: TensorBoard views read back from the event files, summary, progress lines."""

import json
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.utilities.model_summary import summarize

from proj.cli import ProjCLI, main
from tests.conftest import CNN, tiny_data_args
from tests.helpers import tensorboard_tags

RUN = Path("logs") / "fashion_mnist" / "cnn" / "version_0"
SHORT = ["--trainer.max_epochs", "2", "--trainer.limit_train_batches", "3"]


@pytest.mark.slow
def test_fit_writes_images_graph_histograms_confusion_and_hparams(tiny_data_dir, capsys):
    main(["fit", "--config", CNN, *tiny_data_args(tiny_data_dir), *SHORT])
    tags, graph = tensorboard_tags(RUN)
    assert graph, "no model graph in the event files"
    assert tags["images/train_batch"] == "images"
    histograms = {
        t for t, kind in tags.items() if t.startswith("weights/") and kind == "histograms"
    }
    assert "weights/backbone.0.0.weight" in histograms and "weights/head.1.bias" in histograms
    assert tags["test/confusion_matrix"] == "images"
    assert tags["_hparams_/experiment"] == "hparams"
    assert "hparams/best_val_acc" in tags and "hparams/test_acc" in tags
    test = json.loads((RUN / "metrics.json").read_text())["test"]
    recall = {k: v for k, v in test.items() if k.startswith("test/recall/")}
    assert "test/recall/T-shirt_top" in recall and len(recall) == 10  # one per class, by name
    assert all(0.0 <= v <= 1.0 for v in recall.values())
    assert 0 <= test["test/balanced_acc"] <= 1 and 0 <= test["test/macro_f1"] <= 1
    assert "hparams/test_recall_T-shirt_top" not in tags  # the HPARAMS tab: headline metrics
    # the layer table goes down to the layers, with their output shapes
    cli = ProjCLI.current
    assert [c._max_depth for c in cli.trainer.callbacks if isinstance(c, ModelSummary)] == [3]
    summary = summarize(cli.model, max_depth=3)
    shapes = dict(zip(summary.layer_names, summary.out_sizes, strict=True))
    assert shapes["net.backbone.0"] == [1, 32, 14, 14] and shapes["net.head.1"] == [1, 10]
    out = capsys.readouterr().out
    # stdout is not a terminal here: plain progress lines, one per epoch
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["0", "1"]
    assert all("val/acc" in line and "train/acc" in line for line in lines)


@pytest.mark.slow
def test_views_switch_off(tiny_data_dir):
    off = ["--views.images", "false", "--views.graph", "false"]
    off += ["--views.histograms_every_n_epochs", "0", "--views.confusion_matrix", "false"]
    off += ["--views.hparams", "false"]
    main(["fit", "--config", CNN, *tiny_data_args(tiny_data_dir), *SHORT, *off])
    tags, graph = tensorboard_tags(RUN)
    assert not graph
    assert not [t for t in tags if t.startswith(("images/", "weights/", "_hparams_", "hparams/"))]
    assert "test/confusion_matrix" not in tags and "test/acc" in tags
