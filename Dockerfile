# syntax=docker/dockerfile:1
# Build stage: install the service and its pinned dependencies into a virtualenv.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
RUN pip install .
# The poster's CJK font (Noto Sans CJK SC) ships in mplfonts; --no-deps keeps matplotlib out,
# and only that one font file is kept.
RUN pip install --no-deps mplfonts==0.0.11 \
    && find /opt/venv/lib/python3.11/site-packages/mplfonts/fonts -type f \
        ! -name NotoSansCJKsc-Regular.otf -delete

# Runtime stage: only the virtualenv, the migrations and an unprivileged user.
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 ENV=prod PORT=8000
RUN groupadd --system app && useradd --system --gid app --home-dir /app app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY alembic ./alembic
COPY docker/prestart.sh /app/prestart.sh
RUN mkdir -p /app/data && chown app:app /app/data
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz')"
# Migrations run as a pre-start step, then uvicorn replaces the shell.
ENTRYPOINT ["/app/prestart.sh"]
CMD ["sh", "-c", "exec uvicorn api.main:app --host 0.0.0.0 --port ${PORT} --proxy-headers"]
