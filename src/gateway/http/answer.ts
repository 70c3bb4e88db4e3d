// Answers the gateway makes itself: denials as OperationOutcomes (401s with the Bearer challenge) and JSON documents.
import { GatewayDenial, LoginDenial, operationOutcome } from './denial.js';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

import { FHIR_JSON } from '../../fhir/media-type.js';

export { FHIR_JSON };

/** The challenge of a 401 for a token the gateway refuses. */
export const wwwAuthenticate = 'Bearer error="invalid_token"';

/** The challenge of a 401 for a request that brought no bearer token. */
export const bearerChallenge = 'Bearer';

export function jsonAnswer(status: number, value: unknown, contentType = FHIR_JSON): Answer {
  return { status, headers: { 'content-type': contentType }, body: JSON.stringify(value) };
}

/** The answer to a denial; anything else thrown is a fault of the gateway itself, a 500 whose cause is for the log only. */
export function denialAnswer(err: unknown, rewrite: (text: string) => string = (text) => text): Answer {
  if (!(err instanceof GatewayDenial)) return jsonAnswer(500, operationOutcome('exception', 'internal gateway error'));
  const answer = jsonAnswer(err.status, operationOutcome(err.code, rewrite(err.message)));
  if (err.status === 401) answer.headers['www-authenticate'] = err instanceof LoginDenial ? err.challenge : wwwAuthenticate;
  return answer;
}
