#!/usr/bin/env bash
# Regenerates reports/examples: the redundancy of resnet20 vanilla and SPConv (ratio 1/2, groups 2)
# in three layers.
#
# With the seed-0 trained checkpoints of the store notebooks-data/models (1-channel 28x28
# Fashion-MNIST models, files named by their training identity; notebooks-data/README.md), it
# probes 500 Fashion-MNIST test images four ways: trained and seeded-random weights, vanilla and
# SPConv, and writes comparison.csv (one row per model, weights and layer); the trained SPConv
# figures also as SVG and PDF. It then runs the demo on the store and keeps two of its charts
# (accuracy vs MACs, redundancy per layer) in charts/. Without the checkpoints, it probes the
# bundled photos with seeded random weights.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product probe-cli >&2
cli=.build/release/probe-cli
out=reports/examples
layers=layer1.0.conv1,layer2.0,layer3.2
rm -rf "$out" && mkdir -p "$out"
vanilla_weights=notebooks-data/models/resnet20_vanilla_s0_a080b6848dad32e9.safetensors
spconv_weights=notebooks-data/models/resnet20_spconv_r0.5_g2_s0_93fb3aeab7d44b6f.safetensors
if [ -f "$vanilla_weights" ] && [ -f "$spconv_weights" ]; then
    comparison="$out/comparison.csv"
    echo "weights,variant,layer,channels,images,mean_abs_offdiag,frac_above_threshold,duplicates,dead,clusters,effective_rank,suggested_ratio" > "$comparison"
    for variant in vanilla spconv; do
        for weights in trained random; do
            folder="$out/resnet20-$variant-$weights"
            flags=()
            checkpoint=$vanilla_weights
            [ "$variant" = spconv ] && checkpoint=$spconv_weights
            [ "$weights" = trained ] && flags=(--weights "$checkpoint")
            formats=png
            [ "$variant-$weights" = spconv-trained ] && formats=png,svg,pdf
            "$cli" similarity --model resnet20 --variant "$variant" --in-channels 1 --input-size 28 "${flags[@]}" \
                --input fashion-mnist --limit 500 --layers "$layers" --metric cosine --formats "$formats" --out "$folder" > /dev/null
            # summary.csv: model,variant,ratio,groups,layer,channels,images,metric,mean_abs_offdiag,...
            tail -n +2 "$folder/summary.csv" | awk -F, -v w="$weights" -v OFS=, \
                '{ print w, $2, $5, $6, $7, $9, $10, $12, $13, $14, $15, $16 }' >> "$comparison"
        done
    done
    demo=$(mktemp -d)
    "$cli" demo --out "$demo" --formats png > /dev/null
    mkdir -p "$out/charts"
    cp "$demo/report/accuracy_vs_macs.png" "$demo/report/redundancy_per_layer.png" "$demo/report/configurations.csv" "$out/charts/"
    rm -rf "$demo"
else
    for variant in vanilla spconv; do
        "$cli" similarity --model resnet20 --variant "$variant" --input assets/images \
            --layers "$layers" --metric both --out "$out/resnet20-$variant" > /dev/null
    done
fi
echo "wrote $out" >&2
