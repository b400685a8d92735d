#!/usr/bin/env bash
# The same PKI as `sandbox certs create`, with the openssl CLI: the baseline for pki.py.
#   openssl_pki.sh OUT_DIR KEY_TYPE(ecdsa-p256|rsa-2048) NAMES_FILE
# NAMES_FILE: one line per node, "<node> <comma-separated SAN list in openssl syntax>".
set -euo pipefail
out=$1 key_type=$2 names=$3
umask 077
mkdir -p "$out/ca"
newkey() {
  if [ "$key_type" = rsa-2048 ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  fi
}
newkey "$out/ca/ca.key"
openssl req -new -x509 -key "$out/ca/ca.key" -out "$out/ca/ca.crt" -days 3650 -sha256 \
  -subj "/O=IAM Sandbox/CN=iam-sandbox CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
  -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign" 2>/dev/null
sign() {  # dir stem cn eku sans
  local dir=$1 stem=$2 cn=$3 eku=$4 sans=$5 ext
  mkdir -p "$dir"
  cp "$out/ca/ca.crt" "$dir/ca.crt"
  newkey "$dir/$stem.key"
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$eku"
  [ -n "$sans" ] && ext="$ext
subjectAltName=$sans"
  openssl req -new -key "$dir/$stem.key" -subj "/O=IAM Sandbox/CN=$cn" 2>/dev/null |
    openssl x509 -req -CA "$out/ca/ca.crt" -CAkey "$out/ca/ca.key" -CAcreateserial \
      -days 1825 -sha256 -out "$dir/$stem.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
}
while read -r node sans; do
  sign "$out/nodes/$node" node node "serverAuth,clientAuth" "$sans"
done < "$names"
for user in root ory; do
  sign "$out/clients/$user" "client.$user" "$user" clientAuth ""
done
