# Syndicator: one image for the web process and the workers (compose.yaml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY syndicator ./syndicator
COPY workers ./workers
COPY config ./config
RUN pip install . && useradd --system --home /app syndicator
USER syndicator

EXPOSE 8080
# The web process listens on all interfaces inside the container.
ENV SYNDICATOR_HOST=0.0.0.0 SYNDICATOR_PORT=8080
CMD ["syndicator", "web"]
