# GPU Pipeline Lab on a GPU cloud instance: RAPIDS (cuDF, cuML, CuPy) come with the base image.
#   docker build -t gpu-pipeline-lab .
#   docker run --gpus all -p 8501:8501 --read-only --tmpfs /tmp \
#     -v "$PWD/data:/data" -v gpl-cache:/cache gpu-pipeline-lab
FROM rapidsai/base:26.10-cuda13-py3.12

# Extra packages go into the base image's conda environment as its owner, the non-root user `rapids` (uid 1001).
USER rapids
COPY requirements.txt requirements-peers.txt requirements-dl.txt /tmp/requirements/
RUN pip install --no-cache-dir -r /tmp/requirements/requirements-peers.txt
# PyTorch for the Deep learning page: the version requirements-dl.txt pins, as a CUDA 13 build (about 3 GB).
# `--build-arg TORCH_INDEX_URL=` leaves it out; the page then says how to add it.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
      pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" "$(grep -E '^torch==' /tmp/requirements/requirements-dl.txt)"; \
    fi

# The app's code belongs to root: the user who runs it may read it but not change it.
USER root
WORKDIR /opt/gpu-pipeline-lab
COPY app.py ./
COPY .streamlit ./.streamlit
COPY pipeline ./pipeline
COPY ui ./ui
COPY pages ./pages
COPY data/README.md /data/README.md
COPY docs/results ./docs/results
# The only folders the app writes to: the data folder and its cache (Streamlit's and Numba's files).
RUN mkdir -p /cache && chown rapids:conda /data /cache

USER rapids
ENV GPL_DATA_DIR=/data \
    HOME=/cache \
    XDG_CACHE_HOME=/cache \
    NUMBA_CACHE_DIR=/cache/numba \
    STREAMLIT_SERVER_PORT=8501
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0"]
