# syntax=docker/dockerfile:1
# One image for every Vigil role; the command picks it: `vigil api`, `vigil worker` or `vigil migrate`.
#
#   docker build -t vigil:dev .
#   docker run --rm -e VIGIL_DATABASE_URL=... vigil:dev vigil migrate
#
# The builder resolves nothing: it installs exactly what uv.lock pins (`--locked` fails the build
# when the lock is stale). The runtime stage gets the virtualenv and the migrations, no build tools.
# `--no-dev` leaves out the root project's dev group: the test tools and pgserver (the embedded
# PostgreSQL of `vigil dev`). bench/ is neither in the build context nor in the `vigil` wheel.
#
# Both stages name the same base image with its tag written out (not from an ARG), so that
# scanners (checkov, tests/deploy) see what is pinned; pin a digest (`python:...@sha256:...`)
# for reproducible builds.

FROM python:3.11-slim-bookworm AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
# Compile bytecode now: the runtime root filesystem is read-only, so Python could not cache it later.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Third-party dependencies first, from the lock and every member's pyproject.toml only, so that
# editing Vigil's own code reuses this (slow) layer.
COPY pyproject.toml uv.lock README.md ./
COPY libs/core/pyproject.toml libs/core/
COPY services/api/pyproject.toml services/api/
COPY services/worker/pyproject.toml services/worker/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-workspace

# Then the whole workspace (see .dockerignore), installed as real wheels rather than editable
# links, so the runtime stage needs only the virtualenv and sql/migrations.
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable


FROM python:3.11-slim-bookworm AS runtime
# The base image's own installer and build tools (pip, setuptools, wheel) go too: nothing at
# run time installs or builds packages, and /app/.venv does not use them.
RUN groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin vigil \
 && python -m pip uninstall --yes --quiet pip setuptools wheel
WORKDIR /app
# Owned by root and read-only to the vigil user: the process cannot change its own code.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/sql/migrations /app/sql/migrations
# The worker's metrics port binds to 127.0.0.1 by default (a laptop); in a container Prometheus
# scrapes it from outside, as it does the API, whose CMD below listens on 0.0.0.0 too.
ENV PATH=/app/.venv/bin:$PATH \
    VIGIL_MIGRATIONS_DIR=/app/sql/migrations \
    VIGIL_LOG_FORMAT=json \
    VIGIL_WORKER_METRICS_HOST=0.0.0.0 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A numeric user, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000 9100
# Healthy while the role's /healthz answers: the API's (VIGIL_API_PORT) or the worker's
# (VIGIL_WORKER_METRICS_PORT); a container runs one role, so one of them is enough. Docker and
# compose use it; Kubernetes ignores it and runs the manifests' probes instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request\nfor port in {os.environ.get('VIGIL_API_PORT', '8000'), os.environ.get('VIGIL_WORKER_METRICS_PORT', '9100')}:\n    try:\n        urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)\n        sys.exit(0)\n    except OSError:\n        pass\nsys.exit(1)"]
CMD ["vigil", "api", "--host", "0.0.0.0", "--port", "8000"]
