# syntax=docker/dockerfile:1
# Build: docker build -t approvals .    Run: docker run -p 3000:3000 -e APPROVALS_API_TOKEN=... approvals

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/approvals
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY cards ./cards
COPY storage ./storage
COPY policy ./policy
RUN /opt/approvals/bin/pip install .

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /var/lib/approvals --uid 10001 approvals
COPY --from=build /opt/approvals /opt/approvals
ENV PATH=/opt/approvals/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    APPROVALS_HOST=0.0.0.0 \
    APPROVALS_PORT=3000 \
    APPROVALS_DATABASE_URL=sqlite+aiosqlite:////var/lib/approvals/approvals.db
USER approvals
WORKDIR /var/lib/approvals
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2)"
ENTRYPOINT ["approvals"]
CMD ["serve"]
