'use strict';
// The export's name-based UUIDs: the same as the uuid package's v5 in its URL namespace, for names of any
// length and characters. No FHIR server.
const { expect } = require('chai');
const { nameUuid } = require('../nodes/lib/sync/name-uuid.js');

describe('name-based UUIDs', function () {
  it('are the uuid package v5 of each name, for short, empty and long names and characters outside ASCII', async function () {
    const { v5 } = await import('uuid');
    const names = [
      'http://x.org/ids|Organization|A',
      '',
      `http://x.org/ids|Location|${'long code '.repeat(200)}`,
      'http://x.org/ids|Location|B',
      'http://x.org/ids|Location|Santé 中文 😀',
      ...Array.from({ length: 300 }, (_, i) => `sys|Organization|F${i}`),
    ];
    for (const name of names) expect(nameUuid(name), name).to.equal(v5(name, v5.URL));
  });
});
