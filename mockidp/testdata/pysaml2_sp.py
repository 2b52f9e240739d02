"""A pysaml2 service provider in strict mode, as an independent peer of
authdev's SAML IdP.

  pysaml2_sp.py request  IDP_METADATA ENTITY_ID ACS_URL
      prints {"url": <HTTP-Redirect SSO URL>, "id": <AuthnRequest ID>}
  pysaml2_sp.py response IDP_METADATA ENTITY_ID ACS_URL REQUEST_ID < SAMLResponse
      prints {"name_id", "name_id_format", "issuer", "attributes", "session_index"}
      or exits 1 naming why pysaml2 refused the response.
"""
import json
import sys

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig


def client(metadata, entity_id, acs):
    conf = SPConfig()
    conf.load({
        "entityid": entity_id,
        "metadata": {"local": [metadata]},
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "allow_unknown_attributes": True,
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
            "want_response_signed": True,
            "want_assertions_signed": True,
            "allow_unsolicited": False,
            "authn_requests_signed": False,
        }},
    })
    return Saml2Client(conf)


def main():
    mode, metadata, entity_id, acs = sys.argv[1:5]
    c = client(metadata, entity_id, acs)
    if mode == "request":
        req_id, info = c.prepare_for_authenticate(binding=BINDING_HTTP_REDIRECT, relay_state="/from-pysaml2")
        url = dict(info["headers"])["Location"]
        print(json.dumps({"url": url, "id": req_id}))
        return
    request_id = sys.argv[5]
    saml_response = sys.stdin.read().strip()
    try:
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
