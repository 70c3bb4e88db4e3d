// Denials the gateway answers itself: an HTTP status plus an OperationOutcome whose issue code says why.
import type { OperationOutcome } from '@medplum/fhirtypes';

export type DenialCode =
  'login' | 'forbidden' | 'invalid' | 'not-supported' | 'not-found' | 'conflict' | 'too-costly' | 'exception' | 'transient';

export type DenialStatus = 400 | 401 | 403 | 404 | 412 | 413 | 502 | 503;

/**
 * What each status of a denial says (the spec's table):
 * - 400 `invalid` / `not-supported`: the request is malformed, or of a shape the gateway cannot check;
 * - 401 `login`: no valid token; 403 `forbidden`: a role, the client-role gate or the assignment refuses it;
 * - 404 / 412 / 413: as HTTP has them, for what the gateway answers itself (a PATCH target, a stale version, a body);
 * - 502 `exception`: the FHIR server failed, or answered what cannot be used or checked (backendFailure);
 * - 503 `exception`: the app's sync configuration cannot be had (named by its app id); 503 `transient`: the token
 *   issuer cannot be reached.
 *
 * A request the gateway refuses (or cannot serve); thrown by the checks and turned into a response by the node.
 * The message is the client's to read; `detail` (backend URLs, socket errors) is for the log and audit only.
 */
export class GatewayDenial extends Error {
  constructor(
    readonly status: DenialStatus,
    readonly code: DenialCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'GatewayDenial';
  }
}

/**
 * A 401 with its Bearer challenge: RFC 6750 gives a request that brought no bearer token at all (no Authorization,
 * or another scheme) the challenge without an error code, and a refused token `error="invalid_token"`.
 */
export class LoginDenial extends GatewayDenial {
  constructor(
    message: string,
    readonly challenge: string,
  ) {
    super(401, 'login', message);
  }
}

/** A malformed request: 400 (`invalid`). */
export function invalid(message: string): GatewayDenial {
  return new GatewayDenial(400, 'invalid', message);
}

/** What the log and audit record of a failure: the client's text and, for denials, the detail kept from the client. */
export function failureText(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  return err instanceof GatewayDenial && err.detail ? `${message} (${err.detail})` : message;
}

/** The FHIR server could not be used: the client learns that much, the log what and where. */
export function backendFailure(message: string, detail: string): GatewayDenial {
  return new GatewayDenial(502, 'exception', message, detail);
}

export function operationOutcome(code: DenialCode, diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}
