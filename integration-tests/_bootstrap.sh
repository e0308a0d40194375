# Sourced by run-tests and run-demo: makes uv available, syncs the workspace from
# the lock file and, unless COODIE_HOSTS names a cluster, starts a local node that
# is stopped again when the calling script exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export UV_PYTHON_DOWNLOADS="${UV_PYTHON_DOWNLOADS:-never}"
if ! command -v uv >/dev/null 2>&1; then
    echo "installing uv with pip" >&2
    python3 -m pip install --quiet --disable-pip-version-check uv
    PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
    export PATH
fi
uv sync --frozen --all-packages --quiet

if [ -z "${COODIE_HOSTS:-}" ]; then
    if ! integration-tests/cluster status >/dev/null 2>&1; then
        integration-tests/cluster up >/dev/null
        trap 'integration-tests/cluster down' EXIT
    fi
fi
