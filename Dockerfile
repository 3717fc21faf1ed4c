# The shopfn APIs for docker compose: `shopfn serve` runs every function of the manifest
# through the same Lambda handlers as AWS (Commerce on 8001, ML on 8000).
#   docker build -t shopfn-api .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/data

RUN pip install --no-cache-dir uv==0.13.9 && useradd --create-home --uid 10001 shop
WORKDIR /app

# Dependencies first (cached layer): the runtime set plus the ML, support and CLI groups (the
# first start's progress bars need tqdm), from uv.lock.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project --no-default-groups --group ml --group support --group cli

COPY layers ./layers
COPY local ./local
COPY functions ./functions
RUN uv sync --frozen --no-default-groups --group ml --group support --group cli \
 && mkdir -p /data && chown shop:shop /data

USER shop
EXPOSE 8001 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import socket, urllib.request as u; u.urlopen('http://127.0.0.1:8001/users/health', timeout=4); socket.create_connection(('127.0.0.1', 8000), timeout=4)"]

CMD ["shopfn", "serve", "--host", "0.0.0.0", "--no-dashboard"]
