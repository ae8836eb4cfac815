#!/bin/bash
# The main job: installs what is missing, builds, and shows what this host offers for device
# assignment (iovctl host). This grows into the end-to-end demo (daemon, switch, two guests) as
# those parts land; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
echo "== iovctl host"
exec build/cli/iovctl host "$@"
