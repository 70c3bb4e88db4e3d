// "Test connection": validate the registration, get a token, read /metadata. Node-RED-free.
import type { ExternalSystemSecrets, ExternalSystemSettings } from './external-system.js';
import { settingsWarnings, validateSettings } from './external-system.js';
import { createTokenSource } from './token-source.js';
import { FhirConnection } from './connection.js';
import { describeFailure } from './errors.js';

export type ProbeResult =
  | { ok: true; fhirVersion?: string; software?: string; authenticated: boolean; warnings: string[] }
  | { ok: false; error: string; warnings: string[] };

export async function testConnection(settings: ExternalSystemSettings, secrets: ExternalSystemSecrets): Promise<ProbeResult> {
  const warnings = settingsWarnings(settings);
  const problems = validateSettings(settings, secrets);
  if (problems.length) return { ok: false, error: problems.join('; '), warnings };
  const tokens = createTokenSource(settings, secrets);
  try {
    const authenticated = (await tokens.token()) !== undefined;
    const cs = await new FhirConnection(settings, tokens).capabilities();
    const software = [cs.software?.name, cs.software?.version].filter(Boolean).join(' ') || undefined;
    return { ok: true, fhirVersion: cs.fhirVersion, software, authenticated, warnings };
  } catch (err) {
    return { ok: false, error: describeFailure(err), warnings };
  }
}
