// gateway-authorize: the authorising FHIR proxy behind `http in` nodes (one per verb on /fhir/*), in front
// of the FHIR server of a fhir-external-system (called with that system's own credentials). Output 1 is
// the answer for `http response`; output 2 one audit record per request. The gateway itself is
// src/gateway/; this adapter reads the node's configuration and wires messages.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { ExternalSystemNode } from '../node-red/external-system-node.js';
import type { GatewayForm } from '../gateway/config/settings-form.js';
import type { GatewayRequest } from '../gateway/http/request.js';
import type { HttpIn } from '../gateway/http/incoming.js';
import { externalSystemProblem } from '../node-red/external-system-node.js';
import { gatewaySettings } from '../gateway/config/settings.js';
import { allowedQueriesWarnings } from '../gateway/auth/allowed-queries.js';
import type { CorsSettings } from '../gateway/http/cors.js';
import { corsHeaders } from '../gateway/http/cors.js';
import { settingsFromForm } from '../gateway/config/settings-form.js';
import type { GatewayInfo } from '../gateway/gateway.js';
import { Gateway } from '../gateway/gateway.js';
import { Backend, tokenAuthorization } from '../gateway/proxy/backend.js';
import { fromFhirRequest, fromHttpIn } from '../gateway/http/incoming.js';
import { GatewayDenial, operationOutcome } from '../gateway/http/denial.js';
import type { Answer } from '../gateway/http/answer.js';
import { denialAnswer, jsonAnswer } from '../gateway/http/answer.js';
import { bodyFailure, claimRoutes, installGatewayHttp, releaseRoutes } from '../node-red/gateway-http.js';
import { configurationError, startStatus } from '../node-red/start-status.js';

type GatewayDef = NodeDef & GatewayForm & { system?: string };

interface GatewayCredentials {
  pagingSecret?: string;
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
  installGatewayHttp(RED);
  function GatewayAuthorize(this: Node<GatewayCredentials>, def: GatewayDef) {
    RED.nodes.createNode(this, def);
    let gateway: Gateway | undefined;
    let backend: Backend | undefined;
    let problem: string | undefined;
    let cors: CorsSettings | undefined;
    const system = def.system ? (RED.nodes.getNode(def.system) as ExternalSystemNode | null) : null;
    try {
      problem = externalSystemProblem(system, system?.settings.organization ?? '');
      if (!problem && system) {
        const settings = gatewaySettings(settingsFromForm(def, this.credentials?.pagingSecret));
        for (const warning of allowedQueriesWarnings(settings.allowedQueries)) this.warn(`gateway: ${warning}`);
        backend = new Backend({
          baseUrl: system.settings.url,
          timeoutMs: system.settings.timeoutMs,
          ...tokenAuthorization(system.connection.tokens),
        });
        gateway = new Gateway(settings, backend);
        cors = settings.cors;
      }
    } catch (err) {
      problem = (err as Error).message;
    }
    if (problem) configurationError(RED, this, `gateway: ${problem}`);
    else startStatus(this);

    claimRoutes(RED, this.id, cors);

    // The gateway's own answers carry its CORS headers; these are the node's, for what never reached it.
    const answered = (msg: GatewayMessage, a: Answer): GatewayMessage => {
      msg.statusCode = a.status;
      const origin = msg.req?.headers.origin;
      msg.headers =
        cors && !a.headers['access-control-allow-origin']
          ? { ...a.headers, ...corsHeaders(cors, typeof origin === 'string' ? origin : undefined) }
          : a.headers;
      msg.payload = a.body;
      return msg;
    };

    // The last request's outcome, sent only when it differs from the one shown: each status goes to every open editor,
    // and a busy gateway would otherwise send one per request.
    let shown: string | undefined;
    const showLast = (decision: GatewayInfo['decision'], statusCode: number) => {
      const text = `${decision} ${statusCode}`;
      if (text === shown) return;
      shown = text;
      const allowed = decision === 'allow';
      this.status({ fill: allowed ? 'green' : 'yellow', shape: allowed ? 'dot' : 'ring', text });
    };

    this.on('input', async (input: NodeMessageInFlow, send, done) => {
      const msg = input as GatewayMessage;
      // Flows may drop cached assignments and app configs, e.g. after changing a user's roles.
      if (msg.topic === 'gateway/invalidate') {
        gateway?.invalidate(typeof msg.sub === 'string' ? msg.sub : undefined);
        return done();
      }
      if (!gateway) {
        // An HTTP client still gets an answer; the cause goes to Catch nodes and the log, not to the client.
        if (msg.req) send([answered(msg, jsonAnswer(503, operationOutcome('exception', 'the gateway is not configured correctly'))), null]);
        return done(new Error(`gateway: ${problem}`));
      }
      let request: GatewayRequest;
      try {
        const failed = msg.req && bodyFailure(msg.req);
        if (failed) throw new GatewayDenial(failed.status, failed.status === 413 ? 'too-costly' : 'invalid', failed.message);
        request = msg.req ? fromHttpIn(msg.req, msg.payload) : fromFhirRequest(msg.fhirRequest);
      } catch (err) {
        // A client's mistake: answered, and not an error of the flow.
        if (msg.req) {
          send([answered(msg, denialAnswer(err)), null]);
          return done();
        }
        return done(err as Error);
      }
      try {
        const result = await gateway.handle(request);
        msg.gateway = result.gateway;
        showLast(result.gateway.decision, result.statusCode);
        const reply = answered(msg, { status: result.statusCode, headers: result.headers, body: result.payload });
        send([reply, { _msgid: RED.util.generateId(), topic: 'gateway/audit', payload: result.audit }]);
        done();
      } catch (err) {
        // Gateway.handle answers every request itself; should anything still fail, the client is answered all the same.
        if (msg.req) send([answered(msg, denialAnswer(err)), null]);
        done(err as Error);
      }
    });

    this.on('close', () => {
      releaseRoutes(this.id);
      backend?.close();
    });
  }

  RED.nodes.registerType<Node<GatewayCredentials>, GatewayDef, object, GatewayCredentials>('gateway-authorize', GatewayAuthorize, {
    credentials: { pagingSecret: { type: 'password' } },
  });
};
