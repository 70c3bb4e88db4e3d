// gpr-hierarchy-source: on any input, read a registry (the embedded sample, a live GPR, GPR's JSON
// exports or a GeoJSON file) at a date
// and send it on msg.payload in the normalised model.
import { isAbsolute, join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { RegistryModel } from '../registry/model.js';
import { isCalendarDate } from '../registry/model.js';
import type { SourceNode } from '../node-red/source-node.js';
import { loadGeoJsonFile, loadGprFiles } from '../registry/files.js';
import { DEFAULT_GEOJSON_MAPPING } from '../registry/geojson.js';
import { loadSample } from '../registry/sample.js';
import { loadFromGpr } from '../registry/gpr-rest.js';
import { gprConnectionOf } from '../node-red/gpr-registry-node.js';
import { registryAt } from '../registry/embedded.js';
import { contextStore } from '../node-red/context-store.js';
import { startStatus } from '../node-red/start-status.js';
import { EMBEDDED_REGISTRY_KEY } from '../node-red/embedded-registry.js';
import { registerSourceRoutes } from '../node-red/source-routes.js';

interface SourceDef extends NodeDef {
  source?: 'sample' | 'embedded' | 'gpr' | 'gpr-files' | 'geojson';
  registry?: string;
  hierarchies?: string;
  pageSize?: string | number;
  forDate?: string;
  eventsFile?: string;
  typesFile?: string;
  hierarchiesFile?: string;
  geojsonFile?: string;
  codeProperty?: string;
  labelProperty?: string;
  typeProperty?: string;
  parentProperty?: string;
  hierarchy?: string;
}

export = function (RED: NodeAPI) {
  function GprHierarchySource(this: Node, def: SourceDef) {
    RED.nodes.createNode(this, def);
    startStatus(this);
    // Relative paths are relative to the Node-RED user directory.
    const resolve = (p: string | undefined) => {
      const path = String(p ?? '').trim();
      if (!path) throw new Error('a file path is missing');
      return isAbsolute(path) ? path : join(String(RED.settings.userDir ?? '.'), path);
    };

    const read = async (forDate: string): Promise<RegistryModel> => {
      if (def.source === 'sample') return loadSample(forDate);
      if (def.source === 'embedded') {
        const model = (await contextStore(this.context().global).get(EMBEDDED_REGISTRY_KEY)) as RegistryModel | undefined;
        if (!model) throw new Error('the embedded registry is empty: import into it with fhir-import first');
        return registryAt(model, forDate);
      }
      if (def.source === 'gpr') {
        const hierarchies = String(def.hierarchies ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean);
        const pageSize = Math.min(1000, Math.max(1, Number(def.pageSize) || 1000));
        return loadFromGpr(gprConnectionOf(RED, def.registry), { hierarchies, forDate, pageSize });
      }
      if (def.source === 'geojson') {
        const mapping = { ...DEFAULT_GEOJSON_MAPPING };
        for (const key of Object.keys(mapping) as (keyof typeof mapping)[]) {
          const v = key === 'hierarchy' ? def.hierarchy : def[key];
          if (v) mapping[key] = v;
        }
        return loadGeoJsonFile(resolve(def.geojsonFile), mapping, forDate);
      }
      return loadGprFiles(
        { events: resolve(def.eventsFile), types: resolve(def.typesFile), hierarchies: resolve(def.hierarchiesFile) },
        forDate,
      );
    };

    /** The registry as configured, at the date asked (fhir-export's Run now at its own For date) or this node's. */
    (this as SourceNode).readModel = async (asked?: string) => {
      const forDate = String(asked || def.forDate || new Date().toISOString().slice(0, 10));
      if (!isCalendarDate(forDate)) throw new Error(`for-date "${forDate}" is not a valid yyyy-mm-dd date`);
      return read(forDate);
    };

    this.on('input', async (msg: NodeMessageInFlow, send, done) => {
      try {
        this.status({ fill: 'blue', shape: 'ring', text: 'reading' });
        const model = await (this as SourceNode).readModel();
        msg.payload = model;
        this.status({ fill: 'green', shape: 'dot', text: `${model.objects.length} objects` });
        send(msg);
        done();
      } catch (err) {
        this.status({ fill: 'red', shape: 'dot', text: 'error' });
        done(err as Error);
      }
    });
  }

  RED.nodes.registerType('gpr-hierarchy-source', GprHierarchySource);
  registerSourceRoutes(RED);
};
