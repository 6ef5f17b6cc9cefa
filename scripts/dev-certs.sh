#!/usr/bin/env bash
# Development certificates for the secured setup (config/edgebridge.secure.yaml) and the tests.
#   scripts/dev-certs.sh DIR [HOSTNAME...]
# Makes in DIR (idempotent: an existing DIR/ca.crt is kept, so is everything made from it):
#   ca.crt ca.key                 a CA, valid 10 years
#   server.crt server.key         signed by the CA, for localhost, 127.0.0.1 and every HOSTNAME
#   client.crt client.key         signed by the CA, subject CN=device1,OU=floor,O=edgebridge-dev
#   expired.crt expired.key       signed by the CA, CN=expired-device, valid only in 2020
#   rogue-ca.crt rogue.crt rogue.key   a client certificate from a CA nobody trusts
#   server.p12 client.p12 truststore.p12   the same for Java (password: edgebridge-dev)
# Keys are created 0600 (edgebridge refuses world-readable keys). Not for production: the CA key
# sits next to the certificates.
set -euo pipefail
dir=${1:?usage: dev-certs.sh DIR [HOSTNAME...]}
shift
hosts=("$@")
pass=edgebridge-dev
mkdir -p "$dir"
cd "$dir"
umask 077

san="DNS:localhost,IP:127.0.0.1"
for h in "${hosts[@]}"; do
  if [[ $h =~ ^[0-9.]+$ ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
done

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME SUBJECT EXTFILE CA_PREFIX [extra openssl x509 args]
sign() {
  local name=$1 subj=$2 ext=$3 ca=$4
  shift 4
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -extfile "$ext" -out "$name.crt" "$@" 2>/dev/null
  rm -f "$name.csr"
}

if [ ! -f ca.crt ]; then
  key ca.key
  openssl req -x509 -new -key ca.key -subj "/O=edgebridge-dev/CN=edgebridge dev CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.crt 2>/dev/null
  key rogue-ca.key
  openssl req -x509 -new -key rogue-ca.key -subj "/O=rogue/CN=rogue CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out rogue-ca.crt 2>/dev/null

  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' \
    "$san" >server.ext
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' \
    >client.ext
  sign server "/O=edgebridge-dev/CN=localhost" server.ext ca -days 825
  sign client "/O=edgebridge-dev/OU=floor/CN=device1" client.ext ca -days 825
  sign rogue "/O=rogue/CN=device1" client.ext rogue-ca -days 825

  # Expired: openssl x509 cannot backdate, `openssl ca` can.
  mkdir -p expired-ca && : >expired-ca/index.txt && echo 01 >expired-ca/serial
  cat >expired-ca/ca.cnf <<CNF
[ca]
default_ca = dev
[dev]
dir = expired-ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = ca.crt
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
[ext]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
CNF
  key expired.key
  openssl req -new -key expired.key -subj "/O=edgebridge-dev/CN=expired-device" -out expired.csr \
    2>/dev/null
  openssl ca -batch -config expired-ca/ca.cnf -extensions ext -startdate 20200101000000Z \
    -enddate 20200102000000Z -in expired.csr -out expired.crt -notext 2>/dev/null
  rm -rf expired.csr expired-ca

  # Java: PKCS#12 key stores and a trust store (keytool marks the CA trusted).
  openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt -name server \
    -passout "pass:$pass" -out server.p12
  openssl pkcs12 -export -in client.crt -inkey client.key -certfile ca.crt -name client \
    -passout "pass:$pass" -out client.p12
  rm -f truststore.p12
  keytool -importcert -noprompt -storetype PKCS12 -keystore truststore.p12 -storepass "$pass" \
    -alias ca -file ca.crt >/dev/null 2>&1
  rm -f ./*.srl server.ext client.ext
fi
# Certificates may be read by anyone; keys and stores only by their owner.
chmod 644 ./*.crt
chmod 600 ./*.key ./*.p12
echo "$(pwd)"
