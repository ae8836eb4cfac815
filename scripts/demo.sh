#!/bin/bash
# The main job: installs what is missing, builds, and runs the end-to-end demo (iovctl demo):
# iovkitd up (started if none runs), the host discovered, iovswitch up, two guests in iovm
# exchanging frames through it, a report; then it takes down what it started. Options are
# passed to iovctl demo (--pings N, --frames N, --size BYTES, --keep, --json); see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
exec build/cli/iovctl demo "$@"
