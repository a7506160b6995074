# GPU Pipeline Lab on a GPU cloud instance: RAPIDS (cuDF, cuML, CuPy) come with the base image.
#   docker build -t gpu-pipeline-lab .
#   docker run --gpus all -p 8501:8501 -v "$PWD/data:/home/rapids/app/data" gpu-pipeline-lab
FROM rapidsai/base:26.10-cuda13-py3.12

# The base image runs as its non-root user `rapids` (uid 1001), who owns the conda environment.
USER rapids
WORKDIR /home/rapids/app

COPY --chown=rapids:conda requirements.txt requirements-peers.txt ./
RUN pip install --no-cache-dir -r requirements-peers.txt

COPY --chown=rapids:conda app.py ./
COPY --chown=rapids:conda .streamlit ./.streamlit
COPY --chown=rapids:conda pipeline ./pipeline
COPY --chown=rapids:conda ui ./ui
COPY --chown=rapids:conda pages ./pages
COPY --chown=rapids:conda data/README.md ./data/README.md
COPY --chown=rapids:conda docs/results ./docs/results

ENV GPL_DATA_DIR=/home/rapids/app/data \
    STREAMLIT_SERVER_PORT=8501
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0"]
