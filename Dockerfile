# syntax=docker/dockerfile:1
# Build: the runtime dependencies into a virtualenv, exactly as requirements.lock pins and hashes
# them (wheels only, so no build step fetches anything unlocked). The service itself is not
# installed: it runs from /srv, where uvicorn and alembic import `app` from the working directory.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/
RUN /opt/venv/bin/pip install --require-hashes --only-binary :all: -r /tmp/requirements.lock

# Run: the virtualenv, the migrations, and nothing else; as a non-root user.
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --home-dir /srv tessera
WORKDIR /srv
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
USER tessera
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# Migrations run separately (`alembic upgrade head`, see docker-compose.yml), never on every start.
CMD ["python", "-m", "app.serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", \
     "--timeout-graceful-shutdown", "20"]
