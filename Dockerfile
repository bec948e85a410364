# syntax=docker/dockerfile:1
# The ledger's production image: the API (`ledger serve`), the projection follower
# (`ledger projections run`) and the schema step (`ledger db upgrade`) are one image,
# three commands. Build: docker build -t grant-ledger:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: install the project and its dependencies into a self-contained venv ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/ledger
# Dependencies first (a layer that survives code changes); every one ships a wheel,
# so no compiler is needed even here.
COPY pyproject.toml README.md ./
COPY services ./services
COPY contracts ./contracts
RUN /opt/ledger/bin/pip install . \
    # The runtime needs neither pip nor setuptools: smaller, and less to patch.
    && /opt/ledger/bin/pip uninstall --yes pip setuptools wheel \
    && /opt/ledger/bin/python -m compileall -q /opt/ledger/lib

# -- runtime: the slim base, the venv, a non-root user; no build tools -------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 ledger \
    && useradd --system --uid 10001 --gid ledger --no-create-home --shell /usr/sbin/nologin ledger
COPY --from=build /opt/ledger /opt/ledger
# TMPDIR is an emptyDir in Kubernetes (the root filesystem is read-only): the uvicorn
# workers' Prometheus multiprocess files live there, fresh per container start.
ENV PATH=/opt/ledger/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TMPDIR=/tmp \
    LEDGER_RUN_PROJECTIONS=false
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
# Liveness only (the process answers); readiness (/readyz) is the orchestrator's probe.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["ledger"]
# Several uvicorn workers per container; projections run in their own Deployment.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", "--no-projections"]
