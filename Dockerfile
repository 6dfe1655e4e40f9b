# syntax=docker/dockerfile:1
# pmm-backup-prereq-exporter: a Prometheus exporter for PMM's MongoDB backup prerequisites.
#
#   docker build -t pmm-backup-prereq-exporter .
#   docker run -d --name pmm-backup-prereq-exporter -p 9787:9787 \
#     -v /etc/pmm-backup-prereq-exporter:/etc/pmm-backup-prereq-exporter:ro \
#     -e PMM_TOKEN -e PMM_MONGO_PASSWORD pmm-backup-prereq-exporter
#
# Both stages use the same image, so the virtualenv's python symlink resolves in the final one.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- builder: build the project's wheel and install it with its dependencies into /opt/venv ----
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
# What pyproject.toml's build needs: the metadata, the readme it names, and the packages (the simulator for `demo`).
COPY pyproject.toml README.md ./
COPY exporter/ exporter/
COPY pbm_pmm_simulator/ pbm_pmm_simulator/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-cache-dir /wheels/*.whl

# ---- final: the slim runtime with the virtualenv only (no compilers, build tools, wheels or pip cache) ----
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="pmm-backup-prereq-exporter" \
      org.opencontainers.image.description="Prometheus exporter that checks, per MongoDB cluster and node, every prerequisite PMM needs to take a backup" \
      org.opencontainers.image.source="https://github.com/pmm-backup-prereq-exporter/pmm-backup-prereq-exporter" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
# A fixed, unprivileged UID/GID, so that mounted config and secret files can be made readable to it
# (chgrp 10001, or world-readable). The exporter needs no root and writes nothing.
RUN groupadd --system --gid 10001 exporter \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin exporter
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
# Configuration: mount the config file (and any uri_file / password_file it names) read-only into
# /etc/pmm-backup-prereq-exporter/, e.g. -v ./exporter.yml:/etc/pmm-backup-prereq-exporter/exporter.yml:ro.
# Secrets: either environment variables, referenced as ${PMM_TOKEN} or ${PMM_MONGO_PASSWORD} in the config
# and expanded from the environment, or files mounted read-only (e.g. Docker secrets under /run/secrets)
# and named by uri_file / password_file. The exporter keeps no state, so the image declares no VOLUME.
EXPOSE 9787
# Liveness of the HTTP endpoint; slim images have no curl, so Python's urllib does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9787/-/healthy', timeout=4)"]
ENTRYPOINT ["/opt/venv/bin/pmm-backup-prereq-exporter"]
CMD ["--config", "/etc/pmm-backup-prereq-exporter/exporter.yml"]
