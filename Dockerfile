# syntax=docker/dockerfile:1
#
# One image for every project service of docker-compose.yml: the one-shot
# `binance-assets setup`, the Dagster gRPC code server, dagster-webserver and
# dagster-daemon. Dependencies come from uv.lock (`uv sync --frozen`), so the
# image runs exactly the versions the tests ran against.
#
# No secrets are baked in: Binance credentials and every connection setting
# reach the containers at run time through docker-compose.yml's `environment`.

FROM python:3.11-slim

# uv from PyPI, pinned to the version that wrote uv.lock.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

WORKDIR /opt/dagster/app

# 1) Third-party dependencies only: this layer is rebuilt only when
#    pyproject.toml or uv.lock change, not on every code edit.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# 2) The project itself (README.md is the package's `readme`, hatchling needs it).
COPY README.md ./
COPY binance_assets ./binance_assets
COPY deploy ./deploy
RUN uv sync --frozen --no-dev

ENV PATH="/opt/dagster/app/.venv/bin:${PATH}"

# The Dagster instance of the compose stack (Postgres storage, queued runs,
# concurrency limits, run retries). $DAGSTER_HOME/storage (compute logs, local
# artifacts) is a named volume shared by the Dagster services.
COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml

# Unprivileged runtime user; the directories it writes to are created here so
# that a fresh named volume mounted on them inherits this ownership.
RUN groupadd --system --gid 1000 dagster \
    && useradd --system --uid 1000 --gid dagster --create-home --home-dir /home/dagster dagster \
    && mkdir -p /opt/dagster/dagster_home/storage \
    && chown -R dagster:dagster /opt/dagster/dagster_home
USER dagster

EXPOSE 3000 4000

# docker-compose.yml sets the command of each service; this default serves the
# code location, which is the process every other service talks to.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "binance_assets.definitions"]
