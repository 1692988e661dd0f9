#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
# GNU OpenMP's default wait policy is kept: an idle thread spins briefly before it sleeps, which
# makes 2 threads faster than 1 on an idle machine (LeNet step 2.2 vs 3.3 ms; with
# OMP_WAIT_POLICY=PASSIVE 3.35 vs 3.25 ms). On a machine busy with other work set
# OMP_WAIT_POLICY=PASSIVE yourself (docs/cli.md, "Threads").
# the default model (preset mlp) on Fashion-MNIST; extra arguments go to `sinapsis train`, and a
# --data among them replaces Fashion-MNIST (e.g. --data kjv --preset gpt)
data=(--data fashion-mnist)
for arg in "$@"; do
  [[ "$arg" == --data || "$arg" == --data=* ]] && data=()
done
exec "$root/build/tools/cli/sinapsis" train "${data[@]}" "$@"
