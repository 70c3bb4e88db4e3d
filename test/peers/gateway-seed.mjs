// Seed data of the gateway tests, as plain data with fixed ids so that tests can name what they expect back:
// a Location tree, Organizations, the Practitioners of the sandbox realm's gateway users with the resources
// that assign them (PractitionerRole, CareTeam, OrganizationAffiliation), clinical resources tagged the way
// OpenSRP clients tag them (their writer's practitioner tag too), the app configurations (Composition → Binary)
// and sync-config resources.
//
//   R1 ─┬─ L1 ─┬─ L1a ── L1a1        L9 (outside every assignment)
//       │      ├─ L1b
//       │      └─ L1c
//       └─ L2 ─── L2a
//
// carol: PractitionerRole → O1, O1 affiliated with L1            → Location ids L1, L1a, L1a1, L1b, L1c
// dave:  PractitionerRole → O2, CareTeam CT2 managed by O3       → Organization ids O2, O3
// erin:  participant of CareTeam CT1                              → CareTeam ids CT1
// rita:  PractitionerRole → O2, O2 affiliated with L2             → Location ids L2, L2a
// pia:   her Practitioner only                                    → Practitioner ids practitioner-pia
// unassigned: a Practitioner with nothing assigned; stranger: no Practitioner at all.
// list-L1 (tagged L1) lists patient-L1a, patient-L9 and patient-L1b.
//
// seed(base) posts it all as one transaction; fetchBackend(base) reads it back the way the gateway does.
import { users } from './realm.mjs';

/** The identifier system under which Practitioners carry their Keycloak user id (the token's `sub`). */
export const KEYCLOAK_USER_SYSTEM = 'http://sandbox.local/keycloak-user';

export const TAG_SYSTEMS = {
  Location: 'https://smartregister.org/location-tag-id',
  Organization: 'https://smartregister.org/organisation-tag-id',
  CareTeam: 'https://smartregister.org/care-team-tag-id',
  Practitioner: 'https://smartregister.org/practitioner-tag-id',
  RelatedEntityLocation: 'https://smartregister.org/related-entity-location-tag-id',
  LocationLineage: 'http://smartregister.org/CodeSystem/location-lineage',
};

/** App ids with a configuration, and the strategy each configures (undefined: a broken configuration). */
export const APP_IDS = {
  'sandbox-app': 'Location',
  'sandbox-app-org': 'Organization',
  'sandbox-app-careteam': 'CareTeam',
  'sandbox-app-rel': 'RelatedEntityLocation',
  'sandbox-app-practitioner': 'Practitioner',
  'broken-no-strategy': undefined,
  'broken-unknown-strategy': undefined,
  'broken-no-section': undefined,
  'broken-not-json': undefined,
  'broken-missing-binary': undefined,
};

const subOf = (username) => {
  const user = users.find((u) => u.username === username);
  if (!user) throw new Error(`realm.mjs has no user ${username}`);
  return user.sub;
};

const tag = (system, code) => ({ system, code });

// Location tree: each Location carries its own location tag and its lineage (ancestors and itself).
const tree = { R1: undefined, L1: 'R1', L2: 'R1', L1a: 'L1', L1a1: 'L1a', L1b: 'L1', L1c: 'L1', L2a: 'L2', L9: undefined };
const lineage = (id) => (id ? [...lineage(tree[id]), id] : []);
const locations = Object.entries(tree).map(([id, parent]) => ({
  resourceType: 'Location',
  id,
  name: `Location ${id}`,
  status: 'active',
  meta: { tag: [tag(TAG_SYSTEMS.Location, id), ...lineage(id).map((code) => tag(TAG_SYSTEMS.LocationLineage, code))] },
  ...(parent && { partOf: { reference: `Location/${parent}` } }),
}));

const organizations = ['O1', 'O2', 'O3'].map((id) => ({ resourceType: 'Organization', id, name: `Organization ${id}`, active: true }));

const gatewayUsers = ['carol', 'dave', 'erin', 'rita', 'pia', 'unassigned'];
const practitioners = gatewayUsers.map((name) => ({
  resourceType: 'Practitioner',
  id: `practitioner-${name}`,
  identifier: [{ system: KEYCLOAK_USER_SYSTEM, value: subOf(name) }],
  name: [{ given: [name] }],
}));

const practitionerRoles = [
  ['carol', 'O1'],
  ['dave', 'O2'],
  ['rita', 'O2'],
].map(([name, org]) => ({
  resourceType: 'PractitionerRole',
  id: `role-${name}-${org}`,
  practitioner: { reference: `Practitioner/practitioner-${name}` },
  organization: { reference: `Organization/${org}` },
}));

const careTeams = [
  ['CT1', 'erin', 'O1'],
  ['CT2', 'dave', 'O3'],
  ['CT3', undefined, 'O3'],
].map(([id, member, org]) => ({
  resourceType: 'CareTeam',
  id,
  name: `Care team ${id}`,
  status: 'active',
  participant: member ? [{ member: { reference: `Practitioner/practitioner-${member}` } }] : undefined,
  managingOrganization: [{ reference: `Organization/${org}` }],
}));

const affiliations = [
  ['O1', 'L1'],
  ['O2', 'L2'],
].map(([org, loc]) => ({
  resourceType: 'OrganizationAffiliation',
  id: `affiliation-${org}-${loc}`,
  active: true,
  organization: { reference: `Organization/${org}` },
  location: [{ reference: `Location/${loc}` }],
}));

// Clinical resources: tagged as a client with that location, organisation and care team writes them, with the
// practitioner tag of the user who wrote them (pia visits in two districts). patient-L9 is outside every assignment;
// patient-untagged carries no tag at all.
const placed = [
  ['L1a', 'O1', 'CT1', 'carol'],
  ['L1b', 'O1', undefined, 'pia'],
  ['L1a1', 'O1', 'CT1', 'carol'],
  ['L2a', 'O2', 'CT2', 'rita'],
  ['L2', 'O3', 'CT3', 'pia'],
  ['L9', 'O9', 'CT9', undefined],
];
const clinicalTags = (loc, org, team, writer) => [
  tag(TAG_SYSTEMS.Location, loc),
  tag(TAG_SYSTEMS.Organization, org),
  ...(team ? [tag(TAG_SYSTEMS.CareTeam, team)] : []),
  tag(TAG_SYSTEMS.RelatedEntityLocation, loc),
  ...(writer ? [tag(TAG_SYSTEMS.Practitioner, `practitioner-${writer}`)] : []),
];
const patients = [
  ...placed.map(([loc, org, team, writer]) => ({
    resourceType: 'Patient',
    id: `patient-${loc}`,
    meta: { tag: clinicalTags(loc, org, team, writer) },
    name: [{ family: `Patient ${loc}` }],
  })),
  { resourceType: 'Patient', id: 'patient-untagged', name: [{ family: 'Untagged' }] },
];
const observations = placed.map(([loc, org, team, writer]) => ({
  resourceType: 'Observation',
  id: `observation-${loc}`,
  meta: { tag: clinicalTags(loc, org, team, writer) },
  status: 'final',
  code: { text: 'weight' },
  subject: { reference: `Patient/patient-${loc}` },
  valueQuantity: { value: 60, unit: 'kg' },
}));
const encounters = placed.map(([loc, org, team, writer]) => ({
  resourceType: 'Encounter',
  id: `encounter-${loc}`,
  meta: { tag: clinicalTags(loc, org, team, writer) },
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: `Patient/patient-${loc}` },
}));

// A List in carol's assignment whose items reach outside it (patient-L9): the gateway's List expansion must drop it.
const lists = [
  {
    resourceType: 'List',
    id: 'list-L1',
    meta: { tag: [tag(TAG_SYSTEMS.Location, 'L1')] },
    status: 'current',
    mode: 'working',
    title: 'Patients followed at L1',
    entry: ['patient-L1a', 'patient-L9', 'patient-L1b'].map((id) => ({ item: { reference: `Patient/${id}` } })),
  },
];

// App configurations as fhircore reads them: Composition (identifier = app id) whose section with focus
// identifier `application` references the Binary holding the JSON configuration.
const binary = (id, json) => ({
  resourceType: 'Binary',
  id,
  contentType: 'application/json',
  data: Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)).toString('base64'),
});
const composition = (appId, sections) => ({
  resourceType: 'Composition',
  id: `composition-${appId}`,
  identifier: { value: appId },
  status: 'final',
  type: { text: 'Application configuration' },
  date: '2025-01-01',
  author: [{ display: 'sandbox' }],
  title: `Configuration of ${appId}`,
  section: sections,
});
const section = (focusId, reference) => ({
  title: focusId,
  focus: { identifier: { value: focusId }, reference },
  entry: [{ reference }],
});
const appConfig = (appId, config) => [
  // The application section is nested one level down, below an unrelated one, as a real config may have it.
  composition(appId, [
    section('navigation', 'Binary/sandbox-navigation'),
    { title: 'app', section: [section('application', `Binary/${appId}-config`)] },
  ]),
  binary(`${appId}-config`, config),
];
const appConfigs = [
  binary('sandbox-navigation', { menu: [] }),
  ...appConfig('sandbox-app', { appId: 'sandbox-app', syncStrategy: ['Location'] }),
  ...appConfig('sandbox-app-org', { appId: 'sandbox-app-org', syncStrategy: ['organization'] }),
  ...appConfig('sandbox-app-careteam', { appId: 'sandbox-app-careteam', syncStrategies: ['CareTeam'] }),
  ...appConfig('sandbox-app-rel', { appId: 'sandbox-app-rel', syncStrategy: ['RelatedEntityLocation'] }),
  ...appConfig('sandbox-app-practitioner', { appId: 'sandbox-app-practitioner', syncStrategy: ['Practitioner'] }),
  ...appConfig('broken-no-strategy', { appId: 'broken-no-strategy' }),
  ...appConfig('broken-unknown-strategy', { appId: 'broken-unknown-strategy', syncStrategy: ['Village'] }),
  composition('broken-no-section', [section('navigation', 'Binary/sandbox-navigation')]),
  ...appConfig('broken-not-json', 'this is not JSON'),
  composition('broken-missing-binary', [section('application', 'Binary/does-not-exist')]),
];

// Sync-config resources: untagged, reached through the sync-filter ignore list.
const syncConfig = [
  { resourceType: 'Questionnaire', id: 'questionnaire-registration', status: 'active', name: 'registration' },
  {
    resourceType: 'StructureMap',
    id: 'structuremap-registration',
    url: 'http://sandbox.local/StructureMap/registration',
    name: 'registration',
    status: 'active',
    group: [
      { name: 'main', typeMode: 'none', input: [{ name: 'src', mode: 'source' }], rule: [{ name: 'copy', source: [{ context: 'src' }] }] },
    ],
  },
];

export const resources = [
  ...locations,
  ...organizations,
  ...practitioners,
  ...practitionerRoles,
  ...careTeams,
  ...affiliations,
  ...patients,
  ...observations,
  ...encounters,
  ...lists,
  ...appConfigs,
  ...syncConfig,
];

/** The seed as one transaction Bundle of PUTs, so ids are the fixed ones above. */
export function seedBundle() {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

/** POST the seed to a FHIR base as one transaction; rejects unless every entry succeeded. */
export async function seed(base) {
  const res = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(seedBundle()),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`seeding ${base} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * The gateway's LookupBackend (src/gateway/backend-search.ts) over plain fetch to a FHIR base; failures reject with
 * the status and the OperationOutcome's text.
 */
export function fetchBackend(base) {
  const get = async (url) => {
    const res = await fetch(url, { headers: { accept: 'application/fhir+json' } });
    const body = await res.json().catch(() => undefined);
    if (!res.ok) {
      const text = body?.issue?.map((i) => i.diagnostics ?? i.details?.text).join('; ');
      throw new Error(`GET ${url} answered ${res.status}${text ? `: ${text}` : ''}`);
    }
    return body;
  };
  return {
    search(type, params) {
      const query = new URLSearchParams();
      for (const [name, values] of Object.entries(params)) for (const value of values) query.append(name, value);
      return get(`${base}${type}?${query}`);
    },
    page: get,
    read: (type, id) => get(`${base}${type}/${encodeURIComponent(id)}`),
  };
}
