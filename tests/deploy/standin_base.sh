#!/usr/bin/env bash
# The stand-in for rapidsai/base that `make deploy-check` builds the Dockerfile on (no container registry here):
# Debian bookworm (debootstrap --variant=minbase) with python3, laid out as the RAPIDS image is (rapidsai/docker's
# Dockerfile): group `conda`; user `rapids` (uid 1001, group conda, home /home/rapids, 0750 as Ubuntu makes homes);
# the Python environment at /opt/conda (here a venv), root:conda, mode 770 with g+ws on its top folder, as the RAPIDS
# image's `COPY --chown=root:conda --chmod=770 /opt/conda` leaves it; PATH=/opt/conda/bin:…; USER rapids, WORKDIR
# /home/rapids, ENTRYPOINT /home/rapids/entrypoint.sh (a login shell that activates the environment and execs its
# arguments), CMD python3 (the RAPIDS image's is ipython). Imported with `podman import` as the tag given.
#   usage: standin_base.sh TAG   (as root, with podman configured by the caller)
set -euo pipefail
tag="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/gpl-standin.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

cat > "$root/home-entrypoint.sh" <<'ENTRYPOINT'
#!/usr/bin/env -S bash -l
# The stand-in for the RAPIDS image's entrypoint: activate the environment (there `conda activate`), run the arguments.
set -eo pipefail
. /opt/conda/bin/activate
exec "$@"
ENTRYPOINT

chroot "$root" /bin/bash -euo pipefail -c '
  groupadd conda
  useradd -rm -d /home/rapids -s /bin/bash -g conda -u 1001 rapids
  chmod 0750 /home/rapids
  mv /home-entrypoint.sh /home/rapids/entrypoint.sh
  chmod 0755 /home/rapids/entrypoint.sh
  python3 -m venv /opt/conda
  chown -R root:conda /opt/conda
  chmod -R 770 /opt/conda
  chmod g+ws /opt/conda
  apt-get clean
  rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log
'

tar --numeric-owner -C "$root" -c . | podman import \
  --change 'ENV PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV CONDA_PREFIX=/opt/conda' \
  --change 'USER rapids' \
  --change 'WORKDIR /home/rapids' \
  --change 'ENTRYPOINT ["/home/rapids/entrypoint.sh"]' \
  --change 'CMD ["python3"]' \
  - "$tag"
