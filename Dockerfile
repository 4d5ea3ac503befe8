# syntax=docker/dockerfile:1
# Build: docker build -t approvals .    Run: docker run -p 3000:3000 -e APPROVALS_API_TOKEN=... approvals
# Lint:  hadolint Dockerfile (scripts/test does).

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# The runtime dependencies exactly as locked (pinned, every file hash-checked, no dev tools),
# and apart from the code, so this layer is rebuilt only when the lock changes. The build venv
# holds the locked setuptools that builds the project's wheel; it stays in this stage.
COPY requirements.lock requirements-build.lock ./
RUN python -m venv /opt/approvals \
    && /opt/approvals/bin/pip install --require-hashes --no-deps -r requirements.lock \
    && python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes --no-deps -r requirements-build.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY cards ./cards
COPY storage ./storage
COPY policy ./policy
# The project itself, without dependencies: the lock brought them all.
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
    && /opt/approvals/bin/pip install --no-deps /tmp/wheels/procurement_approvals-*.whl

FROM python:3.11-slim
# A numeric user and group (10001), so Kubernetes' runAsNonRoot can tell it is not root.
# Its home is the only place it can write: the default SQLite database lives there. With
# PostgreSQL the container writes nothing and runs with a read-only root file system.
RUN groupadd --system --gid 10001 approvals \
    && useradd --system --uid 10001 --gid 10001 --create-home \
        --home-dir /var/lib/approvals --shell /usr/sbin/nologin approvals
# The code stays root's: the process can read it, not change it.
COPY --from=build /opt/approvals /opt/approvals
ENV PATH=/opt/approvals/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APPROVALS_HOST=0.0.0.0 \
    APPROVALS_PORT=3000 \
    APPROVALS_DATABASE_URL=sqlite+aiosqlite:////var/lib/approvals/approvals.db
USER 10001:10001
WORKDIR /var/lib/approvals
EXPOSE 3000
# Exec form, no shell and no curl: the image's own Python GETs /healthz (non-2xx raises).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('APPROVALS_PORT', '3000'), timeout=2)"]
ENTRYPOINT ["approvals"]
CMD ["serve"]
