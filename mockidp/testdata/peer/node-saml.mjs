// A strict @node-saml/node-saml service provider, as an independent peer
// of authdev's SAML IdP. It reads JSON lines on stdin:
//   first {"entryPoint", "issuer", "callbackUrl", "idpCert", "relayState"},
//   then {"relayState"} for each further login:
//     prints {"url": <HTTP-Redirect AuthnRequest URL>};
//   {"SAMLResponse"} for each response the ACS receives:
//     prints {"ok": true, "nameID", "issuer", "attributes"} or
//     {"ok": false, "error"}.
// Responses and assertions must both be signed by idpCert, for the audience
// issuer, and answer an AuthnRequest this SP sent and has not seen answered.
import * as readline from "node:readline";
import { SAML, ValidateInResponseTo } from "@node-saml/node-saml";

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let saml;
for await (const line of lines) {
  if (!line.trim()) continue;
  const msg = JSON.parse(line);
  if (msg.SAMLResponse === undefined) {
    saml ??= new SAML({
      entryPoint: msg.entryPoint,
      issuer: msg.issuer,
      callbackUrl: msg.callbackUrl,
      idpCert: msg.idpCert,
      audience: msg.issuer,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      validateInResponseTo: ValidateInResponseTo.always,
    });
    const url = await saml.getAuthorizeUrlAsync(msg.relayState, undefined, {});
    process.stdout.write(JSON.stringify({ url }) + "\n");
    continue;
  }
  try {
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: msg.SAMLResponse });
    process.stdout.write(JSON.stringify({ ok: true, nameID: profile.nameID, issuer: profile.issuer, attributes: profile.attributes }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: `${err.name}: ${err.message}` }) + "\n");
  }
}
