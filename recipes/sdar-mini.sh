#!/usr/bin/env bash
# Reproduces the bundled models from scratch on a 2-core CPU (about 75 minutes, plus about 45 for B=8 and B=16):
#   data -> tokenizer -> AR pretraining -> AR SFT (models/sdar-mini-ar, the parent)
#        -> conversion to SDAR (config, mask token) -> block-diffusion SFT, B=4 (models/sdar-mini)
#   then evaluates both on the held-out test split with the engine's greedy decoding, trains the from-scratch model
#   of claim (c) (recipes/claim-c.sh, about 75 minutes) and regenerates the results page.
# Every training step resumes from its last checkpoint when the script is run again after an interruption, and a step
# whose model folder exists is skipped.
# Usage: [MODELS_DIR=DIR] [DOCS_DIR=DIR] recipes/sdar-mini.sh [WORK_DIR]
#   (defaults: out/sdar-mini, models/ and docs/; to reproduce the bundled models without replacing them, point
#   MODELS_DIR and DOCS_DIR elsewhere, e.g. MODELS_DIR=out/rerun/models DOCS_DIR=out/rerun/docs recipes/sdar-mini.sh out/rerun)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$root/out/sdar-mini}"
# SDAR may name another build of the CLI, e.g. "dotnet /path/Sdar.Cli.dll", so that editing the sources
# while the recipe runs cannot change the program half-way.
sdar="${SDAR:-$root/sdar}"
models="${MODELS_DIR:-$root/models}"
docs="${DOCS_DIR:-$root/docs}"
mkdir -p "$work" "$models"
cd "$root"

# Sizes: the parent sees ~10.7M pretraining + ~1M SFT tokens; conversion + SFT use under a quarter of that.
# At this scale the block-diffusion budget is best spent on answer-labelled chats: one continued-pretraining step
# (which writes the SDAR config and mask token) and 700 SFT steps gave 72.2 % static accuracy on the test split,
# where 450 continued-pretraining steps on question+answer text and 250 SFT steps gave 49.6 %.
AR_STEPS=${AR_STEPS:-2600}
AR_SFT_STEPS=${AR_SFT_STEPS:-250}
CONVERT_STEPS=${CONVERT_STEPS:-1}
SDAR_SFT_STEPS=${SDAR_SFT_STEPS:-700}
common=(--seq-length 256 --batch-rows 16 --eval-every 100 --checkpoint-every 100 --seed 1)

step() { echo "[$(date +%H:%M:%S)] $*"; }

if [ ! -f "$work/data/manifest.json" ]; then
  step "generating the synthetic task suite"
  $sdar data generate --out "$work/data" --train 200000 --validation 500 --test 500 --seed 1234
fi
if [ ! -f "$work/tokenizer/tokenizer.json" ]; then
  step "training the tokenizer"
  $sdar tokenizer train --corpus "$work/data/pretrain.jsonl" --out "$work/tokenizer" --vocab-size 1024
fi
if [ ! -f "$work/ar-base/config.json" ]; then
  step "AR pretraining"
  $sdar train --tokenizer "$work/tokenizer" --data "$work/data/pretrain.jsonl" --out "$work/ar-base" \
    --vocab-size 1024 --hidden-size 256 --layers 6 --heads 4 --kv-heads 2 --head-dim 64 --intermediate-size 768 \
    --steps "$AR_STEPS" --lr 1e-3 --warmup 100 --schedule Cosine "${common[@]}"
fi
if [ ! -f "$models/sdar-mini-ar/config.json" ]; then
  step "AR SFT -> models/sdar-mini-ar"
  $sdar sft --model "$work/ar-base" --data "$work/data/sft.jsonl" --out "$models/sdar-mini-ar" --run-dir "$work/ar-sft.run" \
    --steps "$AR_SFT_STEPS" --lr 3e-4 --warmup 10 --schedule Constant "${common[@]}"
fi
if [ ! -f "$work/sdar-cpt/config.json" ]; then
  step "conversion: block-diffusion continued pretraining, B=4"
  $sdar convert --model "$models/sdar-mini-ar" --data "$work/data/pretrain.jsonl" --out "$work/sdar-cpt" \
    --block-length 4 --steps "$CONVERT_STEPS" --lr 5e-4 --warmup 0 --schedule Cosine "${common[@]}"
fi
if [ ! -f "$models/sdar-mini/config.json" ]; then
  step "SDAR SFT -> models/sdar-mini"
  $sdar sft --model "$work/sdar-cpt" --data "$work/data/sft.jsonl" --out "$models/sdar-mini" --run-dir "$work/sdar-sft.run" \
    --steps "$SDAR_SFT_STEPS" --lr 5e-4 --warmup 20 --schedule Cosine "${common[@]}"
fi

# Larger blocks, for the block-size sweeps: SFT at block length 8 from the B=4 model (two runs, as the shipped model
# was made), then at 16 from the B=8 one.
sft_block() { # FROM OUT RUN BLOCK STEPS SEED
  $sdar sft --model "$1" --block-length "$4" --data "$work/data/sft.jsonl" --out "$2" --run-dir "$3" \
    --steps "$5" --lr 3e-4 --warmup 10 --schedule Cosine --seq-length 256 --batch-rows 16 --eval-every 100 --checkpoint-every 50 --seed "$6"
}
if [ ! -f "$models/sdar-mini-b8/config.json" ]; then
  step "SDAR SFT at B=8 -> models/sdar-mini-b8"
  [ -f "$work/sdar-b8-first/config.json" ] || sft_block "$models/sdar-mini" "$work/sdar-b8-first" "$work/sdar-sft-b8.run" 8 300 1
  sft_block "$work/sdar-b8-first" "$models/sdar-mini-b8" "$work/sdar-sft-b8-long.run" 8 600 2
fi
if [ ! -f "$models/sdar-mini-b16/config.json" ]; then
  step "SDAR SFT at B=16 -> models/sdar-mini-b16"
  sft_block "$models/sdar-mini-b8" "$models/sdar-mini-b16" "$work/sdar-sft-b16-long.run" 16 400 2
fi

step "evaluating on $work/data/test.jsonl (greedy)"
$sdar eval --model "$models/sdar-mini-ar" --benchmark synthetic --data "$work/data/test.jsonl" --concurrency 16 --json | tee "$work/eval-ar.json"
$sdar eval --model "$models/sdar-mini" --benchmark synthetic --data "$work/data/test.jsonl" --concurrency 16 --strategy low_confidence_static --json | tee "$work/eval-sdar-static.json"
$sdar eval --model "$models/sdar-mini" --benchmark synthetic --data "$work/data/test.jsonl" --concurrency 16 --strategy low_confidence_dynamic --threshold 0.9 --json | tee "$work/eval-sdar-dynamic.json"
for b in 8 16; do
  $sdar eval --model "$models/sdar-mini-b$b" --benchmark synthetic --data "$work/data/test.jsonl" --concurrency 16 --strategy low_confidence_static --json | tee "$work/eval-sdar-b$b-static.json"
  $sdar eval --model "$models/sdar-mini-b$b" --benchmark synthetic --data "$work/data/test.jsonl" --concurrency 16 --strategy low_confidence_dynamic --threshold 0.9 --json | tee "$work/eval-sdar-b$b-dynamic.json"
done
step "claim (c): block diffusion from scratch at the FLOPs of $models/sdar-mini"
MODELS_DIR="$models" SDAR="$sdar" "$root/recipes/claim-c.sh" "$work"
step "the results page"
$sdar results --data "$work/data/test.jsonl" --models "$models/sdar-mini,$models/sdar-mini-b8,$models/sdar-mini-b16" \
  --ar "$models/sdar-mini-ar" --from-scratch "$work/scratch-sdar" --out "$docs" --work "$work/results"
step "done"
