// A SAML 2.0 IdP built on npm `samlify` (2.13), the independent counterpart of
// the authplug-saml provider in tests/interop/test_saml_interop.py.
//
// Usage: node saml_idp.mjs '<json>' with {keyPem, certPem}. It listens on
// 127.0.0.1:<ephemeral> and prints one JSON line {"port": N}. Endpoints:
//   GET  /metadata   samlify's IdP metadata
//   POST /configure  JSON {spMetadata, signing: "assertion"|"response"|"both", user}
//   GET  /sso        parses the SP's HTTP-Redirect AuthnRequest (its signature
//                    checked: WantAuthnRequestsSigned) and answers with an
//                    auto-submitting form POSTing a signed Response to the ACS.
// Quirks (docs: /work/shared/INTEROP.md section 2): a schema validator must be
// set before samlify parses anything (pass-through, acceptable for a test IdP
// only); its default response template has no AuthnStatement and cannot carry
// multi-valued attributes, so a whole Response template is filled in here and
// samlify signs it; binding names are the short forms ("post").
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import * as samlify from 'samlify';

samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const { keyPem, certPem } = JSON.parse(process.argv[2]);
let idp = null;
let sp = null;
let user = null;

const escapeXml = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function responseTemplate(values) {
  const attributes = Object.entries(values.attributes)
    .map(([name, list]) =>
      `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
      list.map((v) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`).join('') +
      '</saml:Attribute>')
    .join('');
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${values.id}" Version="2.0" IssueInstant="${values.now}" Destination="${escapeXml(values.acs)}" InResponseTo="${escapeXml(values.inResponseTo)}">` +
    `<saml:Issuer>${escapeXml(values.issuer)}</saml:Issuer>` +
    '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
    `<saml:Assertion ID="${values.assertionId}" Version="2.0" IssueInstant="${values.now}">` +
    `<saml:Issuer>${escapeXml(values.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${escapeXml(values.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${values.later}" Recipient="${escapeXml(values.acs)}" InResponseTo="${escapeXml(values.inResponseTo)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${values.now}" NotOnOrAfter="${values.later}"><saml:AudienceRestriction><saml:Audience>${escapeXml(values.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${values.now}" SessionIndex="_${randomUUID()}" SessionNotOnOrAfter="${values.sessionEnd}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` +
    '</saml:Assertion></samlp:Response>'
  );
}

function configure(body) {
  const { spMetadata, signing } = body;
  user = body.user;
  const wantAssertions = signing === 'assertion' || signing === 'both';
  const metadata = spMetadata.replace(/WantAssertionsSigned="(true|false)"/, `WantAssertionsSigned="${wantAssertions}"`);
  sp = samlify.ServiceProvider({ metadata, wantMessageSigned: signing === 'response' || signing === 'both' });
}

async function sso(req, res, url) {
  const raw = url.search.slice(1).split('&');
  const pick = (name) => raw.find((p) => p.startsWith(name + '='));
  const octetString = ['SAMLRequest', 'RelayState', 'SigAlg'].map(pick).filter(Boolean).join('&');
  const query = Object.fromEntries(url.searchParams.entries());
  const parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString });
  const requestId = parsed.extract.request.id;
  const acs = sp.entityMeta.getAssertionConsumerService('post');
  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60 * 1000);
  const sessionEnd = new Date(now.getTime() + 60 * 60 * 1000);
  const { context, entityEndpoint, relayState } = await idp.createLoginResponse(
    sp,
    parsed,
    'post',
    {},
    () => ({
      id: '_' + randomUUID(),
      context: responseTemplate({
        id: '_' + randomUUID(),
        assertionId: '_' + randomUUID(),
        now: now.toISOString(),
        later: later.toISOString(),
        sessionEnd: sessionEnd.toISOString(),
        acs,
        audience: sp.entityMeta.getEntityID(),
        issuer: idp.entityMeta.getEntityID(),
        inResponseTo: requestId,
        nameId: user.nameId,
        attributes: user.attributes,
      }),
    }),
    false,
    query.RelayState,
  );
  const html =
    '<!doctype html><html><body onload="document.forms[0].submit()">' +
    `<form method="post" action="${escapeXml(entityEndpoint)}">` +
    `<input type="hidden" name="SAMLResponse" value="${escapeXml(context)}"/>` +
    `<input type="hidden" name="RelayState" value="${escapeXml(relayState || '')}"/>` +
    '<noscript><button type="submit">Continue</button></noscript></form></body></html>';
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  try {
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      res.end(idp.getMetadata());
    } else if (req.method === 'POST' && url.pathname === '/configure') {
      let body = '';
      for await (const chunk of req) body += chunk;
      configure(JSON.parse(body));
      res.writeHead(204);
      res.end();
    } else if (req.method === 'GET' && url.pathname === '/sso') {
      await sso(req, res, url);
    } else {
      res.writeHead(404);
      res.end();
    }
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err && err.message ? err.message : err));
  }
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  idp = samlify.IdentityProvider({
    entityID: `${base}/metadata`,
    privateKey: keyPem,
    signingCert: certPem,
    wantAuthnRequestsSigned: true,
    nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
    singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${base}/sso` }],
  });
  process.stdout.write(JSON.stringify({ port }) + '\n');
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
