// bundle-generate ("Generate Bundle"): the Bundles an fhir-export run would send for the model on
// msg.payload, without contacting the FHIR server or its token endpoint.
import { isAbsolute, join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { ExportNode } from '../node-red/export-node.js';
import { allBundles, generateBundles, writeBundleFile } from '../sync/generate.js';
import { registerBundleRoute } from '../node-red/bundle-route.js';
import { startStatus } from '../node-red/start-status.js';
import { statusText } from '../node-red/status-text.js';
import { deployedNode } from '../node-red/deployed-node.js';

interface GenerateNode extends Node {
  /** The selected fhir-export node, whose configuration (and, for the download, source) is used. */
  exporter(): ExportNode;
}

interface GenerateDef extends NodeDef {
  exportNode?: string;
  file?: string;
}

export = function (RED: NodeAPI) {
  function BundleGenerate(this: GenerateNode, def: GenerateDef) {
    RED.nodes.createNode(this, def);
    startStatus(this);
    const file = String(def.file ?? '').trim();

    this.exporter = () => {
      const exporter = deployedNode(RED, def.exportNode, 'fhir-export');
      if (!exporter) throw new Error('no fhir-export node is selected (or it is disabled): Generate Bundle uses its configuration');
      return exporter;
    };

    this.on('input', async (msg: NodeMessageInFlow, send, done) => {
      try {
        const exporter = this.exporter();
        const model = exporter.checkedModel(msg.payload);
        const options = exporter.exportOptions();
        const out = msg as NodeMessageInFlow & Record<string, unknown>;
        const generated = await generateBundles(model, options);
        // With a file, the Bundles go there as they are built and are not kept: the message names the file.
        if (file) {
          const path = isAbsolute(file) ? file : join(String(RED.settings.userDir ?? '.'), file);
          await writeBundleFile(generated, path);
          out.payload = path;
          out.filename = path;
        } else out.payload = await allBundles(generated);
        out.rows = generated.rows;
        out.skipped = generated.skipped;
        const counts = { objects: generated.objects, rows: generated.rows.length };
        this.status({ fill: 'green', shape: 'dot', text: statusText(RED, this, counts.rows ? 'objectsWithRows' : 'objects', counts) });
        send(out);
        done();
      } catch (err) {
        this.status({ fill: 'red', shape: 'dot', text: statusText(RED, this, 'error') });
        done(err as Error);
      }
    });
  }

  RED.nodes.registerType('bundle-generate', BundleGenerate);
  registerBundleRoute(RED, 'bundle-generate', (node) => (node as GenerateNode).exporter());
};
