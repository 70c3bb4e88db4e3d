'use strict';
/* global $ */
// The fhir-external-system dialog for the clouds in a real browser: the rows each new authentication type shows
// and hides, its validation (Entra ID's tenant, the application ID), and Test connection against the Google Cloud
// Healthcare API and Azure Health Data Services stand-ins. The README's screenshots (docs/) are these dialogs.
const { expect } = require('chai');
const { deploy } = require('../support/runtime');
const { useCloudPeer } = require('../support/cloud');
const { closeTray, editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');

/** Each cloud type's rows, by the id of their input. */
const ROWS = [
  'serviceAccountKey',
  'tenantId',
  'issuer',
  'tokenUrl',
  'clientId',
  'clientAuthMethod',
  'clientSecret',
  'username',
  'privateKey',
  'certificate',
  'keyId',
  'scope',
  'resource',
  'identityHeader',
  'bearerToken',
];
const SHOWN = {
  'google-service-account': ['serviceAccountKey', 'tokenUrl', 'scope'],
  'azure-client-secret': ['tenantId', 'tokenUrl', 'clientId', 'clientSecret', 'scope'],
  'azure-certificate': ['tenantId', 'tokenUrl', 'clientId', 'privateKey', 'certificate', 'scope'],
  'azure-managed-identity': ['tokenUrl', 'clientId', 'resource', 'identityHeader'],
};

describe('editor: fhir-external-system for the clouds', function () {
  this.timeout(120000);
  const google = useCloudPeer('google');
  const azure = useCloudPeer('azure');

  const node = (id, cloud, grant, name) => {
    const { label, ...settings } = cloud.settings(grant);
    return { id, type: 'fhir-external-system', ...settings, name: name ?? label, systemId: `${cloud.kind}-moh` };
  };

  const editor = useEditor({
    setup: (nr) =>
      deploy(
        nr.admin,
        [
          node('google-sys', google, 'google-service-account', 'Cloud Healthcare API (MOH store)'),
          node('azure-sys', azure, 'azure-certificate', 'Azure Health Data Services (MOH)'),
        ],
        { 'google-sys': google.secrets('google-service-account'), 'azure-sys': azure.secrets('azure-certificate') },
      ),
    pageOptions: { viewport: { width: 1400, height: 1100 } },
    ready: (page) => page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node('azure-sys')),
  });

  async function open(id) {
    await editNode(editor.page, id);
    await editor.page.locator('#fhir-es-test').waitFor();
  }

  const cancel = () => closeTray(editor.page, '#node-config-dialog-cancel');

  const visibleRows = () =>
    editor.page.evaluate((rows) => rows.filter((r) => $(`#node-config-input-${r}`).closest('.form-row').is(':visible')), ROWS);

  async function testConnection() {
    await editor.page.locator('#fhir-es-test').click();
    await editor.page.waitForFunction(() => {
      const text = document.querySelector('#fhir-es-test-result').textContent;
      return text && !text.startsWith('Testing');
    });
    return editor.page.locator('#fhir-es-test-result').textContent();
  }

  it('shows each cloud type’s rows only, with placeholders saying what they mean for it', async function () {
    await open('azure-sys');
    // As opened (azure-certificate), and after each choice.
    expect(await editor.page.locator('#node-config-input-scope').getAttribute('placeholder')).to.equal('<URL>/.default');
    for (const [type, rows] of Object.entries(SHOWN)) {
      await editor.page.selectOption('#node-config-input-authType', type);
      expect(await visibleRows(), type).to.have.members(rows);
    }
    await editor.page.selectOption('#node-config-input-authType', 'azure-client-secret');
    expect(await editor.page.locator('#node-config-input-scope').getAttribute('placeholder')).to.equal('<URL>/.default');
    await editor.page.selectOption('#node-config-input-authType', 'google-service-account');
    expect(await editor.page.locator('#node-config-input-scope').getAttribute('placeholder')).to.equal(
      'https://www.googleapis.com/auth/cloud-healthcare',
    );
    await cancel();
  });

  it('flags a missing tenant and application ID for Entra ID, naming the reason', async function () {
    await open('azure-sys');
    await editor.page.selectOption('#node-config-input-authType', 'azure-client-secret');
    // Emptied after the Token URL, which stands for the tenant when given, each with the change Node-RED checks the
    // dialog on. Set in the page: a typed clearing of the Tenant ID was seen lost on a loaded machine (the field kept its
    // value), which is not what this test is about.
    const set = (values) =>
      editor.page.evaluate((v) => {
        for (const [field, value] of Object.entries(v)) $(`#node-config-input-${field}`).val(value).trigger('change');
        return Object.keys(v).map((field) => $(`#node-config-input-${field}`).val());
      }, values);
    expect(await set({ tokenUrl: '', tenantId: '', clientId: '' })).to.deep.equal(['', '', '']);
    await editor.page.waitForFunction(() => $('#node-config-input-tenantId').hasClass('input-error'));
    expect(await editor.page.locator('#node-config-input-clientId').evaluate((el) => el.classList.contains('input-error'))).to.equal(true);
    const reason = await editor.page.evaluate(() =>
      RED.nodes.getType('fhir-external-system').defaults.tenantId.validate.call(RED.nodes.node('azure-sys'), '', {}),
    );
    expect(reason).to.equal('Tenant ID (or a Token URL) is required for Entra ID');
    // A Token URL stands for the tenant.
    await set({ tokenUrl: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token' });
    await editor.page.waitForFunction(() => !$('#node-config-input-tenantId').hasClass('input-error'));
    // The same fields are not required of a Google service account (hidden, and valid when empty).
    await editor.page.selectOption('#node-config-input-authType', 'google-service-account');
    const valid = await editor.page.evaluate(() => {
      const defaults = RED.nodes.getType('fhir-external-system').defaults;
      const node = RED.nodes.node('azure-sys');
      return ['tenantId', 'clientId'].map((f) => defaults[f].validate.call(node, '', {}));
    });
    expect(valid).to.deep.equal([true, true]);
    await cancel();
  });

  for (const [id, secret, expected, shot] of [
    ['google-sys', 'serviceAccountKey', /^Connected: FHIR 4\.0\.1 \(Cloud Healthcare API \(geofhir stand-in\) v1\)/, 'cloud-google-dialog'],
    ['azure-sys', 'privateKey', /^Connected: FHIR 4\.0\.1 \(Microsoft FHIR Server \(geofhir stand-in\) 4\.0\)/, 'cloud-azure-dialog'],
  ]) {
    it(`tests the connection of ${id} from its dialog with the stored credentials`, async function () {
      await open(id);
      // The dialog loads stored credentials asynchronously; a set password shows as a placeholder value.
      await editor.page.waitForFunction((field) => document.querySelector(`#node-config-input-${field}`).value === '__PWRD__', secret);
      expect(await testConnection()).to.match(expected);
      await screenshot(editor.page, `${shot}-nr${version}`);
      await cancel();
    });
  }
});
