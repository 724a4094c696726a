# syntax=docker/dockerfile:1
#
# lockgate daemon image.
#
#   docker build -t lockgate .
#   docker run -d --name lockgate -p 127.0.0.1:8686:8686 \
#       -v lockgate-state:/var/lib/lockgate \
#       -v "$PWD/myproject:/etc/lockgate:ro" lockgate
#
# /etc/lockgate is the project folder: lockgate.yaml, its job scripts and its
# `definitions:` modules. Mount yours there, or build `FROM lockgate` with
# `COPY . /etc/lockgate/` (examples/docker/Dockerfile).
#
# Any lockgate command runs the same way: `docker run --rm lockgate check`.

# -- build: wheels for lockgate and its dependencies, PostgreSQL driver included ----
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY lockgate ./lockgate
COPY partitions ./partitions
COPY sensors ./sensors
COPY daemon ./daemon
RUN pip wheel --wheel-dir /wheels '.[postgres]'

# -- runtime ------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LOCKGATE_CONFIG=/etc/lockgate/lockgate.yaml \
    LOCKGATE_STATE_DIR=/var/lib/lockgate \
    LOCKGATE_HTTP_BIND=0.0.0.0:8686

# tini is PID 1: it forwards SIGTERM/SIGHUP to the daemon and reaps orphaned
# grandchildren of job processes, which a Python PID 1 would leave as zombies.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 lockgate \
    && useradd --system --uid 10001 --gid lockgate --home-dir /var/lib/lockgate \
        --no-create-home --shell /usr/sbin/nologin lockgate \
    && mkdir -p /etc/lockgate /var/lib/lockgate/incoming \
    && chown -R lockgate:lockgate /var/lib/lockgate

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels 'lockgate[postgres]'

# The project folder: the config, the job scripts it runs (commands run in this
# folder) and any `definitions:` modules (imported from it). An image of your own
# replaces them: `FROM lockgate` then `COPY . /etc/lockgate/` (examples/docker/).
COPY config/lockgate.yaml /etc/lockgate/lockgate.yaml
COPY config/jobs /etc/lockgate/jobs

USER lockgate:lockgate
WORKDIR /var/lib/lockgate
# The SQLite store, run logs and working state. Mount a volume here so they
# survive the container; with PostgreSQL only the run logs live here.
VOLUME ["/var/lib/lockgate"]

# /healthz and /metrics
EXPOSE 8686

# The daemon drains running runs on SIGTERM within daemon.shutdown_grace (30s by
# default); give `docker stop --time` more than that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["lockgate", "health"]

ENTRYPOINT ["tini", "--", "lockgate"]
CMD ["daemon", "--config", "/etc/lockgate/lockgate.yaml"]
