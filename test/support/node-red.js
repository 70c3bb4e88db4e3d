'use strict';
// The Node-RED install under test: the root devDependency (NR 4.1), or the one named by NODE_RED_HOME
// (test/nr5 for the NR 5.0 run). Core nodes must come from the same install.
const path = require('node:path');

const home = process.env.NODE_RED_HOME ? path.resolve(process.env.NODE_RED_HOME) : path.dirname(require.resolve('node-red/package.json'));
const nodeRedPath = path.join(home, require(path.join(home, 'package.json')).main || 'lib/red.js');

function coreNode(rel) {
  return require(require.resolve(`@node-red/nodes/core/${rel}`, { paths: [home] }));
}

module.exports = { home, nodeRedPath, coreNode, version: require(path.join(home, 'package.json')).version };
