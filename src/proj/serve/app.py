"""The HTTP app: POST /predict, GET /health, GET /metadata, a page at GET /, and the Open
Inference Protocol under /v2 (proj.serve.open_inference)."""

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

import proj
from proj.serve import open_inference
from proj.serve.batcher import Batcher
from proj.serve.predictors import Predictor, from_checkpoint, from_export
from proj.serve.uploads import UploadError, file_field, image_array, silence_pillow_size_warning

SETTINGS_ENV = "PROJ_SERVE_SETTINGS"  # how worker processes learn what to serve
SMALL_UPLOAD = 64 * 1024  # bytes: decoded on the event loop, larger ones in a worker thread


@dataclass
class Settings:
    """What to serve and how; see `python -m proj serve --help`."""

    checkpoint: str | None = None
    configs: list[str] = field(default_factory=list)  # for a checkpoint outside a run folder
    export: str | None = None
    model_name: str = "model"  # its name in the Open Inference Protocol's /v2/models/{name}
    max_batch_size: int = 32
    batch_timeout: float = 0.005
    top_k: int = 3
    max_body_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000

    def load(self) -> Predictor:
        return (
            from_export(self.export)
            if self.export
            else from_checkpoint(self.checkpoint, self.configs)
        )


async def _drain(receive: Callable, limit: int) -> None:
    """Read and drop request body messages until the body ends, `limit` bytes have come,
    or DRAIN_SECONDS pass."""

    async def read() -> None:
        dropped = 0
        while dropped < limit:
            message = await receive()
            dropped += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), DRAIN_SECONDS)


def app_from_env() -> Starlette:
    """The app a uvicorn worker process builds (`factory=True`)."""
    return create_app(Settings(**json.loads(os.environ[SETTINGS_ENV])))


def create_app(settings: Settings) -> Starlette:
    """Starlette, not FastAPI on top of it: a request's fixed cost is what batching cannot
    save, and FastAPI's routing and middleware layers add to it (docs/serving.md)."""
    silence_pillow_size_warning()
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        predictor = await run_in_threadpool(settings.load)
        batcher = Batcher(predictor.probabilities, settings.max_batch_size, settings.batch_timeout)
        task = asyncio.create_task(batcher.run())
        state.update(predictor=predictor, batcher=batcher)
        yield
        task.cancel()
        batcher.model_thread.shutdown(wait=False)

    async def decoded(data: bytes, predictor: Predictor) -> np.ndarray:
        decode = (data, predictor.input_shape, settings.max_pixels)
        # A small upload decodes faster than a hop to a worker thread and back.
        small = len(data) < SMALL_UPLOAD
        return image_array(*decode) if small else await run_in_threadpool(image_array, *decode)

    async def upload_error(request: Request, err: UploadError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=err.status)

    async def predict(request: Request) -> JSONResponse:
        predictor: Predictor = state["predictor"]
        batcher: Batcher = state["batcher"]
        batcher.expect()
        try:
            top_k = _top_k(request.query_params.get("top_k"), settings.top_k, predictor)
            data = file_field(await request.body(), request.headers.get("content-type", ""))
            image = await decoded(data, predictor)
        except BaseException:
            await batcher(None)  # no image is coming from this request
            raise
        probabilities = await batcher(image)
        best = probabilities.argsort()[::-1][:top_k]
        return JSONResponse(
            {
                "predictions": [
                    {
                        "label": predictor.class_names[i],
                        "index": int(i),
                        "probability": float(probabilities[i]),
                    }
                    for i in best
                ]
            }
        )

    async def health(request: Request) -> JSONResponse:
        ready = "batcher" in state
        return JSONResponse({"status": "ok" if ready else "loading"}, 200 if ready else 503)

    async def metadata(request: Request) -> JSONResponse:
        predictor: Predictor = state["predictor"]
        channels, height, width = predictor.input_shape
        return JSONResponse(
            {
                "class_names": predictor.class_names,
                "input": {"channels": channels, "height": height, "width": width, "range": [0, 1]},
                "normalization": predictor.normalization,
                "model": predictor.metadata,
                "serving": {
                    k: v
                    for k, v in asdict(settings).items()
                    if k not in ("checkpoint", "configs", "export")
                },
            }
        )

    def served(request: Request) -> None:
        """404 unless the path names the model served here (version "1" or none)."""
        name = request.path_params["name"]
        version = request.path_params.get("version", open_inference.VERSION)
        if name != settings.model_name or version != open_inference.VERSION:
            raise UploadError(
                404,
                f"no model {name!r} version {version!r} here; this server has "
                f"{settings.model_name!r} version {open_inference.VERSION!r}",
            )

    async def v2_server(request: Request) -> JSONResponse:
        return JSONResponse(open_inference.server_metadata(proj.__version__))

    async def v2_live(request: Request) -> JSONResponse:
        return JSONResponse({"live": True})

    async def v2_ready(request: Request) -> JSONResponse:
        if "name" in request.path_params:
            served(request)
        ready = "batcher" in state
        return JSONResponse({"ready": ready}, 200 if ready else 503)

    async def v2_model(request: Request) -> JSONResponse:
        served(request)
        predictor: Predictor = state["predictor"]
        return JSONResponse(
            open_inference.model_metadata(
                settings.model_name,
                "onnxruntime_onnx" if settings.export else "pytorch",
                predictor.input_shape,
                len(predictor.class_names),
            )
        )

    async def v2_infer(request: Request) -> Response:
        served(request)
        predictor: Predictor = state["predictor"]
        batcher: Batcher = state["batcher"]
        batcher.expect()
        try:
            body = open_inference.decompressed(
                await request.body(),
                request.headers.get("content-encoding"),
                settings.max_body_bytes,
            )
            infer = open_inference.parse_infer_request(
                body, request.headers.get(open_inference.HEADER_LENGTH)
            )
            open_inference.check_outputs(infer, len(predictor.class_names))
            if infer.input.name == "input":
                images = open_inference.fp32_images(infer.input, predictor.input_shape)
            else:
                encoded = open_inference.image_files(infer.input)
                images = [await decoded(data, predictor) for data in encoded]
        except BaseException:
            await batcher(None)
            raise
        for _ in images[1:]:
            batcher.expect()
        rows = await asyncio.gather(*(batcher(image) for image in images))
        body, headers = open_inference.infer_response(
            settings.model_name, infer, np.stack(rows), predictor.class_names
        )
        return Response(body, headers=headers)

    page = files("proj.serve").joinpath("page.html").read_text(encoding="utf-8")

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/health", health),
            Route("/metadata", metadata),
            Route("/", index),
            Route("/v2", v2_server),
            Route("/v2/health/live", v2_live),
            Route("/v2/health/ready", v2_ready),
            Route("/v2/models/{name}", v2_model),
            Route("/v2/models/{name}/ready", v2_ready),
            Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
            Route("/v2/models/{name}/versions/{version}", v2_model),
            Route("/v2/models/{name}/versions/{version}/ready", v2_ready),
            Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
        ],
        middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)],
        exception_handlers={UploadError: upload_error},
        lifespan=lifespan,
    )


def _top_k(text: str | None, default: int, predictor: Predictor) -> int:
    """`?top_k=K` checked against the class count; without it, `--top_k` capped at that
    count (a 2-class model served with the default of 3 answers both classes)."""
    count = len(predictor.class_names)
    if text is None:
        return min(default, count)
    try:
        top_k = int(text)
    except ValueError:
        raise UploadError(400, f"top_k must be an integer in 1..{count}, got {text!r}") from None
    if not 1 <= top_k <= count:
        raise UploadError(400, f"top_k must be in 1..{count}, got {top_k}")
    return top_k


# How much of an over-limit body is read and dropped before the 413 (a lingering close):
# a client still sending when the server closes gets a reset, not the answer (Python's
# urllib, requests and httpx all do); beyond these bounds the connection is cut.
DRAIN_BYTES = 128 * 1024 * 1024
DRAIN_SECONDS = 10.0


class BodyLimit:
    """413 for a request body over `max_bytes`, by its Content-Length or as it streams in,
    before the app reads it whole; the rest of the body, up to DRAIN_BYTES and
    DRAIN_SECONDS, is read and dropped first, so the client reads the 413."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            if int(length) <= self.max_bytes + DRAIN_BYTES:
                await _drain(receive, int(length))
            return await self._too_large(send)
        seen, ended = 0, False

        async def counted() -> dict:
            nonlocal seen, ended
            message = await receive()
            seen += len(message.get("body", b""))
            ended = not message.get("more_body", False)
            if seen > self.max_bytes:
                raise UploadError(413, self._message())
            return message

        try:
            await self.app(scope, counted, send)
        except UploadError:
            if not ended:
                await _drain(receive, self.max_bytes + DRAIN_BYTES - seen)
            await self._too_large(send)

    def _message(self) -> str:
        return f"request body over the limit of {self.max_bytes:,} bytes"

    async def _too_large(self, send: Callable) -> None:
        body = json.dumps({"error": self._message()}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
