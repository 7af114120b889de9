# A small image that serves an export folder (scripts/export.py: model.onnx + model.json)
# with ONNX Runtime: no torch inside. Build, then mount the folder at /model:
#   docker build -t proj-serve .
#   docker run --rm -p 8000:8000 -v "$PWD/logs/fashion_mnist/cnn/version_0/export:/model:ro" proj-serve
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN pip install "onnxruntime>=1.18" numpy "pillow>=10" "starlette>=0.37" "uvicorn[standard]>=0.29"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# --no-deps: the package's training dependencies (torch, Lightning) stay out of the image
RUN pip install --no-deps . && useradd --create-home --uid 10001 serve
USER serve

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"]
CMD ["python", "-m", "proj", "serve", "--export", "/model", "--host", "0.0.0.0", "--port", "8000"]
