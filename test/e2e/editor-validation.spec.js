'use strict';
/* global $ */
// The dialogs as an integrator meets them in a real browser: every example node opens and closes
// unchanged and valid (its type's defaults complete, hidden fields unchecked), a new node of each type
// names the reason of each invalid field, and a duplicate external-system ID is flagged with its reason.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { deploy, ROOT } = require('../support/runtime');
const { exampleDeployment } = require('../support/examples');
const { closeTray, editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');

const MODULE_TYPES = require('../../package.json')['node-red'].nodes;
const TYPES = Object.keys(MODULE_TYPES);
const FLOWS = path.join(ROOT, 'flows');

describe('editor: dialogs and examples', function () {
  this.timeout(120000);
  let flows;
  let duplicate;
  const editor = useEditor({
    async setup(nr) {
      let credentials;
      ({ flows, credentials } = await exampleDeployment({
        fhir: process.env.FHIR_BASE,
        issuer: process.env.OIDC_ISSUER,
        gateway: 'http://127.0.0.1/fhir',
      }));
      const first = flows.find((n) => n.type === 'fhir-external-system');
      duplicate = { ...first, id: 'dup-system', name: 'Copy of the sandbox' };
      await deploy(nr.admin, [...flows, duplicate], { ...credentials, [duplicate.id]: credentials[first.id] });
    },
    pageOptions: { viewport: { width: 1400, height: 900 } },
    async ready(page) {
      await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType('fhir-export'));
      await page.waitForFunction((id) => RED.nodes.node(id), duplicate.id);
    },
  });

  const cancel = (button = '#node-dialog-cancel') => closeTray(editor.page, button);

  /** Open a node's dialog, press Done, and give what the editor then holds for it. */
  async function openAndDone(id) {
    await editNode(editor.page, id);
    return editor.page.evaluate(async (nodeId) => {
      const node = RED.nodes.node(nodeId);
      const config = node._def.category === 'config';
      const ok = config ? '#node-config-dialog-ok' : '#node-dialog-ok';
      while (!$(ok).is(':visible')) await new Promise((r) => setTimeout(r, 50));
      // Dialogs load their credentials asynchronously.
      while (node._def.credentials && !(node.credentials && node.credentials._)) await new Promise((r) => setTimeout(r, 50));
      const hidden = Object.keys(node._def.defaults).filter((k) => {
        const input = $((config ? '#node-config-input-' : '#node-input-') + k);
        return input.length && !input.closest('.form-row').is(':visible');
      });
      // Node-RED marks a node changed on Done whenever a password credential is empty: compare the properties.
      const properties = () => JSON.stringify(Object.keys(node._def.defaults).map((k) => [k, node[k]]));
      const before = properties();
      $(ok).click();
      while ($(ok).is(':visible')) await new Promise((r) => setTimeout(r, 50));
      return { type: node.type, changed: properties() !== before, valid: node.valid, errors: node.validationErrors || [], hidden };
    }, id);
  }

  it('gives every node of the palette its own icon, a label on every port, and help with inputs, outputs, details and status', async function () {
    const palette = await editor.page.evaluate((types) => {
      const result = {};
      for (const type of types) {
        const def = RED.nodes.getType(type);
        if (def.category === 'config') continue;
        const labels = (v, n) => (n === 0 ? [] : typeof v === 'function' ? [...Array(n)].map((_, i) => v.call({}, i)) : [].concat(v || []));
        const help = $('<div>').html(RED.nodes.getNodeHelp(type));
        result[type] = {
          icon: def.icon,
          inputLabels: labels(def.inputLabels, def.inputs).filter(Boolean).length === def.inputs,
          outputLabels: labels(def.outputLabels, def.outputs).filter(Boolean).length === def.outputs,
          sections: help
            .find('h3')
            .map((_, h) => $(h).text())
            .get()
            .filter((t) => ['Inputs', 'Outputs', 'Details', 'Status'].includes(t))
            .sort(),
        };
      }
      return result;
    }, TYPES);
    const icons = Object.values(palette).map((p) => p.icon);
    expect(new Set(icons).size, icons.join(', ')).to.equal(icons.length);
    const served = (await (await fetch(`${editor.nr.admin}/icons`)).json())[require('../../package.json').name];
    expect(served).to.include.members(icons);
    for (const [type, p] of Object.entries(palette)) {
      expect({ type, inputLabels: p.inputLabels, outputLabels: p.outputLabels, sections: p.sections }).to.deep.equal({
        type,
        inputLabels: true,
        outputLabels: true,
        sections: ['Details', 'Inputs', 'Outputs', 'Status'],
      });
    }
  });

  it('has every property of its type in each example node', async function () {
    const files = fs.readdirSync(FLOWS).map((file) => [file, JSON.parse(fs.readFileSync(path.join(FLOWS, file), 'utf8'))]);
    const types = [...new Set(files.flatMap(([, nodes]) => nodes.map((n) => n.type)))];
    const defaults = await editor.page.evaluate(
      (all) => Object.fromEntries(all.map((t) => [t, RED.nodes.getType(t) ? Object.keys(RED.nodes.getType(t).defaults) : null])),
      types,
    );
    const missing = [];
    for (const [file, nodes] of files) {
      for (const node of nodes) {
        if (!defaults[node.type]) missing.push(`${file}: ${node.type} ${node.id} is of no known type`);
        for (const key of defaults[node.type] ?? []) if (!(key in node)) missing.push(`${file}: ${node.type} ${node.id} lacks ${key}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it('opens and closes every example node unchanged and valid', async function () {
    const results = [];
    for (const node of flows.filter((n) => n.type !== 'tab')) results.push({ id: node.id, ...(await openAndDone(node.id)) });
    const wrong = results.filter((r) => r.changed || (r.valid === false && r.id !== duplicate.id));
    expect(wrong).to.deep.equal([]);
  });

  it('flags a duplicate external-system ID in the dialog with the reason, the first system staying valid', async function () {
    const first = flows.find((n) => n.type === 'fhir-external-system');
    await editNode(editor.page, duplicate.id);
    const input = editor.page.locator('#node-config-input-systemId');
    await input.waitFor();
    await editor.page.waitForFunction(() => $('#node-config-input-systemId').hasClass('input-error'));
    await screenshot(editor.page, `duplicate-system-id-nr${version}`);
    await cancel('#node-config-dialog-cancel');
    const state = await editor.page.evaluate(
      (ids) => ids.map((id) => ({ valid: RED.nodes.node(id).valid, errors: RED.nodes.node(id).validationErrors })),
      [first.id, duplicate.id],
    );
    expect(state[0]).to.deep.equal({ valid: true, errors: [] });
    expect(state[1].valid).to.equal(false);
    expect(state[1].errors).to.deep.equal([
      `ID "${first.systemId}" is already used by external system "${first.name}": give this one another ID`,
    ]);
  });

  it('tells the nodes of a select apart by name and tab', async function () {
    const exporter = flows.find((n) => n.type === 'fhir-export');
    await editNode(editor.page, exporter.id);
    await editor.page.locator('#node-input-source').waitFor();
    const options = await editor.page
      .locator('#node-input-source option')
      .evaluateAll((os) => os.filter((o) => o.value).map((o) => o.textContent));
    await cancel();
    expect(options).to.include('Sample registry (02 - Export the sample hierarchy)');
    expect(new Set(options).size).to.equal(options.length);
  });

  it("flags a sync node's Organization that is not its external system's, with the reason", async function () {
    const exporter = flows.find((n) => n.type === 'fhir-export');
    const system = flows.find((n) => n.id === exporter.system);
    await editNode(editor.page, exporter.id);
    // Typed, then left (Node-RED checks a field on keyup and change).
    await editor.page.locator('#node-input-organization').fill('NGO');
    await editor.page.locator('#node-input-organization').press('Tab');
    await editor.page.waitForFunction(() => $('#node-input-organization').hasClass('input-error'));
    await cancel();
    expect(
      await editor.page.evaluate((id) => {
        const node = RED.nodes.node(id);
        return node._def.defaults.organization.validate.call(node, 'NGO', {});
      }, exporter.id),
    ).to.equal(`Organization must be "${system.organization}", the organization of external system "${system.name}"`);
  });

  it('takes a whole-number setting a flow lacks (saved before the setting existed) or leaves empty as its default, as the runtime does', async function () {
    const checked = await editor.page.evaluate(() => {
      const out = [];
      for (const type of ['fhir-export', 'fhir-import', 'fhir-external-system', 'gpr-registry', 'gateway-authorize']) {
        const def = RED.nodes.getType(type);
        for (const [prop, d] of Object.entries(def.defaults)) {
          if (typeof d.value !== 'number' || !d.validate) continue;
          const node = { _def: def, type };
          out.push({
            type,
            prop,
            absent: d.validate.call(node, undefined, {}),
            empty: d.validate.call(node, '', {}),
            bad: d.validate.call(node, 'x', {}),
          });
        }
      }
      return out;
    });
    expect(checked.map((c) => `${c.type}.${c.prop}`)).to.include.members([
      'fhir-export.chunkSize',
      'fhir-export.retention',
      'fhir-external-system.timeoutMs',
    ]);
    for (const c of checked) {
      expect(c, `${c.type}.${c.prop}`).to.deep.include({ absent: true, empty: true });
      expect(c.bad, `${c.type}.${c.prop}`).to.match(/must be a whole number of at least \d/);
    }
  });

  it('names the reason of each invalid field of a new node, and checks no field its dialog hides', async function () {
    const ids = await editor.page.evaluate((types) => {
      const z = RED.workspaces.active();
      const nodes = types.map((type, i) => {
        // As the palette makes it: the defaults of its type.
        const def = RED.nodes.getType(type);
        const values = Object.fromEntries(Object.entries(def.defaults).map(([k, d]) => [k, JSON.parse(JSON.stringify(d.value))]));
        const placed = def.category === 'config' ? {} : { z, x: 100, y: 60 + 40 * i, wires: [] };
        return { ...values, id: `fresh-${i}`, type, ...placed };
      });
      RED.view.importNodes(nodes);
      return nodes.map((n) => n.id);
    }, TYPES);
    const results = {};
    for (const id of ids) {
      const r = await openAndDone(id);
      results[r.type] = r.errors;
      // A reason, never a bare property name.
      for (const error of r.errors) expect(error, `${r.type}: ${error}`).to.match(/\s/);
      for (const field of r.hidden) for (const error of r.errors) expect(error, `${r.type}: hidden ${field}`).to.not.include(field);
    }
    const missing = (...fields) => fields.map((f) => `${f}: property value missing`);
    expect(results).to.deep.equal({
      'bundle-generate': missing('Export'),
      'fhir-export': missing('Organization', 'External system'),
      'fhir-external-system': [
        ...missing('Organization', 'ID', 'Label', 'URL', 'System'),
        'Issuer or Token URL must be set for OAuth2',
        'Client ID must be set',
      ],
      'fhir-import': missing('Organization', 'External system'),
      'gateway-authorize': missing('Backend', 'Public base', 'Issuer', 'Audiences'),
      'gpr-hierarchy-source': [],
      'gpr-registry': missing('URL'),
    });
  });
});
