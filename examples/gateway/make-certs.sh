#!/bin/sh
# Test certificates for examples/gateway/gateway.toml, made with openssl in
# the current folder: a CA (ca.pem) and its CRL (crl.pem), a server
# certificate for localhost and the API hosts (server.pem, server.key), and
# client certificates: client.pem (valid), revoked.pem (listed in the CRL)
# and untrusted.pem (another CA's). For trying the gateway, not for production.
set -eu
cat > ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 3650
[v3_client]
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_server]
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,DNS:api.orangeclouded.com,DNS:orangeclouded.com,DNS:www.example.com,IP:127.0.0.1
CNF
: > index.txt
echo 01 > crlnumber
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
  -subj "/C=US/O=Orange Clouded/CN=Example Test CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 3650 \
  -subj "/CN=Untrusted CA" 2>/dev/null
issue() { # name subject ca-cert ca-key extension
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3" -CAkey "$4" -CAcreateserial -out "$1.pem" \
    -days 365 -extfile ca.cnf -extensions "$5" 2>/dev/null
}
issue server "/CN=localhost" ca.pem ca.key v3_server
issue client "/C=US/O=Billing/CN=billing-service" ca.pem ca.key v3_client
issue revoked "/C=US/O=Billing/CN=stolen-laptop" ca.pem ca.key v3_client
issue untrusted "/CN=mallory" other-ca.pem other.key v3_client
openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -revoke revoked.pem 2>/dev/null
openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -gencrl -out crl.pem 2>/dev/null
echo "made ca.pem crl.pem server.pem server.key client.pem revoked.pem untrusted.pem (and their keys)"
