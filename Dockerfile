# Syndicator: one image for every process.
#   docker run -p 8080:8080 IMAGE            one container: web + worker + embedded Redis,
#                                            serving the bundled samples (CMD below)
#   compose.yaml                             Redis + `syndicator web` + `syndicator worker`
#
# BASE is any Debian-like image with python3 (>= 3.11) and python3-venv; CI builds it on a
# local Debian base made with mmdebstrap (see .ci/image-check), Docker users get the default.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The process user owns only its data directory; the code in /opt/venv stays root's.
# Created before VOLUME, so a fresh named or anonymous volume inherits this ownership.
RUN python3 -m venv /opt/venv \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin syndicator \
    && mkdir -p /data \
    && chown 10001:10001 /data

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when
# pyproject.toml changes, not on every code edit. PIP_CERT names the image's own CA bundle
# (a build behind a TLS-inspecting proxy bind-mounts the host's bundle over it for RUN
# steps only; it is never copied into the image).
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); print("\n".join(p["build-system"]["requires"] + p["project"]["dependencies"]))' > /tmp/requirements.txt \
    && PIP_CERT=/etc/ssl/certs/ca-certificates.crt pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the source (see .dockerignore), installed without touching the network.
COPY README.md ./
COPY config ./config
COPY workers ./workers
COPY syndicator ./syndicator
RUN pip install --no-deps --no-build-isolation . \
    && pip check \
    && rm -rf /src/build /src/*.egg-info

# Settings a container needs; override any with -e / environment:. The public URL is the
# address readers use for self links: set SYNDICATOR_PUBLIC_URL to yours.
ENV SYNDICATOR_HOST=0.0.0.0 \
    SYNDICATOR_PORT=8080 \
    SYNDICATOR_DATA_DIR=/data \
    SYNDICATOR_PUBLIC_URL=http://localhost:8080/

# The embedded Redis of `syndicator serve` keeps its append-only file here.
VOLUME ["/data"]
WORKDIR /data
# Numeric, so that runtimes enforcing "run as non-root" can verify it.
USER 10001:10001
EXPOSE 8080

# Python's standard library only (slim images have no curl). /readyz answers 200 while the
# process can serve feeds (Redis answers, or it holds feeds in memory through an outage),
# 503 when it can serve nothing; any error or timeout exits non-zero. (/healthz is liveness
# only: 200 while the process runs.)
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SYNDICATOR_PORT', '8080'), timeout=8)"]

CMD ["syndicator", "serve"]
