# Relance's image: the bot (`relance run`) as a non-root user, its data folder a volume.
# Build: docker build -t relance .   Run: docker compose up -d (compose.yaml: the bot and PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A system user without a login shell owns nothing but the data folder.
RUN groupadd --system --gid 10001 relance \
    && useradd --system --uid 10001 --gid relance --home-dir /app --no-create-home --shell /usr/sbin/nologin relance

# The package with the PostgreSQL driver (templates, rate tables and fonts are package data).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY dunning ./dunning
COPY messages ./messages
COPY services ./services
COPY storage ./storage
RUN pip install '.[postgres]' && rm -rf /src

WORKDIR /app
RUN mkdir -p /app/data && chown relance:relance /app/data
USER relance

# Defaults for a container; compose.yaml or `docker run -e` override them (DATABASE_URL for PostgreSQL).
# HEALTH_PORT opens /healthz inside the container for the HEALTHCHECK below (HEALTH_LISTEN stays 127.0.0.1).
ENV DATA_DIR=/app/data \
    DATABASE_URL=sqlite:////app/data/relance.db \
    LOG_FORMAT=json \
    HEALTH_PORT=8080
VOLUME ["/app/data"]

# /healthz answers 200 when the database answers and the scheduler ticks, 503 otherwise (urlopen raises: exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HEALTH_PORT'], timeout=4)"]

# SIGTERM (docker stop) stops the bot cleanly: the digest or e-mail under way finishes first.
STOPSIGNAL SIGTERM
ENTRYPOINT ["relance"]
CMD ["run"]
