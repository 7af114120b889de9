"""The Open Inference Protocol (KServe v2 REST), the one Triton, KServe, MLServer and
Seldon speak: their clients (`tritonclient.http`, `kserve`) call proj as they call those.

Implemented: health, server and model metadata, and `infer` with JSON tensors, the
binary tensor data extension both ways and the classification extension. A model has
one version, "1". Inputs (exactly one per request):
- `input`: FP32 [-1, C, H, W] in [0, 1], what the ONNX export takes (model.json);
- `image`: BYTES [-1], encoded image files, decoded as POST /predict decodes uploads
  (in a JSON body each element is the file in base64: JSON strings cannot hold bytes).
Output `probabilities`: FP32 [-1, num_classes]; with `parameters.classification: k`
BYTES [-1, k] of "score:index:label", best first (Triton's format).
"""

import base64
import binascii
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from proj.serve.uploads import UploadError

VERSION = "1"
EXTENSIONS = ["binary_tensor_data", "classification"]
HEADER_LENGTH = "inference-header-content-length"


@dataclass
class InputTensor:
    name: str
    datatype: str
    shape: list[int]
    data: np.ndarray  # FP32: float32 of `shape`; BYTES: a 1-D object array of bytes


@dataclass
class RequestedOutput:
    name: str
    binary: bool
    classification: int  # 0: the tensor itself


@dataclass
class InferRequest:
    id: str | None
    input: InputTensor
    outputs: list[RequestedOutput]


def decompressed(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """A body sent with Content-Encoding gzip or deflate (tritonclient's
    request_compression_algorithm), inflated to at most `max_bytes` (413 beyond)."""
    if not encoding or encoding == "identity":
        return body
    if encoding not in ("gzip", "deflate"):
        raise UploadError(415, f"Content-Encoding {encoding!r}: only gzip and deflate are read")
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        inflated = inflater.decompress(body, max_bytes + 1)
    except zlib.error as err:
        raise UploadError(400, f"the {encoding} body does not inflate: {err}") from None
    if len(inflated) > max_bytes:
        raise UploadError(413, f"the inflated body is over the limit of {max_bytes:,} bytes")
    return inflated


def parse_infer_request(body: bytes, header_length: str | None) -> InferRequest:
    """The request's JSON and, with the binary extension, its tensors after the JSON."""
    if header_length is None:
        head, binary = body, b""
    else:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise UploadError(
                400, f"Inference-Header-Content-Length {header_length!r} is not in 0..{len(body)}"
            )
        head, binary = body[: int(header_length)], body[int(header_length) :]
    try:
        request = json.loads(head)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UploadError(400, f"the inference request is not JSON: {err}") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise UploadError(400, "the inference request needs an 'inputs' list")
    inputs, offset = [], 0
    for i, tensor in enumerate(request["inputs"]):
        parsed, offset = _input_tensor(tensor, f"inputs[{i}]", binary, offset)
        inputs.append(parsed)
    if offset != len(binary):
        raise UploadError(400, f"{len(binary) - offset} bytes of binary data no input claims")
    names = [tensor.name for tensor in inputs]
    if len(inputs) != 1 or names[0] not in ("input", "image"):
        raise UploadError(400, f"send one input, 'input' (FP32) or 'image' (BYTES); got {names}")
    parameters = _object(request.get("parameters"), "parameters")
    binary_default = bool(parameters.get("binary_data_output", False))
    outputs = request.get("outputs")
    if outputs is None:
        outputs = [{"name": "probabilities"}]
    if not isinstance(outputs, list):
        raise UploadError(400, "'outputs' must be a list")
    request_id = request.get("id")
    return InferRequest(
        id=None if request_id is None else str(request_id),
        input=inputs[0],
        outputs=[_requested(o, f"outputs[{i}]", binary_default) for i, o in enumerate(outputs)],
    )


def _object(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UploadError(400, f"{where} must be an object")
    return value


def _input_tensor(tensor: Any, where: str, binary: bytes, offset: int) -> tuple[InputTensor, int]:
    if not isinstance(tensor, dict):
        raise UploadError(400, f"{where} must be an object")
    name, datatype, shape = tensor.get("name"), tensor.get("datatype"), tensor.get("shape")
    if not isinstance(name, str) or datatype not in ("FP32", "BYTES"):
        raise UploadError(400, f"{where}: needs a 'name' and a 'datatype' of FP32 or BYTES")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise UploadError(400, f"{where} ({name}): 'shape' must be a list of sizes >= 0")
    count = math.prod(shape)
    size = _object(tensor.get("parameters"), f"{where}.parameters").get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise UploadError(400, f"{where} ({name}): binary_data_size {size!r} is not there")
        raw, offset = binary[offset : offset + size], offset + size
        data = _from_binary(raw, datatype, count, f"{where} ({name})")
    elif "data" in tensor:
        data = _from_json(tensor["data"], datatype, count, f"{where} ({name})")
    else:
        raise UploadError(400, f"{where} ({name}): no 'data' and no binary_data_size")
    if datatype == "FP32":
        data = data.reshape(shape)
    return InputTensor(name, datatype, shape, data), offset


def _from_binary(raw: bytes, datatype: str, count: int, where: str) -> np.ndarray:
    if datatype == "FP32":
        if len(raw) != 4 * count:
            raise UploadError(400, f"{where}: {len(raw)} bytes for {count} FP32 values")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elements, at = [], 0  # each element: its length as 4 bytes little-endian, then itself
    while at < len(raw):
        if at + 4 > len(raw):
            raise UploadError(400, f"{where}: BYTES element {len(elements)} is cut short")
        length = int.from_bytes(raw[at : at + 4], "little")
        elements.append(raw[at + 4 : at + 4 + length])
        at += 4 + length
        if at > len(raw):
            raise UploadError(400, f"{where}: BYTES element {len(elements) - 1} is cut short")
    return _counted(elements, count, where)


def _from_json(data: Any, datatype: str, count: int, where: str) -> np.ndarray:
    if datatype == "FP32":
        try:
            values = np.asarray(data, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError):
            raise UploadError(400, f"{where}: 'data' must be numbers") from None
        if values.size != count:
            raise UploadError(400, f"{where}: {values.size} values for a shape of {count}")
        return values
    flat = list(_flattened(data))
    elements = []
    for i, text in enumerate(flat):
        try:
            elements.append(base64.b64decode(text, validate=True))
        except (TypeError, ValueError, binascii.Error):
            raise UploadError(
                400, f"{where}: element {i} is not base64 (in JSON, send each file base64)"
            ) from None
    return _counted(elements, count, where)


def _flattened(data: Any):
    if isinstance(data, list):
        for item in data:
            yield from _flattened(item)
    else:
        yield data


def _counted(elements: list[bytes], count: int, where: str) -> np.ndarray:
    if len(elements) != count:
        raise UploadError(400, f"{where}: {len(elements)} elements for a shape of {count}")
    array = np.empty(count, dtype=object)
    array[:] = elements
    return array


def _requested(output: Any, where: str, binary_default: bool) -> RequestedOutput:
    if not isinstance(output, dict) or output.get("name") != "probabilities":
        raise UploadError(400, f"{where}: this model has one output, 'probabilities'")
    parameters = _object(output.get("parameters"), f"{where}.parameters")
    classification = parameters.get("classification", 0)
    if not isinstance(classification, int) or isinstance(classification, bool):
        raise UploadError(400, f"{where}: classification must be an integer")
    return RequestedOutput(
        "probabilities", bool(parameters.get("binary_data", binary_default)), classification
    )


def check_outputs(request: InferRequest, num_classes: int) -> None:
    """Every `classification: k` in 1..num_classes (0: the tensor itself): checked before
    the model runs, so a bad k costs no forward pass."""
    for output in request.outputs:
        if not 0 <= output.classification <= num_classes:
            raise UploadError(
                400, f"classification must be in 1..{num_classes}, got {output.classification}"
            )


def model_name(experiment: str | None) -> str:
    """The default name under /v2/models/ (and of a Triton model folder): the experiment
    that made the model, '/' as '_' (a name is one path segment)."""
    return (experiment or "model").replace("/", "_")


def fp32_images(tensor: InputTensor, input_shape: tuple[int, int, int]) -> list[np.ndarray]:
    """The (C, H, W) images of an `input` tensor, checked against the model's input."""
    if tensor.datatype != "FP32":
        raise UploadError(400, f"input 'input' is FP32, got {tensor.datatype}")
    if len(tensor.shape) != 4 or tuple(tensor.shape[1:]) != input_shape or not tensor.shape[0]:
        expected = [-1, *input_shape]
        raise UploadError(400, f"input 'input' has shape {expected}, got {tensor.shape}")
    if not np.isfinite(tensor.data).all():
        raise UploadError(400, "input 'input' holds NaN or infinite values")
    return list(tensor.data)


def image_files(tensor: InputTensor) -> list[bytes]:
    """The encoded files of an `image` tensor, [B] or [B, 1]."""
    if tensor.datatype != "BYTES":
        raise UploadError(400, f"input 'image' is BYTES, got {tensor.datatype}")
    if tensor.shape not in ([tensor.shape[0]], [tensor.shape[0], 1]) or not tensor.shape[0]:
        raise UploadError(400, f"input 'image' has shape [-1], got {tensor.shape}")
    return list(tensor.data)


def infer_response(
    model_name: str,
    request: InferRequest,
    probabilities: np.ndarray,
    class_names: list[str],
) -> tuple[bytes, dict[str, str]]:
    """The response body and its headers: JSON, or JSON then binary tensors when any
    output was asked for as binary."""
    outputs, chunks = [], []
    for wanted in request.outputs:
        if wanted.classification:
            tensor, elements = _classification(wanted.classification, probabilities, class_names)
        else:
            values = probabilities.astype(np.float32)
            tensor = {"datatype": "FP32", "shape": list(values.shape)}
            elements = values
        tensor = {"name": wanted.name, **tensor}
        if wanted.binary:
            raw = _to_binary(elements)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            tensor["data"] = elements.reshape(-1).tolist()
        outputs.append(tensor)
    answer: dict[str, Any] = {"model_name": model_name, "model_version": VERSION}
    if request.id is not None:
        answer["id"] = request.id
    answer["outputs"] = outputs
    head = json.dumps(answer).encode()
    if not chunks:
        return head, {"content-type": "application/json"}
    headers = {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(head))}
    return b"".join([head, *chunks]), headers


def _classification(
    k: int, probabilities: np.ndarray, class_names: list[str]
) -> tuple[dict, np.ndarray]:
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    rows = [
        [f"{row[i]:f}:{i}:{class_names[i]}" for i in indices]
        for row, indices in zip(probabilities, best, strict=True)
    ]
    return {"datatype": "BYTES", "shape": [len(rows), k]}, np.array(rows, dtype=object)


def _to_binary(elements: np.ndarray) -> bytes:
    if elements.dtype != object:
        return elements.astype("<f4").tobytes()
    parts = []
    for text in elements.reshape(-1):
        encoded = text.encode()
        parts += [len(encoded).to_bytes(4, "little"), encoded]
    return b"".join(parts)


def server_metadata(version: str) -> dict:
    return {"name": "proj", "version": version, "extensions": EXTENSIONS}


def model_metadata(
    model_name: str, platform: str, input_shape: tuple[int, int, int], num_classes: int
) -> dict:
    return {
        "name": model_name,
        "versions": [VERSION],
        "platform": platform,
        "inputs": [
            {"name": "input", "datatype": "FP32", "shape": [-1, *input_shape]},
            {"name": "image", "datatype": "BYTES", "shape": [-1]},
        ],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, num_classes]}],
    }
