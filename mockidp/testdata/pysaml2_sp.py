"""A pysaml2 service provider in strict mode, as an independent peer of
authdev's SAML IdP.

  pysaml2_sp.py request  IDP_METADATA ENTITY_ID ACS_URL
      prints {"url": <HTTP-Redirect SSO URL>, "id": <AuthnRequest ID>}
  pysaml2_sp.py response IDP_METADATA ENTITY_ID ACS_URL REQUEST_ID < SAMLResponse
      prints {"name_id", "name_id_format", "issuer", "attributes", "session_index"}
      or exits 1 naming why pysaml2 refused the response.
  pysaml2_sp.py artifact-request ... and artifact-response ... < SAMLart
      the same with the HTTP-Artifact binding: the ACS takes an artifact,
      which pysaml2 resolves at the IdP's ArtifactResolutionService (SOAP).
"""
import json
import sys

import base64

from saml2 import BINDING_HTTP_ARTIFACT, BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig


def client(metadata, entity_id, acs, artifact=False):
    # The artifact's Response is then checked as a posted one, so the ACS
    # is listed with both bindings.
    bindings = [BINDING_HTTP_ARTIFACT, BINDING_HTTP_POST] if artifact else [BINDING_HTTP_POST]
    conf = SPConfig()
    conf.load({
        "entityid": entity_id,
        "metadata": {"local": [metadata]},
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "allow_unknown_attributes": True,
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(acs, b) for b in bindings]},
            "want_response_signed": True,
            "want_assertions_signed": True,
            "allow_unsolicited": False,
            "authn_requests_signed": False,
        }},
    })
    return Saml2Client(conf)


def main():
    mode, metadata, entity_id, acs = sys.argv[1:5]
    artifact = mode.startswith("artifact-")
    c = client(metadata, entity_id, acs, artifact)
    if mode in ("request", "artifact-request"):
        req_id, info = c.prepare_for_authenticate(binding=BINDING_HTTP_REDIRECT, relay_state="/from-pysaml2",
                                                  response_binding=BINDING_HTTP_ARTIFACT if artifact else BINDING_HTTP_POST)
        url = dict(info["headers"])["Location"]
        print(json.dumps({"url": url, "id": req_id}))
        return
    request_id = sys.argv[5]
    saml_response = sys.stdin.read().strip()
    try:
        if artifact:
            soap = c.artifact2message(saml_response, "idpsso")
            if soap.status_code != 200:
                raise ValueError("artifact resolution answered %d: %s" % (soap.status_code, soap.text))
            # pysaml2 checks the ArtifactResponse, but the Response it
            # returns is re-serialized, which breaks its signature's digest:
            # the Response goes on as it was received.
            c.parse_artifact_resolve_response(soap.text)
            start = soap.text.index("<samlp:Response ")
            end = soap.text.index("</samlp:Response>") + len("</samlp:Response>")
            saml_response = base64.b64encode(soap.text[start:end].encode()).decode()
        resp = c.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"})
    except Exception as e:  # pysaml2 raises many types; the message is the point
        print("pysaml2 refused the response: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
    if resp is None:
        print("pysaml2 refused the response: no response", file=sys.stderr)
        sys.exit(1)
    name_id = resp.name_id
    print(json.dumps({
        "name_id": name_id.text,
        "name_id_format": name_id.format,
        "issuer": resp.issuer(),
        "attributes": resp.ava,
        "session_index": resp.assertion.authn_statement[0].session_index,
    }))


if __name__ == "__main__":
    main()
