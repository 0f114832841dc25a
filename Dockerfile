# syntax=docker/dockerfile:1
# One image, three roles by command (docker/entrypoint.sh): `api` (the default), `worker`, and
# `migrate`, the one-shot job each deployment runs before the others (compose.yaml).

# Build stage: install the service and its pinned dependencies into a virtualenv.
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
RUN pip install --no-cache-dir .
# The poster's CJK font (Noto Sans CJK SC) ships in mplfonts; --no-deps keeps matplotlib out,
# and only that one font file is kept.
RUN pip install --no-cache-dir --no-deps mplfonts==0.0.11 \
    && find /opt/venv/lib/python3.11/site-packages/mplfonts/fonts -type f \
        ! -name NotoSansCJKsc-Regular.otf -delete

# Runtime stage: only the virtualenv, the migrations and an unprivileged user.
FROM python:3.11.14-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 ENV=prod BIND_HOST=0.0.0.0 PORT=8000 \
    WORKER_PORT=9100
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY alembic ./alembic
COPY docker/entrypoint.sh /app/entrypoint.sh
# The photo volume is mounted here: a new volume takes this directory's owner.
RUN mkdir -p /app/data/photos && chown -R app:app /app/data
USER 10001:10001
EXPOSE 8000 9100
# The API's liveness; compose gives the worker its own check (its port) and the job none.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/healthz', timeout=2)"]
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["api"]
