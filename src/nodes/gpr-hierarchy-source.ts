// gpr-hierarchy-source: on any input, read a registry (the embedded sample, a live GPR, GPR's JSON
// exports or a GeoJSON file; see registry/source) at a date and send it on msg.payload in the normalised model.
import { isAbsolute, join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { RegistryModel } from '../registry/model.js';
import type { RawSourceConfig } from '../registry/source.js';
import type { SourceNode } from '../node-red/source-node.js';
import { readingDate } from '../registry/model.js';
import { readRegistry, registrySourceFrom } from '../registry/source.js';
import { gprConnectionOf } from '../node-red/gpr-registry-node.js';
import { contextStore } from '../node-red/context-store.js';
import { startStatus } from '../node-red/start-status.js';
import { statusText } from '../node-red/status-text.js';
import { EMBEDDED_REGISTRY_KEY } from '../node-red/embedded-registry.js';
import { registerSourceRoutes } from '../node-red/source-routes.js';

type SourceDef = NodeDef & RawSourceConfig & { registry?: string; forDate?: string };

export = function (RED: NodeAPI) {
  function GprHierarchySource(this: Node, def: SourceDef) {
    RED.nodes.createNode(this, def);
    startStatus(this);
    /** The configured source, resolved when a read starts (a missing file path or registry is that read's error). */
    const source = () =>
      registrySourceFrom(def, {
        path: (configured) => {
          const path = String(configured ?? '').trim();
          if (!path) throw new Error('a file path is missing');
          // Relative paths are relative to the Node-RED user directory.
          return isAbsolute(path) ? path : join(String(RED.settings.userDir ?? '.'), path);
        },
        gpr: () => gprConnectionOf(RED, def.registry),
        embedded: async () => (await contextStore(this.context().global).get(EMBEDDED_REGISTRY_KEY)) as RegistryModel | undefined,
      });

    /** The registry as configured, at the date asked (fhir-export's Run now at its own For date) or this node's. */
    (this as SourceNode).readModel = async (asked?: string) => {
      const forDate = readingDate(asked, def.forDate);
      return readRegistry(source(), forDate);
    };

    this.on('input', async (msg: NodeMessageInFlow, send, done) => {
      try {
        this.status({ fill: 'blue', shape: 'ring', text: statusText(RED, this, 'reading') });
        const model = await (this as SourceNode).readModel();
        msg.payload = model;
        this.status({ fill: 'green', shape: 'dot', text: statusText(RED, this, 'objects', { objects: model.objects.length }) });
        send(msg);
        done();
      } catch (err) {
        this.status({ fill: 'red', shape: 'dot', text: statusText(RED, this, 'error') });
        done(err as Error);
      }
    });
  }

  RED.nodes.registerType('gpr-hierarchy-source', GprHierarchySource);
  registerSourceRoutes(RED);
};
