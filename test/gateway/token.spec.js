'use strict';
// Bearer-token verification of the gateway against the real OIDC peer: tokens it issues, forgeries signed
// with its own key (a peer started with the fixed test key), the classic attacks and key rotation.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { startPeer, closedPortUrl } = require('../support/peers');
const { createTokenVerifier, tokenConfig } = require('../../nodes/lib/gateway/auth/token.js');
const { denialAnswer, wwwAuthenticate } = require('../../nodes/lib/gateway/http/answer.js');
const { GatewayDenial } = require('../../nodes/lib/gateway/http/denial.js');

const SIGNING_KEY = path.join(__dirname, '..', 'peers', 'keys', 'oidc-signing.private.jwk.json');
const OTHER_AUD = 'http://127.0.0.1:9/other/fhir/';

describe('gateway token verification', function () {
  this.timeout(30000);
  let jose, oidc, FHIR, ISSUER, fixed, fixedKey, fixedJwk;

  before(async () => {
    jose = await import('jose');
    oidc = await import('openid-client');
    FHIR = process.env.FHIR_BASE;
    ISSUER = process.env.OIDC_ISSUER;
    fixed = await startPeer('oidc-provider.mjs', ['0', '--audience', FHIR, '--signing-key', SIGNING_KEY]);
    fixedJwk = JSON.parse(fs.readFileSync(SIGNING_KEY, 'utf8'));
    fixedKey = await jose.importJWK(fixedJwk, 'RS256');
  });
  after(() => fixed?.stop());

  const verifier = (settings, options) => createTokenVerifier(tokenConfig({ issuer: ISSUER, audiences: [FHIR], ...settings }), options);
  const configure = (issuer, clientId, secret) =>
    oidc.discovery(new URL(issuer), clientId, undefined, oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] });
  async function userToken(issuer = ISSUER, username = 'alice') {
    const cfg = await configure(issuer, 'mobile-app', 'mobile-app-secret');
    const res = await oidc.genericGrantRequest(cfg, 'password', { username, password: `${username}-password`, scope: 'openid fhir' });
    return res.access_token;
  }
  async function serviceToken(issuer = ISSUER) {
    const cfg = await configure(issuer, 'geo-exporter', 'geo-exporter-secret');
    return (await oidc.clientCredentialsGrant(cfg, { scope: 'fhir' })).access_token;
  }
  const bearer = (token) => `Bearer ${token}`;
  const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  async function denied(promise, status = 401, code = 'login') {
    const err = await promise.then(
      () => expect.fail('expected a denial'),
      (e) => e,
    );
    expect(err).to.be.instanceOf(GatewayDenial);
    expect({ status: err.status, code: err.code }).to.deep.equal({ status, code });
    return err;
  }

  describe('settings', () => {
    it('fills the defaults', () => {
      expect(tokenConfig({ issuer: ISSUER, audiences: [FHIR] })).to.deep.equal({
        issuer: ISSUER,
        audiences: [FHIR],
        algorithms: ['RS256'],
        clockSkewSec: 30,
        jwksCooldownSec: 30,
        requiredClaims: [],
      });
    });

    it('refuses none, HMAC and unknown algorithms, missing audiences and bad values', () => {
      const base = { issuer: ISSUER, audiences: [FHIR] };
      for (const algorithms of [['none'], ['HS256'], ['RS256', 'HS512'], ['XX256'], []]) {
        expect(() => tokenConfig({ ...base, algorithms }), algorithms.join()).to.throw(/algorithm/);
      }
      expect(() => tokenConfig({ issuer: ISSUER, audiences: [] })).to.throw(/audience/);
      expect(() => tokenConfig({ issuer: ISSUER })).to.throw(/audience/);
      expect(() => tokenConfig({ issuer: 'not a url', audiences: [FHIR] })).to.throw(/issuer/);
      expect(() => tokenConfig({ ...base, clockSkewSec: -1 })).to.throw(/clockSkewSec/);
      expect(() => tokenConfig({ ...base, publicKey: 'bm90IGEga2V5' })).to.throw(/publicKey/);
      expect(() => tokenConfig({ ...base, jwksUri: '::' })).to.throw(/jwksUri/);
    });
  });

  describe('tokens of the sandbox issuer', () => {
    it('accepts a user token (string aud, Keycloak typ JWT) and returns its claims', async () => {
      const token = await userToken();
      expect(jose.decodeProtectedHeader(token).typ).to.equal('JWT');
      const claims = await verifier().verify(bearer(token));
      expect(claims).to.include({ iss: ISSUER, aud: FHIR, azp: 'mobile-app', preferred_username: 'alice' });
      expect(claims.realm_access.roles).to.include('GET_LOCATION');
    });

    it('accepts a service-account token', async () => {
      const claims = await verifier().verify(bearer(await serviceToken()));
      expect(claims).to.include({ azp: 'geo-exporter', preferred_username: 'service-account-geo-exporter' });
    });

    it('accepts a token whose azp (not aud) is an accepted audience', async () => {
      const v = verifier({ audiences: ['mobile-app'] });
      expect((await v.verify(bearer(await userToken()))).azp).to.equal('mobile-app');
      await denied(v.verify(bearer(await serviceToken())));
    });

    it('refuses a token for another audience', async () => {
      await denied(verifier({ audiences: [OTHER_AUD] }).verify(bearer(await userToken())));
    });

    it('refuses a token of another issuer', async () => {
      await denied(verifier().verify(bearer(await userToken(fixed.url))));
    });

    it('requires the configured claims', async () => {
      const v = verifier({ requiredClaims: ['fhir_core_app_id'] });
      expect((await v.verify(bearer(await userToken()))).fhir_core_app_id).to.equal('sandbox-app');
      const err = await denied(v.verify(bearer(await serviceToken())));
      expect(err.message).to.contain('fhir_core_app_id');
    });

    it('refuses a tampered payload (roles changed, signature kept)', async () => {
      const [header, payload, signature] = (await userToken()).split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      claims.realm_access.roles = ['WEB_CLIENT', 'MANAGE_PATIENT'];
      await denied(verifier().verify(bearer(`${header}.${b64(claims)}.${signature}`)));
    });

    it('refuses alg none', async () => {
      const claims = jose.decodeJwt(await userToken());
      await denied(verifier().verify(bearer(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`)));
    });

    it("refuses HS256 signed with the issuer's public key bytes", async () => {
      const token = await userToken();
      const { kid } = jose.decodeProtectedHeader(token);
      const claims = jose.decodeJwt(token);
      const spki = (await (await fetch(ISSUER)).json()).public_key;
      const pem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g).join('\n')}\n-----END PUBLIC KEY-----\n`;
      for (const secret of [Buffer.from(pem), Buffer.from(spki), Buffer.from(spki, 'base64')]) {
        const forged = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid }).sign(secret);
        await denied(verifier().verify(bearer(forged)));
      }
    });

    it('refuses a token signed by another key, with an unknown kid or with the issuer kid', async () => {
      const token = await userToken();
      const { kid } = jose.decodeProtectedHeader(token);
      const claims = jose.decodeJwt(token);
      const { privateKey } = await jose.generateKeyPair('RS256');
      const v = verifier();
      for (const header of [{ kid: 'unknown-kid' }, { kid }, {}]) {
        const forged = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...header }).sign(privateKey);
        await denied(v.verify(bearer(forged)));
      }
    });

    it('refuses missing and malformed Authorization headers: without an error code when no bearer token came (RFC 6750)', async () => {
      const token = await userToken();
      const v = verifier();
      const challenge = async (header) => {
        const err = await v.verify(header).then(
          () => undefined,
          (e) => e,
        );
        expect([err?.status, err?.code], String(header)).to.deep.equal([401, 'login']);
        return denialAnswer(err).headers['www-authenticate'];
      };
      for (const header of [undefined, '', 'Bearer', 'Bearer ', `BearerTTT ${token}`, token, `Basic ${token}`]) {
        expect(await challenge(header), String(header)).to.equal('Bearer');
      }
      expect(await challenge('Bearer TTT')).to.equal('Bearer error="invalid_token"');
      expect(wwwAuthenticate).to.equal('Bearer error="invalid_token"');
    });

    it('takes the Bearer scheme in any letter case', async () => {
      const token = await userToken();
      for (const scheme of ['bearer', 'BEARER', 'bEaReR']) expect((await verifier().verify(`${scheme} ${token}`)).sub).to.be.a('string');
    });

    it('allows the clock skew after exp and no more', async () => {
      const token = await userToken();
      const { exp } = jose.decodeJwt(token);
      const at = (seconds) => () => new Date((exp + seconds) * 1000);
      await verifier({}, { now: at(20) }).verify(bearer(token));
      await denied(verifier({}, { now: at(40) }).verify(bearer(token)));
      await denied(verifier({ clockSkewSec: 0 }, { now: at(1) }).verify(bearer(token)));
      await denied(verifier({}, { now: () => new Date(Date.now() + 10 * 60_000) }).verify(bearer(token)));
    });

    it('takes a token it verified before as verified until it expires, and no longer', async () => {
      const token = await userToken();
      const { exp } = jose.decodeJwt(token);
      let clock = new Date();
      const v = verifier({ clockSkewSec: 0 }, { now: () => clock });
      const first = await v.verify(bearer(token));
      expect(await v.verify(bearer(token))).to.equal(first);
      expect(Object.isFrozen(first)).to.equal(true);
      clock = new Date((exp + 1) * 1000);
      await denied(v.verify(bearer(token)));
    });

    it('serves the issuer discovery document as the SMART configuration', async () => {
      const doc = await verifier().discovery();
      expect(doc).to.deep.equal(await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json());
    });
  });

  describe("forgeries signed with the issuer's own key", () => {
    let v, now;
    before(() => {
      v = createTokenVerifier(tokenConfig({ issuer: fixed.url, audiences: [FHIR] }));
    });
    beforeEach(() => (now = Math.floor(Date.now() / 1000)));
    const claims = (extra) => ({ iss: fixed.url, aud: FHIR, sub: 'forged', iat: now, exp: now + 300, ...extra });
    const sign = (payload, header = {}) =>
      new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: fixedJwk.kid, ...header }).sign(fixedKey);
    const without = (name) => {
      const c = claims();
      delete c[name];
      return c;
    };

    it('accepts the issuer tokens and well-formed tokens with an array aud', async () => {
      expect((await v.verify(bearer(await userToken(fixed.url)))).preferred_username).to.equal('alice');
      expect((await v.verify(bearer(await sign(claims())))).sub).to.equal('forged');
      expect((await v.verify(bearer(await sign(claims({ aud: ['account', FHIR] }))))).aud).to.deep.equal(['account', FHIR]);
    });

    it('refuses an array aud without an accepted audience, and a token with neither aud nor azp', async () => {
      await denied(v.verify(bearer(await sign(claims({ aud: ['account', OTHER_AUD] })))));
      await denied(v.verify(bearer(await sign(without('aud')))));
    });

    it('refuses a token without exp', async () => {
      await denied(v.verify(bearer(await sign(without('exp')))));
    });

    it('refuses an expired token', async () => {
      await denied(v.verify(bearer(await sign(claims({ iat: now - 900, exp: now - 600 })))));
    });

    it('refuses nbf and iat later than the clock skew', async () => {
      await denied(v.verify(bearer(await sign(claims({ nbf: now + 120 })))));
      await denied(v.verify(bearer(await sign(claims({ iat: now + 120 })))));
      await v.verify(bearer(await sign(claims({ nbf: now + 10, iat: now + 10 }))));
    });

    it('refuses another issuer', async () => {
      await denied(v.verify(bearer(await sign(claims({ iss: ISSUER })))));
      await denied(v.verify(bearer(await sign(claims({ iss: `${fixed.url}/` })))));
      await denied(v.verify(bearer(await sign(without('iss')))));
    });

    it('refuses the right key with an algorithm that is not allowed', async () => {
      const rs384 = await jose.importJWK({ ...fixedJwk, alg: 'RS384' }, 'RS384');
      const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg: 'RS384', kid: fixedJwk.kid }).sign(rs384);
      await denied(v.verify(bearer(token)));
    });
  });

  describe('unreachable issuer and configured public key', () => {
    let closed;
    before(async () => (closed = await closedPortUrl()));
    const sign = (iss) =>
      new jose.SignJWT({ iss, aud: FHIR, sub: 'x' })
        .setProtectedHeader({ alg: 'RS256', kid: fixedJwk.kid })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(fixedKey);

    it('answers 503 when neither discovery nor the JWKS can be fetched', async () => {
      const issuer = `${closed}/realms/gone`;
      const v = createTokenVerifier(tokenConfig({ issuer, audiences: [FHIR] }));
      await denied(v.verify(bearer(await sign(issuer))), 503, 'transient');
      await denied(v.discovery(), 503, 'transient');
      const w = createTokenVerifier(tokenConfig({ issuer: fixed.url, audiences: [FHIR], jwksUri: `${closed}/certs` }));
      await denied(w.verify(bearer(await sign(fixed.url))), 503, 'transient');
    });

    it('falls back to the configured public key', async () => {
      const publicKey = (await (await fetch(fixed.url)).json()).public_key;
      const v = createTokenVerifier(tokenConfig({ issuer: fixed.url, audiences: [FHIR], jwksUri: `${closed}/certs`, publicKey }));
      expect((await v.verify(bearer(await sign(fixed.url)))).sub).to.equal('x');
      await denied(v.verify(bearer(await userToken())));
    });
  });

  describe('key rotation', () => {
    let peer;
    afterEach(() => peer?.stop());

    // The issuer restarted on the same port (same issuer URL) with a new key and kid.
    async function rotate() {
      const { port } = new URL(peer.url);
      await peer.stop();
      peer = await startPeer('oidc-provider.mjs', [port, '--audience', FHIR]);
    }

    it('accepts a token with the new kid after one JWKS refetch, then refuses the old key', async () => {
      peer = await startPeer('oidc-provider.mjs', ['0', '--audience', FHIR, '--signing-key', SIGNING_KEY]);
      const v = createTokenVerifier(tokenConfig({ issuer: peer.url, audiences: [FHIR], jwksCooldownSec: 0 }));
      const oldToken = await userToken(peer.url);
      await v.verify(bearer(oldToken));
      await rotate();
      const newToken = await userToken(peer.url);
      expect(jose.decodeProtectedHeader(newToken).kid).to.not.equal(fixedJwk.kid);
      expect((await v.verify(bearer(newToken))).preferred_username).to.equal('alice');
      await denied(v.verify(bearer(oldToken)));
    });

    it('does not refetch the JWKS within the cooldown', async () => {
      peer = await startPeer('oidc-provider.mjs', ['0', '--audience', FHIR]);
      const v = createTokenVerifier(tokenConfig({ issuer: peer.url, audiences: [FHIR], jwksCooldownSec: 3600 }));
      await v.verify(bearer(await userToken(peer.url)));
      await rotate();
      await denied(v.verify(bearer(await userToken(peer.url))));
    });
  });
});
