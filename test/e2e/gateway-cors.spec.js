'use strict';
// A browser app on another origin calling the gateway, in chromium: preflights for every verb, the answers and their
// exposed headers readable by the page's script (a 401 too), a page of an origin the gateway does not allow getting
// nothing, and a SMART app (fhirclient) launching from the gateway's SMART configuration. In front of the sandbox and
// of HAPI FHIR with Keycloak as the issuer.
const fs = require('node:fs');
const http = require('node:http');
const { expect } = require('chai');
const { startRuntime, deploy } = require('../support/runtime');
const { launch, screenshotOnFailure } = require('../support/browser');
const { tokenOf } = require('../support/gateway');
const { gatewayFlow } = require('../support/flows');
const { onEachBackend } = require('../support/gateway-backends');

const FHIR_CLIENT = require.resolve('fhirclient/build/fhir-client.js');

/** A page of its own origin, for the browser to run the app's script from (and fhirclient's browser build). */
async function appOrigin() {
  const server = http.createServer((req, res) => {
    if (req.url === '/fhir-client.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(FHIR_CLIENT));
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

onEachBackend('gateway: a browser app on another origin (CORS)', function (backend) {
  this.timeout(90000);
  let nr;
  let browser;
  let page;
  let app;
  let other;
  let carol;

  before(async function () {
    await backend.seed();
    carol = await tokenOf('carol', backend.issuer());
    app = await appOrigin();
    other = await appOrigin();
    nr = await startRuntime({ nodeRoot: '/' });
    const [audiences] = backend.audiences();
    const gateway = { corsOrigins: app.origin, smartScopes: 'fhir', issuer: backend.issuer(), audiences };
    await deploy(nr.admin, gatewayFlow({ publicBase: `${nr.url}/fhir`, system: { url: backend.base() }, gateway }));
    browser = await launch();
    page = await browser.newPage();
  });

  afterEach(screenshotOnFailure(() => page));

  after(async function () {
    if (browser) await browser.close();
    if (nr) await nr.stop();
    app?.server.close();
    other?.server.close();
  });

  /** Run the app's fetches in the page of `origin`; each resolves with what its script can read, or the error. */
  async function fromPage(origin, calls) {
    await page.goto(`${origin}/`);
    return page.evaluate(async (list) => {
      const results = [];
      for (const { url, init } of list) {
        try {
          const res = await fetch(url, init);
          const text = await res.text();
          results.push({
            status: res.status,
            location: res.headers.get('location'),
            challenge: res.headers.get('www-authenticate'),
            body: text ? JSON.parse(text) : null,
          });
        } catch (err) {
          results.push({ error: String(err) });
        }
      }
      return results;
    }, calls);
  }

  it('lets the allowed origin search, read, write (reading Location) and see a 401, with preflights for every verb', async function () {
    const base = `${nr.url}/fhir`;
    const auth = { authorization: `Bearer ${carol}` };
    const json = { ...auth, 'content-type': 'application/fhir+json' };
    const patient = { resourceType: 'Patient', meta: { tag: [{ system: 'https://smartregister.org/location-tag-id', code: 'L1a' }] } };
    const [search, created, unauthenticated, patched] = await fromPage(app.origin, [
      { url: `${base}/Patient`, init: { headers: auth } },
      { url: `${base}/Patient`, init: { method: 'POST', headers: json, body: JSON.stringify(patient) } },
      { url: `${base}/Patient`, init: {} },
      {
        url: `${base}/Patient/patient-L1b`,
        init: {
          method: 'PATCH',
          headers: { ...auth, 'content-type': 'application/json-patch+json' },
          body: '[{"op":"add","path":"/active","value":true}]',
        },
      },
    ]);
    expect(search.status, JSON.stringify(search)).to.equal(200);
    expect(search.body.entry.map((e) => e.resource.id).sort()).to.deep.equal(['patient-L1a', 'patient-L1a1', 'patient-L1b']);
    expect(created.status, JSON.stringify(created)).to.equal(201);
    expect(created.location).to.match(new RegExp(`^${base}/Patient/`));
    expect(unauthenticated).to.include({ status: 401, challenge: 'Bearer' });
    expect(patched.status, JSON.stringify(patched)).to.equal(200);
    // The Patient it created (HAPI refuses to delete one that others refer to).
    const [removed] = await fromPage(app.origin, [
      { url: created.location.replace(/\/_history\/.*$/, ''), init: { method: 'DELETE', headers: auth } },
    ]);
    expect(removed.status, JSON.stringify(removed)).to.be.within(200, 204);
  });

  it('launches fhirclient from the SMART configuration: it is sent to the issuer to authorize, for the gateway', async function () {
    const discovery = await (await fetch(`${backend.issuer()}/.well-known/openid-configuration`)).json();
    let authorize;
    await page.route(`${discovery.authorization_endpoint}**`, (route) => {
      authorize = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>login</title>' });
    });
    await page.goto(`${app.origin}/`);
    await page.addScriptTag({ url: `${app.origin}/fhir-client.js` });
    const iss = `${nr.url}/fhir`;
    // Started, not awaited in the page: authorizing ends by navigating away, which would destroy the evaluation.
    await page.evaluate(
      ({ iss, redirectUri }) => {
        void window.FHIR.oauth2.authorize({ iss, clientId: 'mobile-app', scope: 'openid fhir', redirectUri });
      },
      { iss, redirectUri: `${app.origin}/callback` },
    );
    await page.waitForURL((url) => url.href.startsWith(discovery.authorization_endpoint));
    expect(authorize.searchParams.get('client_id')).to.equal('mobile-app');
    expect(authorize.searchParams.get('aud')).to.equal(iss);
    expect(authorize.searchParams.get('scope')).to.equal('openid fhir');
    expect(authorize.searchParams.get('code_challenge_method')).to.equal('S256');
    await page.unrouteAll();
  });

  it('gives an origin it does not allow nothing to read', async function () {
    const [blocked] = await fromPage(other.origin, [
      { url: `${nr.url}/fhir/Patient`, init: { headers: { authorization: `Bearer ${carol}` } } },
    ]);
    expect(blocked.error).to.match(/Failed to fetch/);
  });
});
