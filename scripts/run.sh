#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
export OMP_WAIT_POLICY=PASSIVE
# the default model (preset mlp) on Fashion-MNIST; extra arguments go to `sinapsis train`, and a
# --data among them replaces Fashion-MNIST (e.g. --data kjv --preset gpt)
data=(--data fashion-mnist)
for arg in "$@"; do
  [[ "$arg" == --data || "$arg" == --data=* ]] && data=()
done
exec "$root/build/tools/cli/sinapsis" train "${data[@]}" "$@"
