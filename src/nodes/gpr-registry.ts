// Config node: a live GeoPrism Registry (base URL and HTTP Basic credentials), shared by the nodes that
// read from it (gpr-hierarchy-source) and write to it (fhir-import).
import type { NodeAPI, NodeDef } from 'node-red';
import type { GprRegistryCredentials, GprRegistryNode } from '../node-red/gpr-registry-node.js';
import { gprUrlProblem } from '../registry/gpr-client.js';
import { wholeNumber } from '../settings/whole-number.js';

const DEFAULT_TIMEOUT_MS = 60_000;

interface GprRegistryDef extends NodeDef {
  url?: string;
  timeoutMs?: string | number;
}

export = function (RED: NodeAPI) {
  function GprRegistry(this: GprRegistryNode, def: GprRegistryDef) {
    RED.nodes.createNode(this, def);
    const url = String(def.url ?? '').trim();
    const { username = '', password = '' } = this.credentials ?? {};
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    try {
      timeoutMs = wholeNumber('timeout (ms)', def.timeoutMs, DEFAULT_TIMEOUT_MS);
    } catch (err) {
      this.problem = (err as Error).message;
    }
    this.problem = gprUrlProblem(url) ?? this.problem;
    this.connection = { url, username, password, timeoutMs };
    if (this.problem) this.error(`GeoPrism Registry "${def.name || this.id}": ${this.problem}`);
  }

  RED.nodes.registerType<GprRegistryNode, GprRegistryDef, object, GprRegistryCredentials>('gpr-registry', GprRegistry, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
