#!/usr/bin/env bash
# Train the shipped detector on a GPU machine within one bounded session, then finish anywhere:
#   bash models/build_on_gpu.sh OUTDIR [SECONDS] [extra models.build options]   (on the GPU machine)
#   python -m models.build --weights OUTDIR/weights.pt    (threshold on val, held-out scores, card)
# Renders the training split with every core, trains for as many steps as fit SECONDS (the number
# is saved with the weights and in the card, so `--steps N` replays it) and exports ONNX.
set -euo pipefail
out=${1:?output folder}
budget=${2:-540}
shift $(($# < 2 ? $# : 2))
cores=$(nproc)
mkdir -p "$out"
python3 -m models.build --train-only --data "${RIVERPATROL_DATA:-/tmp/riverpatrol_debris}" \
  --out "$out/model.onnx" --save-weights "$out/weights.pt" --workers "$cores" \
  --loader-workers $((cores - 2)) --time-budget "$budget" --steps 200000 "$@"
