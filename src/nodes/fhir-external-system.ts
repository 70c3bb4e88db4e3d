// Config node: a FHIR server registered as GPR registers an external system. Reads the form and the
// credentials, reports configuration errors, and serves the editor's "Test connection".
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import type { ExternalSystemSecrets } from '../fhir/external-system.js';
import type { ExternalSystemDef, ExternalSystemNode } from '../node-red/external-system-node.js';
import { settingsOf } from '../node-red/external-system-node.js';
import { settingsWarnings, validateSettings } from '../fhir/external-system.js';
import { createTokenSource } from '../fhir/token-source.js';
import { FhirConnection } from '../fhir/connection.js';
import { testConnection } from '../fhir/probe.js';

const TYPE = 'fhir-external-system';
const CREDENTIALS = {
  username: { type: 'text' },
  password: { type: 'password' },
  clientSecret: { type: 'password' },
  privateKey: { type: 'password' },
  bearerToken: { type: 'password' },
  serviceAccountKey: { type: 'password' },
  certificate: { type: 'password' },
  identityHeader: { type: 'password' },
} as const;
const SECRET_NAMES = Object.keys(CREDENTIALS) as (keyof ExternalSystemSecrets)[];

/** The editor sends this for a password field that still holds the stored secret. */
const UNCHANGED = '__PWRD__';

/** The enabled external system that comes first in the flow with this ID, if any. */
function firstHolderOf(RED: NodeAPI, systemId: string): ExternalSystemDef | undefined {
  if (!systemId) return undefined;
  let first: ExternalSystemDef | undefined;
  RED.nodes.eachNode((n: ExternalSystemDef) => {
    if (!first && n.type === TYPE && !n.d && settingsOf(n).systemId === systemId) first = n;
  });
  return first;
}

export = function (RED: NodeAPI) {
  function FhirExternalSystem(this: ExternalSystemNode, def: ExternalSystemDef) {
    RED.nodes.createNode(this, def);
    this.settings = settingsOf(def);
    const secrets = this.credentials ?? {};
    this.problems = validateSettings(this.settings, secrets);
    // ID must be unique among the runtime's external systems: the first in the flow keeps it (and keeps
    // serving its nodes), every later holder is refused.
    const first = firstHolderOf(RED, this.settings.systemId);
    if (first && first.id !== def.id) {
      this.problems.push(
        `ID "${this.settings.systemId}" is already used by external system "${first.name || first.id}": give this one another ID`,
      );
    }
    this.connection = new FhirConnection(this.settings, createTokenSource(this.settings, secrets));
    if (this.problems.length) this.error(`external system "${this.settings.label || this.id}": ${this.problems.join('; ')}`);
    for (const w of settingsWarnings(this.settings)) this.warn(w);
  }

  RED.nodes.registerType<ExternalSystemNode, ExternalSystemDef, object, ExternalSystemSecrets>(TYPE, FhirExternalSystem, {
    credentials: CREDENTIALS,
  });

  // Test connection: posts the form as it is; secrets left unchanged in the form come from the deployed node.
  RED.httpAdmin.post(`/${TYPE}/test`, RED.auth.needsPermission(`${TYPE}.write`), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Partial<ExternalSystemDef> & { credentials?: Record<string, unknown> };
    const stored =
      (typeof body.id === 'string' ? (RED.nodes.getCredentials(body.id) as ExternalSystemSecrets | undefined) : undefined) ?? {};
    const secrets: ExternalSystemSecrets = {};
    for (const name of SECRET_NAMES) {
      const given = body.credentials?.[name];
      secrets[name] = typeof given === 'string' && given !== UNCHANGED && given !== '' ? given : stored[name];
    }
    testConnection(settingsOf(body), secrets).then(
      (result) => res.json(result),
      (err: Error) => res.status(500).json({ ok: false, error: err.message, warnings: [] }),
    );
  });
};
