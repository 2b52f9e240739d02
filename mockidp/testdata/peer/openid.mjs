// Discovers authdev's issuers with openid-client over https (the local CA
// trusted through NODE_EXTRA_CA_CERTS), as an OAuth-only client (RFC 8414,
// algorithm 'oauth2') and as an OpenID Connect one, then gets and
// introspects a client_credentials token. Reads a JSON job on stdin and
// prints one JSON result per issuer and algorithm.
import * as client from "openid-client";

const job = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => resolve(s));
}));

const results = {};
for (const issuer of job.issuers) {
  for (const algorithm of ["oauth2", "oidc"]) {
    const key = `${algorithm} ${issuer}`;
    try {
      const config = await client.discovery(new URL(issuer), job.clientId, job.clientSecret, undefined, { algorithm });
      const tokens = await client.clientCredentialsGrant(config, { scope: "read" });
      const info = await client.tokenIntrospection(config, tokens.access_token);
      results[key] = { ok: true, issuer: config.serverMetadata().issuer, active: info.active };
    } catch (err) {
      results[key] = { ok: false, error: `${err.name}: ${err.message} ${err.cause ? JSON.stringify(err.cause) : ""}` };
    }
  }
}
process.stdout.write(JSON.stringify(results));
