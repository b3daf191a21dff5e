#!/bin/bash
# Copied from the shared tools (shared/tools/mk-oci-image.sh) so that the e2e suites run from a clean clone.
# mk-oci-image.sh DIR TAG : build a minimal one-layer OCI image layout by hand (no daemon, no buildah)
set -euo pipefail
dir=$1; tag=${2:-latest}
mkdir -p "$dir/blobs/sha256"; work=$(mktemp -d)
mkdir -p "$work/rootfs"; echo "hello from e2e $(date -u +%FT%TZ)" > "$work/rootfs/hello.txt"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01' -C "$work/rootfs" -cf "$work/layer.tar" .
gzip -n -c "$work/layer.tar" > "$work/layer.tar.gz"
diffid=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
ld=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1); ls=$(stat -c%s "$work/layer.tar.gz")
cp "$work/layer.tar.gz" "$dir/blobs/sha256/$ld"
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/hello.txt"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diffid" > "$work/config.json"
cd_=$(sha256sum "$work/config.json" | cut -d' ' -f1); cs=$(stat -c%s "$work/config.json"); cp "$work/config.json" "$dir/blobs/sha256/$cd_"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' "$cd_" "$cs" "$ld" "$ls" > "$work/manifest.json"
md=$(sha256sum "$work/manifest.json" | cut -d' ' -f1); ms=$(stat -c%s "$work/manifest.json"); cp "$work/manifest.json" "$dir/blobs/sha256/$md"
echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "$md" "$ms" "$tag" > "$dir/index.json"
rm -rf "$work"; echo "sha256:$md"
