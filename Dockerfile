# syntax=docker/dockerfile:1
# Build stage: compile mysqlclient against the MariaDB client headers, into a venv.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libmariadb-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt
# The importer itself as a package on those pins: the image has the csv-sql-import command, and
# `dask scheduler` / `dask worker` (docker-compose.yml) import it from the venv.
COPY pyproject.toml /src/
COPY processor/ /src/processor/
COPY data/ /src/data/
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps /src

# Run stage: only the client library, the venv and the code; runs as a non-root user.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 importer
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY index.py ./
COPY processor/ processor/
COPY data/ data/
# The working folder is the importer's, so the default sqlite:///import.db can be written.
# Bytecode compiled once here: every container would otherwise compile the importer again.
RUN chown 10001 /app \
 && /opt/venv/bin/python -m compileall -q processor/
# PYTHONPATH: `dask worker` (docker-compose.yml) imports the importer's tasks from /app.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1
USER 10001
ENTRYPOINT ["python", "index.py"]
