// A FHIR client for one external system: fhir-kit-client with the system's token on every request,
// a per-request timeout, and one re-authentication when the server answers 401. Node-RED-free.
import type { Client } from 'fhir-kit-client' with { 'resolution-mode': 'import' };
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { ExternalSystemSettings } from './external-system.js';
import type { TokenSource } from './token-source.js';
import { fhirError } from './errors.js';

export type { Client as FhirClient };

export class FhirConnection {
  private client?: Promise<Client>;

  constructor(
    readonly settings: ExternalSystemSettings,
    readonly tokens: TokenSource,
  ) {}

  private async makeClient(): Promise<Client> {
    const { Client } = await import('fhir-kit-client');
    return new Client({
      baseUrl: this.settings.url,
      // Awaited by fhir-kit-client before each request, so the token is always the current one.
      requestSigner: async (_url: string, init: RequestInit) => {
        const token = await this.tokens.token();
        if (token) (init.headers as Headers).set('authorization', `Bearer ${token}`);
        init.signal ??= AbortSignal.timeout(this.settings.timeoutMs);
      },
    });
  }

  /**
   * Run one FHIR interaction. `what` names it in error messages ("read metadata", "transaction of
   * 500 entries"); failures become a FhirRequestError with the status and OperationOutcome.
   */
  async call<T>(what: string, fn: (client: Client) => Promise<T>): Promise<T> {
    this.client ??= this.makeClient();
    const client = await this.client;
    try {
      try {
        return await fn(client);
      } catch (err) {
        if ((err as { response?: { status?: number } }).response?.status !== 401 || this.settings.authType === 'none') throw err;
        this.tokens.invalidate();
        return await fn(client);
      }
    } catch (err) {
      throw fhirError(`${what} at ${this.settings.url}`, err);
    }
  }

  /** GET [base]/metadata, checked to be a CapabilityStatement. */
  async capabilities(): Promise<CapabilityStatement> {
    const resource: { resourceType?: string } = await this.call('read metadata', (c) => c.capabilityStatement());
    if (resource.resourceType !== 'CapabilityStatement') {
      const got = resource.resourceType ?? 'non-FHIR document';
      throw fhirError(`read metadata at ${this.settings.url}`, new Error(`answer is a ${got}, not a CapabilityStatement`));
    }
    return resource as CapabilityStatement;
  }
}
