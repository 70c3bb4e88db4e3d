'use strict';
// The gateway node's editor form (strings) turned into settings, checked by gatewaySettings.
const { expect } = require('chai');
const { settingsFromForm } = require('../../nodes/lib/gateway/config/settings-form.js');
const { gatewaySettings } = require('../../nodes/lib/gateway/config/settings.js');

const FORM = { publicBase: 'https://gw.example.org/fhir', issuer: 'https://idp.example.org/realms/r', audiences: 'a, b' };

describe('gateway settings from the editor form', function () {
  it('reads lists, numbers and JSON texts, and leaves empty fields to the defaults', function () {
    const raw = settingsFromForm(
      {
        ...FORM,
        clockSkewSec: '10',
        allowedOperations: 'validate, $lastn',
        allowedQueries: '{"entries": []}',
        cacheTtlSec: '',
        writeTags: '',
      },
      'secret',
    );
    expect(raw).to.deep.include({
      audiences: ['a', 'b'],
      clockSkewSec: 10,
      allowedOperations: ['validate', '$lastn'],
      pagingSecret: 'secret',
    });
    expect(raw.allowedQueries).to.deep.equal({ entries: [] });
    const settings = gatewaySettings(raw);
    expect(settings).to.deep.include({ writeTags: 'reject', allowedOperations: ['$validate', '$lastn'] });
    expect(settings.token).to.deep.include({ clockSkewSec: 10, audiences: ['a', 'b'] });
  });

  it('names a JSON field that does not parse, and lets gatewaySettings refuse values it does not know', function () {
    expect(() => settingsFromForm({ ...FORM, tagSystems: '{' })).to.throw(/^tagSystems is not valid JSON/);
    expect(() => gatewaySettings(settingsFromForm({ ...FORM, writeTags: 'maybe' }))).to.throw(/writeTags/);
    expect(() => gatewaySettings(settingsFromForm({ ...FORM, assignmentSource: 'ldap' }))).to.throw(/assignmentSource/);
  });
});
