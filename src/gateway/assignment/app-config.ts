// The sync strategy of an app, from its configuration on the FHIR server as fhircore keeps it: the Composition
// whose identifier is the app id, its section focused on `application`, and the JSON in the Binary that section
// references. Cached per app id; a static strategy in the node's configuration replaces the lookup.
import type { Binary, Composition, CompositionSection } from '@medplum/fhirtypes';
import type { LookupBackend } from '../proxy/lookups.js';
import { referencedId } from '../proxy/lookups.js';
import { failureText, GatewayDenial } from '../http/denial.js';
import type { SyncStrategy } from './tags.js';
import { escapeSearchValue } from '../../fhir/search-value.js';
import { canonicalStrategy } from './tags.js';
import { DEFAULT_CACHE_TTL_SEC, TtlCache } from './ttl-cache.js';

export interface AppConfigSettings {
  /** The token claim holding the app id. */
  appIdClaim: string;
  /** `focus.identifier.value` of the Composition section that references the app's Binary. */
  sectionFocusIdentifier: string;
  /** When set, every app uses this strategy and nothing is looked up. */
  staticSyncStrategy: SyncStrategy | null;
  /** 0 = no caching. */
  cacheTtlSec: number;
}

export const DEFAULT_APP_CONFIG_SETTINGS: AppConfigSettings = {
  appIdClaim: 'fhir_core_app_id',
  sectionFocusIdentifier: 'application',
  staticSyncStrategy: null,
  cacheTtlSec: DEFAULT_CACHE_TTL_SEC,
};

/** Why an app's configuration gives no strategy; becomes a 503 naming the app. */
class AppConfigError extends Error {}

export class AppConfigResolver {
  readonly settings: AppConfigSettings;
  private readonly cache: TtlCache<SyncStrategy>;
  private readonly binaries: TtlCache<Set<string>>;
  private readonly compositions: TtlCache<Composition | undefined>;

  constructor(
    private readonly backend: LookupBackend,
    settings: Partial<AppConfigSettings> = {},
  ) {
    this.settings = { ...DEFAULT_APP_CONFIG_SETTINGS, ...settings };
    this.cache = new TtlCache(this.settings.cacheTtlSec);
    this.binaries = new TtlCache(this.settings.cacheTtlSec);
    this.compositions = new TtlCache(this.settings.cacheTtlSec);
  }

  /**
   * The ids of the Binaries the app's Composition references (in any section, at any depth): the configuration the
   * app reads at start. Empty when the app has no Composition; lookup failures are 502 denials.
   */
  async configBinaries(appId: string): Promise<Set<string>> {
    return this.binaries.get(appId, async () => {
      const composition = await this.composition(appId);
      const ids = new Set<string>();
      const walk = (sections: CompositionSection[]) => {
        for (const section of sections) {
          const id = referencedId(section.focus?.reference, 'Binary');
          if (id) ids.add(id);
          walk(section.section ?? []);
        }
      };
      walk(composition?.section ?? []);
      return ids;
    });
  }

  /**
   * The sync strategy of the app. Denials: 401 when there is no app id to look up, 503 (`exception`) naming
   * the app when its configuration cannot be read or names no known strategy.
   */
  async syncStrategy(appId: string | undefined): Promise<SyncStrategy> {
    if (this.settings.staticSyncStrategy) return this.settings.staticSyncStrategy;
    if (!appId) throw new GatewayDenial(401, 'login', `the token has no ${this.settings.appIdClaim} claim`);
    try {
      return await this.cache.get(appId, () => this.lookup(appId));
    } catch (err) {
      if (err instanceof AppConfigError) throw new GatewayDenial(503, 'exception', `no sync strategy for app '${appId}': ${err.message}`);
      throw new GatewayDenial(
        503,
        'exception',
        `no sync strategy for app '${appId}': its configuration could not be read`,
        failureText(err),
      );
    }
  }

  /** Forget cached strategies and configurations (an app's configuration changed). */
  invalidate(): void {
    this.cache.invalidate();
    this.binaries.invalidate();
    this.compositions.invalidate();
  }

  /** The app's Composition, found by its identifier (the first, as the reference takes it); one search for both uses. */
  private composition(appId: string): Promise<Composition | undefined> {
    return this.compositions.get(appId, async () => {
      const found = await this.backend.search('Composition', { identifier: [escapeSearchValue(appId)] });
      return found.entry?.find((e) => e.resource?.resourceType === 'Composition')?.resource as Composition | undefined;
    });
  }

  private async lookup(appId: string): Promise<SyncStrategy> {
    const composition = await this.composition(appId);
    if (!composition) throw new AppConfigError(`no Composition has the identifier '${appId}'`);
    const focus = this.focusReference(composition.section ?? []);
    if (!focus) {
      throw new AppConfigError(
        `Composition/${composition.id} has no section focused on '${this.settings.sectionFocusIdentifier}' with a reference`,
      );
    }
    const binaryId = referencedId(focus, 'Binary');
    if (!binaryId) throw new AppConfigError(`the '${this.settings.sectionFocusIdentifier}' section references ${focus}, not a Binary`);
    const binary = (await this.backend.read('Binary', binaryId)) as Binary;
    return strategyOf(binary, binaryId);
  }

  /** Depth first through nested sections, as the reference searches them. */
  private focusReference(sections: CompositionSection[]): string | undefined {
    for (const section of sections) {
      if (section.focus?.identifier?.value === this.settings.sectionFocusIdentifier && section.focus.reference) {
        return section.focus.reference;
      }
      const nested = this.focusReference(section.section ?? []);
      if (nested) return nested;
    }
    return undefined;
  }
}

/** `syncStrategy[0]` of the Binary's JSON, else `syncStrategies[0]` (the newer fhircore name). */
function strategyOf(binary: Binary, binaryId: string): SyncStrategy {
  let config: { syncStrategy?: unknown; syncStrategies?: unknown };
  try {
    config = JSON.parse(Buffer.from(binary.data ?? '', 'base64').toString('utf8'));
  } catch {
    throw new AppConfigError(`Binary/${binaryId} does not hold JSON`);
  }
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const name: unknown = first(config?.syncStrategy) ?? first(config?.syncStrategies);
  if (typeof name !== 'string') throw new AppConfigError(`Binary/${binaryId} names no syncStrategy`);
  const strategy = canonicalStrategy(name);
  if (!strategy) throw new AppConfigError(`Binary/${binaryId} names the unknown sync strategy '${name}'`);
  return strategy;
}
