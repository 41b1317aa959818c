// Verifies a Tessera user-group token with the `jose` library against the
// service's published JWKS: the example of docs/verification.md, run by the
// test suite as an independent (non-Rust) client.
//
//   node verify.mjs <jwks url> <token> <issuer> <audience>
//
// Prints {"header":...,"payload":...} and exits 0, or prints the error code
// on stderr and exits 1.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, token, issuer, audience] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(jwksUrl));

try {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: ['EdDSA', 'ES256', 'RS256'],
    requiredClaims: ['exp', 'iat', 'nbf', 'sub'],
  });
  console.log(JSON.stringify({ header: protectedHeader, payload }));
} catch (err) {
  console.error(err.code ?? err.message);
  process.exit(1);
}
