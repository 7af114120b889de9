"""The Open Inference Protocol (KServe v2 REST): tritonclient's own HTTP client gets the
answers /predict gives; bad requests get the protocol's {"error": ...} with their status."""

import base64
import gzip
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

from proj.serve.app import Settings, create_app
from proj.serve.process import Server
from proj.serve.samples import png

FIRST = 50  # test images compared with /predict


def _predict_top1(post, images: np.ndarray) -> list[int]:
    return [
        post("/predict", files={"file": ("a.png", png(image))}).json()["predictions"][0]["index"]
        for image in images
    ]


def _fp32(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 255.0)[:, None]  # (N, 1, 28, 28) in [0, 1]


@pytest.fixture(scope="module", params=["checkpoint", "export"])
def server(request, trained):
    where = ["--ckpt_path", str(trained.checkpoint)]
    if request.param == "export":
        where = ["--export", str(trained.export)]
    running = Server(*where, "--model_name", "fm")
    yield running
    running.stop()


@pytest.mark.slow
def test_tritonclient_reads_health_metadata_and_infers_as_predict_does(server, trained):
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("fm") and client.is_model_ready("fm", model_version="1")
    assert not client.is_model_ready("other")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    meta = client.get_model_metadata("fm")
    assert meta["inputs"][0] == {"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]

    images = trained.test_images[:FIRST]
    expected = _predict_top1(httpx.Client(base_url=server.url).post, images)
    pixels = triton.InferInput("input", [FIRST, 1, 28, 28], "FP32")
    for binary in (True, False):
        pixels.set_data_from_numpy(_fp32(images), binary_data=binary)
        result = client.infer("fm", [pixels], outputs=[triton.InferRequestedOutput("probabilities", binary_data=binary)])  # fmt: skip
        probabilities = result.as_numpy("probabilities")
        assert probabilities.shape == (FIRST, 10) and probabilities.dtype == np.float32
        assert probabilities.argmax(1).tolist() == expected, f"binary={binary}"
        np.testing.assert_allclose(probabilities.sum(1), 1, atol=1e-5)

    encoded = [png(image) for image in images]
    as_base64 = np.array([base64.b64encode(data) for data in encoded], dtype=object)
    for binary in (True, False):  # in JSON, each file in base64
        files = triton.InferInput("image", [FIRST], "BYTES")
        files.set_data_from_numpy(
            np.array(encoded, dtype=object) if binary else as_base64, binary_data=binary
        )
        top3 = triton.InferRequestedOutput("probabilities", binary_data=binary, class_count=3)
        ranked = client.infer("fm", [files], outputs=[top3]).as_numpy("probabilities")
        assert ranked.shape == (FIRST, 3)
        ranked = np.vectorize(_text, otypes=[object])(ranked)  # bytes when sent binary
        best = [row[0].split(":") for row in ranked]
        assert [int(index) for _, index, _ in best] == expected
        assert best[0][2] == _labels(trained)[expected[0]]
        scores = [float(element.split(":")[0]) for element in ranked[0]]
        assert scores == sorted(scores, reverse=True)

    with pytest.raises(InferenceServerException) as unknown:
        client.infer("other", [pixels])
    assert unknown.value.status() == "404" and "'fm'" in unknown.value.message()
    wrong = triton.InferInput("input", [1, 1, 27, 28], "FP32")
    wrong.set_data_from_numpy(np.zeros((1, 1, 27, 28), np.float32))
    with pytest.raises(InferenceServerException) as shape:
        client.infer("fm", [wrong])
    assert shape.value.status() == "400" and "[-1, 1, 28, 28]" in shape.value.message()
    # the server answers the next request as before
    one = triton.InferInput("input", [1, 1, 28, 28], "FP32")
    one.set_data_from_numpy(_fp32(images[:1]))
    assert client.infer("fm", [one]).as_numpy("probabilities").argmax() == expected[0]
    client.close()


def _text(element: bytes | str) -> str:
    return element.decode() if isinstance(element, bytes) else element


def _labels(trained) -> list[str]:
    card = json.loads((trained.export / "model.json").read_text())
    return card["class_names"]


@pytest.fixture(scope="module")
def client(trained):
    with TestClient(create_app(Settings(export=str(trained.export), model_name="fm"))) as c:
        yield c


def _infer(client, request: dict, **kwargs):
    return client.post("/v2/models/fm/infer", content=json.dumps(request), **kwargs)


def test_base64_files_in_json_gzip_bodies_and_the_request_id(client, trained):
    images = trained.test_images[:4]
    expected = _predict_top1(client.post, images)
    encoded = [base64.b64encode(png(image)).decode() for image in images]
    request = {
        "id": "r1",
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [4], "data": encoded}],
    }
    answer = _infer(client, request).json()
    assert answer["id"] == "r1" and answer["model_name"] == "fm"
    output = answer["outputs"][0]
    assert output["shape"] == [4, 10] and output["datatype"] == "FP32"
    assert np.array(output["data"]).reshape(4, 10).argmax(1).tolist() == expected
    zipped = client.post(
        "/v2/models/fm/versions/1/infer",
        content=gzip.compress(json.dumps(request).encode()),
        headers={"content-encoding": "gzip"},
    )
    assert zipped.json()["outputs"] == answer["outputs"]


def _pixels(shape=(1, 1, 28, 28), data=None) -> dict:
    values = [0.5] * int(np.prod(shape)) if data is None else data
    return {"name": "input", "datatype": "FP32", "shape": list(shape), "data": values}


BAD = [
    ("not_json", b"{nope", {}, 400, "not JSON"),
    ("no_inputs", {"outputs": []}, {}, 400, "'inputs'"),
    ("two_inputs", {"inputs": [_pixels(), _pixels()]}, {}, 400, "one input"),
    ("unknown_input", {"inputs": [{**_pixels(), "name": "x"}]}, {}, 400, "one input"),
    ("int_datatype", {"inputs": [{**_pixels(), "datatype": "INT8"}]}, {}, 400, "FP32 or BYTES"),
    ("count", {"inputs": [_pixels(data=[0.5] * 3)]}, {}, 400, "3 values"),
    ("shape", {"inputs": [_pixels((1, 3, 28, 28))]}, {}, 400, "[-1, 1, 28, 28]"),
    ("strings", {"inputs": [_pixels(data=["a"] * 784)]}, {}, 400, "numbers"),
    ("nan", {"inputs": [_pixels(data=[float("nan")] * 784)]}, {}, 400, "NaN"),
    ("base64", {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["%%"]}]},
     {}, 400, "base64"),
    ("not_image", {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                               "data": [base64.b64encode(b"no image").decode()]}]}, {}, 415, "image"),
    ("output", {"inputs": [_pixels()], "outputs": [{"name": "logits"}]}, {}, 400, "probabilities"),
    ("top_11", {"inputs": [_pixels()], "outputs": [{"name": "probabilities",
                "parameters": {"classification": 11}}]}, {}, 400, "1..10"),
    ("header_length", {"inputs": [_pixels()]}, {"inference-header-content-length": "99999"},
     400, "Inference-Header-Content-Length"),
    ("encoding", {"inputs": [_pixels()]}, {"content-encoding": "br"}, 415, "gzip"),
]  # fmt: skip


@pytest.mark.parametrize("request_, headers, status, words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])  # fmt: skip
def test_a_bad_request_gets_the_protocols_error_and_its_status(
    client, request_, headers, status, words
):
    body = request_ if isinstance(request_, bytes) else json.dumps(request_).encode()
    response = client.post("/v2/models/fm/infer", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert _infer(client, {"inputs": [_pixels()]}).status_code == 200


def test_binary_inputs_that_do_not_add_up_are_refused(client):
    head = json.dumps(
        {"inputs": [{**_pixels(), "data": None, "parameters": {"binary_data_size": 784 * 4}}]}
    ).encode()
    head = head.replace(b'"data": null, ', b"")  # the values come after the JSON
    short = client.post(
        "/v2/models/fm/infer",
        content=head + b"\0" * 100,
        headers={"inference-header-content-length": str(len(head))},
    )
    assert short.status_code == 400 and "binary_data_size" in short.json()["error"]
    extra = np.zeros(785, "<f4").tobytes()
    over = client.post(
        "/v2/models/fm/infer",
        content=head + extra,
        headers={"inference-header-content-length": str(len(head))},
    )
    assert over.status_code == 400 and "4 bytes" in over.json()["error"]


def test_metadata_and_readiness_of_an_unknown_model_are_404(client):
    assert client.get("/v2/models/other").status_code == 404
    assert client.get("/v2/models/fm/versions/2/ready").status_code == 404
    assert client.get("/v2/models/fm/ready").json() == {"ready": True}
    assert client.get("/metadata").json()["serving"]["model_name"] == "fm"


def test_the_model_is_named_after_its_experiment_unless_named(trained, tmp_path):
    from proj.serve.main import parse

    assert parse(["--ckpt_path", str(trained.checkpoint)])[0].model_name == "fashion_mnist_cnn"
    assert parse(["--export", str(trained.export)])[0].model_name == "fashion_mnist_cnn"
    assert parse(["--export", str(trained.export), "--model_name", "x"])[0].model_name == "x"
    with pytest.raises(SystemExit):
        parse(["--export", str(trained.export), "--model_name", "a/b"])


def test_the_triton_folder_is_a_valid_config_and_gives_the_servers_probabilities(client, trained):
    """Triton itself is not on these machines: its config schema (tritonclient ships the
    protobuf) and ONNX Runtime, the backend the folder names, stand in for it."""
    import importlib.util

    import onnxruntime
    import tritonclient
    from google.protobuf import text_format

    folder = trained.export / "triton" / "fashion_mnist_cnn"
    # by path: tritonclient.grpc's __init__ needs grpcio, which the http client does not
    schema = Path(tritonclient.__file__).parent / "grpc" / "model_config_pb2.py"
    spec = importlib.util.spec_from_file_location("triton_model_config", schema)
    model_config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model_config)
    config = text_format.Parse((folder / "config.pbtxt").read_text(), model_config.ModelConfig())
    assert config.name == "fashion_mnist_cnn" and config.backend == "onnxruntime"
    assert list(config.input[0].dims) == [1, 28, 28] and config.input[0].name == "input"
    assert config.output[0].name == "probabilities" and list(config.output[0].dims) == [10]
    labels = (folder / config.output[0].label_filename).read_text().splitlines()
    assert labels == _labels(trained)

    images = _fp32(trained.test_images[:8])
    session = onnxruntime.InferenceSession(str(folder / "1" / "model.onnx"))
    under_triton = session.run(["probabilities"], {"input": images})[0]
    request = {"inputs": [{"name": "input", "datatype": "FP32", "shape": list(images.shape),
                           "data": images.reshape(-1).tolist()}]}  # fmt: skip
    served = _infer(client, request).json()["outputs"][0]["data"]
    np.testing.assert_allclose(under_triton, np.reshape(served, (8, 10)), atol=1e-5)
