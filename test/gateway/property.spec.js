'use strict';
// Property test of the whole gateway: thousands of random requests (every kind of caller, verb, path shape,
// search parameter and body, including transaction and batch Bundles and replayed paging links) through
// Gateway.handle against the seeded sandbox FHIR server, with real tokens. Whatever the request:
//   (a) the gateway never answers 5xx (the peer is healthy, so no backend or app-config failure can explain one);
//   (b) a caller without WEB_CLIENT gets no resource outside its assignment, wherever it sits in the answer;
//   (c) a denial is a 400, 401 or 403 with an OperationOutcome (401s with WWW-Authenticate);
//   (d) no answer names the backend's URL;
//   (e) a filtered caller's write changes nothing outside its own assignment: the resources outside every
//       assignment keep their version, and what it creates carries its own assignment's tags (and a Location's
//       parent is one it may see), whatever it chose with _syncLocations;
//   (f) links read from stored resources (a client-written Bundle) are never signed.
// Generators cover each attack class: PATCH operations on any path, conditional headers and entries, Location
// writes with any partOf, client-written Bundles with paging links, parameter names of Object.prototype, and
// deep or malformed bodies.
// It runs on the sandbox and on HAPI FHIR with Keycloak's tokens (fewer requests there: HAPI on PostgreSQL
// answers each in milliseconds, not microseconds).
// GATEWAY_PROPERTY_SEED and GATEWAY_PROPERTY_RUNS (GATEWAY_PROPERTY_RUNS_HAPI) replay or widen a run.
const { expect } = require('chai');
const fc = require('fast-check');
const { DEFAULT_SYNC_FILTER_IGNORE } = require('../../nodes/lib/gateway/access/sync-ignore.js');
const { PUBLIC, tokenOf, makeGatewayOn, call, linkRequest } = require('../support/gateway');
const { onEachBackend, SANDBOX } = require('../support/gateway-backends');

const SEED = Number(process.env.GATEWAY_PROPERTY_SEED ?? 20250611);
const RUNS = Number(process.env.GATEWAY_PROPERTY_RUNS ?? 5000);
const RUNS_HAPI = Number(process.env.GATEWAY_PROPERTY_RUNS_HAPI ?? 1000);

// What each filtered caller may see: its strategy's tag systems (the seed's TAG_SYSTEMS) and assigned ids, as
// test/peers/gateway-seed.mjs assigns them (its header comment). Callers that must never get data (no or bad token,
// a broken client-role setup, nothing assigned, no Practitioner) have no ids. webby (WEB_CLIENT) is unfiltered.
// The OpenSRP tag systems, the gateway's defaults.
const { DEFAULT_TAG_SYSTEMS: SYS } = require('../../nodes/lib/gateway/assignment/tags.js');
const NOTHING = { systems: [], ids: [] };
const ASSIGNMENT = {
  carol: { systems: [SYS.Location], ids: ['L1', 'L1a', 'L1a1', 'L1b', 'L1c'] },
  dave: { systems: [SYS.Organization], ids: ['O2', 'O3'] },
  erin: { systems: [SYS.CareTeam], ids: ['CT1'] },
  rita: { systems: [SYS.RelatedEntityLocation, SYS.LocationLineage], ids: ['L2', 'L2a'] },
  pia: { systems: [SYS.Practitioner], ids: ['practitioner-pia'] },
  unassigned: NOTHING,
  stranger: NOTHING,
  twoclients: NOTHING,
  noclient: NOTHING,
  anonymous: NOTHING,
  forged: NOTHING,
};
const USERS = ['carol', 'dave', 'erin', 'rita', 'pia', 'webby', 'twoclients', 'noclient', 'unassigned', 'stranger'];
const CALLERS = [...USERS, 'anonymous', 'forged'];

// OperationOutcome issue codes of a denial, by status (the spec's table).
const ISSUE_CODES = {
  400: ['invalid', 'not-supported'],
  401: ['login'],
  403: ['forbidden'],
  404: ['not-found'],
  412: ['conflict'],
  413: ['too-costly'],
};

// Exempt from (b): sync-config resources of the default ignore list carry no assignment tags by design; the
// CapabilityStatement and OperationOutcomes are the gateway's and the server's own.
const EXEMPT = new Set([...DEFAULT_SYNC_FILTER_IGNORE.map((e) => e.path), 'CapabilityStatement', 'OperationOutcome']);

const TYPES = ['Patient', 'Observation', 'Encounter', 'Location', 'Organization', 'Practitioner', 'PractitionerRole', 'CareTeam'];
const MORE_TYPES = ['OrganizationAffiliation', 'Questionnaire', 'StructureMap', 'Composition', 'Binary', 'List', 'Group', 'Device'];
const ALL_TYPES = [...TYPES, ...MORE_TYPES];
const TAG_CODES = [
  ...['L1', 'L1a', 'L1b', 'L2', 'L2a', 'L9', 'R1', 'O1', 'O2', 'O3', 'O9', 'CT1', 'CT2', 'CT9'],
  ...['practitioner-pia', 'practitioner-carol', 'nowhere'],
];

// Resources of this spec beside the seed: each refers across assignments, so that includes, revincludes and
// compartments would bring resources of another assignment along unless the gateway filters them out.
const OUT = { L: 'L9', O: 'O9', CT: 'CT9', P: 'practitioner-nobody' };
const tags = ({ L, O, CT, P }) => [
  { system: SYS.Location, code: L },
  { system: SYS.Organization, code: O },
  { system: SYS.CareTeam, code: CT },
  { system: SYS.RelatedEntityLocation, code: L },
  { system: SYS.Practitioner, code: P },
];
const observation = (id, tagged, subject) => ({
  resourceType: 'Observation',
  id,
  meta: { tag: tags(tagged) },
  status: 'final',
  code: { text: 'height' },
  subject: { reference: subject },
  focus: [{ reference: 'Questionnaire/questionnaire-registration' }],
});
const BAIT = [
  observation('bait-outside-of-L1a', OUT, 'Patient/patient-L1a'),
  observation('bait-outside-of-L2a', OUT, 'Patient/patient-L2a'),
  // In every filtered caller's assignment, about a patient in none of them.
  observation('bait-inside-of-L9', { L: 'L1a', O: 'O2', CT: 'CT1', P: 'practitioner-pia' }, 'Patient/patient-L9'),
];

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every resource an answer carries: the body, Bundle entries (nested Bundles of batch answers too), outcomes,
 * Parameters parts.
 */
function* resourcesIn(value) {
  if (!isObject(value) || typeof value.resourceType !== 'string') return;
  yield value;
  if (value.resourceType === 'Bundle') {
    for (const entry of value.entry ?? []) {
      yield* resourcesIn(entry.resource);
      yield* resourcesIn(entry.response?.outcome);
    }
  }
  if (value.resourceType === 'Parameters') {
    for (const p of value.parameter ?? []) {
      yield* resourcesIn(p.resource);
      for (const part of p.part ?? []) yield* resourcesIn(part.resource);
    }
  }
}

/** Random requests: callers, verbs, path shapes, search parameters and bodies, with the ids of the given resources. */
function requestArbitrary(resources, backendBase) {
  const idsOf = (type) => resources.filter((r) => r.resourceType === type).map((r) => r.id);
  const seededIds = () => resources.map((r) => r.id);

  const validId = fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/);
  const weirdId = fc.constantFrom('..', '.', '%2F..', 'a%2Fb', 'x'.repeat(65), 'x'.repeat(400), 'ünï', "' OR 1=1", '$x', '_x', '*');
  const idOf = (type) =>
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...(idsOf(type).length ? idsOf(type) : ['none'])) },
      { weight: 2, arbitrary: fc.constantFrom(...seededIds()) },
      { weight: 1, arbitrary: validId },
      { weight: 1, arbitrary: weirdId },
    );
  // Mostly the types the seeded users hold roles for.
  const typeArb = weighted([
    [6, fc.constant('Patient')],
    [4, fc.constant('Observation')],
    [3, fc.constantFrom('Encounter', 'Location')],
    [2, fc.constantFrom(...ALL_TYPES)],
  ]);
  const anyType = fc.oneof({ weight: 9, arbitrary: typeArb }, { weight: 1, arbitrary: fc.constantFrom('patient', 'Nonsense', 'Bundle') });
  const withId = (fn) => anyType.chain((type) => idOf(type).map((id) => fn(type, id)));

  const pathArb = fc.oneof(
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 8, arbitrary: anyType },
    { weight: 8, arbitrary: withId((t, id) => `${t}/${id}`) },
    { weight: 3, arbitrary: anyType.map((t) => `${t}/_search`) },
    { weight: 2, arbitrary: anyType.map((t) => `${t}/_history`) },
    { weight: 3, arbitrary: withId((t, id) => `${t}/${id}/_history`) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          withId((t, id) => `${t}/${id}/_history`),
          fc.constantFrom('1', '2', '99'),
        )
        .map(([p, v]) => `${p}/${v}`),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(idOf('Patient'), fc.constantFrom('Observation', 'Encounter', 'Location', 'Patient', 'Questionnaire', '*'))
        .map(([id, t]) => `Patient/${id}/${t}`),
    },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.constantFrom('$export', '$meta', '$process-message', 'Patient/$everything', 'Observation/$lastn', 'Patient/$validate'),
        idOf('Patient').map((id) => `Patient/${id}/$everything`),
        withId((t, id) => `${t}/${id}/$meta`),
      ),
    },
    { weight: 2, arbitrary: fc.constantFrom('metadata', '.well-known/smart-configuration', '_history') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '../Patient',
        'Patient/..',
        'Patient/../Observation',
        'Patient/%2F..%2FObservation',
        'Patient/%2e%2e',
        '/Patient',
        'Patient//patient-L9',
        'Patient/patient-L9/',
        'Patient/a/b/c/d/e',
        'Patient/_search/x',
        'Patient/patient-L9/_history/1/x',
        'Patient/patient-L1a/../patient-L9',
        'Patient?_id=patient-L9',
        `Patient/${'a'.repeat(300)}`,
        'metadata/x',
        '.well-known/../Patient',
      ),
    },
  );

  const tagValue = fc
    .array(fc.tuple(fc.constantFrom(...Object.values(SYS)), fc.constantFrom(...TAG_CODES)), { minLength: 1, maxLength: 3 })
    .map((pairs) => pairs.map(([s, c]) => `${s}|${c}`).join(','));
  const includeTarget = fc.constantFrom(
    'Observation:subject',
    'Observation:subject:Patient',
    'Observation:patient',
    'Observation:focus',
    'Encounter:subject',
    'Patient:general-practitioner',
    'Location:partof',
    'PractitionerRole:organization',
    'CareTeam:participant',
    '*',
    'Observation:*',
    'garbage',
  );
  const smallString = fc.string({ maxLength: 12 });
  // Mostly parameters a client sends; fewer of the ones refused outright.
  const paramArb = weighted([
    [3, fc.tuple(fc.constant('_tag'), tagValue)],
    [
      2,
      fc.tuple(
        fc.constantFrom('_id', '_id:not'),
        fc.array(fc.constantFrom(...seededIds()), { minLength: 1, maxLength: 3 }).map((a) => a.join(',')),
      ),
    ],
    [3, fc.tuple(fc.constantFrom('name', 'family', 'status', 'code', 'identifier'), smallString)],
    [
      3,
      fc.tuple(
        fc.constantFrom('subject', 'patient', 'partof', 'organization'),
        withId((t, id) => `${t}/${id}`),
      ),
    ],
    [4, fc.tuple(fc.constantFrom('_include', '_include:iterate', '_include:recurse', '_revinclude', '_revinclude:iterate'), includeTarget)],
    [
      1,
      fc.tuple(fc.constantFrom('_has:Observation:subject:status', '_has:Observation:patient:_id', '_has'), fc.constantFrom('final', 'x')),
    ],
    [1, fc.tuple(fc.constantFrom('subject.name', 'subject:Patient.name', 'patient.family', 'organization.name'), smallString)],
    [1, fc.tuple(fc.constantFrom('_filter', '_query', '_contained', '_containedType', '_list', '_text', '_content'), smallString)],
    [3, fc.tuple(fc.constant('_count'), fc.constantFrom('0', '1', '2', '5', '1000', '-1', 'abc'))],
    [1, fc.tuple(fc.constant('_offset'), fc.constantFrom('0', '1', '3', '-5', 'x'))],
    [1, fc.tuple(fc.constantFrom('_getpages', '_gw'), fc.oneof(smallString, fc.constantFrom('9999999999.abc', '1.x')))],
    [1, fc.tuple(fc.constant('_sort'), fc.constantFrom('_id', '-_lastUpdated', 'name', 'garbage', ''))],
    [1, fc.tuple(fc.constant('_summary'), fc.constantFrom('count', 'true', 'data', 'text', 'false'))],
    [1, fc.tuple(fc.constant('_elements'), fc.constantFrom('id', 'meta', 'name', 'subject'))],
    [1, fc.tuple(fc.constant('_total'), fc.constantFrom('accurate', 'none'))],
    [1, fc.tuple(fc.constant('_syncLocations'), fc.constantFrom('L9', 'L1,L2', 'R1'))],
    [1, fc.tuple(fc.constant('filter_mode_lineage'), fc.constantFrom('true', ''))],
    [1, fc.tuple(fc.constant('mode'), fc.constant('list-entries'))],
    [1, fc.tuple(fc.stringMatching(/^[a-z_:.-]{1,12}$/), smallString)],
    [1, fc.tuple(fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'), smallString)],
  ]);
  const queryArb = fc.array(paramArb, { maxLength: 3 }).map((pairs) => {
    const query = Object.create(null);
    for (const [name, value] of pairs) (Object.hasOwn(query, name) ? query[name] : (query[name] = [])).push(value);
    return query;
  });

  // Tags as a client writes them for one placement (mostly), or any mix.
  const placementTags = fc
    .constantFrom(
      ['L1a', 'O1', 'CT1', 'practitioner-carol'],
      ['L1b', 'O1', 'CT9', 'practitioner-pia'],
      ['L2a', 'O2', 'CT2', 'practitioner-rita'],
      ['L9', 'O9', 'CT9', 'practitioner-nobody'],
    )
    .map(([L, O, CT, P]) => tags({ L, O, CT, P }));
  const mixedTags = fc.subarray(
    [
      ...['L1a', 'L1b', 'L2a', 'L9'].map((code) => ({ system: SYS.Location, code })),
      ...['O1', 'O2', 'O9'].map((code) => ({ system: SYS.Organization, code })),
      ...['CT1', 'CT9'].map((code) => ({ system: SYS.CareTeam, code })),
      ...['L2', 'L9'].map((code) => ({ system: SYS.RelatedEntityLocation, code })),
      ...['practitioner-pia', 'practitioner-carol'].map((code) => ({ system: SYS.Practitioner, code })),
      { system: SYS.LocationLineage, code: 'L2' },
      { system: 'http://example.org/other', code: 'L1a' },
    ],
    { maxLength: 4 },
  );
  const tagsArb = weighted([
    [3, placementTags],
    [2, mixedTags],
  ]);
  const REQUIRED = {
    Observation: { status: 'final', code: { text: 'weight' } },
    Encounter: { status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } },
    Questionnaire: { status: 'active' },
  };
  const resourceArb = (typeArbitrary = fc.constantFrom('Patient', 'Observation', 'Encounter', 'Location', 'Questionnaire')) =>
    fc
      .record({
        type: typeArbitrary,
        tag: tagsArb,
        id: fc.option(idOf('Patient'), { nil: undefined }),
        subject: fc.option(idOf('Patient')),
        partOf: fc.option(fc.constantFrom('L1', 'L1a', 'L1a1', 'L2', 'L2a', 'L9', 'R1', 'nowhere', 'urn:uuid:x')),
      })
      .map(({ type, tag, id, subject, partOf }) => ({
        resourceType: type,
        ...(id !== undefined && { id }),
        ...(tag.length && { meta: { tag } }),
        ...REQUIRED[type],
        ...(subject && ['Observation', 'Encounter'].includes(type) && { subject: { reference: `Patient/${subject}` } }),
        ...(partOf && type === 'Location' && { partOf: { reference: partOf.startsWith('urn:') ? partOf : `Location/${partOf}` } }),
      }));
  const pointer = fc.constantFrom(
    '',
    '/id',
    '/resourceType',
    '/meta',
    '/meta/tag',
    '/meta/tag/0',
    '/meta/tag/0/code',
    '/meta/versionId',
    '/partOf',
    '/partOf/reference',
    '/active',
    '/name/0/family',
    '/__proto__/x',
    '/constructor/prototype/x',
    '/x~1y',
  );
  const patchValue = fc.oneof(
    fc.constantFrom('patient-L9', 'L9', 'Observation', true, 'Location/L2', null),
    fc.constantFrom(...TAG_CODES).map((code) => ({ system: SYS.Location, code })),
    fc.constant({ resourceType: 'Patient', id: 'patient-L9' }),
  );
  const patchArb = fc.array(
    fc.oneof(
      fc.constantFrom(...TAG_CODES).map((code) => ({ op: 'replace', path: '/meta/tag/0/code', value: code })),
      fc.constantFrom(...TAG_CODES).map((code) => ({ op: 'add', path: '/meta/tag/-', value: { system: SYS.Location, code } })),
      fc.constant({ op: 'remove', path: '/meta' }),
      fc.constant({ op: 'replace', path: '/id', value: 'patient-L9' }),
      fc.constant({ op: 'add', path: '/active', value: true }),
      fc.record({ op: fc.constantFrom('add', 'replace', 'test'), path: pointer, value: patchValue }),
      fc.record({ op: fc.constantFrom('move', 'copy'), from: pointer, path: pointer }),
      fc.record({ op: fc.constant('remove'), path: pointer }),
    ),
    { minLength: 1, maxLength: 3 },
  );
  // Conditions a client may put on a request, as headers (and, in Bundle entries, as their request fields).
  const conditionArb = fc.option(
    fc.oneof(
      fc
        .constantFrom('family=Patient L9', 'identifier=x', '_has:Observation:subject:status=final', 'subject.name=x')
        .map((v) => ['if-none-exist', v]),
      fc.constantFrom('W/"1"', 'W/"2"', '*').map((v) => ['if-none-match', v]),
      fc.constantFrom('W/"1"', 'W/"0"').map((v) => ['if-match', v]),
      fc.constant(['if-modified-since', 'Thu, 01 Jan 1970 00:00:00 GMT']),
    ),
    { nil: undefined },
  );
  const ENTRY_FIELDS = {
    'if-none-exist': 'ifNoneExist',
    'if-none-match': 'ifNoneMatch',
    'if-match': 'ifMatch',
    'if-modified-since': 'ifModifiedSince',
  };
  const urlOf = (path, query) => (Object.keys(query).length ? `${path}?${new URLSearchParams(pairs(query))}` : path);
  const entryUrl = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(pathArb, queryArb).map(([p, q]) => urlOf(p, q)),
    },
    { weight: 1, arbitrary: withId((t, id) => `${backendBase}${t}/${id}`) },
    { weight: 1, arbitrary: withId((t, id) => `/${t}/${id}`) },
  );
  // Entries mostly well formed (the URL addresses the resource's type), else anything.
  const entryArb = weighted([
    [
      3,
      typeArb.chain((type) =>
        fc
          .record({
            method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
            id: idOf(type),
            query: queryArb,
            resource: resourceArb(fc.constant(type)),
            patch: patchArb,
            condition: conditionArb,
          })
          .map(({ method, id, query, resource, patch, condition }) => ({
            fullUrl: 'urn:uuid:8f7c6b54-9d5e-4d2a-9a1f-0e9b5c3d2a11',
            request: {
              method,
              url: method === 'POST' ? type : method === 'GET' && Object.keys(query).length ? urlOf(type, query) : `${type}/${id}`,
              ...(condition && { [ENTRY_FIELDS[condition[0]]]: condition[1] }),
            },
            ...(method === 'POST' && { resource }),
            ...(method === 'PUT' && { resource: { ...resource, id } }),
            ...(method === 'PATCH' && {
              resource: {
                resourceType: 'Binary',
                contentType: 'application/json-patch+json',
                data: Buffer.from(JSON.stringify(patch)).toString('base64'),
              },
            }),
          })),
      ),
    ],
    [
      1,
      fc.record(
        {
          fullUrl: fc.constantFrom('urn:uuid:8f7c6b54-9d5e-4d2a-9a1f-0e9b5c3d2a11', 'Patient/patient-L9'),
          request: fc.record(
            { method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'get'), url: entryUrl },
            { requiredKeys: ['method'] },
          ),
          resource: fc.oneof(resourceArb(), resourceArb(fc.constantFrom(...ALL_TYPES))),
        },
        { requiredKeys: ['request'] },
      ),
    ],
  ]);
  const bundleArb = fc.record(
    {
      resourceType: fc.constant('Bundle'),
      type: weighted([
        [4, fc.constantFrom('transaction', 'batch')],
        [1, fc.constantFrom('collection', 'searchset', 'garbage')],
      ]),
      entry: fc.array(entryArb, { minLength: 1, maxLength: 4 }),
    },
    { requiredKeys: ['resourceType', 'type'] },
  );
  const deep = (depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const junkBody = fc.constantFrom(
    '{"resourceType":',
    'hello',
    '[]',
    'null',
    '42',
    '"text"',
    '{}',
    '{"resourceType":"Nonsense"}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    `{"resourceType":"Patient","extension":${deep(3000)}}`,
    '{"constructor":{"prototype":{"x":1}},"__proto__":{"x":1},"resourceType":"Patient"}',
  );

  // Mostly callers who get data: the filtered ones, carol (the broadest roles) above all.
  const callerArb = weighted([
    [6, fc.constant('carol')],
    [12, fc.constantFrom('dave', 'erin', 'rita', 'pia')],
    [3, fc.constant('webby')],
    [6, fc.constantFrom(...CALLERS.filter((c) => !['carol', 'dave', 'erin', 'rita', 'pia', 'webby'].includes(c)))],
  ]);
  const asText = (body) => fc.boolean().map((text) => (text ? JSON.stringify(body) : body));

  // Request shapes, weighted towards the ones the gateway decides on.
  const requestArb = fc.oneof(
    // Reads and searches, some conditional.
    {
      weight: 12,
      arbitrary: fc
        .record({
          caller: callerArb,
          method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
          path: pathArb,
          query: queryArb,
          condition: conditionArb,
        })
        .map(({ condition, ...r }) => ({ ...r, ...(condition && { extraHeaders: { [condition[0]]: condition[1] } }) })),
    },
    // Client-written Bundles carrying paging links, and reads of them.
    {
      weight: 1,
      arbitrary: fc
        .record({
          caller: callerArb,
          write: fc.boolean(),
          link: fc.constantFrom(
            `${PUBLIC}/?_getpages=abc&_type=Practitioner,Organization`,
            `${PUBLIC}/Patient?_offset=1`,
            `${PUBLIC}/?_getpages=x`,
          ),
          tag: placementTags,
        })
        .map(({ caller, write, link, tag }) =>
          write
            ? {
                caller,
                method: 'PUT',
                path: 'Bundle/client-links',
                query: {},
                body: {
                  resourceType: 'Bundle',
                  id: 'client-links',
                  type: 'searchset',
                  meta: { tag },
                  link: [{ relation: 'next', url: link }],
                },
              }
            : { caller, method: 'GET', path: 'Bundle/client-links', query: {} },
        ),
    },
    // Sync-config searches by id (the ignore list), with what they may bring along.
    {
      weight: 3,
      arbitrary: fc
        .record({
          caller: callerArb,
          method: fc.constant('GET'),
          path: fc.constantFrom('Questionnaire', 'StructureMap', 'Questionnaire/_search'),
          id: fc.constantFrom('questionnaire-registration', 'structuremap-registration', 'nothing'),
          include: fc.tuple(
            fc.constantFrom('_revinclude', '_revinclude:iterate', '_include'),
            weighted([
              [1, fc.constant('Observation:focus')],
              [1, includeTarget],
            ]),
          ),
          query: queryArb,
        })
        .map(({ id, include: [name, target], query, ...r }) => ({ ...r, query: { ...query, _id: [id], [name]: [target] } })),
    },
    // Writes of a single resource, to a type or an id.
    {
      weight: 5,
      arbitrary: fc
        .record({ caller: callerArb, method: fc.constantFrom('POST', 'PUT', 'PUT', 'DELETE'), type: typeArb })
        .chain(({ type, ...r }) =>
          fc
            .record({
              id: idOf(type),
              // Mostly the type (and for PUT the id) the path names.
              resource: resourceArb(
                weighted([
                  [5, fc.constant(type)],
                  [1, fc.constantFrom(...ALL_TYPES)],
                ]),
              ),
              sameId: fc.boolean(),
              text: fc.boolean(),
              junk: weighted([
                [5, fc.constant(undefined)],
                [1, junkBody],
              ]),
              condition: conditionArb,
              query: weighted([
                [4, fc.constant({})],
                [1, fc.constantFrom({ _syncLocations: ['L1'] }, { _syncLocations: ['L9,R1'] })],
              ]),
            })
            .map(({ id, resource, sameId, text, junk, condition, query }) => {
              const body = r.method === 'PUT' && sameId ? { ...resource, id } : resource;
              return {
                ...r,
                path: r.method === 'POST' ? type : `${type}/${id}`,
                query,
                body: junk ?? (text ? JSON.stringify(body) : body),
                ...(condition && { extraHeaders: { [condition[0]]: condition[1] } }),
              };
            }),
        ),
    },
    // JSON Patch.
    {
      weight: 2,
      arbitrary: fc.record({
        caller: callerArb,
        method: fc.constant('PATCH'),
        path: withId((t, id) => `${t}/${id}`),
        query: fc.constant({}),
        body: fc.oneof(patchArb.chain(asText), junkBody),
        contentType: fc.constant('application/json-patch+json'),
      }),
    },
    // Transaction and batch Bundles.
    {
      weight: 5,
      arbitrary: fc.record({
        caller: callerArb,
        method: fc.constant('POST'),
        path: fc.constantFrom('', '', '', 'Patient'),
        query: fc.constant({}),
        body: fc.oneof({ weight: 6, arbitrary: bundleArb.chain(asText) }, { weight: 1, arbitrary: junkBody }),
      }),
    },
    // Search by POST with a form body.
    {
      weight: 2,
      arbitrary: fc.record({
        caller: callerArb,
        method: fc.constant('POST'),
        path: anyType.map((t) => `${t}/_search`),
        query: queryArb,
        body: queryArb.map((q) => Object.fromEntries(Object.entries(q).map(([k, v]) => [k, v.length === 1 ? v[0] : v]))),
        contentType: fc.constant('application/x-www-form-urlencoded'),
      }),
    },
    // A paging link handed out earlier, mostly to the same caller.
    {
      weight: 3,
      arbitrary: fc.record({
        caller: callerArb,
        method: fc.constant('GET'),
        replay: fc.nat(),
        own: weighted([
          [3, fc.constant(true)],
          [1, fc.constant(false)],
        ]),
      }),
    },
    // Anything at all.
    {
      weight: 2,
      arbitrary: fc.record({
        caller: callerArb,
        method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'),
        path: pathArb,
        query: queryArb,
        body: fc.option(fc.oneof(resourceArb(), bundleArb, junkBody)),
      }),
    },
  );
  return requestArb;
}

onEachBackend('gateway properties (random requests)', function (backend) {
  const runs = backend === SANDBOX ? RUNS : RUNS_HAPI;
  const { put, read } = backend;
  this.timeout(300000);
  let gateway;
  let close;
  let seedData;
  const tokens = {};
  let started;
  // What the run exercised, printed at the end: answers by decision and status, resources checked against assignments.
  const stats = { runs: 0, checked: 0, answers: {} };
  // Paging links the gateway handed out, replayed later.
  const links = [];

  before(async () => {
    seedData = await backend.seed();
    for (const resource of BAIT) await put(resource);
    for (const user of USERS) tokens[user] = await tokenOf(user, backend.issuer());
    ({ gateway, close } = await makeGatewayOn(backend));
  });
  after(() => {
    close?.();
    if (!started) return;
    const answers = Object.entries(stats.answers)
      .sort()
      .map(([key, n]) => `${key}: ${n}`)
      .join(', ');
    console.log(`      ${stats.runs} random requests in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${SEED})`);
    console.log(`      answers: ${answers}; ${stats.checked} resources returned to filtered callers checked against their assignment`);
  });

  function authorization(caller) {
    if (caller === 'anonymous') return {};
    if (caller === 'forged') {
      // carol's token with another signature: must count for nothing.
      const [header, payload] = tokens.carol.split('.');
      return { authorization: `Bearer ${header}.${payload}.${Buffer.from('forged').toString('base64url')}` };
    }
    return { authorization: `Bearer ${tokens[caller]}` };
  }

  function requestOf(r) {
    const headers = { ...authorization(r.caller), accept: 'application/fhir+json', ...(r.gzip && { 'accept-encoding': 'gzip' }) };
    if (r.replay !== undefined) {
      // Until the gateway has handed out a link, a search that gets one.
      const candidates = r.own ? links.filter((l) => l.caller === r.caller) : links;
      const url = candidates.length ? candidates[r.replay % candidates.length].url : `${PUBLIC}/Patient?_count=1`;
      return { method: r.method, ...linkRequest(url), headers };
    }
    const body = ['POST', 'PUT', 'PATCH'].includes(r.method) && r.body !== null ? r.body : undefined;
    if (body !== undefined) headers['content-type'] = r.contentType ?? 'application/fhir+json';
    Object.assign(headers, r.extraHeaders);
    return { method: r.method, path: r.path, query: r.query, headers, body };
  }

  // Resources an answer returns without tags (e.g. `_elements`) are judged by their tags on the backend.
  async function tagsOf(resource) {
    if (resource.meta?.tag || !resource.id) return resource.meta?.tag ?? [];
    const version = resource.meta?.versionId ? `/_history/${resource.meta.versionId}` : '';
    return (await read(resource.resourceType, `${encodeURIComponent(resource.id)}${version}`))?.meta?.tag ?? [];
  }

  // rita (ALL_LOCATIONS, RelatedEntityLocation) may choose her scope with `_syncLocations`: those Locations and
  // their descendants in the seed's tree.
  function scopeOf(caller, query) {
    const chosen = caller === 'rita' && query?._syncLocations;
    if (!chosen) return ASSIGNMENT[caller];
    const parents = new Map(
      seedData.resources.filter((r) => r.resourceType === 'Location').map((l) => [l.id, l.partOf?.reference?.split('/')[1]]),
    );
    const ids = new Set(chosen.flatMap((v) => v.split(',')));
    for (let grown = true; grown;) {
      grown = false;
      for (const [id, parent] of parents) if (ids.has(parent) && !ids.has(id)) grown = !!ids.add(id);
    }
    return { systems: ASSIGNMENT.rita.systems, ids: [...ids] };
  }

  async function outsideAssignment(caller, payload, query) {
    const { systems, ids } = scopeOf(caller, query);
    const leaks = [];
    let checked = 0;
    for (const resource of resourcesIn(payload)) {
      if (resource.resourceType === 'Bundle' || EXEMPT.has(resource.resourceType)) continue;
      checked++;
      const tagged = await tagsOf(resource);
      if (tagged.some((t) => systems.includes(t.system) && ids.includes(t.code))) continue;
      leaks.push(`${resource.resourceType}/${resource.id}`);
    }
    return { leaks, checked };
  }

  function remember(caller, json) {
    for (const link of (isObject(json) && json.resourceType === 'Bundle' && json.link) || []) {
      if (link.url?.startsWith(`${PUBLIC}/`) && link.relation !== 'self' && links.length < 200) links.push({ caller, url: link.url });
    }
  }

  // Resources outside every caller's assignment: no filtered caller's write may change them.
  const SENTINELS = [
    ['Patient', 'patient-L9'],
    ['Location', 'L9'],
    ['Observation', 'bait-outside-of-L1a'],
  ];
  const versions = async () => Promise.all(SENTINELS.map(async ([t, id]) => (await read(t, id))?.meta?.versionId));
  const filteredWriter = (r) => ASSIGNMENT[r.caller]?.ids.length > 0 && !['GET', 'HEAD'].includes(r.method);

  /** (e): what a filtered caller's successful write stored lies within its own assignment. */
  async function checkWritten(r, res, where) {
    const { systems, ids } = ASSIGNMENT[r.caller];
    const created = res.headers.location?.match(/\/([A-Z][A-Za-z]+)\/([^/]+)\/_history\//);
    if (!created || res.status >= 300) return;
    const stored = await read(created[1], created[2]);
    if (!stored) return;
    const own = (stored.meta?.tag ?? []).filter((t) => systems.includes(t.system));
    expect(
      own.length > 0 && own.every((t) => ids.includes(t.code)) ? [] : own,
      `${r.caller}: ${where} stored ${created[1]}/${created[2]} outside its assignment`,
    ).to.deep.equal([]);
    const parent = stored.resourceType === 'Location' && stored.partOf?.reference?.split('/')[1];
    if (parent) {
      const tags = (await read('Location', parent))?.meta?.tag ?? [];
      expect(
        tags.some((t) => systems.includes(t.system) && ids.includes(t.code)),
        `${where}: a Location under ${parent}`,
      ).to.equal(true);
    }
  }

  async function check(r) {
    const req = requestOf(r);
    const before = filteredWriter(r) ? await versions() : undefined;
    const res = await call(gateway, undefined, req.method, req.path, req);
    if (before)
      expect(await versions(), `${r.caller} ${req.method} ${req.path} changed a resource outside every assignment`).to.deep.equal(before);
    stats.runs++;
    stats.answers[`${res.info.decision} ${res.status}`] = (stats.answers[`${res.info.decision} ${res.status}`] ?? 0) + 1;
    const where = `${req.method} ${req.path} → ${res.status} ${res.info.decision} (${res.info.reason})`;
    // (a)
    expect(res.status, `${where}: ${res.text.slice(0, 300)}`).to.be.below(500);
    // (c)
    if (res.info.decision === 'deny') {
      expect(Object.keys(ISSUE_CODES).map(Number), where).to.include(res.status);
      expect(res.json?.resourceType, where).to.equal('OperationOutcome');
      expect(res.json.issue[0].severity, where).to.equal('error');
      expect(ISSUE_CODES[res.status], where).to.include(res.json.issue[0].code);
      if (res.status === 401) expect(res.headers['www-authenticate'], where).to.match(/^Bearer( error="invalid_token")?$/);
    }
    // (d), unless the request itself named the backend (an answer may quote it back)
    const backendBase = backend.base().replace(/\/$/, '');
    if (!JSON.stringify(req).includes(backendBase)) expect(res.text, where).to.not.include(backendBase);
    for (const name of ['location', 'content-location']) expect(res.headers[name] ?? '', where).to.not.include(backendBase);
    // (b)
    if (r.caller !== 'webby' && res.json !== undefined) {
      const { leaks, checked } = await outsideAssignment(r.caller, res.json, req.query);
      stats.checked += checked;
      expect(leaks, `${r.caller}: ${where} returned resources outside the assignment: ${leaks.join(', ')}`).to.deep.equal([]);
    }
    // (e)
    if (filteredWriter(r)) await checkWritten(r, res, where);
    // (f)
    if (/^Bundle\/[^/]+$/.test(req.path)) {
      for (const link of res.json?.link ?? []) expect(link.url, `${where}: a stored link was signed`).not.to.include('_gw=');
    }
    remember(r.caller, res.json);
    return true;
  }

  it(`keeps every caller within its assignment, with typed denials and no 5xx, over ${runs} random requests`, async function () {
    started = Date.now();
    const requests = fc
      .tuple(requestArbitrary([...seedData.resources, ...BAIT], backend.base()), fc.boolean())
      .map(([r, gzip]) => ({ ...r, gzip }));
    await fc.assert(
      fc.asyncProperty(requests, (r) => check(r)),
      { numRuns: runs, seed: SEED, verbose: fc.VerbosityLevel.Verbose },
    );
  });
});

/** fc.oneof over [weight, arbitrary] pairs. */
function weighted(choices) {
  return fc.oneof(...choices.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/** A request's path and query as one readable relative URL. */

/** A query object as URLSearchParams pairs. */
function pairs(query) {
  return Object.entries(query).flatMap(([name, values]) => values.map((v) => [name, v]));
}
