#!/usr/bin/env bash
# ablations.sh EDGEREC OUT: the two-tower alone, trained with the defaults
# and then with one training technique turned off (or one setting
# changed) at a time, seed 1, on each data set present: MovieLens-100K,
# latest-small and Last.fm from ../shared/data, and the 10k-user synthetic
# set generated into OUT. Writes each run's `edgerec eval` output to OUT
# and prints a Markdown table of Recall@20 / NDCG@10 (make ablations;
# tools/eval/RESULTS.md, "Training ablations").
set -euo pipefail
edgerec=${1:?usage: ablations.sh EDGEREC OUT}
out=${2:?usage: ablations.sh EDGEREC OUT}
mkdir -p "$out"

# name|flags: flags are added to `edgerec eval` as they are.
variants=(
  "defaults|"
  "no log-Q correction (--no-logq)|--no-logq"
  "no mixed negatives (--no-mns)|--no-mns"
  "no hit mask (--no-hit-mask)|--no-hit-mask"
  "no popularity prior (--no-pop-prior)|--no-pop-prior"
  "plain mean pooling (\"decays\": [1])|--config $out/decays1.json"
  "temperature 0.05 (the default before 2026-12-06)|--temperature 0.05"
  "Adam's step 0.003 (the default before commit b31d30c)|--lr 0.003"
)
echo '{"decays": [1]}' > "$out/decays1.json"

# name|--data|--format
sets=()
for s in "MovieLens-100K|../shared/data/ml-100k|movielens-100k" \
         "latest-small|../shared/data/ml-latest-small|movielens-latest" \
         "Last.fm|../shared/data/lastfm-hetrec2k|lastfm-hetrec"; do
  IFS='|' read -r _ dir _ <<<"$s"
  if [ -d "$dir" ]; then sets+=("$s"); else echo "note: $dir is missing; left out" >&2; fi
done
[ -d "$out/synth-10k" ] || "$edgerec" synth --out "$out/synth-10k" --users 10000 --items 5000 >&2
sets+=("synthetic 10k|$out/synth-10k|edgerec")

header="| setting |"; rule="|---|"
for s in "${sets[@]}"; do header+=" ${s%%|*} |"; rule+="---|"; done
rows=()
for v in "${variants[@]}"; do
  name=${v%%|*}; flags=${v#*|}
  row="| $name |"
  for s in "${sets[@]}"; do
    IFS='|' read -r label dir format <<<"$s"
    file="$out/$(printf '%s' "$label-$name" | tr -c 'A-Za-z0-9.-' '_').txt"
    echo "ablations: $label, $name" >&2
    # shellcheck disable=SC2086 # flags are words on purpose
    "$edgerec" eval --data "$dir" --format "$format" --seeds 1 --models twotower $flags >"$file" 2>"$file.log"
    # The model's row: name, recall@10, recall@20, its interval (two
    # fields), recall@50, ndcg@10.
    row+=" $(awk '$1 == "twotower" && $2 ~ /^[0-9.]+$/ { printf "%.3f / %.3f", $3, $7; exit }' "$file") |"
  done
  rows+=("$row")
done
echo "$header"; echo "$rule"; printf '%s\n' "${rows[@]}"
