// Validates user-group tokens in the browser, both ways a dashboard page
// can: offline with `jose` against Tessera's JWKS, and online with
// POST /api/verify. Both are cross-origin requests, so Tessera must list
// this page's origin in --cors-origins.
//
// Query: ?tessera=<Tessera URL>&issuer=<iss>&tokens=<JSON {name: token}>
import { createRemoteJWKSet, jwtVerify } from 'jose';

const params = new URLSearchParams(location.search);
const tessera = params.get('tessera');
const issuer = params.get('issuer');
const tokens = JSON.parse(params.get('tokens'));

const jwks = createRemoteJWKSet(new URL(`${tessera}/.well-known/jwks.json`));

async function offline(token) {
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      audience: 'dashboards',
      algorithms: ['EdDSA', 'ES256', 'RS256'],
      requiredClaims: ['exp', 'iat', 'nbf', 'sub'],
    });
    return `valid:${payload.sub}`;
  } catch (err) {
    return `error:${err.code ?? err.name}`;
  }
}

async function online(token) {
  try {
    const response = await fetch(`${tessera}/api/verify`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    const body = await response.json();
    return `${response.status}:${body.valid ? 'valid' : body.error.code}`;
  } catch (err) {
    return `blocked:${err.name}`;
  }
}

const results = {};
for (const [name, token] of Object.entries(tokens)) {
  results[name] = { offline: await offline(token), online: await online(token) };
}
document.getElementById('results').textContent = JSON.stringify(results);
window.done = true;
