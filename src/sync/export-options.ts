// Export options from a node's stored configuration (strings and booleans from the editor), checked.
// Node-RED-free.
import type { ExportOptions, IdStrategy, InvalidGeometry, OnMissingParent } from './export-plan.js';
import type { Implementation, LevelConfig } from '../mapping/levels.js';
import { DEFAULT_EXPORT_OPTIONS } from './export-plan.js';
import { IMPLEMENTATIONS } from '../mapping/levels.js';
import { wholeNumber } from '../settings/whole-number.js';

export type RawExportConfig = Partial<Record<keyof ExportOptions | 'forDate', unknown>>;

/** The configured choice among `allowed` (`fallback` when empty); an unknown one is refused, never defaulted. */
export function pick<T extends string>(name: string, allowed: readonly T[], v: unknown, fallback: T): T {
  if (v === undefined || v === '') return fallback;
  if (!allowed.includes(v as T)) throw new Error(`${name} must be one of ${allowed.join(', ')} (got "${String(v)}")`);
  return v as T;
}

function levelsOf(v: unknown): LevelConfig[] | undefined {
  if (v === undefined || v === '' || (Array.isArray(v) && !v.length)) return undefined;
  const levels = typeof v === 'string' ? JSON.parse(v) : v;
  if (!Array.isArray(levels) || levels.some((l) => typeof l?.geoObjectType !== 'string' || !l.geoObjectType)) {
    throw new Error('levels must be a list of {geoObjectType, fhirType?, kind?, implementation?}');
  }
  return levels as LevelConfig[];
}

/** Options for an export to `system`; throws a message naming the bad setting. */
export function exportOptionsFrom(raw: RawExportConfig, system: string): ExportOptions {
  const chunkSize = wholeNumber('chunk size', raw.chunkSize, DEFAULT_EXPORT_OPTIONS.chunkSize, 2);
  const maxRequestBytes = wholeNumber('max request size (bytes)', raw.maxRequestBytes, DEFAULT_EXPORT_OPTIONS.maxRequestBytes, 1024);
  const hierarchies = Array.isArray(raw.hierarchies) ? raw.hierarchies.map(String) : String(raw.hierarchies ?? '').split(',');
  let levels: LevelConfig[] | undefined;
  try {
    levels = levelsOf(raw.levels);
  } catch (err) {
    throw new Error(`levels: ${(err as Error).message}`);
  }
  return {
    system,
    hierarchies: hierarchies.map((h) => h.trim()).filter(Boolean),
    implementation: pick<Implementation>('implementation', IMPLEMENTATIONS, raw.implementation, DEFAULT_EXPORT_OPTIONS.implementation),
    ...(levels ? { levels } : {}),
    partOfHierarchy: String(raw.partOfHierarchy ?? '').trim(),
    idStrategy: pick<IdStrategy>('id strategy', ['code', 'safe', 'server'], raw.idStrategy, DEFAULT_EXPORT_OPTIONS.idStrategy),
    locationPartOf:
      raw.locationPartOf === undefined
        ? DEFAULT_EXPORT_OPTIONS.locationPartOf
        : raw.locationPartOf === true || raw.locationPartOf === 'true',
    onMissingParent: pick<OnMissingParent>(
      'missing parents',
      ['climb', 'omit', 'fail'],
      raw.onMissingParent,
      DEFAULT_EXPORT_OPTIONS.onMissingParent,
    ),
    invalidGeometry: pick<InvalidGeometry>(
      'invalid geometries',
      ['export', 'refuse'],
      raw.invalidGeometry,
      DEFAULT_EXPORT_OPTIONS.invalidGeometry,
    ),
    gprCompat: raw.gprCompat === true || raw.gprCompat === 'true',
    chunkSize,
    maxRequestBytes,
    incremental: raw.incremental === true || raw.incremental === 'true',
    onRemoved: pick('removed objects', ['ignore', 'inactivate'] as const, raw.onRemoved, DEFAULT_EXPORT_OPTIONS.onRemoved),
  };
}
