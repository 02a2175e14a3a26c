#!/usr/bin/env bash
# The paper's claim (c) at the bundled model's scale: at equal training FLOPs, is converting a trained AR model
# (what recipes/sdar-mini.sh does) better than training the same block-diffusion model from scratch on the same data?
#
# The AR-then-convert arm is models/sdar-mini: AR pretraining 2,600 steps + AR SFT 250 steps (11,673,600 tokens, one
# model pass each) + conversion 1 step + block-diffusion SFT 700 steps (2,871,296 tokens, two model passes each in
# the [noised, clean] layout): 6 x parameters x 17,416,192 model tokens.
# The from-scratch arm spends the same model tokens on the block-diffusion objective alone, B=4, from a random
# initialisation: 1,426 continued-pretraining steps on pretrain.jsonl + the same 700 SFT steps on sft.jsonl
# (2,126 steps x 16 rows x 256 tokens x 2 passes = 17,416,192). Same architecture, tokenizer, data, seed and
# learning-rate recipe as the AR arm's stages.
# Every step resumes from its last checkpoint when the script is run again after an interruption.
# Usage: [MODELS_DIR=DIR] recipes/claim-c.sh [WORK_DIR]   (defaults: models/ for the parent's tokenizer, out/sdar-mini;
#   the model is written to WORK_DIR/scratch-sdar)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$root/out/sdar-mini}"
sdar="${SDAR:-$root/sdar}"
models="${MODELS_DIR:-$root/models}"
mkdir -p "$work"
cd "$root"
PRETRAIN_STEPS=${PRETRAIN_STEPS:-1426}
SFT_STEPS=${SFT_STEPS:-700}
common=(--seq-length 256 --batch-rows 16 --eval-every 100 --checkpoint-every 100 --seed 1)
step() { echo "[$(date +%H:%M:%S)] $*"; }

[ -f "$work/data/manifest.json" ] || $sdar data generate --out "$work/data" --train 200000 --validation 500 --test 500 --seed 1234
if [ ! -f "$work/scratch-init/config.json" ]; then
  # A randomly initialised Qwen3 of the parent's shape and tokenizer (the one step at lr 1e-9 changes nothing;
  # `sdar train` needs one to write a model folder).
  step "random initialisation"
  $sdar train --tokenizer "$models/sdar-mini-ar" --data "$work/data/pretrain.jsonl" --out "$work/scratch-init" \
    --vocab-size 1024 --hidden-size 256 --layers 6 --heads 4 --kv-heads 2 --head-dim 64 --intermediate-size 768 \
    --steps 1 --lr 1e-9 "${common[@]}"
fi
if [ ! -f "$work/scratch-pt/config.json" ]; then
  step "block-diffusion pretraining from scratch, B=4"
  $sdar convert --model "$work/scratch-init" --data "$work/data/pretrain.jsonl" --out "$work/scratch-pt" --run-dir "$work/scratch-pt.run" \
    --block-length 4 --steps "$PRETRAIN_STEPS" --lr 1e-3 --warmup 100 --schedule Cosine "${common[@]}"
fi
if [ ! -f "$work/scratch-sdar/config.json" ]; then
  step "block-diffusion SFT -> $work/scratch-sdar"
  $sdar sft --model "$work/scratch-pt" --data "$work/data/sft.jsonl" --out "$work/scratch-sdar" --run-dir "$work/scratch-sft.run" \
    --steps "$SFT_STEPS" --lr 5e-4 --warmup 20 --schedule Cosine "${common[@]}"
fi
step "done: $work/scratch-sdar"
