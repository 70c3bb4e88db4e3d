'use strict';
// A stand-in for a live GPR's REST API (no GPR runs here), answering with GPR's JSON shapes built from
// the GPR test data in ../shared/fixtures/gpr: cgr/init, geoobject/get-all (paged) and
// geoobject/getchildren (at a date), behind HTTP Basic.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'gpr');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const USER = 'admin';
const PASSWORD = 'gpr-password';

/** The export's `nodes:[{code,nodes}]` hierarchy shape as the REST API's `rootGeoObjectTypes`. */
const restTree = (nodes) => nodes.map((n) => ({ geoObjectType: n.code, children: restTree(n.nodes) }));

function startGprStandIn() {
  const events = fixture('events.json');
  const features = events.filter((e) => e['@type'] === 'RemoteGeoObjectEvent').map((e) => JSON.parse(e.object));
  const edges = events.filter((e) => e['@type'] === 'RemoteGeoObjectSetParentEvent');
  const types = fixture('geo-object-types.json').map(({ parent, ...t }) => ({
    ...t,
    ...(parent !== '__ROOT__' ? { superTypeCode: parent } : {}),
  }));
  const hierarchies = fixture('hierarchy-types.json').map(({ nodes, displayLabel, ...h }) => ({
    ...h,
    label: displayLabel,
    rootGeoObjectTypes: restTree(nodes),
  }));
  const requests = [];

  const childrenOf = (code, type, hierarchy, date) =>
    edges
      .filter((e) => e.edgeType === hierarchy && e.parentCode === code && e.parentType === type && e.startDate <= date && date <= e.endDate)
      .map((e) => {
        const geoObject = features.find((f) => f.properties.code === e.code && f.properties.type === e.type);
        return { geoObject, hierarchyType: hierarchy, children: childrenOf(e.code, e.type, hierarchy, date) };
      });

  const routes = {
    'cgr/init': () => ({ types, hierarchies, organizations: [{ code: 'USATestDataNPS' }], locales: [] }),
    'geoobject/get-all': (q) => {
      const size = Number(q.get('pageSize'));
      const number = Number(q.get('pageNumber'));
      const all = features.filter((f) => f.properties.type === q.get('typeCode'));
      return { results: all.slice((number - 1) * size, number * size), page: { pageSize: size, pageNumber: number, total: all.length } };
    },
    'geoobject/getchildren': (q) => ({
      geoObject: features.find((f) => f.properties.code === q.get('parentCode')),
      hierarchyType: q.get('hierarchyCode'),
      children: childrenOf(q.get('parentCode'), q.get('parentTypeCode'), q.get('hierarchyCode'), q.get('date')),
    }),
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://gpr');
    requests.push(`${url.pathname}?${url.searchParams}`);
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`)
      return send(401, { message: 'login required' });
    const route = routes[url.pathname.replace(/^\/api\//, '')];
    return route ? send(200, route(url.searchParams)) : send(404, { message: 'no such endpoint' });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        requests,
        stop: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

module.exports = { startGprStandIn, USER, PASSWORD };
