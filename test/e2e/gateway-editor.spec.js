'use strict';
// gateway-authorize in the editor: the gateway example as the sandbox deploys it, its dialog opened, a setting
// changed and deployed, and the change in force for the next request through /fhir.
const { expect } = require('chai');
const { deployExamples } = require('../support/examples');
const { control } = require('../support/peers');
const { editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');
const { tokenOf } = require('../support/gateway');

const GATEWAY = 'a4c0000000000008';

describe('editor: gateway-authorize', function () {
  this.timeout(90000);
  const editor = useEditor({
    async setup(nr) {
      await control(process.env.FHIR_BASE, '/__reset');
      const { seed } = await import('../peers/gateway-seed.mjs');
      await seed(process.env.FHIR_BASE);
      await deployExamples(nr);
    },
    pageOptions: { viewport: { width: 1400, height: 900 } },
    ready: (page) => page.waitForFunction((id) => window.RED && RED.nodes && RED.nodes.node(id), GATEWAY),
  });

  const patients = async (user) => {
    const res = await fetch(`${editor.nr.nodes}/fhir/Patient`, { headers: { authorization: `Bearer ${await tokenOf(user)}` } });
    expect(res.status).to.equal(200);
    return (await res.json()).entry.map((e) => e.resource.id).sort();
  };

  it('edits the example gateway in its dialog, and the deployed change decides the next request', async function () {
    // carol's app syncs by Location: her district L1 and below.
    expect(await patients('carol')).to.deep.equal(['patient-L1a', 'patient-L1a1', 'patient-L1b']);

    await editNode(editor.page, GATEWAY);
    await editor.page.locator('#node-input-publicBase').waitFor();
    expect(await editor.page.locator('#node-input-issuer').inputValue()).to.equal(process.env.OIDC_ISSUER);
    expect(await editor.page.locator('#node-input-assignmentSource').inputValue()).to.equal('fhir');
    // The JSON settings are typed inputs, empty by default (the gateway's defaults apply).
    expect(await editor.page.locator('#node-input-allowedQueries').inputValue()).to.equal('');
    await editor.page.locator('#node-input-staticSyncStrategy').selectOption('CareTeam');
    await screenshot(editor.page, `gateway-dialog-nr${version}`);
    await editor.page.locator('#node-dialog-ok').click();
    // The editor's deploy is answered before the runtime has started the new flows (and their http in routes).
    const started = new Promise((resolve) => editor.nr.RED.events.once('flows:started', resolve));
    await editor.page.locator('#red-ui-header-button-deploy').click();
    await started;

    // Now every app syncs by CareTeam, and carol is in none: 403.
    const res = await fetch(`${editor.nr.nodes}/fhir/Patient`, { headers: { authorization: `Bearer ${await tokenOf('carol')}` } });
    expect(res.status).to.equal(403);
    expect((await res.json()).issue[0].code).to.equal('forbidden');
  });
});
