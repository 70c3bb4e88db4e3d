// A user's assignment under a sync strategy: the Location, Organization, CareTeam or Practitioner ids whose tags the
// user may see and write. Read from the FHIR server as OpenSRP does (the Practitioner carrying the user's Keycloak id,
// which is the Practitioner strategy's one id, then CareTeam / PractitionerRole / Organization /
// OrganizationAffiliation / Location), or from token claims. Locations are widened to all their descendants. Results
// are cached per user and strategy.
import type {
  CareTeam,
  Group,
  Location,
  Organization,
  OrganizationAffiliation,
  Practitioner,
  PractitionerRole,
  Resource,
} from '@medplum/fhirtypes';
import type { LookupBackend } from '../proxy/lookups.js';
import { referencedId, searchAll } from '../proxy/lookups.js';
import { backendFailure, failureText, GatewayDenial } from '../http/denial.js';
import type { SyncStrategy } from './tags.js';
import { escapeSearchValue } from '../../fhir/search-value.js';
import { DEFAULT_CACHE_TTL_SEC, TtlCache } from './ttl-cache.js';

export interface AssignmentConfig {
  /** `fhir`: the OpenSRP lookups; `claims`: ids listed in the token. */
  source: 'fhir' | 'claims';
  /** System of the Practitioner identifier holding the token's `sub`; null matches the value in any system. */
  practitionerIdentifierSystem: string | null;
  /** Add every descendant (`Location?partof`, recursively) to assigned Locations. */
  expandLocationDescendants: boolean;
  /** Claim names of the `claims` source; RelatedEntityLocation reads the Location claim, Practitioner the user's own id. */
  claims: { Location: string; Organization: string; CareTeam: string; Practitioner: string };
  /** 0 = no caching. */
  cacheTtlSec: number;
  /** `_count` of the lookup searches, whose pages are all read. */
  pageSize: number;
}

export const DEFAULT_ASSIGNMENT_CONFIG: AssignmentConfig = {
  source: 'fhir',
  practitionerIdentifierSystem: null,
  expandLocationDescendants: true,
  claims: { Location: 'location_ids', Organization: 'organization_ids', CareTeam: 'care_team_ids', Practitioner: 'practitioner_id' },
  cacheTtlSec: DEFAULT_CACHE_TTL_SEC,
  pageSize: 100,
};

/** Verified token claims; `sub` names the user. */
export type TokenClaims = { sub?: string } & Record<string, unknown>;

// Keys of chosen Location sets start with '\0', which no user's key (`<sub>\0…`, sub non-empty) does.
const SYNC_LOCATIONS_KEY = 'syncLocations';

// Ids per search, so that `_id=` and `partof=` lists keep URLs short whatever the size of an assignment.
const IDS_PER_SEARCH = 100;

const unique = (ids: (string | undefined)[]): string[] => [...new Set(ids.filter((id): id is string => !!id))];

/** What the FHIR server holds of a user, as OpenSRP's PractitionerDetails gathers it. */
export interface PractitionerDetails {
  practitioner: Practitioner;
  careTeams: CareTeam[];
  practitionerRoles: PractitionerRole[];
  organizations: Organization[];
  groups: Group[];
  organizationAffiliations: OrganizationAffiliation[];
  /** The affiliated Locations (without descendants). */
  locations: Location[];
}

/** Ids of a claim given as an array of strings or as one comma-separated string. */
function claimIds(value: unknown): string[] {
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [];
  return unique(items.map((v) => (typeof v === 'string' ? v.trim() : undefined)));
}

export class AssignmentResolver {
  readonly config: AssignmentConfig;
  private readonly cache: TtlCache<string[]>;

  constructor(
    private readonly backend: LookupBackend,
    config: Partial<AssignmentConfig> = {},
  ) {
    this.config = { ...DEFAULT_ASSIGNMENT_CONFIG, ...config };
    this.cache = new TtlCache(this.config.cacheTtlSec);
  }

  /**
   * The ids assigned to the token's user under `strategy`, directly assigned ones first. Denials: 403 when
   * there are none, 502 when a backend lookup fails, 401 when the token names no user.
   */
  async ids(claims: TokenClaims, strategy: SyncStrategy): Promise<string[]> {
    const { sub } = claims;
    if (!sub) throw new GatewayDenial(401, 'login', 'the token has no sub claim');
    let ids: string[];
    if (this.config.source === 'claims') {
      const claimed = claimIds(claims[this.config.claims[strategy === 'RelatedEntityLocation' ? 'Location' : strategy]]);
      // The claimed ids are part of the key: a newer token may list others.
      ids = await this.cache.get(`${sub}\0${strategy}\0${JSON.stringify(claimed)}`, () =>
        this.isLocationStrategy(strategy) ? this.withDescendants(claimed) : Promise.resolve(claimed),
      );
    } else {
      ids = await this.cache.get(`${sub}\0${strategy}`, () => this.fromFhir(sub, strategy));
    }
    if (!ids.length) throw new GatewayDenial(403, 'forbidden', `no assignment for sync strategy ${strategy}`);
    return ids;
  }

  /**
   * The Locations a caller chose (`_syncLocations`) with all their descendants, cached by the sorted id set
   * whoever asks. Denials: 502 when a backend lookup fails.
   */
  chosenLocations(ids: readonly string[]): Promise<string[]> {
    const sorted = [...new Set(ids)].sort();
    return this.cache.get(`\0${SYNC_LOCATIONS_KEY}\0${JSON.stringify(sorted)}`, () => this.withDescendants(sorted));
  }

  /** Forget cached assignments: one user's, or everyone's (and every chosen Location set). */
  invalidate(sub?: string): void {
    this.cache.invalidate(sub === undefined ? undefined : (key) => key.startsWith(`${sub}\0`));
  }

  private isLocationStrategy(strategy: SyncStrategy): boolean {
    return strategy === 'Location' || strategy === 'RelatedEntityLocation';
  }

  /**
   * Everything the FHIR server holds of the token's user (its Practitioner by the Keycloak id, its CareTeams,
   * PractitionerRoles, Organizations, Groups, OrganizationAffiliations and affiliated Locations), or undefined when
   * no Practitioner carries the user's id. Denials: 401 without sub, 502 when a lookup fails.
   */
  async details(claims: TokenClaims): Promise<PractitionerDetails | undefined> {
    if (!claims.sub) throw new GatewayDenial(401, 'login', 'the token has no sub claim');
    const lookup = this.practitionerLookup(claims.sub);
    const practitioner = await lookup.practitioner();
    if (!practitioner) return undefined;
    const member = `Practitioner/${practitioner.id}`;
    return {
      practitioner,
      careTeams: await lookup.careTeams(),
      practitionerRoles: await lookup.roles(),
      organizations: await lookup.organizations(),
      // The reference's: the Groups listing the user as an assigned practitioner.
      groups: await this.searchAll<Group>('Group', { member: [member], code: ['http://snomed.info/sct|405623001'] }),
      organizationAffiliations: await lookup.affiliations(),
      locations: await lookup.locations(),
    };
  }

  private async fromFhir(sub: string, strategy: SyncStrategy): Promise<string[]> {
    const lookup = this.practitionerLookup(sub);
    const practitioner = await lookup.practitioner();
    if (!practitioner?.id) return [];
    if (strategy === 'Practitioner') return [practitioner.id];
    if (strategy === 'CareTeam') return unique((await lookup.careTeams()).map((t) => t.id));
    if (strategy === 'Organization') return unique((await lookup.organizations()).map((o) => o.id));
    return this.withDescendants(unique((await lookup.locations()).map((l) => l.id)));
  }

  /** The OpenSRP lookups of one user, each made once and only when asked for (a strategy needs a prefix of them). */
  private practitionerLookup(sub: string) {
    const once = <T>(fn: () => Promise<T>): (() => Promise<T>) => {
      let value: Promise<T> | undefined;
      return () => (value ??= fn());
    };
    const practitioner = once(async () => {
      const system = this.config.practitionerIdentifierSystem;
      const identifier = `${system ? `${escapeSearchValue(system)}|` : ''}${escapeSearchValue(sub)}`;
      const found = await this.lookup(`Practitioner?identifier=${identifier}`, () =>
        this.backend.search('Practitioner', { identifier: [identifier] }),
      );
      const first = found.entry?.find((e) => e.resource?.resourceType === 'Practitioner')?.resource as Practitioner | undefined;
      return first?.id ? first : undefined;
    });
    const member = async () => `Practitioner/${(await practitioner())?.id ?? ''}`;
    const careTeams = once(async () => this.searchAll<CareTeam>('CareTeam', { participant: [await member()] }));
    const roles = once(async () => this.searchAll<PractitionerRole>('PractitionerRole', { practitioner: [await member()] }));
    const organizations = once(async () => {
      const referenced = unique([
        ...(await careTeams()).flatMap((t) => (t.managingOrganization ?? []).map((r) => referencedId(r.reference, 'Organization'))),
        ...(await roles()).map((r) => referencedId(r.organization?.reference, 'Organization')),
      ]);
      return this.searchByValues<Organization>('Organization', '_id', referenced);
    });
    const affiliations = once(async () =>
      this.searchByValues<OrganizationAffiliation>(
        'OrganizationAffiliation',
        'primary-organization',
        unique((await organizations()).map((o) => o.id)).map((id) => `Organization/${id}`),
      ),
    );
    // Like the reference, an affiliation contributes its first location.
    const locations = once(async () =>
      this.searchByValues<Location>(
        'Location',
        '_id',
        unique((await affiliations()).map((a) => referencedId(a.location?.[0]?.reference, 'Location'))),
      ),
    );
    return { practitioner, careTeams, roles, organizations, affiliations, locations };
  }

  /** The Locations and, when configured, all their descendants, breadth first after them. */
  private async withDescendants(roots: string[]): Promise<string[]> {
    if (!this.config.expandLocationDescendants) return roots;
    return [...new Set([...roots, ...(await this.descendants(roots)).map((l) => l.id as string)])];
  }

  /** The Locations `ids` and all their descendants, breadth first (a LocationHierarchy). Denials: 502 on lookup failures. */
  async locationsBelow(ids: string[]): Promise<Location[]> {
    const roots = ids.length ? await this.searchByValues<Location>('Location', '_id', ids) : [];
    return [...roots, ...(await this.descendants(unique(roots.map((l) => l.id))))];
  }

  /** Every descendant of the Locations by `partOf`, breadth first; a partOf cycle cannot loop (each id is visited once). */
  private async descendants(roots: string[]): Promise<Location[]> {
    const seen = new Set(roots);
    const found: Location[] = [];
    let level = roots;
    while (level.length) {
      const children: Location[] = [];
      for (const child of await this.searchByValues<Location>(
        'Location',
        'partof',
        level.map((id) => `Location/${id}`),
      )) {
        if (!child.id || seen.has(child.id)) continue;
        seen.add(child.id);
        children.push(child);
      }
      found.push(...children);
      level = children.map((c) => c.id as string);
    }
    return found;
  }

  /** Resources matching any of `values` for `param`, in searches of at most IDS_PER_SEARCH values. */
  private async searchByValues<T extends Resource>(type: T['resourceType'], param: string, values: string[]): Promise<T[]> {
    const found: T[] = [];
    for (let i = 0; i < values.length; i += IDS_PER_SEARCH) {
      const chunk = values.slice(i, i + IDS_PER_SEARCH).map(escapeSearchValue);
      found.push(...(await this.searchAll<T>(type, { [param]: [chunk.join(',')] })));
    }
    return found;
  }

  private searchAll<T extends Resource>(type: T['resourceType'], params: Record<string, string[]>): Promise<T[]> {
    const query = { ...params, _count: [String(this.config.pageSize)] };
    const shown = (v: string[]) => (v.join(',').length > 80 ? `${v.join(',').slice(0, 80)}…` : v.join(','));
    const what = `${type}?${Object.entries(params)
      .map(([k, v]) => `${k}=${shown(v)}`)
      .join('&')}`;
    return this.lookup(what, () => searchAll<T>(this.backend, type, query));
  }

  private async lookup<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw backendFailure(
        "the user's assignment could not be read from the FHIR server",
        `assignment lookup ${what}: ${failureText(err)}`,
      );
    }
  }
}
