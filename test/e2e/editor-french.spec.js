'use strict';
/* global $ */
// The editor in French (the browser's language fr): the module's dialogs, field checks, palette, help links, the
// FHIR Jobs sidebar (with Preview changes) and its notifications speak French, and no message key shows instead of a text.
const { expect } = require('chai');
const { deployExamples } = require('../support/examples');
const { closeTray, editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');

/** Text that is a message key of this module rather than a message. */
const RAW_KEY =
  /\b(geofhir|fhir-export|fhir-import|bundle-generate|gateway-authorize|gpr-hierarchy-source|gpr-registry|fhir-external-system)\.[a-z][\w-]*\./;

describe('editor: in French', function () {
  this.timeout(120000);
  let flows;
  const editor = useEditor({
    setup: async (nr) => ({ flows } = await deployExamples(nr)),
    pageOptions: { locale: 'fr', viewport: { width: 1400, height: 1000 } },
    ready: (page) =>
      page.waitForFunction(
        () => window.RED && RED.nodes && RED.nodes.getType('fhir-export') && RED.nodes.filterNodes({ type: 'fhir-export' }).length,
      ),
  });

  /** The open dialog's visible text, once its tray is shown. */
  async function dialogOf(node) {
    await editNode(editor.page, node.id);
    await editor.page.locator('.red-ui-tray-body label').first().waitFor();
    return editor.page.evaluate(() => {
      const tray = $('.red-ui-tray-body');
      const placeholders = tray
        .find('[placeholder]')
        .map((_, e) => $(e).attr('placeholder'))
        .get();
      return { text: tray.text(), placeholders: placeholders.join(' | ') };
    });
  }

  const close = () => closeTray(editor.page, editor.page.locator('.red-ui-tray-toolbar button', { hasText: /Annuler/ }).first());

  it('shows every dialog of the module in French, without a message key', async function () {
    const seen = {};
    for (const type of [
      'fhir-external-system',
      'gpr-registry',
      'gpr-hierarchy-source',
      'fhir-export',
      'bundle-generate',
      'fhir-import',
      'gateway-authorize',
    ]) {
      const node = flows.find((n) => n.type === type);
      if (!node) continue;
      const shown = await dialogOf(node);
      if (type === 'fhir-export') await screenshot(editor.page, `french-export-dialog-nr${version}`);
      await close();
      expect(shown.text, type).to.not.match(RAW_KEY);
      expect(shown.placeholders, type).to.not.match(RAW_KEY);
      seen[type] = shown.text;
    }
    expect(seen['fhir-export'])
      .to.include('Cible')
      .and.include('Taille des lots')
      .and.include("Unités d'organisation")
      .and.include('Générer le Bundle');
    expect(seen['fhir-import']).to.include('Écrire dans');
    expect(seen['gateway-authorize']).to.include('Accès aux données');
    expect(seen['gpr-hierarchy-source']).to.include('Aperçu');
    expect(seen['fhir-external-system']).to.include('Tester la connexion');
  });

  it('names the palette, the ports and the reasons of invalid fields in French', async function () {
    const exporter = flows.find((n) => n.type === 'fhir-export');
    const shown = await editor.page.evaluate((id) => {
      const node = RED.nodes.node(id);
      const def = node._def;
      return {
        palette: def.paletteLabel.call(def),
        input: def.inputLabels,
        date: def.defaults.forDate.validate.call(node, '2024-02-30', {}),
        chunk: def.defaults.chunkSize.validate.call(node, '1', {}),
        organization: def.defaults.organization.validate.call(node, 'NGO', {}),
      };
    }, exporter.id);
    const system = flows.find((n) => n.type === 'fhir-external-system');
    const systemShown = await editor.page.evaluate((id) => {
      const node = RED.nodes.node(id);
      const { defaults } = node._def;
      return {
        url: defaults.url.validate.call(node, 'ftp://x', {}),
        system: defaults.system.validate.call(node, 'a b', {}),
        timeout: defaults.timeoutMs.validate.call(node, '0', {}),
        label: node._def.label.call({ ...node, name: '', systemId: '', _: node._ }),
      };
    }, system.id);
    expect(systemShown).to.deep.equal({
      url: 'URL doit être une URL http(s) sans requête ni fragment, p. ex. https://fhir.example.org/fhir',
      system: 'Système doit ne contenir ni espace ni « | » (p. ex. http://example.org/codes)',
      timeout: "Délai (ms) doit être un nombre entier d'au moins 1",
      label: 'Système FHIR externe',
    });
    expect(shown).to.deep.equal({
      palette: 'export fhir',
      input: 'modèle du registre',
      date: 'À la date doit être une date au format aaaa-mm-jj (p. ex. 2024-01-31), ou vide',
      chunk: "Taille des lots doit être un nombre entier d'au moins 2",
      organization: "L'organisation doit être « MOH », celle du système externe « Sandbox FHIR »",
    });
  });

  it('shows the FHIR Jobs sidebar and its notifications in French', async function () {
    const exporter = flows.find((n) => n.type === 'fhir-export');
    await editor.page.evaluate(() => RED.sidebar.show('geofhir-jobs'));
    const section = editor.page.locator(`.geofhir-jobs-node[data-node="${exporter.id}"]`);
    await section.getByText("aucune tâche pour l'instant").waitFor();
    expect(await section.locator('.geofhir-jobs-run').textContent()).to.equal('Exécuter');
    await section.locator('.geofhir-jobs-run').click();
    await editor.page.locator('.red-ui-notification', { hasText: /^Tâche \S+ démarrée$/ }).waitFor();
    await editor.page.locator('.red-ui-notification', { hasText: /: la tâche \S+ s'est terminée en SUCCESS$/ }).waitFor({ timeout: 60000 });
    await section.locator('.geofhir-jobs-job').first().click();
    await editor.page.locator('.geofhir-jobs-facts').waitFor();
    const facts = await editor.page.locator('.geofhir-jobs-facts th').allTextContents();
    expect(facts).to.include.members(['Statut', 'Étape', 'Durée', 'Comptes']);
    expect(await editor.page.locator('.geofhir-jobs-details').textContent())
      .to.include("Aucune ligne d'erreur")
      .and.include('Rapport (CSV)')
      .and.not.match(RAW_KEY);
    await screenshot(editor.page, `french-jobs-nr${version}`);
    await editor.page.locator('.geofhir-jobs-back').click();

    // Preview changes, after that run: every object would be updated.
    const preview = section.locator('.geofhir-jobs-preview');
    expect(await preview.textContent()).to.equal('Aperçu des changements');
    await preview.click();
    await editor.page.locator('.geofhir-jobs-preview-counts').waitFor();
    expect(await editor.page.locator('.geofhir-jobs-preview-counts th').allTextContents()).to.deep.equal([
      'Créer',
      'Mettre à jour',
      'Rendre inactif',
      'Ignorés',
    ]);
    expect(await editor.page.locator('.geofhir-jobs-preview-view').textContent())
      .to.include("Rien n'est écrit")
      .and.include('mettre à jour')
      .and.not.match(RAW_KEY);
    await screenshot(editor.page, `french-preview-nr${version}`);
    await editor.page.locator('.geofhir-jobs-back').click();
  });
});
