// gateway-authorize: the authorising FHIR proxy behind `http in` nodes (one per verb on /fhir/*), in front
// of the FHIR server of a fhir-external-system (called with that system's own credentials). Output 1 is
// the answer for `http response`; output 2 one audit record per request. The gateway itself is
// src/gateway/; this adapter reads the node's configuration and wires messages.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { ExternalSystemNode } from '../node-red/external-system-node.js';
import type { RawGatewaySettings } from '../gateway/settings.js';
import type { GatewayRequest } from '../gateway/request.js';
import type { HttpIn } from '../gateway/incoming.js';
import { externalSystemProblem } from '../node-red/external-system-node.js';
import { gatewaySettings } from '../gateway/settings.js';
import { Gateway } from '../gateway/gateway.js';
import { Backend, tokenAuthorization } from '../gateway/backend.js';
import { fromFhirRequest, fromHttpIn } from '../gateway/incoming.js';
import { operationOutcome } from '../gateway/outcome.js';

type GatewayDef = NodeDef &
  Record<
    | 'system'
    | 'publicBase'
    | 'issuer'
    | 'audiences'
    | 'algorithms'
    | 'clockSkewSec'
    | 'jwksUri'
    | 'roleSources'
    | 'clientRoles'
    | 'filteredClientRole'
    | 'assignmentSource'
    | 'practitionerIdentifierSystem'
    | 'staticSyncStrategy'
    | 'tagSystems'
    | 'allowedQueries'
    | 'syncFilterIgnore'
    | 'allowedOperations'
    | 'allowedSearchParams'
    | 'writeTags'
    | 'cacheTtlSec'
    | 'backendAliases',
    string | undefined
  >;

interface GatewayCredentials {
  pagingSecret?: string;
}

const list = (value: string | undefined): string[] | undefined => {
  const items = String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
};

const number = (value: string | undefined): number | undefined => (String(value ?? '').trim() === '' ? undefined : Number(value));

function json(def: GatewayDef, field: 'tagSystems' | 'allowedQueries' | 'syncFilterIgnore'): unknown {
  const text = String(def[field] ?? '').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${field} is not valid JSON: ${(err as Error).message}`);
  }
}

function rawSettings(def: GatewayDef, credentials: GatewayCredentials): RawGatewaySettings {
  return {
    publicBase: String(def.publicBase ?? '').trim(),
    issuer: String(def.issuer ?? '').trim(),
    audiences: list(def.audiences) ?? [],
    algorithms: list(def.algorithms),
    clockSkewSec: number(def.clockSkewSec),
    jwksUri: def.jwksUri?.trim() || undefined,
    roleSources: list(def.roleSources),
    clientRoles: list(def.clientRoles),
    filteredClientRole: def.filteredClientRole?.trim() || undefined,
    assignmentSource: def.assignmentSource === 'claims' ? 'claims' : 'fhir',
    practitionerIdentifierSystem: def.practitionerIdentifierSystem?.trim() || undefined,
    staticSyncStrategy: def.staticSyncStrategy?.trim() || undefined,
    tagSystems: json(def, 'tagSystems') as RawGatewaySettings['tagSystems'],
    allowedQueries: json(def, 'allowedQueries'),
    syncFilterIgnore: json(def, 'syncFilterIgnore'),
    allowedOperations: list(def.allowedOperations),
    allowedSearchParams: list(def.allowedSearchParams),
    writeTags: def.writeTags === 'rewrite' ? 'rewrite' : 'reject',
    cacheTtlSec: number(def.cacheTtlSec),
    backendAliases: list(def.backendAliases),
    pagingSecret: credentials.pagingSecret || undefined,
  };
}

type GatewayMessage = NodeMessageInFlow & {
  req?: HttpIn;
  fhirRequest?: unknown;
  statusCode?: number;
  headers?: Record<string, string>;
  gateway?: unknown;
  sub?: string;
};

export = function (RED: NodeAPI) {
  function GatewayAuthorize(this: Node<GatewayCredentials>, def: GatewayDef) {
    RED.nodes.createNode(this, def);
    let gateway: Gateway | undefined;
    let backend: Backend | undefined;
    let problem: string | undefined;
    const system = def.system ? (RED.nodes.getNode(def.system) as ExternalSystemNode | null) : null;
    try {
      problem = externalSystemProblem(system, system?.settings.organization ?? '');
      if (!problem && system) {
        const settings = gatewaySettings(rawSettings(def, this.credentials ?? {}));
        backend = new Backend({ baseUrl: system.settings.url, ...tokenAuthorization(system.connection.tokens) });
        gateway = new Gateway(settings, backend);
      }
    } catch (err) {
      problem = (err as Error).message;
    }
    if (problem) {
      this.status({ fill: 'red', shape: 'ring', text: 'configuration error' });
      this.error(`gateway: ${problem}`);
    }

    this.on('input', async (input: NodeMessageInFlow, send, done) => {
      const msg = input as GatewayMessage;
      // Flows may drop cached assignments and app configs, e.g. after changing a user's roles.
      if (msg.topic === 'gateway/invalidate') {
        gateway?.invalidate(typeof msg.sub === 'string' ? msg.sub : undefined);
        return done();
      }
      if (!gateway) {
        // An HTTP client still gets an answer; the cause goes to Catch nodes and the log, not to the client.
        if (msg.req) {
          msg.statusCode = 503;
          msg.headers = { 'content-type': 'application/fhir+json' };
          msg.payload = JSON.stringify(operationOutcome('exception', 'the gateway is not configured correctly'));
          send([msg, null]);
        }
        return done(new Error(`gateway: ${problem}`));
      }
      let request: GatewayRequest;
      try {
        request = msg.req ? fromHttpIn(msg.req, msg.payload) : fromFhirRequest(msg.fhirRequest);
      } catch (err) {
        return done(err as Error);
      }
      const result = await gateway.handle(request);
      msg.statusCode = result.statusCode;
      msg.headers = result.headers;
      msg.payload = result.payload;
      msg.gateway = result.gateway;
      const allowed = result.gateway.decision === 'allow';
      this.status({
        fill: allowed ? 'green' : 'yellow',
        shape: allowed ? 'dot' : 'ring',
        text: `${result.gateway.decision} ${result.statusCode}`,
      });
      send([msg, { _msgid: RED.util.generateId(), topic: 'gateway/audit', payload: result.audit }]);
      done();
    });

    this.on('close', () => backend?.close());
  }

  RED.nodes.registerType<Node<GatewayCredentials>, GatewayDef, object, GatewayCredentials>('gateway-authorize', GatewayAuthorize, {
    credentials: { pagingSecret: { type: 'password' } },
  });
};
