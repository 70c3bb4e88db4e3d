// Config node: a live GeoPrism Registry (base URL and HTTP Basic credentials), shared by the nodes that
// read from it (gpr-hierarchy-source) and write to it (fhir-import).
import type { NodeAPI, NodeDef } from 'node-red';
import type { GprRegistryCredentials, GprRegistryNode } from '../node-red/gpr-registry-node.js';
import { gprConnectionFrom } from '../registry/gpr-client.js';

interface GprRegistryDef extends NodeDef {
  url?: string;
  timeoutMs?: string | number;
}

export = function (RED: NodeAPI) {
  function GprRegistry(this: GprRegistryNode, def: GprRegistryDef) {
    RED.nodes.createNode(this, def);
    const { connection, problem } = gprConnectionFrom(def, this.credentials ?? {});
    this.connection = connection;
    this.problem = problem;
    if (problem) this.error(`GeoPrism Registry "${def.name || this.id}": ${problem}`);
  }

  RED.nodes.registerType<GprRegistryNode, GprRegistryDef, object, GprRegistryCredentials>('gpr-registry', GprRegistry, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
