// Verifies authdev's cognito-flavored tokens the way an AWS backend does,
// with aws-jwt-verify: signature and issuer with JwtRsaVerifier against the
// IdP's JWKS over https (NODE_EXTRA_CA_CERTS trusts authdev's CA), and
// Cognito's own claim rules with validateCognitoJwtFields. Reads a JSON job
// on stdin and prints one JSON result per check.
import { JwtRsaVerifier, CognitoJwtVerifier } from "aws-jwt-verify";
import { validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";

const job = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => resolve(s));
}));

const results = {};
async function check(name, fn) {
  try {
    results[name] = { ok: true, value: await fn() };
  } catch (err) {
    results[name] = { ok: false, error: `${err.name}: ${err.message}` };
  }
}

function verifier(rules) {
  return JwtRsaVerifier.create({
    issuer: job.issuer,
    jwksUri: job.jwksUri,
    audience: null, // Cognito access tokens have no aud: validateCognitoJwtFields checks the client
    customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, rules),
  });
}

await check("access", () => verifier({ tokenUse: "access", clientId: job.clientId, groups: job.groups }).verify(job.access).then((p) => p.username));
await check("id", () => verifier({ tokenUse: "id", clientId: job.clientId, groups: job.groups }).verify(job.id).then((p) => p["cognito:username"]));
await check("client_credentials", () => verifier({ tokenUse: "access", clientId: job.serviceClientId }).verify(job.client).then((p) => p.sub));
// The same rules refuse what Cognito would refuse.
await check("access_as_id", () => verifier({ tokenUse: "id", clientId: job.clientId }).verify(job.access));
await check("wrong_client", () => verifier({ tokenUse: "access", clientId: "someone-else" }).verify(job.access));
await check("wrong_group", () => verifier({ tokenUse: "access", clientId: job.clientId, groups: ["not-a-group"] }).verify(job.access));
// CognitoJwtVerifier derives the issuer from the pool id on AWS's host name.
await check("cognito_verifier", () => {
  const v = CognitoJwtVerifier.create({ userPoolId: job.userPoolId, tokenUse: "access", clientId: job.clientId });
  v.cacheJwks(job.jwks);
  return v.verifySync(job.access).username;
});

process.stdout.write(JSON.stringify(results));
