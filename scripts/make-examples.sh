#!/usr/bin/env bash
# Regenerates reports/examples: redundancy of resnet20 vanilla and SPConv (ratio 1/2, groups 2) on
# the bundled photos, three layers, both metrics. Uses trained checkpoints from notebooks-data/models
# when they exist (1-channel 28x28 Fashion-MNIST models), seeded random weights otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product probe-cli >&2
cli=.build/release/probe-cli
out=reports/examples
rm -rf "$out" && mkdir -p "$out"
for variant in vanilla spconv; do
    weights=()
    model=(--model resnet20 --variant "$variant")
    if [ -f "notebooks-data/models/resnet20_$variant.safetensors" ]; then
        weights=(--weights "notebooks-data/models/resnet20_$variant.safetensors")
        model+=(--in-channels 1 --input-size 28)
    fi
    "$cli" similarity "${model[@]}" "${weights[@]}" --input assets/images \
        --layers layer1.0.conv1,layer2.0,layer3.2 --metric both --out "$out/resnet20-$variant" > /dev/null
done
echo "wrote $out" >&2
