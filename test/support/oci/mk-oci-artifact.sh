#!/bin/bash
# Copied from the shared tools (shared/tools/mk-oci-artifact.sh) so that the e2e suites run from a clean clone.
# mk-oci-artifact.sh DIR TAG SRC_DIR [LAYER_MT] [ARTIFACT_TYPE]
# Builds an OCI image-layout dir holding one *artifact* manifest (OCI 1.1 style):
#   config = empty descriptor (application/vnd.oci.empty.v1+json, "{}"), one layer = zip of SRC_DIR.
# Defaults follow OpenTofu's module package format: artifactType application/vnd.opentofu.modulepkg, layer archive/zip.
set -euo pipefail
dir=$1; tag=$2; src=$3; lmt=${4:-archive/zip}; at=${5:-application/vnd.opentofu.modulepkg}
mkdir -p "$dir/blobs/sha256"; work=$(mktemp -d)
python3 - "$src" "$work/pkg.zip" <<'PY'
import sys, os, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk(src):
        for f in sorted(files):
            p = os.path.join(root, f); a = os.path.relpath(p, src)
            zi = zipfile.ZipInfo(a, date_time=(2020,1,1,0,0,0)); zi.external_attr = 0o644 << 16
            z.writestr(zi, open(p,'rb').read(), zipfile.ZIP_DEFLATED)
PY
put(){ local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$dir/blobs/sha256/$d"; echo "$d $(stat -c%s "$1")"; }
printf '{}' > "$work/empty.json"
read -r cd cs < <(put "$work/empty.json"); read -r ld ls < <(put "$work/pkg.zip")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:%s","size":%s,"data":"e30="},"layers":[{"mediaType":"%s","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.title":"module.zip"}}],"annotations":{"org.opencontainers.image.created":"2020-01-01T00:00:00Z"}}' "$at" "$cd" "$cs" "$lmt" "$ld" "$ls" > "$work/manifest.json"
read -r md ms < <(put "$work/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"%s","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "$at" "$md" "$ms" "$tag" > "$dir/index.json"
rm -rf "$work"; echo "sha256:$md"
