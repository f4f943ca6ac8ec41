#!/usr/bin/env bash
# Train the shipped detector on a GPU machine within one bounded session, then finish here:
#   bash models/build_on_gpu.sh OUTDIR [SECONDS]     (on the GPU machine; SECONDS = whole-run budget)
#   python -m models.build --weights OUTDIR/weights.pt   (on any machine: threshold, scores, card)
# Renders the training split with every core, trains for as many steps as fit the budget (the
# number is saved with the weights and in the card, so `--steps N` replays it), exports ONNX.
set -euo pipefail
out=${1:?output folder}
budget=${2:-540}
cores=$(nproc)
data=${RIVERPATROL_DATA:-/tmp/riverpatrol_debris}
mkdir -p "$out"
SECONDS=0
# 1) render the train split (and warm the loaders with a single step)
python3 -m models.build --train-only --steps 1 --data "$data" --out "$out/probe.onnx" --workers "$cores"
rendered=$SECONDS
# 2) train for what is left, keeping ~60 s for loading and export
left=$((budget - rendered - 60))
python3 -m models.build --train-only --data "$data" --out "$out/model.onnx" --save-weights "$out/weights.pt" \
  --workers "$cores" --loader-workers $((cores - 2)) --time-budget "$left" --steps 200000
echo "render ${rendered}s, whole run ${SECONDS}s"
