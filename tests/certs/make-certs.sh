#!/bin/sh
# make-certs.sh — regenerates the throwaway test PKI in this directory with the
# openssl CLI. Used by tests/unit/test_tls.c, fuzz/fuzz_tls.c and the e2e tests.
# Keys are unencrypted EC P-256; everything is valid for 100 years. NOT secret:
# never use these anywhere but tests.
#
#   ca.pem / ca.key           "wsd test CA"         (for --sslca, and to verify server.pem)
#   server.pem / server.key   CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1,
#                             signed by ca (serverAuth); server.pem = leaf + ca (chain)
#   client.pem / client.key   CN=wsd test client, signed by ca (clientAuth)
#   ca2.pem / ca2.key         "wsd other test CA"   (an unrelated CA)
#   client2.pem / client2.key CN=wsd other client, signed by ca2 (clientAuth)
set -eu
cd "$(dirname "$0")"
DAYS=36500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # ca NAME SUBJECT
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days $DAYS -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" -out "$1.pem"
}

leaf() {  # leaf NAME SUBJECT CA SERIAL EXTENSIONS
    key "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$tmp/$1.csr"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" \
        "authorityKeyIdentifier=keyid" "$5" >"$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "$4" \
        -sha256 -days $DAYS -extfile "$tmp/$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "/O=wsd tests/CN=wsd test CA"
ca ca2 "/O=wsd tests/CN=wsd other test CA"
leaf server "/O=wsd tests/CN=localhost" ca 1001 \
    "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
cat ca.pem >>server.pem            # a chain file, as --sslcert takes
leaf client "/O=wsd tests/CN=wsd test client" ca 1002 "extendedKeyUsage=clientAuth"
leaf client2 "/O=wsd tests/CN=wsd other client" ca2 2001 "extendedKeyUsage=clientAuth"
chmod 644 ./*.key ./*.pem
for c in server client; do openssl verify -CAfile ca.pem "$c.pem" >/dev/null; done
openssl verify -CAfile ca2.pem client2.pem >/dev/null
echo "test certificates written to $(pwd)"
