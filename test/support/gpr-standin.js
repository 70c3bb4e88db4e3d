'use strict';
// A stand-in for a live GPR's REST API (no GPR runs here), answering with GPR's JSON shapes built from
// the GPR test data in ../shared/fixtures/gpr: cgr/init, geoobject/get-all (paged) and
// geoobject/getchildren (at a date) to read; the Common Geo-Registry calls geoobject/get-code, get-uids,
// create, update and addchild to write. Behind HTTP Basic.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const { FIXTURES } = require('./requirements');
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
  let uid = 0;
  const find = (code, type) => features.findIndex((f) => f.properties.code === code && f.properties.type === type);

  const childrenOf = (code, type, hierarchy, date) =>
    edges
      .filter((e) => e.edgeType === hierarchy && e.parentCode === code && e.parentType === type && e.startDate <= date && date <= e.endDate)
      .map((e) => {
        const geoObject = features.find((f) => f.properties.code === e.code && f.properties.type === e.type);
        return { geoObject, hierarchyType: hierarchy, children: childrenOf(e.code, e.type, hierarchy, date) };
      });

  const writes = {
    'geoobject/create': (body) => {
      const f = body.geoObject;
      if (!f?.properties?.uid) return [400, { message: 'uid is required' }];
      if (find(f.properties.code, f.properties.type) >= 0) return [400, { message: 'duplicate code' }];
      features.push(f);
      return [200, f];
    },
    'geoobject/update': (body) => {
      const i = find(body.geoObject?.properties?.code, body.geoObject?.properties?.type);
      if (i < 0) return [404, { message: 'no such geo-object' }];
      features[i] = body.geoObject;
      return [200, body.geoObject];
    },
    'geoobject/addchild': (b) => {
      if (find(b.parentCode, b.parentTypeCode) < 0 || find(b.childCode, b.childTypeCode) < 0)
        return [400, { message: 'unknown parent or child' }];
      const same = (e) => e.edgeType === b.hierarchyCode && e.code === b.childCode && e.type === b.childTypeCode;
      edges.splice(0, edges.length, ...edges.filter((e) => !same(e)));
      edges.push({
        edgeType: b.hierarchyCode,
        code: b.childCode,
        type: b.childTypeCode,
        parentCode: b.parentCode,
        parentType: b.parentTypeCode,
        startDate: b.startDate,
        endDate: b.endDate,
      });
      return [200, {}];
    },
  };

  const routes = {
    'geoobject/get-code': (q) => {
      const i = find(q.get('code'), q.get('typeCode'));
      return i < 0 ? [404, { message: 'no such geo-object' }] : features[i];
    },
    'geoobject/get-uids': (q) => Array.from({ length: Number(q.get('amount')) }, () => `uid-${++uid}`),
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
    const name = url.pathname.replace(/^\/api\//, '');
    if (req.method === 'POST' && writes[name]) {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => send(...writes[name](JSON.parse(raw))));
      return undefined;
    }
    const route = routes[name];
    if (!route) return send(404, { message: 'no such endpoint' });
    const answer = route(url.searchParams);
    // A route answers [status, body] to say something other than 200.
    return Array.isArray(answer) && typeof answer[0] === 'number' ? send(...answer) : send(200, answer);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        requests,
        features,
        edges,
        stop: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

module.exports = { startGprStandIn, USER, PASSWORD };
