# GPU Pipeline Lab on a GPU cloud instance: RAPIDS (cuDF, cuML, CuPy, Dask) come with the base image.
#   docker build -t gpu-pipeline-lab .
#   docker run --gpus all -p 8501:8501 --read-only --tmpfs /tmp \
#     -v "$PWD/data:/data" -v gpl-cache:/cache gpu-pipeline-lab
# BASE is the image to start from: `make deploy-check` builds this same file on a Debian stand-in laid out as the
# RAPIDS image is (tests/deploy/standin_base.sh). Needs Docker 23+ (BuildKit) or buildah for RUN --mount.
ARG BASE=rapidsai/base:26.10-cuda13-py3.12
FROM ${BASE}

# Extra packages go into the base image's conda environment as its owner, `rapids` (uid 1001, group conda). The
# build context is mounted read-only at /mnt for the installs (the requirement files never become a layer). Where the
# package index is reached through a private CA, give pip its configuration as build secrets, never stored:
#   docker build --secret id=pip.conf,src=pip.conf --secret id=pip-ca,src=ca.pem …  (pip.conf: cert = /run/secrets/pip-ca)
USER rapids
RUN --mount=type=bind,source=.,target=/mnt \
    --mount=type=secret,id=pip.conf,mode=0444 --mount=type=secret,id=pip-ca,mode=0444 \
    if [ -s /run/secrets/pip.conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip.conf; fi; \
    pip install --no-cache-dir -r /mnt/requirements-peers.txt
# PyTorch for the Deep learning page: the version requirements-dl.txt pins, as a CUDA 13 build (about 3 GB).
# `--build-arg TORCH_INDEX_URL=` leaves it out; the page then says how to add it.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130
RUN --mount=type=bind,source=.,target=/mnt \
    --mount=type=secret,id=pip.conf,mode=0444 --mount=type=secret,id=pip-ca,mode=0444 \
    if [ -s /run/secrets/pip.conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip.conf; fi; \
    if [ -n "$TORCH_INDEX_URL" ]; then \
      pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" "$(grep -E '^torch==' /mnt/requirements-dl.txt)"; \
    fi

USER root
# The app runs as its own user, `gpl` (uid 1002): neither the environment's owner nor in group conda, so it can read
# the environment but never change it, even without --read-only. The RAPIDS image leaves parts of /opt/conda to its
# owner and group only (mode 770): those entries alone are opened for reading (a chmod copies only what it changes).
RUN useradd --system --uid 1002 --user-group --home-dir /cache --no-create-home --shell /usr/sbin/nologin gpl \
 && find /opt/conda \( ! -perm -o=r -o -perm -u=x ! -perm -o=x \) ! -type l -exec chmod o+rX {} + \
 && install -m 0755 /home/rapids/entrypoint.sh /usr/local/bin/base-entrypoint.sh
# The app's code belongs to root: the user who runs it may read it but not change it.
WORKDIR /opt/gpu-pipeline-lab
COPY app.py ./
COPY .streamlit ./.streamlit
COPY pipeline ./pipeline
COPY ui ./ui
COPY pages ./pages
COPY data/README.md /data/README.md
COPY docs/results ./docs/results
# The app's user owns only its data folder (where none is mounted) and its cache (HOME, Streamlit's and Numba's files,
# the workspaces kept across a refresh: mount a volume there); anything else it writes goes to /tmp.
RUN mkdir -p /cache && chown gpl:gpl /data /cache

USER gpl
# PYTHONPATH: `dask scheduler` and `dask worker` started from this image import the app's code (its tasks name it).
# STREAMLIT_SERVER_ADDRESS and _PORT: change them with -e (the health check follows them).
ENV PYTHONPATH=/opt/gpu-pipeline-lab \
    GPL_DATA_DIR=/data \
    GPL_WORKSPACE_DIR=/cache/workspaces \
    HOME=/cache \
    XDG_CACHE_HOME=/cache \
    NUMBA_CACHE_DIR=/cache/numba \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_PORT=8501
EXPOSE 8501
# Asks what the container runs: the app on its port, or a Dask scheduler or worker started from this image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "pipeline.healthcheck"]

# The base image's entrypoint (activates the environment, then runs the command), readable by this user.
ENTRYPOINT ["/usr/local/bin/base-entrypoint.sh"]
CMD ["streamlit", "run", "app.py"]
