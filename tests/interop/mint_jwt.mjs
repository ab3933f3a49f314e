// Mint JWTs and a JWKS with the npm `jose` package (an implementation
// independent of python-jose), for tests/interop/test_jwt_interop.py.
//
// Usage: node mint_jwt.mjs '<json request>'
//   request: {"issuer": "...", "audience": "...", "generation": "a",
//             "algs": ["RS256", ...], "claims": {...}}
// Prints: {"jwks": {"keys": [...]}, "tokens": {"RS256": "...", ...}}
// Keys are generated on every run and never written to disk.
import * as jose from "jose";

const request = JSON.parse(process.argv[2]);
const now = Math.floor(Date.now() / 1000);
const options = {
  RS256: { modulusLength: 2048 },
  PS256: { modulusLength: 2048 },
  ES256: {},
  ES384: {},
  EdDSA: { crv: "Ed25519" },
};

const keys = [];
const tokens = {};
for (const alg of request.algs) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, {
    ...options[alg],
    extractable: true,
  });
  const kid = `${request.generation}-${alg.toLowerCase()}`;
  const jwk = await jose.exportJWK(publicKey);
  keys.push({ ...jwk, kid, alg, use: "sig" });
  tokens[alg] = await new jose.SignJWT({ ...request.claims, alg_used: alg })
    .setProtectedHeader({ alg, kid, typ: request.typ ?? "JWT" })
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setSubject(request.subject ?? "interop-user")
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(privateKey);
}

process.stdout.write(JSON.stringify({ jwks: { keys }, tokens }));
