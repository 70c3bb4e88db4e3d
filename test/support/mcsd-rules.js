'use strict';
// Conformance checks for exported resources: base R4 (the sandbox FHIR server's validator, which writes
// also pass through) and the rules of the mCSD IG 4.0 profiles a resource claims
// (https://profiles.ihe.net/ITI/mCSD: IHE.mCSD.Organization/Location and their Facility and Jurisdiction
// profiles). Resources that claim GPR's pre-IG canonicals are checked against base R4 only.
const { expect } = require('chai');

const IG = 'https://profiles.ihe.net/ITI/mCSD/StructureDefinition/';
const KINDS = 'https://profiles.ihe.net/ITI/mCSD/CodeSystem/IHE.mCSD.Organization.Location.Types';
const BOUNDARY = 'http://hl7.org/fhir/StructureDefinition/location-boundary-geojson';
const PROFILES = {
  Organization: ['IHE.mCSD.Organization', 'IHE.mCSD.FacilityOrganization', 'IHE.mCSD.JurisdictionOrganization'],
  Location: ['IHE.mCSD.Location', 'IHE.mCSD.FacilityLocation', 'IHE.mCSD.JurisdictionLocation'],
};

const hasKind = (r, code) => (r.type ?? []).some((cc) => (cc.coding ?? []).some((c) => c.system === KINDS && c.code === code));
/** A reference to a resource of `type`: literal, conditional, or a urn:uuid of the same Bundle. */
const refersTo = (ref, type) =>
  typeof ref?.reference === 'string' &&
  (ref.reference.startsWith(`${type}/`) || ref.reference.startsWith(`${type}?`) || ref.reference.startsWith('urn:uuid:'));

/** Throws (chai) when `r` breaks a rule of an mCSD IG profile it claims, or claims one the IG does not define. */
function checkResource(r) {
  const claimed = (r.meta?.profile ?? []).filter((p) => p.startsWith(IG)).map((p) => p.slice(IG.length));
  const what = `${r.resourceType}/${r.id ?? r.identifier?.[0]?.value}`;
  for (const p of claimed) expect(PROFILES[r.resourceType], `${what}: ${p}`).to.include(p);
  if (!claimed.length) return;
  expect(r, `${what}: implicitRules 0..0`).to.not.have.property('implicitRules');
  expect(r, `${what}: modifierExtension 0..0`).to.not.have.property('modifierExtension');
  expect(r.type ?? [], `${what}: type 1..*`).to.not.be.empty;
  expect(r.name, `${what}: name 1..1`).to.be.a('string').and.not.empty;
  const facility = claimed.includes(`${r.resourceType === 'Location' ? 'IHE.mCSD.FacilityLocation' : 'IHE.mCSD.FacilityOrganization'}`);
  const jurisdiction = claimed.includes(
    `${r.resourceType === 'Location' ? 'IHE.mCSD.JurisdictionLocation' : 'IHE.mCSD.JurisdictionOrganization'}`,
  );
  if (facility) expect(hasKind(r, 'facility'), `${what}: a type ${KINDS}#facility`).to.equal(true);
  if (jurisdiction) expect(hasKind(r, 'jurisdiction'), `${what}: a type ${KINDS}#jurisdiction`).to.equal(true);
  if (r.resourceType === 'Organization') {
    if (r.partOf) expect(refersTo(r.partOf, 'Organization'), `${what}: partOf only Organization`).to.equal(true);
    return;
  }
  expect(r.status, `${what}: status 1..1`).to.be.oneOf(['active', 'suspended', 'inactive']);
  if (r.partOf) expect(refersTo(r.partOf, 'Location'), `${what}: partOf only Location`).to.equal(true);
  if (facility) expect(r.type.length, `${what}: FacilityLocation type 2..*`).to.be.at.least(2);
  if (facility || jurisdiction)
    expect(refersTo(r.managingOrganization, 'Organization'), `${what}: managingOrganization 1..1`).to.equal(true);
  if (jurisdiction) {
    const boundaries = (r.extension ?? []).filter((e) => e.url === BOUNDARY);
    expect(boundaries.length, `${what}: boundary 0..1`).to.be.at.most(1);
    for (const b of boundaries) {
      expect(b.valueAttachment?.contentType, `${what}: boundary contentType`).to.equal('application/geo+json');
      expect(b.valueAttachment?.data, `${what}: boundary data 1..1`).to.be.a('string').and.not.empty;
    }
  }
}

/** Base R4 validation of `resources` by the sandbox FHIR server at `base`; throws naming each failure. */
async function checkBaseR4(base, resources) {
  const res = await fetch(new URL('/__validate', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resources }),
  });
  const { errors } = await res.json();
  const named = errors.map(
    (e) => `${resources[e.index].resourceType}/${resources[e.index].id ?? resources[e.index].identifier?.[0]?.value}: ${e.message}`,
  );
  expect(named).to.deep.equal([]);
}

module.exports = { checkResource, checkBaseR4 };
